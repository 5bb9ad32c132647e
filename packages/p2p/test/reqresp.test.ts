import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MessageTooLargeError,
  type P2P,
  RemoteError,
  RequestTimeoutError,
  ResponseTooLargeError,
} from '../src/index.ts';
import { addr, dec, enc, sleep, startNode, stopAll, waitFor } from './helpers.ts';

test('request/response: roundtrip, remote errors, unknown protocol', async () => {
  const nodes: P2P[] = [];
  try {
    const server = await startNode({}, (p) => {
      p.handle('echo', async (req, from) => enc(`${dec(req).split('').reverse().join('')}|${from}`));
      p.handle('fail', async () => {
        throw new Error('no block at height 7');
      });
    });
    nodes.push(server);
    const client = await startNode({ seeds: [addr(server)] });
    nodes.push(client);
    await waitFor('connection', () => client.peers().length === 1);
    const res = await client.request(server.peerId, 'echo', enc('abc'));
    assert.equal(dec(res), `cba|${client.peerId}`);
    // empty payloads both ways are legal frames
    assert.equal(dec(await client.request(server.peerId, 'echo', new Uint8Array(0))), `|${client.peerId}`);
    // sequential requests on fresh streams
    for (let i = 0; i < 5; i++)
      assert.equal(dec(await client.request(server.peerId, 'echo', enc(`${i}x`))), `x${i}|${client.peerId}`);
    await assert.rejects(client.request(server.peerId, 'fail', enc('')), (e: Error) => {
      assert.ok(e instanceof RemoteError);
      assert.match(e.message, /no block at height 7/);
      return true;
    });
    await assert.rejects(client.request(server.peerId, 'nope', enc('')), (e: Error) => {
      assert.ok(e instanceof RemoteError, e.message);
      assert.match(e.message, /does not serve 'nope'/);
      return true;
    });
    // a handler error is not an offence of the requester
    assert.equal(server.score(client.peerId), 0);
  } finally {
    await stopAll(nodes);
  }
});

test('request/response: oversize request and response are refused and penalise the sender', async () => {
  const nodes: P2P[] = [];
  try {
    const server = await startNode({ limits: { maxRequestBytes: 1024, maxResponseBytes: 1 << 20 } }, (p) => {
      p.handle('big', async (req) => new Uint8Array(Number(dec(req))).fill(7));
    });
    nodes.push(server);
    const client = await startNode({
      seeds: [addr(server)],
      limits: { maxRequestBytes: 1 << 20, maxResponseBytes: 4096 },
    });
    nodes.push(client);
    await waitFor('connection', () => client.peers().length === 1);

    // local limit: refused before anything is sent
    await assert.rejects(
      client.request(server.peerId, 'big', new Uint8Array((1 << 20) + 1)),
      MessageTooLargeError,
    );

    // request over the server's limit (1024): server refuses after reading the 4-byte length
    await assert.rejects(client.request(server.peerId, 'big', new Uint8Array(2000).fill(49)), (e: Error) => {
      assert.ok(e instanceof RemoteError, e.message);
      assert.match(e.message, /request too large: frame announces 2000 bytes, the limit is 1024/);
      return true;
    });
    assert.equal(server.score(client.peerId), -20);

    // response within the client's limit (4096) passes, one byte more is cut and penalised
    assert.equal((await client.request(server.peerId, 'big', enc('4096'))).length, 4096);
    await assert.rejects(client.request(server.peerId, 'big', enc('4097')), (e: Error) => {
      assert.ok(e instanceof ResponseTooLargeError, e.message);
      assert.equal(e.limitBytes, 4096);
      return true;
    });
    assert.equal(client.score(server.peerId), -20);
  } finally {
    await stopAll(nodes);
  }
});

test('request/response: timeout rejects with RequestTimeoutError and the node keeps serving', async () => {
  const nodes: P2P[] = [];
  try {
    const server = await startNode({}, (p) => {
      p.handle('slow', async (req) => {
        await sleep(Number(dec(req)));
        return enc('late');
      });
    });
    nodes.push(server);
    const client = await startNode({ seeds: [addr(server)] });
    nodes.push(client);
    await waitFor('connection', () => client.peers().length === 1);
    const t0 = performance.now();
    await assert.rejects(
      client.request(server.peerId, 'slow', enc('3000'), { timeoutMs: 300 }),
      (e: Error) => {
        assert.ok(e instanceof RequestTimeoutError, `${e.name}: ${e.message}`);
        assert.equal(e.timeoutMs, 300);
        return true;
      },
    );
    const took = performance.now() - t0;
    // Not before its timeout, and long before the handler's 3 s answer would have come.
    assert.ok(took >= 290 && took < 3000, `took ${took} ms`);
    assert.equal(dec(await client.request(server.peerId, 'slow', enc('10'), { timeoutMs: 2000 })), 'late');
  } finally {
    await stopAll(nodes);
  }
});

test('request/response: requests beyond the per-peer rate are refused and penalised', async () => {
  const nodes: P2P[] = [];
  try {
    const server = await startNode(
      { limits: { requestsPerSecondPerPeer: 1, requestBurstPerPeer: 3 } },
      (p) => {
        p.handle('ping', async () => enc('pong'));
      },
    );
    nodes.push(server);
    const client = await startNode({ seeds: [addr(server)] });
    nodes.push(client);
    await waitFor('connection', () => client.peers().length === 1);
    const results: string[] = [];
    for (let i = 0; i < 5; i++) {
      results.push(
        await client.request(server.peerId, 'ping', enc('')).then(
          (r) => dec(r),
          (e: Error) => e.message.replace(/^peer \S+: /, ''),
        ),
      );
    }
    // burst of 3 then refusals (refill is 1/s; 5 quick requests take far less than a second)
    assert.deepEqual(results, ['pong', 'pong', 'pong', 'rate limited', 'rate limited']);
    assert.equal(server.score(client.peerId), -4);
  } finally {
    await stopAll(nodes);
  }
});
