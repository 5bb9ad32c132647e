// Gossip latency (p50/p99, one publisher -> one subscriber, sequential) and throughput (messages/s
// one publisher pushes to one subscriber). Both nodes run in this process on 127.0.0.1.
// Run: node_modules/.bin/node packages/p2p/bench/gossip.ts [messages]

import { P2P } from '@aivm/p2p';

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
  const pct = (p: number) => lat[Math.floor((lat.length - 1) * p)].toFixed(3);

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
    console.log(
      `throughput ${size} B: ${received.length}/${N} delivered, ${((received.length * 1000) / (t1 - t0)).toFixed(0)} msg/s (publish loop ${((N * 1000) / (published - t0)).toFixed(0)} msg/s)`,
    );
  }
  console.log(`latency (n=300, small msgs): p50 ${pct(0.5)} ms, p90 ${pct(0.9)} ms, p99 ${pct(0.99)} ms`);
} finally {
  await pub.stop();
  await sub.stop();
}
