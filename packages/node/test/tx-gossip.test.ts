// Batched transaction gossip: what goes out (batches by time and by size) and what a received
// batch is worth to gossipsub (accept forwards it, reject penalises the sender).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, encode } from '@aivm/codec';
import type { GossipHandler, P2P, Topic } from '@aivm/p2p';
import { TxBatchSchema, TxGossip, type TxOutcome } from '../src/tx-gossip.ts';

/** The two calls TxGossip makes on the transport, recorded. */
function fakeP2P() {
  const published: Uint8Array[][] = [];
  let handler: GossipHandler | undefined;
  const p2p = {
    subscribe(topic: Topic, h: GossipHandler) {
      assert.equal(topic, 'txs');
      handler = h;
    },
    async publish(topic: Topic, data: Uint8Array) {
      assert.equal(topic, 'txs');
      published.push(decode(TxBatchSchema, data));
    },
  } as unknown as P2P;
  return { p2p, published, receive: (data: Uint8Array) => handler!(data, 'peer') };
}

const tx = (n: number, size = 100) => new Uint8Array(size).fill(n);

describe('transaction gossip', () => {
  it('sends everything announced within the flush interval as one batch, in order', async () => {
    const f = fakeP2P();
    const g = new TxGossip(f.p2p, async () => 'added', { flushMs: 20 });
    for (let i = 0; i < 50; i++) g.announce(tx(i));
    assert.equal(f.published.length, 0);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(f.published.length, 1);
    assert.deepEqual(
      f.published[0]!.map((t) => t[0]),
      Array.from({ length: 50 }, (_, i) => i),
    );
    g.stop();
  });

  it('starts a new batch before one would outgrow the size cap', () => {
    const f = fakeP2P();
    const g = new TxGossip(f.p2p, async () => 'added', { flushMs: 10_000, maxBatchBytes: 1_000 });
    for (let i = 0; i < 25; i++) g.announce(tx(i)); // 100 bytes each: 10 per batch
    assert.deepEqual(
      f.published.map((b) => b.length),
      [10, 10],
    );
    g.flush();
    assert.deepEqual(
      f.published.map((b) => b.length),
      [10, 10, 5],
    );
    for (const b of f.published) assert.ok(b.reduce((s, t) => s + t.length, 0) <= 1_000);
    g.stop();
  });

  it('a received batch: accepted when it brought something new, ignored when all known, rejected when any is invalid', async () => {
    const outcomes = new Map<number, TxOutcome>([
      [1, 'added'],
      [2, 'known'],
      [3, 'invalid'],
    ]);
    const admitted: number[] = [];
    const f = fakeP2P();
    new TxGossip(f.p2p, async (raw) => {
      admitted.push(raw[0]!);
      return outcomes.get(raw[0]!)!;
    });
    const batch = (...ns: number[]) =>
      encode(
        TxBatchSchema,
        ns.map((n) => tx(n)),
      );
    assert.equal(await f.receive(batch(2, 1, 2)), 'accept');
    assert.equal(await f.receive(batch(2, 2)), 'ignore');
    assert.equal(await f.receive(batch(1, 3)), 'reject');
    assert.equal(await f.receive(Uint8Array.of(0xff, 0x00)), 'reject'); // not a batch
    // Every transaction reached the mempool, in batch order.
    assert.deepEqual(admitted, [2, 1, 2, 2, 2, 1, 3]);
  });
});
