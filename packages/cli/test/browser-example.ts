// Drives examples/browser in a real Chromium as a user would: serves the page's folder and an SDK
// browser bundle (as /aivm-sdk.js) from a static server on 127.0.0.1, opens the page with ?rpc=,
// clicks connect, send, "Use sample 7", run inference and (zk) verify, and returns the lines the
// page wrote to <pre id="log"> with everything the browser reported as an error on the way.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium): the browser the test drives. */
export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type BrowserExampleOptions = {
  /** The page's folder (examples/browser). */
  pageDir: string;
  /** The SDK's single-file ESM browser bundle, served as /aivm-sdk.js. */
  sdkBundle: string;
  /** The node the page talks to (its ?rpc=); it must answer CORS for the page's origin. */
  rpcUrl: string;
  /** The inference tier to pick; default zk (then the proof is verified in the page too). */
  tier?: 'zk' | 'onchain';
  /** How long the inference may take to be finalized; default 300 s (a zk proof on 2 cores: 10-60 s). */
  inferenceTimeoutMs?: number;
  executablePath?: string;
};

export type BrowserExampleResult = {
  /** The lines of <pre id="log">, in order. */
  log: string[];
  /** The statuses the page listed under Status, as shown. */
  history: string[];
  /** The predicted class and the probabilities the page shows, one "<digit> <percent>%" per class. */
  shownClass: string;
  shownProbabilities: string[];
  /**
   * zk: the proof of the logged transaction checked again in the page with the bundle's
   * verifyZkResult, as it is and with the output changed (a verifier that accepts anything fails).
   */
  recheck?: { asIs: boolean; outputChanged: boolean };
  /** Uncaught exceptions, console errors and failed requests of the page. */
  errors: string[];
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** A static server of `dir` plus the bundle at /aivm-sdk.js, on 127.0.0.1 and a free port. */
async function serveStatic(dir: string, sdkBundle: string): Promise<{ server: Server; url: string }> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file =
      path === '/aivm-sdk.js' ? sdkBundle : normalize(join(root, path === '/' ? 'index.html' : path));
    const notFound = () => res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
    if (file !== sdkBundle && !file.startsWith(root + sep)) return notFound();
    stat(file).then((s) => {
      if (!s.isFile()) return notFound();
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': s.size,
        'cache-control': 'no-store',
      });
      createReadStream(file).pipe(res);
    }, notFound);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function logLines(page: Page): Promise<string[]> {
  const text = (await page.locator('#log').textContent()) ?? '';
  return text.split('\n').filter(Boolean);
}

/**
 * Waits until the page logs a line starting with `prefix` (or an `error:` line, which fails the
 * step with the whole log and the page's errors).
 */
async function step(
  page: Page,
  prefix: string,
  timeoutMs: number,
  errors: string[],
  action: () => Promise<void>,
): Promise<string> {
  const before = (await logLines(page)).length;
  await action();
  try {
    await page.waitForFunction(
      ([p, n]) => {
        const lines = (document.getElementById('log')?.textContent ?? '')
          .split('\n')
          .filter(Boolean)
          .slice(n);
        return lines.some((l) => l.startsWith(p) || l.startsWith('error:'));
      },
      [prefix, before] as const,
      { timeout: timeoutMs, polling: 250 },
    );
  } catch (err) {
    throw new Error(
      `no "${prefix}" line within ${timeoutMs} ms (${(err as Error).message.split('\n')[0]});\n` +
        `log:\n${(await logLines(page)).join('\n')}\npage errors:\n${errors.join('\n')}`,
    );
  }
  const line = (await logLines(page))
    .slice(before)
    .find((l) => l.startsWith(prefix) || l.startsWith('error:'))!;
  if (line.startsWith('error:'))
    throw new Error(
      `the page failed: ${line}\nlog:\n${(await logLines(page)).join('\n')}\npage errors:\n${errors.join('\n')}`,
    );
  return line;
}

/**
 * In the page, independently of its script: the request's input and model, the proof from the
 * transaction that submitted it and the model's verification key, through the served bundle.
 */
function recheckProof(
  page: Page,
  rpcUrl: string,
  requestId: string,
  txHash: string,
): Promise<{ asIs: boolean; outputChanged: boolean }> {
  return page.evaluate(
    async ([rpc, id, hash]) => {
      const sdk = await import(`${location.origin}/aivm-sdk.js`);
      const client = new sdk.AivmClient(rpc);
      try {
        const request = await sdk.getRequest(client, id);
        const model = await sdk.getModel(client, request.modelId);
        const found = await sdk.getZkProof(client, { id: request.id, resultTxs: { 0: hash } }, 0);
        if (!found) throw new Error(`no proof in ${hash}`);
        const vk = await sdk.getModelVerificationKey(client, model);
        const check = (output: Uint8Array) =>
          sdk.verifyZkResult({
            proof: found.proof,
            output,
            input: request.input,
            vk,
            zkInputs: model.zkInputs,
          });
        const changed = found.output.slice();
        changed[0] ^= 1;
        return { asIs: await check(found.output), outputChanged: await check(changed) };
      } finally {
        client.close();
      }
    },
    [rpcUrl, requestId, txHash] as const,
  );
}

export async function runBrowserExample(opts: BrowserExampleOptions): Promise<BrowserExampleResult> {
  const tier = opts.tier ?? 'zk';
  const errors: string[] = [];
  const { server, url } = await serveStatic(opts.pageDir, opts.sdkBundle);
  let browser: Browser | undefined;
  try {
    // A non-persistent launch: a fresh temporary profile, removed on close.
    browser = await chromium.launch({
      executablePath: opts.executablePath ?? CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const page = await browser.newPage();
    page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    });
    page.on('requestfailed', (req) =>
      errors.push(`request failed: ${req.url()} ${req.failure()?.errorText}`),
    );
    await page.goto(`${url}/index.html?rpc=${encodeURIComponent(opts.rpcUrl)}`);

    await step(page, 'connected: ', 30_000, errors, () => page.click('#connect'));
    await step(page, 'transfer: ', 60_000, errors, () => page.click('#send'));
    await step(page, 'sample: ', 10_000, errors, () => page.click('#sample'));
    await page.selectOption('#tier', tier);
    await step(page, 'inference: ', opts.inferenceTimeoutMs ?? 300_000, errors, () => page.click('#infer'));
    let recheck: BrowserExampleResult['recheck'];
    if (tier === 'zk') {
      const verify = await step(page, 'verify: ', 120_000, errors, () => page.click('#verify'));
      const request = /^inference: request (\d+) /.exec(
        (await logLines(page)).find((l) => l.startsWith('inference: ')) ?? '',
      );
      const tx = /\(tx (0x[0-9a-f]{64})\)/.exec(verify);
      if (request && tx) recheck = await recheckProof(page, opts.rpcUrl, request[1]!, tx[1]!);
    }

    return {
      log: await logLines(page),
      history: await page.locator('#history li').allTextContents(),
      shownClass: (await page.locator('#class').textContent()) ?? '',
      shownProbabilities: await page.locator('#probs li').evaluateAll((lis) =>
        lis.map((li) =>
          Array.from(li.children, (c) => c.textContent)
            .filter(Boolean)
            .join(' ')
            .trim(),
        ),
      ),
      recheck,
      errors,
    };
  } finally {
    await browser?.close();
    await new Promise<void>((ok) => server.close(() => ok()));
  }
}
