// AIVM Studio end to end: the studio's build served by a real devnet process (aivm devnet serves
// it at its JSON-RPC URL), driven in Debian's Chromium with playwright-core. The shell renders,
// the explorer shows blocks as they are committed, a block, a transaction and an account open
// (from links and from the search box), the theme switches, and the explorer fits a 390-px phone.
// Any console error, uncaught exception or failed request of the page fails the test. Screenshots
// of each screen are written to a temporary directory (paths logged).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Wallet } from '@aivm/sdk';
import { type Browser, chromium, type Page } from 'playwright-core';
import { STUDIO_DIST } from '../src/commands/node.ts';
import { CHROMIUM, CHROMIUM_ARGS } from './browser-example.ts';
import { useDevnet } from './helpers.ts';

const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
const STUDIO = join(import.meta.dirname, '..', '..', 'studio');

describe('AIVM Studio in Chromium', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is missing` }, () => {
  before(() => {
    // `npm ci` builds it (the root's prepare); a checkout without one builds it here.
    if (existsSync(join(STUDIO_DIST, 'index.html'))) return;
    const vite = join(STUDIO, '..', '..', 'node_modules', '.bin', 'vite');
    const r = spawnSync(vite, ['build', '--logLevel', 'error'], { cwd: STUDIO, encoding: 'utf8' });
    assert.equal(r.status, 0, `vite build failed:\n${r.stdout}\n${r.stderr}`);
  });
  // Started after the build above: the devnet serves the Studio only when it finds one.
  const devnet = useDevnet();

  it('renders the shell, live blocks, a block, a transaction, an account and search; switches theme; fits a phone', async () => {
    const { node, client } = devnet;
    assert.equal(node.info.studioUrl, `${node.rpcUrl}/`, 'the banner names the Studio URL');
    const shots = join(tmpdir(), `aivm-studio-${Date.now()}`);
    await mkdir(shots, { recursive: true });
    const alice = Wallet.fromMnemonic(DEV_MNEMONIC, 0, client);
    const bob = Wallet.fromMnemonic(DEV_MNEMONIC, 1, client);
    const hash = await alice.transfer(bob.address, 15n * 10n ** 17n);
    const tx = await client.waitForTx(hash, { timeoutMs: 30_000 });

    const errors: string[] = [];
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      const context = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        colorScheme: 'light',
      });
      const page = await context.newPage();
      watch(page, errors);
      const shot = async (p: Page, name: string) => {
        const file = join(shots, `${name}.png`);
        await p.screenshot({ path: file });
        console.log(`screenshot: ${file}`);
      };

      await page.goto(`${node.rpcUrl}/`);
      await page.getByRole('navigation', { name: 'Tools' }).waitFor();
      await page.getByRole('complementary', { name: 'Explorer panel' }).waitFor();
      await page.getByTestId('conn-state').filter({ hasText: 'live' }).waitFor({ timeout: 15_000 });

      // Live: the newest height in the table grows without a reload.
      const rows = page.getByTestId('latest-blocks').locator('tbody tr');
      await rows.first().waitFor();
      const first = Number(await rows.first().locator('td').first().textContent());
      await page.waitForFunction(
        (h) => Number(document.querySelector('[data-testid="latest-blocks"] tbody tr td')?.textContent) > h,
        first,
        { timeout: 15_000 },
      );
      // After a few more blocks, the live table still has every height: none skipped.
      await page.waitForFunction(
        (h) =>
          Number(document.querySelector('[data-testid="latest-blocks"] tbody tr td')?.textContent) > h + 3,
        first,
        { timeout: 15_000 },
      );
      const heights = (await rows.locator('td:first-child').allTextContents()).map(Number);
      assert.ok(heights.length >= 5, heights.join(','));
      for (let i = 1; i < heights.length; i++)
        assert.equal(heights[i], heights[i - 1]! - 1, `consecutive heights: ${heights.join(',')}`);
      await shot(page, 'explorer-latest-blocks');

      // The transfer's block, from the address bar, then its transaction from the block page.
      await page.goto(`${node.rpcUrl}/#/block/${tx.height}`);
      await page.getByTestId('block-header').waitFor();
      assert.match((await page.getByTestId('block-txs').textContent()) ?? '', /bank\/send|bank\/transfer/);
      await shot(page, 'explorer-block');
      await page.getByTestId('block-txs').locator(`a[href="#/tx/${hash}"]`).click();
      await page.getByTestId('tx-fields').waitFor();
      const txText = (await page.locator('main').textContent()) ?? '';
      assert.ok(txText.includes(hash), 'the transaction page shows its hash');
      assert.match(txText, /success/);
      assert.ok(
        txText.toLowerCase().includes(bob.address.toLowerCase()),
        'the decoded message names the recipient',
      );
      await shot(page, 'explorer-tx');

      // Search: an address opens its account page with its balance.
      const search = page.getByRole('complementary').getByRole('searchbox', { name: 'Search the chain' });
      await search.fill(bob.address);
      await search.press('Enter');
      await page.getByTestId('balance').waitFor();
      assert.match((await page.getByTestId('balance').textContent()) ?? '', /CGPT$/);
      await shot(page, 'explorer-account');
      // A malformed query gets a message, not a page.
      await search.fill('0x1234');
      await search.press('Enter');
      await page.getByRole('alert').filter({ hasText: 'not a hash' }).waitFor();

      await page.goto(`${node.rpcUrl}/#/validators`);
      await page.getByTestId('validators').locator('tbody tr').first().waitFor();
      await shot(page, 'explorer-validators');
      await page.goto(`${node.rpcUrl}/#/models`);
      await page.getByTestId('models').locator('tbody tr').first().waitFor();
      await shot(page, 'explorer-models');

      // Theme: the toggle switches and the choice survives a reload.
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
      await page.getByTestId('theme-toggle').click();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
      await page.reload();
      await page.getByTestId('models').waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
      await shot(page, 'explorer-models-dark');

      // Models tool: the MNIST MLP from the gallery, imported in a worker: nodes and tier report.
      await page.goto(`${node.rpcUrl}/#/workspace`);
      await page.getByTestId('models-gallery').getByRole('button', { name: 'MNIST MLP' }).click();
      await page.getByTestId('model-nodes').locator('tbody tr').first().waitFor({ timeout: 30_000 });
      assert.match((await page.getByTestId('model-nodes').textContent()) ?? '', /Gemm/);
      assert.equal(await page.getByTestId('model-params').textContent(), '101,770');
      assert.match((await page.getByTestId('tier-report').textContent()) ?? '', /On-chain/);
      await shot(page, 'models-mnist-mlp');

      // A phone: the explorer's own search box and no horizontal scrolling of the page.
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
      const mobile = await phone.newPage();
      watch(mobile, errors);
      await mobile.goto(`${node.rpcUrl}/`);
      await mobile.getByTestId('latest-blocks').locator('tbody tr').first().waitFor();
      const overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px at 390 px`);
      await mobile.getByRole('main').getByRole('searchbox').waitFor();
      await shot(mobile, 'explorer-phone-390');
      await mobile.goto(`${node.rpcUrl}/#/tx/${hash}`);
      await mobile.getByTestId('tx-fields').waitFor();
      await shot(mobile, 'explorer-tx-phone-390');
      await phone.close();
      await context.close();
    } finally {
      await browser?.close();
    }
    assert.deepEqual(errors, [], `the page reported errors:\n${errors.join('\n')}`);
  });
});

function watch(page: Page, errors: string[]): void {
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => {
    // Navigations away abort what the old page still had in flight: not a failure of the page.
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
    errors.push(`request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) errors.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });
}
