// JSON-RPC over WebSocket: methods, subscriptions and their cleanup, connection limits and slow consumers.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { ChainEvent } from '@aivm/chain';
import type { Hex } from '@aivm/crypto';
import { Registry as MetricsRegistry } from 'prom-client';
import { WebSocket } from 'ws';
import { RPC_ERR } from '../src/rpc/errors.ts';
import { type RpcServer, startRpcServer } from '../src/rpc/server.ts';
import { NotificationHub } from '../src/rpc/subscriptions.ts';
import { FAKE_RECIPIENT, FAKE_SENDER, FakeNode } from '../src/rpc/testing/fake-node.ts';

type Msg = {
  jsonrpc: '2.0';
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string };
  method?: string;
  params?: { subscription: string; result: Record<string, unknown> };
};

class Client {
  readonly ws: WebSocket;
  readonly notifications: Msg[] = [];
  readonly #pending = new Map<number, (m: Msg) => void>();
  #next = 1;

  /** `from`: the local address to connect from (127.0.0.x: each one is another client of the node). */
  constructor(url: string, from?: string) {
    this.ws = new WebSocket(url, from ? { localAddress: from } : {});
    this.ws.on('message', (data) => {
      const parsed = JSON.parse(data.toString()) as Msg | Msg[];
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        if (m.method === 'aivm_subscription') this.notifications.push(m);
        else this.#pending.get(m.id as number)?.(m);
      }
    });
  }

  async open(): Promise<this> {
    await once(this.ws, 'open');
    return this;
  }

  request(method: string, params?: unknown): Promise<Msg> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  async result<T = unknown>(method: string, params?: unknown): Promise<T> {
    const m = await this.request(method, params);
    assert.equal(m.error, undefined, JSON.stringify(m.error));
    return m.result as T;
  }

  /** Raw text in, first answer out. */
  sendRaw(text: string): Promise<Msg | Msg[]> {
    return new Promise((resolve) => {
      this.ws.once('message', (data) => resolve(JSON.parse(data.toString())));
      this.ws.send(text);
    });
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await once(this.ws, 'close');
  }
}

let node: FakeNode;
let server: RpcServer;
const metrics = new MetricsRegistry();
async function wsConnections(): Promise<number> {
  const m = (await metrics.getSingleMetric('aivm_rpc_ws_connections')!.get()).values[0];
  return m?.value ?? 0;
}
const clients: Client[] = [];

async function connect(): Promise<Client> {
  const c = await new Client(server.wsUrl).open();
  clients.push(c);
  return c;
}

async function until(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** HTTP status of a refused WebSocket upgrade. */
async function refusedStatus(url: string): Promise<number> {
  return (await refused(url)).status;
}

/** Status and body of a refused WebSocket upgrade. */
async function refused(url: string, from?: string): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(url, from ? { localAddress: from } : {});
  ws.on('error', () => {});
  const [req, res] = (await once(ws, 'unexpected-response')) as [ClientRequest, IncomingMessage];
  let body = '';
  res.on('data', (chunk: Buffer) => {
    body += chunk.toString();
  });
  await once(res, 'end');
  req.destroy();
  return { status: res.statusCode ?? 0, body };
}

const listeners = (): number =>
  node.events.listenerCount('block') +
  node.events.listenerCount('txResult') +
  node.events.listenerCount('moduleEvent');

before(async () => {
  node = new FakeNode();
  server = await startRpcServer(node, {
    port: 0,
    maxWsConnections: 3,
    maxSubscriptionsPerConnection: 3,
    metrics,
  });
});

after(async () => {
  for (const c of clients) await c.close();
  await server.close();
});

describe('websocket', () => {
  it('serves the same methods, batches and errors as HTTP', async () => {
    const c = await connect();
    const status = await c.result<{ height: string; chainId: string }>('aivm_status');
    assert.equal(status.height, '3');
    assert.equal(status.chainId, '1337');
    const batch = (await c.sendRaw(
      JSON.stringify([
        { jsonrpc: '2.0', id: 100, method: 'aivm_getBalance', params: { address: FAKE_RECIPIENT } },
        { jsonrpc: '2.0', id: 101, method: 'aivm_nope' },
      ]),
    )) as Msg[];
    assert.deepEqual(
      batch.map((m) => [m.id, m.error?.code ?? null]),
      [
        [100, null],
        [101, RPC_ERR.METHOD_NOT_FOUND],
      ],
    );
    const parse = (await c.sendRaw('{oops')) as Msg;
    assert.equal(parse.error?.code, RPC_ERR.PARSE_ERROR);
    const bad = await c.request('aivm_getTx', { hash: '0x12' });
    assert.equal(bad.error?.code, RPC_ERR.INVALID_PARAMS);
    assert.match(bad.error!.message, /hash: expected 0x followed by 64 hex digits/);
    await c.close();
  });

  it('newBlocks: subscribe, receive, unsubscribe, receive no more', async () => {
    const c = await connect();
    const id = await c.result<string>('aivm_subscribe', { topic: 'newBlocks' });
    assert.match(id, /^0x[0-9a-f]{32}$/);
    assert.equal(node.events.listenerCount('block'), 1);

    const rec = node.blocks[1]!;
    node.emit('block', rec);
    await until(() => c.notifications.length === 1, 'a block notification');
    const n = c.notifications[0]!;
    assert.equal(n.jsonrpc, '2.0');
    assert.equal(n.id, undefined);
    assert.equal(n.params?.subscription, id);
    const result = n.params!.result as { hash: Hex; height: string; header: Record<string, unknown> };
    assert.equal(result.hash, rec.hash);
    assert.equal(result.height, '2');
    assert.equal(result.header.height, '2');
    assert.equal(result.header.timeMs, '1700000002000');
    assert.equal(result.header.proposer, FAKE_SENDER);

    assert.equal(await c.result('aivm_unsubscribe', { subscription: id }), true);
    assert.equal(node.events.listenerCount('block'), 0);
    node.emit('block', rec);
    // Notifications and answers share one ordered stream: had the emit produced one, it would
    // arrive before this answer.
    await c.result('aivm_status');
    assert.equal(c.notifications.length, 1);
    assert.equal(await c.result('aivm_unsubscribe', { subscription: id }), false);
    await c.close();
  });

  it('txResults and events honour their filters', async () => {
    const c = await connect();
    const [hashA, recA] = [...node.txs][0]!;
    const [, recB] = [...node.txs][1]!;
    const txSub = await c.result<string>('aivm_subscribe', {
      topic: 'txResults',
      filter: { txHash: hashA.toUpperCase().replace('0X', '0x') },
    });
    const evSub = await c.result<string>('aivm_subscribe', {
      topic: 'events',
      filter: { module: 'bank', type: 'transfer' },
    });
    node.emit('txResult', recB);
    node.emit('txResult', recA);
    const ev = (
      module: string,
      type: string,
      txHash: Hex | null,
    ): ChainEvent & { height: bigint; txHash: Hex | null } => ({
      module,
      type,
      attributes: { amount: '1000', to: FAKE_RECIPIENT },
      height: 2n,
      txHash,
    });
    node.emit('moduleEvent', ev('staking', 'transfer', hashA));
    node.emit('moduleEvent', ev('bank', 'mint', hashA));
    node.emit('moduleEvent', ev('bank', 'transfer', null));
    await until(() => c.notifications.length === 2, 'two notifications');
    await c.result('aivm_status');
    assert.equal(c.notifications.length, 2);

    const [tx, event] = c.notifications;
    assert.equal(tx!.params!.subscription, txSub);
    assert.deepEqual(
      { ...tx!.params!.result, receipt: undefined },
      { hash: hashA, height: '2', index: 0, receipt: undefined },
    );
    assert.equal((tx!.params!.result.receipt as { txHash: Hex }).txHash, hashA);
    assert.equal(event!.params!.subscription, evSub);
    assert.deepEqual(event!.params!.result, {
      module: 'bank',
      type: 'transfer',
      attributes: { amount: '1000', to: FAKE_RECIPIENT },
      height: '2',
      txHash: null,
    });
    await c.close();
  });

  it('rejects filters that do not belong to the topic', async () => {
    const c = await connect();
    const m = await c.request('aivm_subscribe', { topic: 'newBlocks', filter: { module: 'bank' } });
    assert.equal(m.error?.code, RPC_ERR.INVALID_PARAMS);
    assert.match(m.error!.message, /filter\.module: not a filter of topic newBlocks/);
    const t = await c.request('aivm_subscribe', { topic: 'blocks' });
    assert.equal(t.error?.code, RPC_ERR.INVALID_PARAMS);
    assert.match(t.error!.message, /^invalid params: topic: /);
    await c.close();
  });

  it('removes every listener of a connection when it closes', async () => {
    const c = await connect();
    await c.result('aivm_subscribe', { topic: 'newBlocks' });
    await c.result('aivm_subscribe', { topic: 'txResults' });
    await c.result('aivm_subscribe', { topic: 'events' });
    assert.equal(listeners(), 3);
    await c.close();
    await until(() => listeners() === 0, 'listeners removed');
    assert.equal(listeners(), 0);
  });

  it('limits subscriptions per connection', async () => {
    const c = await connect();
    for (let i = 0; i < 3; i++) await c.result('aivm_subscribe', { topic: 'newBlocks' });
    const m = await c.request('aivm_subscribe', { topic: 'newBlocks' });
    assert.equal(m.error?.code, RPC_ERR.LIMIT_EXCEEDED);
    assert.match(m.error!.message, /subscription limit reached \(3 per connection\)/);
    await c.close();
    await until(() => listeners() === 0, 'listeners removed');
  });

  it('limits concurrent connections', async () => {
    const open = [await connect(), await connect(), await connect()];
    assert.equal(await refusedStatus(server.wsUrl), 503);
    for (const c of open) await c.close();
    const end = Date.now() + 2000;
    while ((await wsConnections()) > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.equal(await wsConnections(), 0);
    const again = await connect();
    assert.equal((await again.result<{ height: string }>('aivm_status')).height, '3');
    await again.close();
  });

  it('refuses other upgrade paths', async () => {
    assert.equal(await refusedStatus(server.wsUrl.replace('/ws', '/other')), 404);
  });
});

describe('slow consumers', () => {
  let small: RpcServer;
  let smallNode: FakeNode;
  const smallMetrics = new MetricsRegistry();
  /** Subscriptions open on the server, all connections together. */
  const subscriptions = async (): Promise<number> =>
    (await smallMetrics.getSingleMetric('aivm_rpc_subscriptions')!.get()).values[0]?.value ?? 0;
  before(async () => {
    smallNode = new FakeNode();
    small = await startRpcServer(smallNode, {
      port: 0,
      maxWsBufferedBytes: 64 * 1024,
      metrics: smallMetrics,
    });
  });
  after(async () => {
    await small.close();
  });

  // Large events so that the kernel's socket buffers fill in a few megabytes.
  const bigEvent = {
    module: 'bank',
    type: 'transfer',
    attributes: { blob: 'x'.repeat(4000) },
    height: 1n,
    txHash: null,
  };

  /** Emits batches of 20 events on separate turns of the event loop, as blocks would arrive. */
  async function flood(batches: number, stopWhen: () => Promise<boolean>): Promise<number> {
    let sent = 0;
    for (let b = 0; b < batches && !(await stopWhen()); b++) {
      for (let i = 0; i < 20; i++) smallNode.emit('moduleEvent', bigEvent);
      sent += 20;
      await new Promise((r) => setImmediate(r));
    }
    return sent;
  }

  it('keeps a consumer that reads, and drops one that stops reading', async () => {
    const reader = await new Client(small.wsUrl).open();
    await reader.result('aivm_subscribe', { topic: 'events' });
    const stalled = await new Client(small.wsUrl).open();
    await stalled.result('aivm_subscribe', { topic: 'events' });
    assert.equal(await subscriptions(), 2);
    // One listener on the node for both subscriptions: the hub fans out.
    assert.equal(smallNode.events.listenerCount('moduleEvent'), 1);
    const closed = once(stalled.ws, 'close');

    stalled.ws.pause();
    const sent = await flood(2000, async () => (await subscriptions()) < 2);
    assert.equal(await subscriptions(), 1, `stalled consumer still subscribed after ${sent} events`);
    assert.ok(sent < 40_000);

    // The reader got everything that was sent and is still served.
    await until(() => reader.notifications.length === sent, `${sent} notifications`, 4000);
    assert.equal((await reader.result<{ height: string }>('aivm_status')).height, '3');

    stalled.ws.resume();
    const [code, reason] = (await closed) as [number, Buffer];
    // A peer that reads again in time gets the close frame; one that does not loses its socket (1006).
    assert.ok(code === 1008 || code === 1006, `close code ${code}`);
    if (code === 1008) assert.match(reason.toString(), /^slow consumer: \d+ bytes unsent/);
    assert.ok(stalled.notifications.length < sent);
    await reader.close();
    const metrics = await (await fetch(`${small.url}/metrics`)).text();
    assert.match(metrics, /aivm_rpc_ws_slow_consumer_disconnects_total 1/);
  });
});

describe('per-client limits', () => {
  let limited: RpcServer;
  let limitedNode: FakeNode;
  const opened: Client[] = [];
  const open = async (from: string): Promise<Client> => {
    const c = await new Client(limited.wsUrl, from).open();
    opened.push(c);
    return c;
  };
  before(async () => {
    limitedNode = new FakeNode();
    limited = await startRpcServer(limitedNode, {
      port: 0,
      maxWsConnections: 10,
      maxSubscriptionsPerConnection: 3,
      clientLimits: { maxConnectionsPerClient: 2, maxSubscriptionsPerClient: 4 },
    });
  });
  after(async () => {
    for (const c of opened) await c.close();
    await limited.close();
  });

  it('a client (remote address) holds at most its share of connections; others still get theirs', async () => {
    const a1 = await open('127.0.0.2');
    await open('127.0.0.2');
    const refusal = await refused(limited.wsUrl, '127.0.0.2');
    assert.equal(refusal.status, 429);
    const body = JSON.parse(refusal.body) as Msg;
    assert.equal(body.error?.code, RPC_ERR.LIMIT_EXCEEDED);
    assert.equal(body.error?.message, 'connection limit reached (2 per client 127.0.0.2)');
    // Another client is served while the first one holds its share.
    const other = await open('127.0.0.3');
    assert.equal((await other.result<{ height: string }>('aivm_status')).height, '3');
    // A closed connection gives its place back.
    await a1.close();
    const end = Date.now() + 2000;
    let again: Client | undefined;
    while (!again && Date.now() < end) {
      const r = new Client(limited.wsUrl, '127.0.0.2');
      r.ws.on('error', () => {});
      again = await r.open().catch(() => undefined);
      if (!again) await new Promise((res) => setTimeout(res, 10));
    }
    assert.ok(again, 'the client could not reconnect after closing a connection');
    opened.push(again);
  });

  it('a client holds at most its share of subscriptions over all its connections', async () => {
    const [c1, c2] = [await open('127.0.0.4'), await open('127.0.0.4')];
    for (let i = 0; i < 3; i++) await c1.result('aivm_subscribe', { topic: 'newBlocks' });
    const id = await c2.result<string>('aivm_subscribe', { topic: 'events' });
    const m = await c2.request('aivm_subscribe', { topic: 'newBlocks' });
    assert.equal(m.error?.code, RPC_ERR.LIMIT_EXCEEDED);
    assert.equal(m.error?.message, 'subscription limit reached (4 per client 127.0.0.4)');
    // Another client subscribes freely; an unsubscription gives the place back.
    const other = await open('127.0.0.5');
    await other.result('aivm_subscribe', { topic: 'newBlocks' });
    assert.equal(await c2.result('aivm_unsubscribe', { subscription: id }), true);
    await c2.result('aivm_subscribe', { topic: 'newBlocks' });
  });
});

describe('notification backlog', () => {
  it('sheds the connections of the client with the most subscriptions when records back up', async () => {
    const fake = new FakeNode();
    const registry = new MetricsRegistry();
    const srv = await startRpcServer(fake, {
      port: 0,
      deliveriesPerTurn: 2,
      maxNotificationBacklog: 12,
      metrics: registry,
    });
    try {
      const heavy = await new Client(srv.wsUrl, '127.0.0.8').open();
      for (let i = 0; i < 3; i++) await heavy.result('aivm_subscribe', { topic: 'newBlocks' });
      const light = await new Client(srv.wsUrl, '127.0.0.9').open();
      await light.result('aivm_subscribe', { topic: 'newBlocks' });
      const closed = once(heavy.ws, 'close');
      // Twenty blocks committed at once: more records than the backlog allows.
      for (let i = 0; i < 20; i++) fake.emit('block', fake.blocks[1]!);
      const [code, reason] = (await closed) as [number, Buffer];
      assert.equal(code, 1013);
      assert.match(reason.toString(), /^notification backlog of \d+ records: connection shed, retry later$/);
      // The other client keeps its subscription and gets every record.
      await until(() => light.notifications.length === 20, '20 notifications for the light client');
      assert.equal(light.ws.readyState, WebSocket.OPEN);
      const shed = (await registry.getSingleMetric('aivm_rpc_ws_overload_disconnects_total')!.get())
        .values[0];
      assert.equal(shed?.value, 1);
      await light.close();
    } finally {
      await srv.close();
    }
  });
});

describe('notification hub', () => {
  it('queues on the commit path and delivers in batches of deliveriesPerTurn, one serialization per record', async () => {
    const fake = new FakeNode();
    const hub = new NotificationHub(fake, { deliveriesPerTurn: 3 });
    const got: string[][] = Array.from({ length: 10 }, () => []);
    for (let i = 0; i < 10; i++)
      hub.add({
        id: `0x${i.toString(16).padStart(32, '0')}`,
        topic: 'newBlocks',
        since: hub.seq,
        matches: () => true,
        deliver: (text) => got[i]!.push(text),
      });
    assert.equal(fake.events.listenerCount('block'), 1, 'one listener for every subscriber');
    const rec = fake.blocks[1]!;
    fake.emit('block', rec);
    const delivered = (): number => got.reduce((n, g) => n + g.length, 0);
    assert.equal(delivered(), 0, 'nothing sent on the emitting call');
    assert.equal(hub.backlog, 1);
    const turns: number[] = [];
    while (delivered() < 10) {
      await new Promise((r) => setImmediate(r));
      turns.push(delivered());
    }
    assert.deepEqual(turns, [3, 6, 9, 10]);
    assert.equal(hub.backlog, 0);
    const results = got.map((g) => JSON.parse(g[0]!) as Msg);
    assert.deepEqual(
      results.map((m) => m.params?.subscription),
      Array.from({ length: 10 }, (_, i) => `0x${i.toString(16).padStart(32, '0')}`),
    );
    for (const m of results) assert.deepEqual(m.params?.result, results[0]!.params?.result);
    assert.equal((results[0]!.params!.result as { hash: string }).hash, rec.hash);
    hub.close();
    assert.equal(fake.events.listenerCount('block'), 0);
  });
});
