/**
 * Off loopback the API needs a bearer token, and the UI asks for it: a real `loupe up --host 0.0.0.0 --token`,
 * opened in a real browser. The pages load without the token; the data does not. Needs root, eBPF and Debian's
 * chromium.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startLoupeUp, type LoupeUp } from '@loupe/node-collector/dist/test/support/loupe.js';
import { freePort, stopAll } from '@loupe/node-collector/dist/test/support/processes.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';

const TOKEN = 'ui-test-token-5f1c';
let loupe: LoupeUp;
let browser: TestBrowser;

before(async () => {
  loupe = await startLoupeUp(await freePort(), ['--host', '0.0.0.0', '--token', TOKEN]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await loupe?.stop();
  await stopAll();
});

test('the UI asks for the token, refuses a wrong one, and shows the data with the right one', async () => {
  const { page, screenshot } = await browser.newPage();
  await page.goto(`${loupe.url}/nodes`);
  const token = page.getByLabel('Token');
  await token.waitFor({ timeout: 30_000 });
  await screenshot('login');

  await token.fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('That token was refused.').waitFor();

  await token.fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-testid=node-row][data-name=test-node]').waitFor({ timeout: 30_000 });
  // The token lasts for the browser session: a reload does not ask again.
  await page.reload();
  await page.locator('[data-testid=node-row][data-name=test-node]').waitFor({ timeout: 30_000 });
  assert.equal(await page.getByLabel('Token').count(), 0);
});
