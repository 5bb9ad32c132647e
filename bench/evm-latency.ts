// npm run bench:evm-latency [-- --runs 3 --tiers zk,onchain]: EVM request → consumer callback on
// anvil with 1 s blocks, through a real `aivm relayer` process (1 confirmation), against the
// reference measured in the same run: an AIVM request sent straight to the devnet → finalized.
// Goal (issue 15): EVM latency ≤ 1.5 × reference + 2 EVM blocks. Prints a table with the
// reference, the EVM latency, the ratio and the goal's bound. Real processes; a 2-core shared
// machine gives noisy numbers: read the medians.

import { join } from 'node:path';
import { mnemonicToPrivateKey } from '@aivm/crypto';
import { DigitGame } from '@aivm/evm';
import { requestInference as aivmRequest, DEV_MNEMONIC, Wallet, waitForRequest } from '@aivm/sdk';
import { parseEventLogs } from 'viem';
import { deployDigitGame, playDigit, startEvmStack, startRelayer } from '../packages/cli/test/evm-helpers.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
};
const RUNS = Number(arg('runs', '3'));
const TIERS = arg('tiers', 'zk,onchain').split(',') as ('zk' | 'onchain')[];
const BLOCK_MS = 1000;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : Number.NaN;
};

const s = await startEvmStack({ blockTime: BLOCK_MS / 1000 });
const relayer = startRelayer(s, join(s.dir, 'relayer'), { evmAccount: 1, aivmAccount: 1, confirmations: 1 });
const rows: { tier: string; ref: number[]; evm: number[]; errors: string[] }[] = [];
try {
  await relayer.waitFor((l) => l.event === 'started', 'relayer start', 60_000);
  const direct = Wallet.fromPrivateKey(mnemonicToPrivateKey(DEV_MNEMONIC, 3), s.aivm);
  for (const tier of TIERS) {
    const game = await deployDigitGame(s, tier === 'zk' ? 2 : 1);
    const row = { tier, ref: [] as number[], evm: [] as number[], errors: [] as string[] };
    rows.push(row);
    for (let i = 0; i < RUNS; i++) {
      // Reference: the same input straight to AIVM, sent → finalized seen.
      const t0 = Date.now();
      const { requestId, record } = await aivmRequest(direct, { modelId: s.mnist, tier, input: s.digit7 });
      await waitForRequest(s.aivm, requestId, { record, readResult: false, pollMs: 100 });
      row.ref.push(Date.now() - t0);
      // EVM: play() sent → the game's Result event (the callback) in a mined block, seen.
      const t1 = Date.now();
      const play = await playDigit(s, game, s.digit7);
      try {
        const done = await relayer.waitFor(
          (l) => l.event === 'done' && l.id === play.id.toString(),
          `request ${play.id}`,
          300_000,
        );
        if (done.outcome !== 'delivered')
          throw new Error(`request ${play.id}: ${done.outcome} ${done.detail}`);
        const receipt = await s.pub.getTransactionReceipt({ hash: done.txHash as `0x${string}` });
        const result = parseEventLogs({ abi: DigitGame.abi, logs: receipt.logs, eventName: 'Result' })[0];
        if (result?.args.classified !== 7n)
          throw new Error(`request ${play.id}: classified ${result?.args.classified}`);
        row.evm.push(Date.now() - t1);
      } catch (err) {
        row.errors.push((err as Error).message.split('\n')[0]!);
        break;
      }
    }
  }
} finally {
  await relayer.stop();
  await s.stop();
  await (await import('@aivm/zk/verify')).releaseCurve();
}

const lines = [
  `EVM request → consumer callback (anvil, ${BLOCK_MS} ms blocks, relayer with 1 confirmation) vs AIVM request → finalized (devnet 200 ms blocks), ${RUNS} runs, medians`,
  '',
  '| tier    | AIVM ref (ms) | EVM → callback (ms) | ratio | goal ≤ 1.5 × ref + 2 blocks (ms) | meets goal |',
  '|---------|---------------|---------------------|-------|----------------------------------|------------|',
];
for (const r of rows) {
  const ref = median(r.ref);
  const evm = median(r.evm);
  const bound = 1.5 * ref + 2 * BLOCK_MS;
  lines.push(
    `| ${r.tier.padEnd(7)} | ${ref.toFixed(0).padStart(13)} | ${evm.toFixed(0).padStart(19)} | ${(evm / ref).toFixed(2).padStart(5)} | ${bound.toFixed(0).padStart(32)} | ${(evm <= bound ? 'yes' : 'no').padEnd(10)} |`,
  );
  if (r.errors.length) lines.push(`  ${r.tier} errors: ${r.errors.join('; ')}`);
  lines.push(`  ${r.tier} samples: ref ${r.ref.join(', ')}; evm ${r.evm.join(', ')}`);
}
process.stdout.write(`${lines.join('\n')}\n`);
