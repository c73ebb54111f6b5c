/**
 * The Scripts and Nodes views in a real browser against a real `loupe up` capturing real traffic: the demo shop
 * (frontend → api → PostgreSQL, with a failing checkout). Needs root and eBPF, and Debian's chromium.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll } from '@loupe/node-collector/dist/test/support/processes.js';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { startE2eStack, type E2eStack } from './support/e2e-stack.js';

let stack: E2eStack;
let browser: TestBrowser;

before(async () => {
  stack = await startE2eStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await stopAll();
});

/** Replaces the editor's text by typing, as a user would (completion and bracket closing included). */
async function typeQuery(page: Page, sql: string): Promise<void> {
  const content = page.locator('[data-testid=sql-editor] .cm-content');
  await content.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(sql);
  // A completion list left open would take the next key.
  await page.keyboard.press('Escape');
}

test('the nodes view lists the node as up, with events captured, cluster totals and history', async () => {
  const { page, errors, screenshot } = await browser.newPage();
  const traffic = stack.moreTraffic(40);
  await page.goto(`${stack.loupeUrl}/nodes`);
  const row = page.locator('[data-testid=node-row][data-name=test-node]');
  await row.waitFor();
  assert.equal(await row.getAttribute('data-state'), 'up');
  // events/s is measured over the collector's stats interval: wait for a report made while traffic flowed.
  await page.waitForFunction(
    () => {
      const cell = document.querySelector(
        '[data-testid=node-row][data-name=test-node] [data-testid=node-events]',
      );
      return !!cell && cell.textContent !== '0/s' && cell.textContent !== '–';
    },
    undefined,
    { timeout: 30_000 },
  );
  await traffic;
  const text = await row.innerText();
  assert.match(text, /\bup\b/);
  assert.match(text, /seen .* ago/);
  assert.match(await page.locator('[data-testid=nodes-totals]').innerText(), /1 up/);
  await page.locator('.node-charts').waitFor({ timeout: 45_000 });
  await screenshot('nodes');
  assert.deepEqual(errors, []);
});

test('an ad-hoc query typed in the editor runs with Ctrl+Enter; COPY and read_csv show the refusal', async () => {
  const { page, errors, screenshot } = await browser.newPage();
  await page.goto(`${stack.loupeUrl}/scripts`);
  await page
    .locator('[data-testid=schema-panel]')
    .getByRole('button', { name: 'req_path' })
    .first()
    .waitFor();
  // The node tables and their columns complete as you type.
  await typeQuery(page, 'SELECT req_pa');
  await page.keyboard.press('Control+Space');
  await page.locator('.cm-tooltip-autocomplete', { hasText: 'req_path' }).waitFor();
  const port = stack.demo.frontendPort;
  await typeQuery(
    page,
    `SELECT req_method, req_path, resp_status, count(*) AS n FROM http_events WHERE role = 'server' AND local_port = ${port} GROUP BY ALL ORDER BY n DESC`,
  );
  await page.keyboard.press('Control+Enter');
  const result = page.locator('[data-testid=query-result]');
  await result.locator('[data-testid=row]').first().waitFor();
  const text = await result.innerText();
  assert.match(text, /\/checkout/);
  assert.match(text, /500/);
  assert.match(text, /test-node: ok/);
  // The query is in the URL: the page is a shareable link.
  assert.match(
    new URL(page.url()).searchParams.get('sql') ?? '',
    new RegExp(`local_port = ${port} GROUP BY`),
  );
  await screenshot('scripts-adhoc');

  await typeQuery(page, "COPY http_events TO '/tmp/loupe-copy.csv'");
  await page.keyboard.press('Control+Enter');
  await page.locator('[data-testid=query-error]').waitFor();
  assert.match(await page.locator('[data-testid=query-error]').innerText(), /only SELECT/);

  await typeQuery(page, "SELECT * FROM read_csv('/etc/passwd')");
  await page.locator('[data-testid=run-query]').click();
  await page.locator('[data-testid=query-error]', { hasText: 'read_csv' }).waitFor();
  assert.match(await page.locator('[data-testid=query-error]').innerText(), /read_csv is not allowed/);
  await screenshot('scripts-refused');
  // The engine's refusals are answers (400), not page errors; the browser logs the failed fetch, nothing else.
  assert.deepEqual(
    errors.filter((e) => !/status of 400/.test(e)),
    [],
  );
});

test('the http_errors script shows the failing endpoint, as a table and a bar chart', async () => {
  const { page, errors, screenshot } = await browser.newPage({ theme: 'dark' });
  await page.goto(`${stack.loupeUrl}/scripts`);
  await page.locator('[data-testid=script-item][data-name=http_errors]').click();
  assert.match(page.url(), /script=http_errors/);
  const result = page.locator('[data-testid=query-result]');
  await result
    .locator('[data-testid=row]', { hasText: '/api/checkout' })
    .first()
    .waitFor({ timeout: 20_000 });
  const checkout = result.locator('[data-testid=row]', {
    hasText: `demo-frontend:${stack.demo.frontendPort}`,
  });
  assert.match(await checkout.first().innerText(), /POST[\s\S]*\/checkout[\s\S]*500/);
  assert.match(await page.locator('[data-testid=bar-chart]').innerText(), /demo-api:/);
  await screenshot('scripts-http-errors');

  // Its SQL, parameters written in, runs in the editor too.
  await page.getByRole('button', { name: 'Open script in editor' }).click();
  await page
    .locator('[data-testid=query-result] [data-testid=row]', { hasText: '/checkout' })
    .first()
    .waitFor();
  assert.match(await page.locator('[data-testid=sql-editor]').innerText(), /INTERVAL '900 seconds'/);
  await screenshot('scripts-open-in-editor');
  assert.deepEqual(errors, []);
});
