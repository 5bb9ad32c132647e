// Query params with omitted optional fields (models/list, inference/requests), through the RPC
// server and through a real node: omitted filters take the query's defaults.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519GenerateKey, privateKeyToAddress } from '@aivm/crypto';
import { Registry as MetricsRegistry } from 'prom-client';
import { buildGenesis, DEFAULT_SELF_STAKE_WEI } from '../src/genesis-builder.ts';
import { createLogger } from '../src/logger.ts';
import { AivmNode } from '../src/node.ts';
import { type RpcServer, startRpcServer } from '../src/rpc/server.ts';
import { FakeNode } from '../src/rpc/testing/fake-node.ts';

describe('query params with omitted optional fields', () => {
  let fake: FakeNode;
  let server: RpcServer;
  before(async () => {
    fake = new FakeNode();
    server = await startRpcServer(fake, { port: 0, metrics: new MetricsRegistry() });
  });
  after(() => server.close());

  async function call(params: unknown) {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'aivm_query', params }),
    });
    return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
  }

  it('aivm_query accepts any subset of models/list and inference/requests fields', async () => {
    for (const [path, params] of [
      ['models/list', undefined],
      ['models/list', {}],
      ['models/list', { task: 'image-classification' }],
      ['models/list', { owner: '', task: '', text: 'mnist', includeInactive: true, after: '', limit: 5 }],
      ['inference/requests', {}],
      ['inference/requests', { status: 'finalized', limit: 10 }],
      [
        'inference/requests',
        { requester: '0x0000000000000000000000000000000000000000', status: '', after: '0', limit: 0 },
      ],
    ] as const) {
      const res = await call({ path, ...(params === undefined ? {} : { params }) });
      assert.equal(res.error, undefined, `${path} ${JSON.stringify(params)}: ${res.error?.message}`);
    }
    // Unknown fields and bad values are still refused as invalid params.
    const unknown = await call({ path: 'models/list', params: { tsk: 'x' } });
    assert.equal(unknown.error?.code, -32602);
    assert.match(unknown.error!.message, /unknown field tsk/);
    const bad = await call({ path: 'inference/requests', params: { limit: -1 } });
    assert.equal(bad.error?.code, -32602);
    // A query without defaults still requires its fields.
    const missing = await call({ path: 'bank/balance', params: {} });
    assert.equal(missing.error?.code, -32602);
  });

  it('a node answers models/list and inference/requests with omitted fields', async () => {
    const home = await mkdtemp(join(tmpdir(), 'aivm-query-defaults-'));
    const key = ed25519GenerateKey();
    const node = await AivmNode.start({
      home,
      genesis: buildGenesis({
        chainId: 5,
        genesisTimeMs: 1_700_000_000_000,
        validators: [
          {
            operator: privateKeyToAddress(Uint8Array.from({ length: 32 }, (_, i) => i + 1)),
            consensusPubKey: key.publicKey,
            selfStakeWei: DEFAULT_SELF_STAKE_WEI,
          },
        ],
        balances: [],
      }),
      validatorKey: key.secretKey,
      rpc: false,
      blockIntervalMs: 1000,
      emptyBlocks: false,
      logger: createLogger('silent'),
    });
    try {
      assert.deepEqual(await node.query('models/list', {}), { models: [], next: '' });
      assert.deepEqual(await node.query('models/list', undefined), { models: [], next: '' });
      assert.deepEqual(await node.query('models/list', { text: 'mnist', limit: 3 }), {
        models: [],
        next: '',
      });
      assert.deepEqual(await node.query('inference/requests', {}), []);
      assert.deepEqual(await node.query('inference/requests', { status: 'finalized' }), []);
      await assert.rejects(node.query('inference/requests', { status: 'nope' }), /status must be/);
    } finally {
      await node.close();
      await rm(home, { recursive: true, force: true });
    }
  });
});
