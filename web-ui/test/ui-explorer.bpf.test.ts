/**
 * The request explorer and the SQL view in a real browser against a real `loupe up` capturing the demo shop
 * (frontend → api → PostgreSQL, with a failing checkout): an edge of the map leads to its requests, filters
 * narrow to the failing one and show its body, and the filter downloads as a valid HAR. Needs root, eBPF and
 * Debian's chromium.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { stopAll } from '@loupe/node-collector/dist/test/support/processes.js';
import { validateHar } from '@loupe/replay/dist/src/har/har-validator.js';
import type { Har } from '@loupe/replay/dist/src/har/har.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { startE2eStack, type E2eStack } from './support/e2e-stack.js';

let stack: E2eStack;
let browser: TestBrowser;
let frontend: string;
let api: string;

before(async () => {
  stack = await startE2eStack();
  browser = await launchBrowser();
  frontend = `demo-frontend:${stack.demo.frontendPort}`;
  api = `demo-api:${stack.demo.apiPort}`;
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await stopAll();
});

test('clicking an edge of the map shows the requests that went over it', async () => {
  const { page, errors, screenshot } = await browser.newPage();
  await page.goto(`${stack.loupeUrl}/map?range=15m`);
  const edge = page.locator(`[data-testid=map-edge][data-source="${frontend}"][data-target="${api}"]`);
  await edge.waitFor({ timeout: 30_000 });
  await edge.dispatchEvent('click');
  await page.getByRole('button', { name: 'Show requests' }).click();
  await page.waitForURL(/\/requests\?/);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('server'), api);
  assert.equal(url.searchParams.get('client'), frontend.split(':')[0]);
  const rows = page.locator('[data-testid=requests-table] [data-testid=row]');
  await rows.first().waitFor({ timeout: 30_000 });
  const texts = await rows.allInnerTexts();
  assert.ok(texts.length > 0);
  // Every request on this edge is one the api answered or the frontend made to the api.
  assert.ok(
    texts.every((text) => /demo-(api|frontend)/.test(text)),
    texts.slice(0, 3).join('\n'),
  );
  await screenshot('requests-edge');
  assert.deepEqual(errors, []);
});

test('filters narrow to the failing checkout, and its detail shows the error body', async () => {
  const { page, errors, screenshot } = await browser.newPage();
  await page.goto(`${stack.loupeUrl}/requests?range=15m`);
  await page.locator('[data-testid=requests-table] [data-testid=row]').first().waitFor({ timeout: 30_000 });
  await page.getByTestId('filter-service').fill('demo-api');
  await page.getByTestId('filter-status').fill('500');
  await page.waitForURL(/status=500/);
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid=requests-table] [data-testid=row]')];
    return (
      rows.length > 0 &&
      rows.every((row) => /POST/.test(row.textContent ?? '') && /500/.test(row.textContent ?? ''))
    );
  });
  await page.locator('[data-testid=requests-table] [data-testid=row]').first().click();
  const detail = page.getByTestId('request-detail');
  await detail.waitFor();
  await page.getByTestId('response-body').waitFor();
  const body = await page.getByTestId('response-body').innerText();
  assert.match(body, /"error": "checkout failed"/, 'pretty-printed JSON error body');
  assert.match(await detail.innerText(), /POST \/api\/checkout/);
  // The frontend's collector saw the same request from the client side.
  await page.getByTestId('request-counterpart').waitFor();
  assert.match(await page.getByTestId('request-counterpart').innerText(), /client side: demo-frontend/);
  await screenshot('requests-failing-detail');

  // The link is the view: opened afresh it shows the same filtered list and selection.
  const again = await browser.newPage({ theme: 'dark' });
  await again.page.goto(page.url());
  await again.page.getByTestId('response-body').waitFor({ timeout: 30_000 });
  assert.match(await again.page.getByTestId('response-body').innerText(), /checkout failed/);
  await again.screenshot('requests-failing-detail-dark');
  assert.deepEqual([...errors, ...again.errors], []);
});

test('Export as HAR downloads the filtered requests as a valid HAR 1.2 file', async () => {
  const { page, errors } = await browser.newPage();
  await page.goto(`${stack.loupeUrl}/requests?range=15m&service=demo-api&status=500`);
  await page.locator('[data-testid=requests-table] [data-testid=row]').first().waitFor({ timeout: 30_000 });
  const shown = await page.locator('[data-testid=requests-table]').getAttribute('aria-rowcount');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('export-har').click(),
  ]);
  assert.equal(download.suggestedFilename(), 'loupe-export.har');
  const har = JSON.parse(fs.readFileSync(await download.path(), 'utf8')) as Har;
  assert.deepEqual(validateHar(har), []);
  assert.ok(har.log.entries.length > 0);
  assert.equal(har.log.entries.length, Number(shown) - 1, 'the rows shown, one entry each');
  for (const entry of har.log.entries) {
    assert.equal(entry.response.status, 500);
    assert.equal(entry.request.method, 'POST');
    assert.match(entry.response.content.text ?? '', /checkout failed/);
  }
  assert.deepEqual(errors, []);
});

test('the SQL view groups the api’s statements by shape, with the failing insert', async () => {
  const { page, errors, screenshot } = await browser.newPage();
  await page.goto(`${stack.loupeUrl}/sql?range=15m`);
  const rows = page.locator('[data-testid=sql-table] [data-testid=row]');
  await rows.first().waitFor({ timeout: 30_000 });
  const texts = await rows.allInnerTexts();
  const postgres = `postgres:${stack.demo.postgresPort}`;
  assert.ok(
    texts.some((text) => text.includes(postgres)),
    texts.join('\n'),
  );
  const failing = rows.filter({ hasText: 'INSERT INTO payments' }).filter({ hasText: postgres });
  await failing.first().click();
  await page.getByTestId('sql-examples').waitFor();
  await page.waitForFunction(() =>
    /ERROR/.test(document.querySelector('[data-testid=sql-examples]')?.textContent ?? ''),
  );
  await screenshot('sql');
  assert.deepEqual(errors, []);
});
