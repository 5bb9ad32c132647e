// examples/browser in a real Chromium against a real devnet: the page loads the SDK's browser
// bundle, connects (CORS: the devnet allows any origin), commits a transfer signed in the page,
// runs a zk inference of the sample 7 on the devnet's MNIST model, follows its statuses live and
// verifies the proof in the page. Skipped only where Debian's Chromium is not installed.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AivmClient } from '@aivm/sdk';
import { build } from 'esbuild';
import { CHROMIUM, runBrowserExample } from './browser-example.ts';
import { startAivm, tempDir } from './helpers.ts';
import { waitFor } from './network-helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PAGE_DIR = join(ROOT, 'examples', 'browser');
/** The zk key cache inference.test.ts and examples.test.ts use too: the devnet's MNIST keys are set up once. */
const ZK_KEYS = join(tmpdir(), 'aivm-inference-test-zk-keys');

/**
 * The SDK as one browser ES module, built from its sources the way the package's
 * dist/browser/aivm-sdk.js is meant to be (scripts/build-packages.ts).
 */
async function buildSdkBundle(outfile: string): Promise<void> {
  await build({
    entryPoints: [join(ROOT, 'packages', 'sdk', 'src', 'index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    logLevel: 'warning',
  });
}

describe('examples/browser in Chromium against a devnet (real processes)', { timeout: 420_000 }, () => {
  it('connects, transfers, runs a zk inference of the sample 7 and verifies its proof in the page', {
    timeout: 400_000,
  }, async (t) => {
    if (!existsSync(CHROMIUM)) {
      t.skip(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
      return;
    }
    mkdirSync(ZK_KEYS, { recursive: true });
    const dir = await tempDir('aivm-browser-example-');
    const sdkBundle = join(dir.path, 'aivm-sdk.js');
    await buildSdkBundle(sdkBundle);
    const node = await startAivm(
      [
        'devnet',
        '--home',
        join(dir.path, 'devnet'),
        '--rpc-port',
        '0',
        '--block-time',
        '200',
        '--log-level',
        'warn',
      ],
      { AIVM_ZK_KEYS: ZK_KEYS },
    );
    const client = new AivmClient(node.rpcUrl);
    try {
      assert.equal(node.info.corsOrigin, '*', 'the devnet answers CORS for any origin');
      // The page's zk request needs an eligible provider: the devnet's registers after start.
      await waitFor(
        'the devnet provider to register',
        async () => Boolean(await client.query('inference/provider', { address: node.info.provider })),
        { timeoutMs: 90_000, intervalMs: 500, diagnose: () => node.stderr() },
      );
      const bob = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
      const bobBefore = await client.getBalance(bob);

      const r = await runBrowserExample({ pageDir: PAGE_DIR, sdkBundle, rpcUrl: node.rpcUrl, tier: 'zk' });
      const all = `log:\n${r.log.join('\n')}\nerrors:\n${r.errors.join('\n')}\n--- devnet:\n${node.stderr()}`;
      const line = (prefix: string) => {
        const found = r.log.find((l) => l.startsWith(prefix));
        assert.ok(found, `no "${prefix}" line; ${all}`);
        return found;
      };

      assert.deepEqual(r.errors, [], all);
      assert.equal(r.log.filter((l) => l.startsWith('error:')).length, 0, all);
      assert.match(line('connected: '), /^connected: chain 7331 height \d+$/);

      // The transfer the page signed: 1.5 CGPT from dev account 0 to dev account 1, committed.
      const transfer =
        /^transfer: committed in block (\d+), gas (\d+), 1\.5 CGPT to (0x[0-9a-fA-F]{40})$/.exec(
          line('transfer: '),
        );
      assert.ok(transfer, all);
      assert.equal(transfer[3], bob);
      assert.equal((await client.getBalance(bob)) - bobBefore, 1_500_000_000_000_000_000n);
      const block = await client.getBlock(BigInt(transfer[1]!));
      assert.ok(block, `block ${transfer[1]}`);

      // The zk inference: the sample is a 7; the chain's record agrees with what the page showed.
      const inference = /^inference: request (\d+) finalized class (\d+) tier zk history (\S+)$/.exec(
        line('inference: '),
      );
      assert.ok(inference, all);
      assert.equal(Number(inference[2]), 7);
      const statuses = inference[3]!.split(',');
      assert.equal(statuses[0], 'pending', all);
      assert.ok(statuses.includes('proven'), all);
      assert.equal(statuses.at(-1), 'finalized', all);
      assert.deepEqual(
        r.history.map((h) => h.split(/[ ,]/)[0]),
        statuses,
        'the Status list shows the statuses as they came',
      );
      const onChain = (await client.query('inference/request', { id: inference[1] })) as {
        status: string;
        requester: string;
      };
      assert.equal(onChain.status, 'finalized');
      assert.equal(onChain.requester.toLowerCase(), '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266');
      assert.equal(r.shownClass, '7');
      assert.equal(r.shownProbabilities.length, 10);
      assert.deepEqual(
        r.shownProbabilities.map((p) => p.split(' ')[0]),
        ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      );
      const percents = r.shownProbabilities.map((p) => Number(/^\d ([0-9.]+)%$/.exec(p)?.[1]));
      assert.equal(percents.indexOf(Math.max(...percents)), 7, r.shownProbabilities.join(' | '));
      const total = percents.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - 100) < 1, `probabilities add up to ${total}%`);

      // The proof, checked in the page with the SDK.
      assert.match(line('verify: '), /^verify: proof verified \(tx 0x[0-9a-f]{64}\)$/);
      // The bundle's verifier, run again in the page, accepts that proof and refuses a changed output.
      assert.deepEqual(r.recheck, { asIs: true, outputChanged: false });
    } finally {
      client.close();
      await node.stop();
      await dir.remove();
    }
  });
});
