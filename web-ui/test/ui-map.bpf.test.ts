/**
 * The service map in a real browser against a real `loupe up` capturing real traffic: the demo shop (the test's
 * traffic driver → demo-frontend → demo-api → PostgreSQL, with a failing checkout). Needs root, eBPF and
 * Debian's chromium.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll } from '@loupe/node-collector/dist/test/support/processes.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { startE2eStack, type E2eStack } from './support/e2e-stack.js';

let stack: E2eStack;
let browser: TestBrowser;
let frontend: string;
let api: string;
let postgres: string;

before(async () => {
  stack = await startE2eStack();
  browser = await launchBrowser();
  frontend = `demo-frontend:${stack.demo.frontendPort}`;
  api = `demo-api:${stack.demo.apiPort}`;
  postgres = `postgres:${stack.demo.postgresPort}`;
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await stopAll();
});

const edge = (source: string, target: string) =>
  `[data-testid=map-edge][data-source="${source}"][data-target="${target}"]`;

test('the map shows the shop’s services and calls, HTTP and SQL, with their rates', async () => {
  const { page, errors, screenshot } = await browser.newPage();
  await page.goto(`${stack.loupeUrl}/map?range=15m`);
  for (const name of [frontend, api, postgres]) {
    await page.locator(`[data-testid=map-node][data-name="${name}"]`).waitFor({ timeout: 30_000 });
  }
  for (const [source, target] of [
    [frontend, api],
    [api, postgres],
  ] as const) {
    const rate = Number(await page.locator(edge(source, target)).getAttribute('data-rate'));
    assert.ok(rate > 0, `${source} → ${target} has a rate (${rate})`);
  }
  // The failing checkout makes frontend → api an error edge, drawn apart from the healthy ones.
  assert.match((await page.locator(edge(frontend, api)).getAttribute('class')) ?? '', /failing/);
  await page.waitForFunction(() => document.body.dataset.mapRendered);
  await screenshot('service-map');
  assert.deepEqual(errors, []);
});

test('search highlights a service; clicking a node and an edge opens their details', async () => {
  const { page, errors, screenshot } = await browser.newPage({ theme: 'dark' });
  await page.goto(`${stack.loupeUrl}/map?range=15m`);
  await page.locator(`[data-testid=map-node][data-name="${api}"]`).waitFor({ timeout: 30_000 });
  await page.keyboard.press('/');
  await page.keyboard.type('demo-api');
  await page.waitForFunction(() =>
    /1 match/.test(document.querySelector('#map-search-count')?.textContent ?? ''),
  );
  assert.match(page.url(), /search=demo-api/);

  await page.locator(`[data-testid=map-node][data-name="${api}"]`).click();
  const details = page.locator('[data-testid=map-details]');
  await details.waitFor();
  assert.match(await details.innerText(), /demo-api/);
  assert.match(
    page.url(),
    new RegExp(`node=${encodeURIComponent(api).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
  );

  await page.locator(edge(frontend, api)).dispatchEvent('click');
  await page.waitForFunction(() =>
    /Show requests/.test(document.querySelector('[data-testid=map-details]')?.textContent ?? ''),
  );
  const text = await details.innerText();
  assert.match(text, /p99/);
  await screenshot('service-map-edge-details-dark');

  // The URL holds the whole view: opened afresh, it shows the same selection.
  const again = await browser.newPage();
  await again.page.goto(page.url());
  await again.page.locator('[data-testid=map-details]').waitFor({ timeout: 30_000 });
  assert.match(await again.page.locator('[data-testid=map-details]').innerText(), /Show requests/);
  assert.deepEqual([...errors, ...again.errors], []);
});
