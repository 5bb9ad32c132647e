// bench:inference — request-to-finalized latency of the MNIST MLP per tier (on-chain, zk,
// optimistic with the default 10-block window at a short block time) on a real devnet process with
// its provider, and on-chain inferences per block, next to an in-process reference measured in
// the same run: the integer runtime's time for one inference (runInt).

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_MNEMONIC } from '@aivm/cli';
import { mnemonicToPrivateKey } from '@aivm/crypto';
import { execute, quantizeInput } from '@aivm/node';
import { decodeArtifact } from '@aivm/runtime';
import { AivmClient, requestInference, TIERS, type TierName, Wallet, waitForRequest } from '@aivm/sdk';
import { startDevnet } from './lib/devnet.ts';

const ASSETS = join(import.meta.dirname, '..', 'packages', 'cli', 'assets');
const BLOCK_MS = Number(process.env.BENCH_BLOCK_MS ?? 250);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ONCHAIN_BATCH = Number(process.env.BENCH_ONCHAIN_REQUESTS ?? 200);
const ACCOUNTS = 10;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, block time ${BLOCK_MS} ms`,
  );
  const model = decodeArtifact(new Uint8Array(await readFile(join(ASSETS, 'mnist-mlp.aivm'))));
  const digit = (JSON.parse(await readFile(join(ASSETS, 'mnist-digit-7.json'), 'utf8')) as number[][])[0]!;
  const input = quantizeInput(model, digit);
  // Reference: the integer runtime in this process (warm).
  for (let i = 0; i < 20; i++) execute(model, input);
  const t0 = performance.now();
  const refRuns = 200;
  for (let i = 0; i < refRuns; i++) execute(model, input);
  const runIntMs = (performance.now() - t0) / refRuns;

  const home = await mkdtemp(join(tmpdir(), 'aivm-bench-inference-'));
  const node = await startDevnet<{ rpcUrl: string; model: string; provider: string }>(home, [
    '--block-time',
    String(BLOCK_MS),
    '--accounts',
    String(ACCOUNTS),
    '--zk-cache',
    join(tmpdir(), 'aivm-bench-zk-cache'),
  ]);
  const client = new AivmClient(node.rpcUrl, { timeoutMs: 60_000 });
  try {
    // The provider registers once its zk keys are ready.
    for (let i = 0; ; i++) {
      try {
        await client.query('inference/provider', { address: node.provider });
        break;
      } catch {
        if (i > 240) throw new Error('the devnet provider did not register');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const wallets = Array.from({ length: ACCOUNTS }, (_, i) =>
      Wallet.fromPrivateKey(mnemonicToPrivateKey(DEV_MNEMONIC, i), client),
    );
    const latency: Record<TierName, number[]> = { onchain: [], zk: [], optimistic: [] };
    for (const tier of ['onchain', 'zk', 'optimistic'] as TierName[]) {
      for (let r = 0; r < RUNS; r++) {
        const start = performance.now();
        const sent = await requestInference(wallets[0]!, { modelId: node.model, tier: TIERS[tier], input });
        const done = await waitForRequest(client, sent.requestId, { pollMs: 100 });
        if (done.status !== 'finalized')
          throw new Error(`${tier} request ${sent.requestId} ${done.status}: ${done.reason}`);
        latency[tier].push(performance.now() - start);
        console.error(`${tier} #${r + 1}: ${(performance.now() - start).toFixed(0)} ms`);
      }
    }

    // On-chain inferences per block: a burst from every account, counted per committed block.
    console.error(`sending ${ONCHAIN_BATCH} on-chain requests...`);
    const msg = { modelId: node.model, tier: TIERS.onchain, input, maxFeeWei: 10n ** 16n, redundancy: 1 };
    // One estimate for all (the same work each): the burst is not slowed by per-transaction estimates.
    const gas = await client.estimateGas({ from: wallets[0]!.address, msgType: 'inference/request', msg });
    const gasLimit = gas + gas / 5n + 20_000n;
    const head = (await client.status()).height;
    const hashes = await Promise.all(
      Array.from({ length: ONCHAIN_BATCH }, (_, i) =>
        wallets[i % ACCOUNTS]!.send('inference/request', msg, { gasLimit }),
      ),
    );
    const heights = new Map<bigint, number>();
    for (const h of hashes) {
      const rec = await client.waitForTx(h, { timeoutMs: 300_000 });
      if (!rec.receipt.success) throw new Error(`on-chain request failed: ${rec.receipt.error}`);
      heights.set(rec.height, (heights.get(rec.height) ?? 0) + 1);
    }
    const counts = [...heights.values()];
    let last = head;
    for (const h of heights.keys()) if (h > last) last = h;
    const blocks = Number(last - head);
    const perBlockMax = Math.max(...counts);
    const perBlockAvg = ONCHAIN_BATCH / Math.max(1, blocks);

    const rows: string[][] = [
      ['runInt, one MNIST inference in-process (ms)', runIntMs.toFixed(2), 'reference', '1.00'],
      ...(['onchain', 'zk', 'optimistic'] as TierName[]).map((t) => [
        `${t}: request to finalized, median of ${RUNS} (ms)`,
        median(latency[t]).toFixed(0),
        'runInt',
        (median(latency[t]) / runIntMs).toFixed(0),
      ]),
      [
        'on-chain inferences per block (max)',
        String(perBlockMax),
        `runInt per ${BLOCK_MS} ms block`,
        (perBlockMax / (BLOCK_MS / runIntMs)).toFixed(3),
      ],
      [
        `on-chain inferences per block (average over ${blocks} blocks)`,
        perBlockAvg.toFixed(1),
        `runInt per ${BLOCK_MS} ms block`,
        (perBlockAvg / (BLOCK_MS / runIntMs)).toFixed(3),
      ],
    ];
    console.log('\n| metric | value | reference | ratio |\n|---|---:|---|---:|');
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  } finally {
    client.close();
    await node.stop();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
