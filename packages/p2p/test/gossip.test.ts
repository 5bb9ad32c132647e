import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type P2P, TOPICS, type Topic } from '../src/index.ts';
import { accepting, addr, dec, enc, sleep, startNode, stopAll, waitFor } from './helpers.ts';

test('gossip: three nodes in a line deliver every topic to both others, with the forwarder as `from`', async () => {
  const nodes: P2P[] = [];
  try {
    const got: Record<number, string[]> = { 0: [], 1: [], 2: [] };
    // records topic, payload and whether `from` is the direct neighbour that forwarded it
    const neighbours = (i: number) => (i === 1 ? [0, 2] : [1]).map((j) => nodes[j].peerId);
    const sub = (i: number) => (p: P2P) => {
      for (const t of TOPICS)
        p.subscribe(t, (d, from) => {
          got[i].push(`${t}:${dec(d)}:${neighbours(i).includes(from)}`);
          return 'accept';
        });
    };
    nodes.push(await startNode({}, sub(0)));
    nodes.push(await startNode({ seeds: [addr(nodes[0])] }, sub(1)));
    nodes.push(await startNode({ seeds: [addr(nodes[1])] }, sub(2)));
    // a line 0 - 1 - 2: node 2 only hears node 0 through node 1's forwarding
    await waitFor('meshes', () =>
      TOPICS.every((t) => nodes[1].meshPeers(t).length === 2 && nodes[2].topicPeers(t).length === 1),
    );
    assert.equal(
      nodes[0].peers().some((p) => p.id === nodes[2].peerId),
      false,
    );
    for (const t of TOPICS) await nodes[0].publish(t, enc(`from0-${t}`));
    for (const t of TOPICS) await nodes[2].publish(t, enc(`from2-${t}`));
    const n = TOPICS.length;
    await waitFor('delivery', () => got[0].length === n && got[1].length === 2 * n && got[2].length === n);
    await sleep(300); // nothing more arrives: no duplicates, no echo to the publisher
    assert.deepEqual(got[0].sort(), TOPICS.map((t) => `${t}:from2-${t}:true`).sort());
    assert.deepEqual(got[2].sort(), TOPICS.map((t) => `${t}:from0-${t}:true`).sort());
    assert.deepEqual(
      got[1].sort(),
      TOPICS.flatMap((t) => [`${t}:from0-${t}:true`, `${t}:from2-${t}:true`]).sort(),
    );
  } finally {
    await stopAll(nodes);
  }
});

test('gossip: nodes of different networks are disconnected and exchange nothing', async () => {
  const nodes: P2P[] = [];
  try {
    const got: string[] = [];
    const accept = (who: string) => (p: P2P) =>
      p.subscribe(
        'txs',
        accepting((d) => got.push(`${who}:${dec(d)}`)),
      );
    nodes.push(await startNode({ network: 'chain-a' }, accept('a')));
    nodes.push(await startNode({ network: 'chain-b', seeds: [addr(nodes[0])] }, accept('b')));
    nodes.push(await startNode({ network: 'chain-a', seeds: [addr(nodes[0])] }, accept('a2')));
    await waitFor('same-network subscription', () => nodes[0].topicPeers('txs').length === 1);
    // identify reveals b lacks chain-a's hello protocol; the connection is dropped
    await waitFor('foreign peer dropped', () => !nodes[0].peers().some((p) => p.id === nodes[1].peerId));
    // Gossip is best effort while the mesh forms (heartbeats are slow on a loaded machine): publish
    // distinct messages on both networks until chain-a's one arrives.
    for (let i = 0; !got.some((g) => g.startsWith('a2:')) && i < 40; i++) {
      await nodes[0].publish('txs', enc(`x${i}`));
      await nodes[1].publish('txs', enc(`y${i}`));
      await sleep(250);
    }
    await sleep(300);
    assert.ok(got.length > 0, 'chain-a never delivered');
    assert.ok(
      got.every((g) => /^a2:x\d+$/.test(g)),
      `only a2 may receive, and only chain-a's messages: ${JSON.stringify(got)}`,
    );
  } finally {
    await stopAll(nodes);
  }
});

test('gossip: a throwing or rejecting handler does not crash the node; publish without peers is fine', async () => {
  const nodes: P2P[] = [];
  try {
    const alone = await startNode({}, (p) => p.subscribe('votes', () => 'accept'));
    nodes.push(alone);
    await alone.publish('votes', enc('nobody listens')); // no throw
    let calls = 0;
    nodes.push(
      await startNode({ seeds: [addr(alone)] }, (p) => {
        p.subscribe('votes', (d) => {
          calls++;
          if (dec(d) === 'boom') throw new Error('handler bug');
          return dec(d) === 'bad' ? 'reject' : 'accept';
        });
        p.subscribe('blocks', async () => {
          calls++;
          await sleep(1);
          throw new Error('async handler bug');
        });
      }),
    );
    await waitFor(
      'subscription',
      () => alone.topicPeers('votes').length === 1 && alone.topicPeers('blocks').length === 1,
    );
    await alone.publish('votes', enc('boom'));
    await alone.publish('blocks', enc('b'));
    await alone.publish('votes', enc('fine'));
    await waitFor('three handler calls', () => calls === 3);
    // a handler bug is not the sender's fault: no penalty, still connected
    const view = nodes[1].peers().find((p) => p.id === alone.peerId);
    assert.ok(view, 'still connected');
    assert.ok(view.score >= 0, `score ${view.score} not negative`);
    // a 'reject' verdict is the sender's fault: app penalty 10, plus the router's P4 penalty later
    await alone.publish('votes', enc('bad'));
    await waitFor('fourth call', () => calls === 4);
    assert.ok(nodes[1].score(alone.peerId) <= -10, `score ${nodes[1].score(alone.peerId)}`);
    assert.ok(
      nodes[1].peers().some((p) => p.id === alone.peerId),
      'one reject does not disconnect',
    );
  } finally {
    await stopAll(nodes);
  }
});

test('gossip: topic names are namespaced by network', async () => {
  const { topicId } = await import('../src/index.ts');
  const t: Topic = 'votes';
  assert.equal(topicId('aivm-1', t), '/aivm/aivm-1/votes/1');
});
