/**
 * A headless Chromium for the end-to-end tests: Debian's /usr/bin/chromium driven by playwright-core (which
 * brings no browser of its own). Screenshots go to test-output/screenshots/<name>.png at the repository root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** dist-node/test/support → repository root */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const screenshotDir = path.join(repoRoot, 'test-output', 'screenshots');

export interface TestBrowser {
  browser: Browser;
  /** A new page of 1400×900 in the given theme, with the page's console errors collected. */
  newPage(options?: { theme?: 'light' | 'dark' }): Promise<TestPage>;
  close(): Promise<void>;
}

export interface TestPage {
  page: Page;
  /** Errors the page logged or threw, so a test can require there were none. */
  errors: string[];
  /** Saves the whole page as test-output/screenshots/<name>.png and returns the path. */
  screenshot(name: string): Promise<string>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Tests run as root, where Chromium's sandbox cannot start; /dev/shm can be small in containers.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  return {
    browser,
    async newPage({ theme = 'light' } = {}) {
      const context = await browser.newContext({
        viewport: { width: 1400, height: 900 },
        colorScheme: theme,
      });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      return {
        page,
        errors,
        async screenshot(name) {
          fs.mkdirSync(screenshotDir, { recursive: true });
          const file = path.join(screenshotDir, `${name}.png`);
          await page.screenshot({ path: file, fullPage: true });
          return file;
        },
      };
    },
    close: () => browser.close(),
  };
}
