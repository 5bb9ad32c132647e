// bench:chain — signed transfers from many accounts submitted over JSON-RPC to a real devnet
// process. Reports committed tx/s and commit latency, next to the raw signature-verification
// rate of the crypto in use measured in the same run (the ceiling of a single core).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BankSend, decodeTx, defaultModules, Registry, signTx, verifyTxSignature } from '@aivm/chain';
import {
  bytesToHex,
  keccak256,
  mnemonicToPrivateKey,
  mnemonicToPrivateKeys,
  privateKeyToAddress,
  recoverAddress,
  secp256k1Backend,
  signDigest,
} from '@aivm/crypto';
import WebSocket from 'ws';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 200);
const TXS_PER_ACCOUNT = Number(process.env.BENCH_TXS_PER_ACCOUNT ?? 50);
const BATCH = 100;
const CONCURRENCY = 4;
const MNEMONIC = 'test test test test test test test test test test test junk';
const BIN = join(import.meta.dirname, '..', 'packages', 'cli', 'src', 'bin.ts');

function measureCeiling(): { recoverPerSec: number; verifyTxPerSec: number } {
  const sk = mnemonicToPrivateKey(MNEMONIC, 0);
  const digests = Array.from({ length: 2_000 }, (_, i) => keccak256(Uint8Array.of(i & 255, i >> 8)));
  const sigs = digests.map((d) => signDigest(d, sk));
  let t = performance.now();
  for (let i = 0; i < digests.length; i++) recoverAddress(digests[i]!, sigs[i]!);
  const recoverPerSec = digests.length / ((performance.now() - t) / 1000);
  const registry = new Registry(defaultModules());
  const txs = Array.from({ length: 2_000 }, (_, i) =>
    decodeTx(
      signTx(
        {
          chainId: 7331n,
          from: privateKeyToAddress(sk),
          nonce: BigInt(i),
          gasLimit: 100_000n,
          gasPrice: 10n ** 9n,
          msgType: 'bank/send',
          msg: { to: privateKeyToAddress(sk), amount: 1n },
        },
        sk,
        BankSend,
      ),
      (m) => registry.message(m)?.schema,
    ),
  );
  t = performance.now();
  for (const tx of txs) verifyTxSignature(tx, BankSend);
  return { recoverPerSec, verifyTxPerSec: txs.length / ((performance.now() - t) / 1000) };
}

async function startDevnet(home: string): Promise<{ proc: ChildProcess; rpcUrl: string; wsUrl: string }> {
  const proc = spawn(
    process.execPath,
    [
      BIN,
      '--json',
      'devnet',
      '--home',
      home,
      '--rpc-port',
      '0',
      '--block-time',
      '250',
      '--accounts',
      String(ACCOUNTS),
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: proc.stdout! });
  let buffer = '';
  for await (const line of lines) {
    buffer += line;
    try {
      const info = JSON.parse(buffer) as { rpcUrl: string; wsUrl: string };
      return { proc, ...info };
    } catch {
      // banner spans several lines
    }
  }
  throw new Error('devnet did not start');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, secp256k1 backend: ${secp256k1Backend()}`,
  );
  const ceiling = measureCeiling();

  const home = await mkdtemp(join(tmpdir(), 'aivm-bench-'));
  const node = await startDevnet(home);
  try {
    console.log(`signing ${ACCOUNTS * TXS_PER_ACCOUNT} transfers from ${ACCOUNTS} accounts...`);
    const keys = mnemonicToPrivateKeys(MNEMONIC, 0, ACCOUNTS);
    const txs: { raw: string; hash: string }[] = [];
    for (let n = 0; n < TXS_PER_ACCOUNT; n++) {
      for (let a = 0; a < ACCOUNTS; a++) {
        const raw = signTx(
          {
            chainId: 7331n,
            from: privateKeyToAddress(keys[a]!),
            nonce: BigInt(n),
            gasLimit: 60_000n,
            gasPrice: 10n ** 9n,
            msgType: 'bank/send',
            msg: { to: privateKeyToAddress(keys[(a + 1) % ACCOUNTS]!), amount: 1n },
          },
          keys[a]!,
          BankSend,
        );
        txs.push({ raw: bytesToHex(raw), hash: bytesToHex(keccak256(raw)) });
      }
    }

    const submitted = new Map<string, number>();
    const committed = new Map<string, number>();
    const ws = new WebSocket(`${node.wsUrl}`);
    await new Promise((r) => ws.once('open', r));
    // Block notifications stamp the commit time; the block's tx hashes are fetched afterwards, so
    // the node does no per-transaction notification work for the benchmark.
    const blocks: { height: string; at: number }[] = [];
    ws.send(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'aivm_subscribe', params: { topic: 'newBlocks' } }),
    );
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { method?: string; params?: { result: { height: string } } };
      if (msg.method === 'aivm_subscription')
        blocks.push({ height: msg.params!.result.height, at: performance.now() });
    });
    const collect = async () => {
      while (blocks.length) {
        const b = blocks.shift()!;
        const body = JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'aivm_getBlock',
          params: { height: b.height },
        });
        const res = await fetch(node.rpcUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const json = (await res.json()) as { result: { txs: string[] } };
        for (const h of json.result.txs) committed.set(h, b.at);
      }
    };
    await new Promise((r) => setTimeout(r, 200));

    let rejected = 0;
    const start = performance.now();
    // Each worker owns a disjoint set of accounts and sends their nonces in order.
    const worker = async (w: number) => {
      const mine = txs.filter((_, i) => (i % ACCOUNTS) % CONCURRENCY === w);
      for (let next = 0; next < mine.length; next += BATCH) {
        const batch = mine.slice(next, next + BATCH);
        const body = JSON.stringify(
          batch.map((t, i) => ({ jsonrpc: '2.0', id: i, method: 'aivm_sendRawTx', params: { tx: t.raw } })),
        );
        const now = performance.now();
        for (const t of batch) submitted.set(t.hash, now);
        const res = (await (
          await fetch(node.rpcUrl, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
        ).json()) as { error?: unknown }[];
        rejected += res.filter((r) => r.error).length;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
    const submitEnd = performance.now();
    const expected = txs.length - rejected;
    const deadline = Date.now() + 120_000;
    while (committed.size < expected && Date.now() < deadline) {
      await collect();
      await new Promise((r) => setTimeout(r, 50));
    }
    const end = Math.max(...committed.values());
    ws.close();

    const latencies = [...committed].map(([h, t]) => t - submitted.get(h)!).sort((a, b) => a - b);
    const tps = committed.size / ((end - start) / 1000);
    const rows = [
      ['transactions committed', String(committed.size), `${txs.length} sent, ${rejected} rejected`, ''],
      ['submission rate (tx/s)', (txs.length / ((submitEnd - start) / 1000)).toFixed(0), '', ''],
      ['committed throughput (tx/s)', tps.toFixed(0), `goal 2000`, (tps / 2000).toFixed(2)],
      ['commit latency p50 (ms)', percentile(latencies, 50).toFixed(0), '', ''],
      ['commit latency p99 (ms)', percentile(latencies, 99).toFixed(0), '', ''],
      [
        'raw secp256k1 recover (/s, 1 core)',
        ceiling.recoverPerSec.toFixed(0),
        'ceiling',
        (tps / ceiling.recoverPerSec).toFixed(2),
      ],
      [
        'EIP-712 hash + recover (/s, 1 core)',
        ceiling.verifyTxPerSec.toFixed(0),
        'tx verify ceiling',
        (tps / ceiling.verifyTxPerSec).toFixed(2),
      ],
    ];
    console.log('\n| metric | value | reference | ratio |\n|---|---:|---|---:|');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  } finally {
    node.proc.kill('SIGTERM');
    await new Promise((r) => node.proc.once('exit', r));
    await rm(home, { recursive: true, force: true });
  }
}

await main();
