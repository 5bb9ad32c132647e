import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { P2P } from '../src/index.ts';
import { accepting, addr, dec, enc, sleep, startNode, stopAll, waitFor } from './helpers.ts';

test('limits: an oversize gossip message never reaches the handler and penalises the sender', async () => {
  const nodes: P2P[] = [];
  try {
    const got: string[] = [];
    const receiver = await startNode({ limits: { maxMessageBytes: { txs: 1024 } } }, (p) =>
      p.subscribe(
        'txs',
        accepting((d) => got.push(`${d.length}`)),
      ),
    );
    nodes.push(receiver);
    // the sender's own limit is larger, as a misconfigured or hostile peer's would be
    const sender = await startNode({
      seeds: [addr(receiver)],
      limits: { maxMessageBytes: { txs: 64 * 1024 } },
    });
    nodes.push(sender);
    await waitFor('subscription', () => sender.topicPeers('txs').length === 1);
    await sender.publish('txs', new Uint8Array(1025).fill(1));
    await sender.publish('txs', new Uint8Array(1024).fill(2));
    await waitFor('the in-limit message', () => got.length === 1);
    await sleep(200);
    assert.deepEqual(got, ['1024']);
    // app penalty 20 (oversize); the router adds its invalid-delivery penalty at the next refresh
    await waitFor('score includes both penalties', () => receiver.score(sender.peerId) < -20);
    assert.ok(receiver.score(sender.peerId) > -100, 'one oversize message does not get a peer banned');
    assert.ok(receiver.peers().some((p) => p.id === sender.peerId));
  } finally {
    await stopAll(nodes);
  }
});

test('limits: a flooding peer is rate-limited, its score drops, it is disconnected and refused', async () => {
  const nodes: P2P[] = [];
  try {
    let delivered = 0;
    const banned: string[] = [];
    const receiver = await startNode(
      { limits: { messagesPerSecondPerPeer: 20, messageBurstPerPeer: 20 }, scoring: { banMs: 30_000 } },
      (p) => {
        p.subscribe(
          'txs',
          accepting(() => delivered++),
        );
        p.on('peer:banned', (peer) => banned.push(peer));
      },
    );
    nodes.push(receiver);
    const flooder = await startNode({ seeds: [addr(receiver)] });
    nodes.push(flooder);
    await waitFor('subscription', () => flooder.topicPeers('txs').length === 1);
    for (let i = 0; i < 400 && banned.length === 0; i++) await flooder.publish('txs', enc(`tx-${i}`));
    await waitFor('ban', () => banned.length === 1);
    assert.deepEqual(banned, [flooder.peerId]);
    // burst of 20 plus what refilled at 20/s while publishing; far below the 71+ sent before the ban
    assert.ok(delivered >= 20 && delivered < 60, `delivered ${delivered}`);
    assert.ok(receiver.score(flooder.peerId) < -100, `score ${receiver.score(flooder.peerId)}`);
    await waitFor('disconnect', () => receiver.peers().length === 0);
    // the gater refuses it while the ban lasts: the dialer may finish its side of the handshake
    // (noise XX ends with its message) but the receiver never admits the connection
    let reconnects = 0;
    receiver.on('peer:connect', () => reconnects++);
    await flooder.connect(addr(receiver)).catch(() => {});
    await waitFor('flooder sees the refusal', () => flooder.peers().length === 0);
    assert.equal(reconnects, 0);
    assert.equal(receiver.peers().length, 0);
  } finally {
    await stopAll(nodes);
  }
});

test('limits: a flooding persistent peer is rate-limited and scored but stays connected', async () => {
  const nodes: P2P[] = [];
  try {
    const texts: string[] = [];
    const flooder = await startNode();
    nodes.push(flooder);
    const receiver = await startNode(
      { peers: [addr(flooder)], limits: { messagesPerSecondPerPeer: 10, messageBurstPerPeer: 10 } },
      (p) =>
        p.subscribe(
          'votes',
          accepting((d) => texts.push(dec(d))),
        ),
    );
    nodes.push(receiver);
    await waitFor('subscription', () => flooder.topicPeers('votes').length === 1);
    for (let i = 0; i < 150; i++) await flooder.publish('votes', enc(`v${i}`));
    await waitFor('penalties', () => receiver.score(flooder.peerId) < -100);
    await sleep(300);
    assert.ok(texts.length >= 10 && texts.length < 40, `delivered ${texts.length}`);
    assert.deepEqual(texts.slice(0, 10), ['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
    assert.ok(
      receiver.peers().some((p) => p.id === flooder.peerId),
      'persistent peer kept',
    );
  } finally {
    await stopAll(nodes);
  }
});

test('limits: penalize() below the threshold disconnects and bans the peer', async () => {
  const nodes: P2P[] = [];
  try {
    const a = await startNode({ scoring: { disconnectThreshold: -50 } });
    nodes.push(a);
    const b = await startNode({ seeds: [addr(a)] });
    nodes.push(b);
    await waitFor('connection', () => a.peers().length === 1);
    a.penalize(b.peerId, 'bad block', 30);
    assert.equal(a.peers().length, 1, 'one offence above the threshold keeps the peer');
    a.penalize(b.peerId, 'bad block again', 30);
    await waitFor('disconnect', () => a.peers().length === 0);
    await assert.rejects(a.connect(addr(b)));
  } finally {
    await stopAll(nodes);
  }
});
