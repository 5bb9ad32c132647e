// bench:network — four validator processes on this machine (BFT consensus over libp2p on
// 127.0.0.1), signed transfers submitted to all of them: committed tx/s and p50/p99 time from
// submission to finality (a committed block is final). The single-core signature-verification
// rate is measured in the same run as the reference.

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1Backend } from '@aivm/crypto';
import { createTestnet, TESTNET_CHAIN_ID } from '../packages/cli/src/commands/testnet.ts';
import { measureCeiling, runLoad, signTransfers } from './lib/load.ts';

const VALIDATORS = Number(process.env.BENCH_VALIDATORS ?? 4);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 200);
const TXS_PER_ACCOUNT = Number(process.env.BENCH_TXS_PER_ACCOUNT ?? 50);
const BLOCK_TIME_MS = Number(process.env.BENCH_BLOCK_TIME_MS ?? 100);
const PACED_RATE = Number(process.env.BENCH_PACED_RATE ?? 500);
const BIN = join(import.meta.dirname, '..', 'packages', 'cli', 'src', 'bin.ts');

async function waitReady(url: string, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'aivm_status', params: {} }),
      });
      const json = (await res.json()) as { result?: { height: string } };
      if (json.result && BigInt(json.result.height) >= 2n) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url} did not start producing blocks`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, secp256k1 backend: ${secp256k1Backend()}`,
  );
  const ceiling = measureCeiling();
  const dir = await mkdtemp(join(tmpdir(), 'aivm-bench-net-'));
  const base = 30_000 + Math.floor(Math.random() * 20_000);
  const nodes = await createTestnet({
    dir,
    validators: VALIDATORS,
    accounts: 2 * ACCOUNTS,
    p2pBasePort: base,
    rpcBasePort: base + 100,
    blockTimeMs: BLOCK_TIME_MS,
  });
  const procs: ChildProcess[] = nodes.map((n) => {
    const log = createWriteStream(join(n.home, 'node.log'));
    const p = spawn(process.execPath, [BIN, 'start', '--home', n.home, '--log-level', 'warn'], {
      env: { ...process.env, AIVM_VALIDATOR_PASSWORD: 'devnet' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    p.stdout!.pipe(log);
    p.stderr!.pipe(log);
    return p;
  });
  try {
    console.log(`${VALIDATORS} validators starting in ${dir}...`);
    await Promise.all(nodes.map((n) => waitReady(n.rpcUrl, 180_000)));
    // Two runs on the same network: as fast as the nodes accept (throughput), then paced at a
    // fixed rate below saturation (latency when the network keeps up). Each run has its own
    // accounts, so nonces start at 0.
    console.log(`signing ${2 * ACCOUNTS * TXS_PER_ACCOUNT} transfers from ${2 * ACCOUNTS} accounts...`);
    const all = signTransfers(BigInt(TESTNET_CHAIN_ID), 2 * ACCOUNTS, TXS_PER_ACCOUNT);
    const [txs, pacedTxs] = [0, 1].map((half) =>
      all.filter((_, i) => Math.floor((i % (2 * ACCOUNTS)) / ACCOUNTS) === half),
    ) as [typeof all, typeof all];
    const wsUrl = `${nodes[0]!.rpcUrl.replace('http', 'ws')}/ws`;
    const load = {
      accounts: ACCOUNTS,
      rpcUrls: nodes.map((n) => n.rpcUrl),
      wsUrl,
      watchRpcUrl: nodes[0]!.rpcUrl,
      timeoutMs: 300_000,
    };
    const r = await runLoad({ ...load, txs });
    const paced = await runLoad({ ...load, txs: pacedTxs, ratePerSec: PACED_RATE });
    const rows = [
      ['validators (processes)', String(VALIDATORS), '', ''],
      ['transactions committed', String(r.committed), `${txs.length} sent, ${r.rejected} rejected`, ''],
      ['submission rate (tx/s)', r.submitPerSec.toFixed(0), '', ''],
      [
        'committed throughput (tx/s)',
        r.committedPerSec.toFixed(0),
        'goal 1000',
        (r.committedPerSec / 1000).toFixed(2),
      ],
      [
        'finality latency p50 (ms)',
        r.latencyP50Ms.toFixed(0),
        'goal < 1000',
        (r.latencyP50Ms / 1000).toFixed(2),
      ],
      ['finality latency p99 (ms)', r.latencyP99Ms.toFixed(0), '', ''],
      [`paced at ${PACED_RATE} tx/s: committed (tx/s)`, paced.committedPerSec.toFixed(0), '', ''],
      [
        `paced at ${PACED_RATE} tx/s: finality p50 (ms)`,
        paced.latencyP50Ms.toFixed(0),
        'goal < 1000',
        (paced.latencyP50Ms / 1000).toFixed(2),
      ],
      [`paced at ${PACED_RATE} tx/s: finality p99 (ms)`, paced.latencyP99Ms.toFixed(0), '', ''],
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
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(
      procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)),
    );
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
