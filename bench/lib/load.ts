// Shared load generator of the throughput benchmarks: pre-signed transfers from many accounts,
// submitted in JSON-RPC batches by a few concurrent workers (each owning disjoint accounts, so
// nonces arrive in order), with commit times taken from a newBlocks subscription.

import { BankSend, decodeTx, defaultModules, Registry, signTx, verifyTxSignature } from '@aivm/chain';
import {
  bytesToHex,
  keccak256,
  mnemonicToPrivateKey,
  mnemonicToPrivateKeys,
  privateKeyToAddress,
  recoverAddress,
  signDigest,
} from '@aivm/crypto';
import WebSocket from 'ws';

export const MNEMONIC = 'test test test test test test test test test test test junk';

/** Single-core signature verification rates: the ceiling one validator's checks put on throughput. */
export function measureCeiling(): { recoverPerSec: number; verifyTxPerSec: number } {
  const sk = mnemonicToPrivateKey(MNEMONIC, 0);
  const digests = Array.from({ length: 2_000 }, (_, i) => keccak256(Uint8Array.of(i & 255, i >> 8)));
  const sigs = digests.map((d) => signDigest(d, sk));
  let t = performance.now();
  for (let i = 0; i < digests.length; i++) recoverAddress(digests[i]!, sigs[i]!);
  const recoverPerSec = digests.length / ((performance.now() - t) / 1000);
  const registry = new Registry(defaultModules());
  const txs = signTransfers(7331n, 1, 2_000).map((t) =>
    decodeTx(t.bytes, (m) => registry.message(m)?.schema),
  );
  t = performance.now();
  for (const tx of txs) verifyTxSignature(tx, BankSend);
  return { recoverPerSec, verifyTxPerSec: txs.length / ((performance.now() - t) / 1000) };
}

export type SignedTransfer = { raw: string; hash: string; bytes: Uint8Array };

/** `perAccount` transfers from each of `accounts` dev accounts, interleaved by nonce. */
export function signTransfers(chainId: bigint, accounts: number, perAccount: number): SignedTransfer[] {
  const keys = mnemonicToPrivateKeys(MNEMONIC, 0, accounts);
  const txs: SignedTransfer[] = [];
  for (let n = 0; n < perAccount; n++) {
    for (let a = 0; a < accounts; a++) {
      const bytes = signTx(
        {
          chainId,
          from: privateKeyToAddress(keys[a]!),
          nonce: BigInt(n),
          gasLimit: 60_000n,
          gasPrice: 10n ** 9n,
          msgType: 'bank/send',
          msg: { to: privateKeyToAddress(keys[(a + 1) % accounts]!), amount: 1n },
        },
        keys[a]!,
        BankSend,
      );
      txs.push({ raw: bytesToHex(bytes), hash: bytesToHex(keccak256(bytes)), bytes });
    }
  }
  return txs;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export type LoadResult = {
  committed: number;
  rejected: number;
  submitPerSec: number;
  committedPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
};

async function rpc(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.json();
}

/**
 * Submits `txs` (account-interleaved, see signTransfers) to `rpcUrls` — each account always to the
 * same node, accounts spread over the nodes — and waits until they are committed as seen by the
 * node at `wsUrl`/`watchRpcUrl`. Latency: submission to the commit notification of their block.
 */
export async function runLoad(opts: {
  txs: SignedTransfer[];
  accounts: number;
  rpcUrls: string[];
  wsUrl: string;
  watchRpcUrl: string;
  concurrency?: number;
  batch?: number;
  timeoutMs?: number;
  /** Paced submission at this many tx/s (all workers together); unpaced (as fast as accepted) when absent. */
  ratePerSec?: number;
}): Promise<LoadResult> {
  const { txs, accounts } = opts;
  const concurrency = opts.concurrency ?? 4;
  const batch = opts.batch ?? 100;
  const submitted = new Map<string, number>();
  const committed = new Map<string, number>();
  const ws = new WebSocket(opts.wsUrl);
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
      const json = (await rpc(opts.watchRpcUrl, {
        jsonrpc: '2.0',
        id: 1,
        method: 'aivm_getBlock',
        params: { height: b.height },
      })) as { result: { txs: string[] } };
      for (const h of json.result.txs) committed.set(h, b.at);
    }
  };
  await new Promise((r) => setTimeout(r, 200));

  let rejected = 0;
  const start = performance.now();
  const worker = async (w: number) => {
    const mine = txs
      .map((t, i) => ({ t, account: i % accounts }))
      .filter((x) => x.account % concurrency === w);
    for (let next = 0; next < mine.length; next += batch) {
      const slice = mine.slice(next, next + batch);
      // One node per account (by account index), so a sender's nonces reach one mempool in order.
      const byNode = new Map<string, SignedTransfer[]>();
      for (const { t, account } of slice) {
        const url = opts.rpcUrls[account % opts.rpcUrls.length]!;
        const group = byNode.get(url) ?? [];
        group.push(t);
        byNode.set(url, group);
      }
      if (opts.ratePerSec) {
        // Worker w sends its share of the rate: batch k of it is due at start + k * batch / share.
        const due = start + (next / opts.ratePerSec) * concurrency * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const now = performance.now();
      for (const { t } of slice) submitted.set(t.hash, now);
      await Promise.all(
        [...byNode].map(async ([url, group]) => {
          const res = (await rpc(
            url,
            group.map((t, i) => ({ jsonrpc: '2.0', id: i, method: 'aivm_sendRawTx', params: { tx: t.raw } })),
          )) as { error?: unknown }[];
          rejected += res.filter((r) => r.error).length;
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const submitEnd = performance.now();
  const expected = txs.length - rejected;
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  while (committed.size < expected && Date.now() < deadline) {
    await collect();
    await new Promise((r) => setTimeout(r, 50));
  }
  ws.close();
  const end = Math.max(...committed.values());
  const latencies = [...committed].map(([h, t]) => t - submitted.get(h)!).sort((a, b) => a - b);
  return {
    committed: committed.size,
    rejected,
    submitPerSec: txs.length / ((submitEnd - start) / 1000),
    committedPerSec: committed.size / ((end - start) / 1000),
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
  };
}
