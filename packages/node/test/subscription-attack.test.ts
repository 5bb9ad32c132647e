// Issue 13, attack 7 replayed at test scale against a real node: one client opened every WebSocket
// connection of the node with every subscription it could, and never read; the notifications were
// built and sent on the consensus event loop, and the validator fell behind. Now a client holds its
// share of connections and subscriptions, consumers that do not read are closed, fan-out runs in
// yielding batches after commit, and the node goes on producing blocks and answering other clients.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519GenerateKey, privateKeyToAddress, sha256 } from '@aivm/crypto';
import { AivmClient } from '@aivm/sdk';
import { WebSocket } from 'ws';
import { buildGenesis, DEFAULT_SELF_STAKE_WEI } from '../src/genesis-builder.ts';
import { createLogger } from '../src/logger.ts';
import { AivmNode } from '../src/node.ts';
import { RPC_ERR } from '../src/rpc/errors.ts';

const ATTACKER = '127.0.0.2';
// Few connections with many subscriptions each: every connection gets enough notifications a
// second to fill the kernel's socket buffers (megabytes) within seconds when it does not read.
const CONNECTIONS = 3;
const PER_CONNECTION = 64;
const PER_CLIENT = 3 * 64 - 8;

let home: string;
let node: AivmNode;

type Msg = { id?: number; result?: unknown; error?: { code: number; message: string }; method?: string };

/** A raw WebSocket client from local address `from` that answers requests in order. */
async function connect(
  from: string,
): Promise<{ ws: WebSocket; call(method: string, params?: unknown): Promise<Msg> }> {
  const ws = new WebSocket(node.wsUrl, { localAddress: from });
  await once(ws, 'open');
  const pending = new Map<number, (m: Msg) => void>();
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as Msg;
    if (m.id !== undefined) pending.get(m.id)?.(m);
  });
  let next = 1;
  return {
    ws,
    call: (method, params) =>
      new Promise((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      }),
  };
}

async function metric(name: string): Promise<number> {
  const m = node.metrics.registry.getSingleMetric(name);
  return (await m!.get()).values[0]?.value ?? 0;
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'aivm-subscription-attack-'));
  const key = ed25519GenerateKey();
  node = await AivmNode.start({
    home,
    genesis: buildGenesis({
      chainId: 13,
      genesisTimeMs: 1_700_000_000_000,
      validators: [
        {
          operator: privateKeyToAddress(sha256(new TextEncoder().encode('subscription-attack operator'))),
          consensusPubKey: key.publicKey,
          selfStakeWei: DEFAULT_SELF_STAKE_WEI,
        },
      ],
      balances: [],
    }),
    validatorKey: key.secretKey,
    rpc: {
      host: '127.0.0.1',
      port: 0,
      maxSubscriptionsPerConnection: PER_CONNECTION,
      // Small enough that a consumer that does not read is found within a few dozen blocks.
      maxWsBufferedBytes: 16 * 1024,
      clientLimits: { maxConnectionsPerClient: CONNECTIONS, maxSubscriptionsPerClient: PER_CLIENT },
    },
    blockIntervalMs: 50,
    emptyBlocks: true,
    logger: createLogger('silent'),
  });
});

after(async () => {
  await node.close();
  await rm(home, { recursive: true, force: true });
});

describe('subscriptions (issue 13, attack 7)', () => {
  it('replays the flood: one client is held to its share, non-readers are closed, the node keeps going', async () => {
    // The attacker opens every connection it may...
    const conns = [];
    for (let i = 0; i < CONNECTIONS; i++) conns.push(await connect(ATTACKER));
    const refusedWs = new WebSocket(node.wsUrl, { localAddress: ATTACKER });
    refusedWs.on('error', () => {});
    const [req, res] = (await once(refusedWs, 'unexpected-response')) as [ClientRequest, IncomingMessage];
    req.destroy();
    assert.equal(res.statusCode, 429, 'the connection beyond the client share is refused');

    // ... and every subscription: PER_CONNECTION on a connection, PER_CLIENT over all of them.
    let accepted = 0;
    const refusals: string[] = [];
    for (const c of conns) {
      for (let i = 0; i < PER_CONNECTION + 1; i++) {
        const m = await c.call('aivm_subscribe', { topic: 'newBlocks' });
        if (m.error) {
          assert.equal(m.error.code, RPC_ERR.LIMIT_EXCEEDED);
          refusals.push(m.error.message);
        } else accepted++;
      }
    }
    assert.equal(accepted, PER_CLIENT);
    assert.equal(await metric('aivm_rpc_subscriptions'), PER_CLIENT);
    assert.ok(refusals.includes(`subscription limit reached (${PER_CONNECTION} per connection)`));
    assert.ok(refusals.includes(`subscription limit reached (${PER_CLIENT} per client ${ATTACKER})`));

    // It never reads what it asked for.
    const closes = conns.map((c) => once(c.ws, 'close'));
    for (const c of conns) c.ws.pause();

    // Meanwhile another client asks for the status, and blocks keep coming.
    const honest = new AivmClient(node.rpcUrl, { timeoutMs: 10_000 });
    const start = node.status().height;
    let statusCalls = 0;
    while ((await metric('aivm_rpc_subscriptions')) > 0) {
      const s = await honest.status();
      assert.ok(s.height >= start);
      statusCalls++;
      await new Promise((r) => setTimeout(r, 20));
      assert.ok(node.status().height < start + 2_000n, 'the non-reading consumers were never dropped');
    }
    // Every non-reading connection was dropped as a slow consumer, freeing its subscriptions.
    assert.equal(await metric('aivm_rpc_ws_slow_consumer_disconnects_total'), CONNECTIONS);
    const dropped = node.status().height;
    for (const c of conns) c.ws.resume();
    const codes = (await Promise.all(closes)).map(([code]) => code as number);
    for (const code of codes) assert.ok(code === 1008 || code === 1006, `close code ${code}`);

    // The node kept producing blocks and answering through the attack, and still does.
    assert.ok(statusCalls > 0);
    assert.ok(dropped > start, `no block during the attack (height ${start} -> ${dropped})`);
    for (let polls = 0; (await honest.status()).height < dropped + 5n; polls++) {
      assert.ok(polls < 500, 'fewer than 5 blocks after the attack');
      await new Promise((r) => setTimeout(r, 20));
    }
    // The attacker's connections are freed: it may connect again.
    const again = await connect(ATTACKER);
    assert.equal((await again.call('aivm_status')).error, undefined);
    again.ws.close();
    honest.close();
  });
});
