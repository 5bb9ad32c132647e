import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generatePrivateKey, InvalidP2POptionsError, NotStartedError, P2P, peerIdOf } from '../src/index.ts';
import { accepting, addr, dec, enc, LOOPBACK, sleep, startNode, stopAll, waitFor } from './helpers.ts';

test('peers: a persistent peer that restarts is re-dialed and gossip resumes', async () => {
  const nodes: (P2P | undefined)[] = [];
  try {
    const key = await generatePrivateKey();
    let remote = await startNode({ privateKey: key });
    nodes.push(remote);
    assert.equal(remote.peerId, peerIdOf(key));
    const remoteAddr = addr(remote);
    const port = /\/tcp\/(\d+)\//.exec(remoteAddr)?.[1];
    const events: string[] = [];
    const got: string[] = [];
    const local = await startNode({ peers: [remoteAddr], redial: { initialMs: 100, maxMs: 400 } }, (p) => {
      p.on('peer:connect', (id) => events.push(`connect:${id === remote?.peerId}`));
      p.on('peer:disconnect', (id) => events.push(`disconnect:${id === remote?.peerId}`));
      p.subscribe(
        'proposals',
        accepting((d) => got.push(dec(d))),
      );
    });
    nodes.push(local);
    await waitFor('first connection', () => events.length === 1);
    await remote.stop();
    await waitFor('disconnect seen', () => events.length === 2);
    // stays down for a few backoff rounds (100, 200, 400 ms), then comes back on the same port
    await new Promise((r) => setTimeout(r, 800));
    remote = await startNode({ privateKey: key, listen: [`/ip4/127.0.0.1/tcp/${port}`] });
    nodes.push(remote);
    await waitFor('re-dialed', () => events.length === 3, 5000);
    assert.deepEqual(events, ['connect:true', 'disconnect:true', 'connect:true']);
    await waitFor('subscription', () => remote?.topicPeers('proposals').length === 1);
    // Gossip is best effort while the mesh re-forms (heartbeats are slow on a loaded machine):
    // publish distinct messages until one arrives.
    for (let i = 0; got.length === 0 && i < 40; i++) {
      await remote.publish('proposals', enc(`p1-${i}`));
      await sleep(250);
    }
    assert.ok(got.length >= 1 && got.every((m) => m.startsWith('p1-')), `received ${JSON.stringify(got)}`);
  } finally {
    await stopAll(nodes);
  }
});

test('peers: peers() lists connections with addresses; options are validated', async () => {
  const nodes: P2P[] = [];
  try {
    const a = await startNode();
    nodes.push(a);
    const b = await startNode({ seeds: [addr(a)] });
    nodes.push(b);
    await waitFor('connection', () => a.peers().length === 1 && b.peers().length === 1);
    const [seen] = b.peers();
    assert.equal(seen.id, a.peerId);
    assert.equal(seen.score, 0);
    assert.match(seen.addrs[0], /^\/ip4\/127\.0\.0\.1\/tcp\/\d+/);
    assert.ok(a.multiaddrs().every((m) => m.endsWith(`/p2p/${a.peerId}`)));
  } finally {
    await stopAll(nodes);
  }
  const bad = (o: object) =>
    assert.rejects(P2P.create({ network: 'n', listen: [LOOPBACK], ...o }), InvalidP2POptionsError);
  await bad({ network: 'has space' });
  await bad({ peers: ['/ip4/127.0.0.1/tcp/1'] }); // no /p2p/ id
  await bad({ seeds: ['not a multiaddr'] });
  await bad({ limits: { maxMessageBytes: { blobs: 1 } } });
  await bad({ limits: { messagesPerSecondPerPeer: 0 } });
  await bad({ scoring: { disconnectThreshold: 5 } });
  await bad({ privateKey: new Uint8Array([1, 2, 3]) });
  const idle = await P2P.create({ network: 'n', listen: [LOOPBACK] });
  await assert.rejects(idle.publish('txs', enc('x')), NotStartedError);
  assert.throws(() => idle.handle('Bad Name', async () => enc('')), InvalidP2POptionsError);
  idle.subscribe('txs', () => 'accept');
  assert.throws(() => idle.subscribe('txs', () => 'accept'), InvalidP2POptionsError);
});
