// bench:chain — signed transfers from many accounts submitted over JSON-RPC to a real devnet
// process. Reports committed tx/s and commit latency, next to the raw signature-verification
// rate of the crypto in use measured in the same run (the ceiling of a single core).

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1Backend } from '@aivm/crypto';
import { startDevnet } from './lib/devnet.ts';
import { measureCeiling, runLoad, signTransfers } from './lib/load.ts';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 200);
const TXS_PER_ACCOUNT = Number(process.env.BENCH_TXS_PER_ACCOUNT ?? 50);

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, secp256k1 backend: ${secp256k1Backend()}`,
  );
  const ceiling = measureCeiling();

  const home = await mkdtemp(join(tmpdir(), 'aivm-bench-'));
  const node = await startDevnet<{ rpcUrl: string; wsUrl: string }>(home, [
    '--block-time',
    '250',
    '--accounts',
    String(ACCOUNTS),
  ]);
  try {
    console.log(`signing ${ACCOUNTS * TXS_PER_ACCOUNT} transfers from ${ACCOUNTS} accounts...`);
    const txs = signTransfers(7331n, ACCOUNTS, TXS_PER_ACCOUNT);
    const r = await runLoad({
      txs,
      accounts: ACCOUNTS,
      rpcUrls: [node.rpcUrl],
      wsUrl: node.wsUrl,
      watchRpcUrl: node.rpcUrl,
    });
    const rows = [
      ['transactions committed', String(r.committed), `${txs.length} sent, ${r.rejected} rejected`, ''],
      ['submission rate (tx/s)', r.submitPerSec.toFixed(0), '', ''],
      [
        'committed throughput (tx/s)',
        r.committedPerSec.toFixed(0),
        `goal 2000`,
        (r.committedPerSec / 2000).toFixed(2),
      ],
      ['commit latency p50 (ms)', r.latencyP50Ms.toFixed(0), '', ''],
      ['commit latency p99 (ms)', r.latencyP99Ms.toFixed(0), '', ''],
      [
        'raw secp256k1 recover (/s, 1 core)',
        ceiling.recoverPerSec.toFixed(0),
        'ceiling',
        (r.committedPerSec / ceiling.recoverPerSec).toFixed(2),
      ],
      [
        'EIP-712 hash + recover (/s, 1 core)',
        ceiling.verifyTxPerSec.toFixed(0),
        'tx verify ceiling',
        (r.committedPerSec / ceiling.verifyTxPerSec).toFixed(2),
      ],
    ];
    console.log('\n| metric | value | reference | ratio |\n|---|---:|---|---:|');
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  } finally {
    await node.stop();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
