// Gossip latency (p50/p99, one publisher -> one subscriber, sequential) and throughput (messages/s
// one publisher pushes to one subscriber). Both nodes run in this process on 127.0.0.1.
// The reference is the default per-peer gossip rate a node admits (limits.messagesPerSecondPerPeer):
// the link must carry well above it for the limit, not the transport, to be what bounds a peer.
// Run: npm run bench:p2p [-- messages]

import { cpus } from 'node:os';
import { P2P } from '@aivm/p2p';

const PEER_RATE_LIMIT = 1_000;

const N = Number(process.argv[2] ?? 5000);
const limits = { messagesPerSecondPerPeer: 1e9, messageBurstPerPeer: 1e9 };
const opts = { network: 'bench', listen: ['/ip4/127.0.0.1/tcp/0'], limits };

const received: number[] = [];
let onMsg: (() => void) | undefined;
const sub = await P2P.create(opts);
sub.subscribe('txs', (d) => {
  received.push(performance.now());
  void d;
  onMsg?.();
  return 'accept';
});
await sub.start();
const pub = await P2P.create({ ...opts, seeds: [sub.multiaddrs()[0]] });
await pub.start();
try {
  while (pub.topicPeers('txs').length === 0) await new Promise((r) => setTimeout(r, 20));

  const lat: number[] = [];
  for (let i = 0; i < 300; i++) {
    const got = new Promise<void>((r) => (onMsg = r));
    const t0 = performance.now();
    await pub.publish('txs', new TextEncoder().encode(`lat-${i}`));
    await got;
    lat.push(performance.now() - t0);
  }
  onMsg = undefined;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.floor((lat.length - 1) * p)]!.toFixed(3);
  const rows: string[][] = [];

  for (const size of [100, 1024]) {
    received.length = 0;
    const payload = new Uint8Array(size);
    const view = new DataView(payload.buffer);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      view.setUint32(0, i);
      view.setUint32(4, size);
      await pub.publish('txs', payload.slice());
    }
    const published = performance.now();
    while (received.length < N && performance.now() - published < 10_000)
      await new Promise((r) => setTimeout(r, 5));
    const t1 = received.length > 0 ? received[received.length - 1] : performance.now();
    const rate = (received.length * 1000) / (t1! - t0);
    rows.push([
      `delivered ${size} B messages (/s), ${received.length}/${N}`,
      rate.toFixed(0),
      `per-peer limit ${PEER_RATE_LIMIT}`,
      (rate / PEER_RATE_LIMIT).toFixed(2),
    ]);
  }
  rows.push(['gossip latency p50 (ms)', pct(0.5), '', ''], ['gossip latency p99 (ms)', pct(0.99), '', '']);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}`);
  console.log('\n| metric | value | reference | ratio |\n|---|---:|---|---:|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
} finally {
  await pub.stop();
  await sub.stop();
}
