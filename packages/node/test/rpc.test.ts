// JSON-RPC over HTTP: the real server on an ephemeral port in front of a fake NodeApi.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ERR, TxRejected } from '@aivm/chain';
import { bytesToHex, keccak256 } from '@aivm/crypto';
import { Registry as MetricsRegistry } from 'prom-client';
import { RPC_DOC_PATH, renderRpcMarkdown } from '../src/rpc/docs.ts';
import { RPC_ERR } from '../src/rpc/errors.ts';
import { RPC_METHOD_INDEX, RPC_METHODS } from '../src/rpc/methods.ts';
import { type RpcServer, startRpcServer } from '../src/rpc/server.ts';
import {
  FAKE_BROKEN_ADDRESS,
  FAKE_CHAIN_ID,
  FAKE_POOR_ADDRESS,
  FAKE_RECIPIENT,
  FAKE_SENDER,
  FakeNode,
  fakeTransfer,
} from '../src/rpc/testing/fake-node.ts';

type Res = {
  jsonrpc: '2.0';
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
};
type Obj = Record<string, unknown>;

let node: FakeNode;
let server: RpcServer;
const metrics = new MetricsRegistry();

async function post(body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, text: await res.text() };
}

async function raw(payload: unknown): Promise<unknown> {
  const { status, text } = await post(JSON.stringify(payload));
  assert.equal(status, 200, text);
  return JSON.parse(text);
}

let nextId = 1;
async function call(method: string, params?: unknown): Promise<Res> {
  const id = nextId++;
  const res = (await raw({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })) as Res;
  assert.equal(res.id, id);
  assert.equal(res.jsonrpc, '2.0');
  return res;
}

/** Calls a method expecting success, and checks the result against the method's documented shape. */
async function ok<T = Obj>(method: string, params?: unknown): Promise<T> {
  const res = await call(method, params);
  assert.equal(res.error, undefined, JSON.stringify(res.error));
  const def = RPC_METHOD_INDEX.get(method)!;
  const check = def.result.schema.safeParse(res.result);
  assert.ok(check.success, `${method} result does not match its schema: ${check.error?.message}`);
  return res.result as T;
}

async function fails(
  method: string,
  params: unknown,
  code: number,
): Promise<{ message: string; data?: unknown }> {
  const res = await call(method, params);
  assert.equal(res.result, undefined);
  assert.ok(res.error, `expected error ${code}`);
  assert.equal(res.error.code, code, res.error.message);
  return res.error;
}

before(async () => {
  node = new FakeNode();
  server = await startRpcServer(node, { port: 0, metrics });
});

after(async () => {
  await server.close();
});

describe('rpc server basics', () => {
  it('binds to 127.0.0.1 on an ephemeral port and reports its URLs', () => {
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    assert.equal(server.wsUrl, `ws://127.0.0.1:${server.port}/ws`);
  });

  it('GET /health answers 200 with the head', async () => {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      status: 'ok',
      chainId: '1337',
      height: '3',
      headHash: node.head.hash,
    });
  });

  it('unknown paths get 404 and GET / gets 405', async () => {
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    const res = await fetch(server.url);
    assert.equal(res.status, 405);
    assert.equal(((await res.json()) as Res).error?.code, RPC_ERR.INVALID_REQUEST);
  });
});

describe('methods: happy paths', () => {
  it('aivm_status', async () => {
    const s = await ok('aivm_status');
    assert.deepEqual(s, {
      chainId: '1337',
      genesisHash: `0x${'aa'.repeat(32)}`,
      height: '3',
      headHash: node.head.hash,
      stateRoot: bytesToHex(node.head.block.header.stateRoot),
      timeMs: '1700000003000',
      mempool: { count: 2, bytes: 300 },
      validator: FAKE_SENDER,
      version: '0.1.0-test',
    });
  });

  it('aivm_getBlock: latest, by height (string or number), by hash', async () => {
    const latest = await ok('aivm_getBlock');
    assert.equal(latest.hash, node.head.hash);
    assert.deepEqual(node.calls.at(-1), { method: 'getBlock', args: [{}] });

    const b2 = await ok('aivm_getBlock', { height: '2' });
    const rec = node.blocks[1]!;
    assert.equal(b2.hash, rec.hash);
    assert.deepEqual(node.calls.at(-1), { method: 'getBlock', args: [{ height: 2n }] });
    const header = b2.header as Obj;
    assert.equal(header.height, '2');
    assert.equal(header.chainId, '1337');
    assert.equal(header.timeMs, '1700000002000');
    assert.equal(header.gasUsed, '43000');
    assert.equal(header.parentHash, node.blocks[0]!.hash);
    assert.equal(header.proposer, FAKE_SENDER);
    assert.deepEqual(
      b2.txs,
      rec.block.txs.map((t) => bytesToHex(keccak256(t))),
    );
    assert.equal(b2.receipts, undefined);
    assert.deepEqual(b2.lastCommit, {
      round: 0,
      signatures: [{ validator: FAKE_SENDER, signature: `0x${'07'.repeat(64)}` }],
    });

    const byNumber = await ok('aivm_getBlock', { height: 2 });
    assert.equal(byNumber.hash, rec.hash);
    const byHash = await ok('aivm_getBlock', { hash: rec.hash.toUpperCase().replace('0X', '0x') });
    assert.equal(byHash.hash, rec.hash);
    assert.deepEqual(node.calls.at(-1), { method: 'getBlock', args: [{ hash: rec.hash }] });
  });

  it('aivm_getBlock with fullTxs decodes transactions and includes receipts', async () => {
    const b = await ok('aivm_getBlock', { height: '2', fullTxs: true });
    const txs = b.txs as Obj[];
    assert.equal(txs.length, 2);
    assert.deepEqual(
      { ...txs[1], signature: undefined },
      {
        hash: bytesToHex(keccak256(fakeTransfer(1n, 2000n))),
        chainId: '1337',
        from: FAKE_SENDER,
        nonce: '1',
        gasLimit: '60000',
        gasPrice: '1000000000',
        msgType: 'bank/send',
        msg: { to: FAKE_RECIPIENT, amount: '2000' },
        signature: undefined,
      },
    );
    assert.match(txs[1]!.signature as string, /^0x[0-9a-f]{130}$/);
    const receipts = b.receipts as Obj[];
    assert.equal(receipts.length, 2);
    assert.equal(receipts[0]!.txHash, txs[0]!.hash);
    assert.equal(receipts[0]!.feeWei, '21500000000000');
  });

  it('aivm_getBlock returns null for an unknown block and rejects height with hash', async () => {
    assert.equal(await ok('aivm_getBlock', { height: '99' }), null);
    const err = await fails('aivm_getBlock', { height: '1', hash: node.head.hash }, RPC_ERR.INVALID_PARAMS);
    assert.match(err.message, /hash: give height or hash, not both/);
  });

  it('aivm_getTx returns the transaction with its position and receipt', async () => {
    const [hash, rec] = [...node.txs][0]!;
    const tx = await ok('aivm_getTx', { hash });
    assert.equal(tx.hash, hash);
    assert.equal(tx.from, FAKE_SENDER);
    assert.equal(tx.nonce, '0');
    assert.equal(tx.gasLimit, '60000');
    assert.equal(tx.gasPrice, '1000000000');
    assert.equal(tx.msgType, 'bank/send');
    assert.deepEqual(tx.msg, { to: FAKE_RECIPIENT, amount: '1000' });
    assert.equal(tx.blockHash, rec.blockHash);
    assert.equal(tx.height, '2');
    assert.equal(tx.index, 0);
    assert.deepEqual(tx.receipt, {
      txHash: hash,
      success: true,
      code: 0,
      gasUsed: '21500',
      feeWei: '21500000000000',
      error: '',
      events: [
        {
          module: 'bank',
          type: 'transfer',
          attributes: [
            { key: 'from', value: FAKE_SENDER },
            { key: 'to', value: FAKE_RECIPIENT },
            { key: 'amount', value: '1000' },
          ],
        },
      ],
    });
    assert.equal(await ok('aivm_getTx', { hash: `0x${'00'.repeat(32)}` }), null);
  });

  it('aivm_getReceipt returns the receipt with blockHash, height and index', async () => {
    const [hash, rec] = [...node.txs][1]!;
    const r = await ok('aivm_getReceipt', { hash });
    assert.equal(r.txHash, hash);
    assert.equal(r.success, true);
    assert.equal(r.gasUsed, '21500');
    assert.equal(r.blockHash, rec.blockHash);
    assert.equal(r.height, '2');
    assert.equal(r.index, 1);
    assert.equal(await ok('aivm_getReceipt', { hash: `0x${'00'.repeat(32)}` }), null);
  });

  it('aivm_getTxStatus: committed with its height, pending, dropped with reason and code, unknown', async () => {
    const [committed] = [...node.txs][0]!;
    const h = (b: string) => `0x${b.repeat(32)}` as const;
    node.statuses.set(h('01'), { status: 'pending' });
    node.statuses.set(h('02'), {
      status: 'dropped',
      reason: 'an earlier nonce of the sender was dropped',
      code: ERR.NONCE_GAP,
    });
    node.statuses.set(h('03'), { status: 'dropped', reason: 'execution fault in tx' });
    try {
      assert.deepEqual(await ok('aivm_getTxStatus', { hash: committed }), {
        status: 'committed',
        height: '2',
      });
      assert.deepEqual(await ok('aivm_getTxStatus', { hash: h('01') }), { status: 'pending' });
      assert.deepEqual(await ok('aivm_getTxStatus', { hash: h('02') }), {
        status: 'dropped',
        reason: 'an earlier nonce of the sender was dropped',
        code: 1005,
      });
      assert.deepEqual(await ok('aivm_getTxStatus', { hash: h('03') }), {
        status: 'dropped',
        reason: 'execution fault in tx',
      });
      assert.deepEqual(await ok('aivm_getTxStatus', { hash: h('00') }), { status: 'unknown' });
      // Upper-case hex is looked up in lower case.
      assert.deepEqual(await ok('aivm_getTxStatus', { hash: `0x${'0A'.repeat(32)}` }), { status: 'unknown' });
      assert.equal(node.calls.at(-1)?.args[0], h('0a'));
      const bad = await fails('aivm_getTxStatus', { hash: '0x12' }, RPC_ERR.INVALID_PARAMS);
      assert.match(bad.message, /hash/);
    } finally {
      node.statuses.clear();
    }
  });

  it('aivm_getTxStatus results are checked against their documented shape', () => {
    const schema = RPC_METHOD_INDEX.get('aivm_getTxStatus')!.result.schema;
    assert.equal(schema.safeParse({ status: 'committed', height: '3' }).success, true);
    assert.equal(schema.safeParse({ status: 'committed' }).success, false);
    assert.equal(schema.safeParse({ status: 'dropped', code: 1 }).success, false);
    assert.equal(schema.safeParse({ status: 'pending', height: '3' }).success, false);
    assert.equal(schema.safeParse({ status: 'lost' }).success, false);
  });

  it('aivm_getAccount and aivm_getBalance', async () => {
    assert.deepEqual(await ok('aivm_getAccount', { address: FAKE_RECIPIENT }), {
      address: FAKE_RECIPIENT,
      nonce: '2',
      pendingNonce: '5',
      balanceWei: '123456789000000000000',
    });
    assert.deepEqual(await ok('aivm_getBalance', { address: FAKE_RECIPIENT.toLowerCase() }), {
      address: FAKE_RECIPIENT.toLowerCase(),
      balanceWei: '123456789000000000000',
    });
  });

  it('aivm_getProof passes the raw key bytes and height through', async () => {
    const p = await ok('aivm_getProof', { key: '0x62616e6b2f', height: '2' });
    assert.deepEqual(node.calls.at(-1), {
      method: 'getProof',
      args: [Uint8Array.of(0x62, 0x61, 0x6e, 0x6b, 0x2f), 2n],
    });
    assert.deepEqual(p, {
      height: '2',
      proof: {
        key: '0x62616e6b2f',
        value: null,
        root: bytesToHex(node.blocks[1]!.block.header.stateRoot),
        siblings: [`0x${'22'.repeat(32)}`],
      },
    });
    const latest = await ok('aivm_getProof', { key: '0x01' });
    assert.equal(latest.height, '3');
    await fails('aivm_getProof', { key: '0x01', height: '50' }, ERR.NOT_FOUND);
    const tooLong = await fails('aivm_getProof', { key: `0x${'00'.repeat(257)}` }, RPC_ERR.INVALID_PARAMS);
    assert.match(tooLong.message, /key: longer than 256 bytes/);
    const empty = await fails('aivm_getProof', { key: '0x' }, RPC_ERR.INVALID_PARAMS);
    assert.match(empty.message, /key: empty/);
  });

  it('aivm_sendRawTx returns the hash', async () => {
    const tx = fakeTransfer(7n, 1n);
    const r = await ok('aivm_sendRawTx', { tx: bytesToHex(tx) });
    assert.deepEqual(r, { hash: bytesToHex(keccak256(tx)) });
    assert.deepEqual(node.calls.at(-1), { method: 'sendRawTx', args: [tx] });
  });

  it('aivm_estimateGas passes the JSON draft and returns gas', async () => {
    const msg = { to: FAKE_RECIPIENT, amount: '5000' };
    const r = await ok('aivm_estimateGas', {
      from: FAKE_SENDER,
      msgType: 'bank/send',
      msg,
      gasPrice: '2000000000',
    });
    assert.deepEqual(r, { gas: '31234' });
    assert.deepEqual(node.calls.at(-1), {
      method: 'estimateGas',
      args: [{ from: FAKE_SENDER, msgType: 'bank/send', msg, gasPrice: 2_000_000_000n }],
    });
  });

  it('aivm_query converts the result to JSON (bigint as decimal, bytes as hex)', async () => {
    assert.deepEqual(await ok('aivm_query', { path: 'bank/supply' }), {
      supplyWei: '1000000000000000000000000',
    });
    assert.deepEqual(node.calls.at(-1), { method: 'query', args: ['bank/supply', {}] });
    assert.deepEqual(await ok('aivm_query', { path: 'bank/balance', params: { address: FAKE_RECIPIENT } }), {
      address: FAKE_RECIPIENT,
      balanceWei: '77',
      raw: '0x0102',
    });
  });

  it('accepts params as a one-element array holding the object', async () => {
    const r = await ok('aivm_getBalance', [{ address: FAKE_RECIPIENT }]);
    assert.equal(r.balanceWei, '123456789000000000000');
  });
});

describe('errors', () => {
  it('malformed JSON -> -32700', async () => {
    const { status, text } = await post('{"jsonrpc":"2.0",');
    assert.equal(status, 200);
    const res = JSON.parse(text) as Res;
    assert.equal(res.id, null);
    assert.equal(res.error?.code, RPC_ERR.PARSE_ERROR);
  });

  it('invalid requests -> -32600', async () => {
    for (const bad of [
      42,
      'x',
      null,
      { id: 1, method: 'aivm_status' },
      { jsonrpc: '1.0', id: 1, method: 'aivm_status' },
      { jsonrpc: '2.0', id: 1, method: 5 },
      { jsonrpc: '2.0', id: { a: 1 }, method: 'aivm_status' },
      { jsonrpc: '2.0', id: 1, method: 'aivm_status', params: 'x' },
    ]) {
      const res = (await raw(bad)) as Res;
      assert.equal(res.error?.code, RPC_ERR.INVALID_REQUEST, JSON.stringify(bad));
    }
    const res = (await raw({ jsonrpc: '1.0', id: 9, method: 'aivm_status' })) as Res;
    assert.equal(res.id, 9);
    const empty = (await raw([])) as Res;
    assert.equal(empty.error?.code, RPC_ERR.INVALID_REQUEST);
  });

  it('unknown method -> -32601', async () => {
    const err = await fails('aivm_nope', {}, RPC_ERR.METHOD_NOT_FOUND);
    assert.match(err.message, /aivm_nope/);
  });

  it('invalid params name the field', async () => {
    const a = await fails('aivm_getBalance', { address: 42 }, RPC_ERR.INVALID_PARAMS);
    assert.match(a.message, /^invalid params: address: /);
    assert.deepEqual(
      (a.data as { issues: { path: string }[] }).issues.map((i) => i.path),
      ['address'],
    );
    const missing = await fails('aivm_getTx', {}, RPC_ERR.INVALID_PARAMS);
    assert.equal(missing.message, 'invalid params: hash: required');
    const extra = await fails('aivm_status', { foo: 1 }, RPC_ERR.INVALID_PARAMS);
    assert.match(extra.message, /unknown field\(s\): foo/);
    const checksum = await fails(
      'aivm_getAccount',
      { address: '0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' },
      RPC_ERR.INVALID_PARAMS,
    );
    assert.match(checksum.message, /address: bad EIP-55 checksum/);
    const height = await fails('aivm_getBlock', { height: '-1' }, RPC_ERR.INVALID_PARAMS);
    assert.match(height.message, /height: /);
    const big = await fails('aivm_getBlock', { height: '18446744073709551616' }, RPC_ERR.INVALID_PARAMS);
    assert.match(big.message, /height: out of range for uint64/);
    const arr = await fails('aivm_status', [1, 2], RPC_ERR.INVALID_PARAMS);
    assert.match(arr.message, /params must be an object/);
    const msg = await fails(
      'aivm_estimateGas',
      { from: FAKE_SENDER, msgType: 'bank/send', msg: { to: FAKE_RECIPIENT, amount: 'lots' } },
      RPC_ERR.INVALID_PARAMS,
    );
    assert.match(msg.message, /^invalid params: msg\.amount: expected uint256/);
    const q = await fails(
      'aivm_query',
      { path: 'bank/balance', params: { address: 'nope' } },
      RPC_ERR.INVALID_PARAMS,
    );
    assert.match(q.message, /^invalid params: params\.address: expected an address/);
  });

  it('chain errors keep their stable code and message', async () => {
    node.sendError = new TxRejected(ERR.NONCE_TOO_LOW, 'nonce 0 already used (next is 2)');
    try {
      const err = await fails('aivm_sendRawTx', { tx: '0x01' }, 1004);
      assert.equal(err.message, 'nonce 0 already used (next is 2)');
    } finally {
      node.sendError = undefined;
    }
    const unknown = await fails(
      'aivm_estimateGas',
      { from: FAKE_SENDER, msgType: 'bank/nope', msg: {} },
      ERR.UNKNOWN_MESSAGE,
    );
    assert.match(unknown.message, /bank\/nope/);
    const poor = await fails(
      'aivm_estimateGas',
      { from: FAKE_POOR_ADDRESS, msgType: 'bank/send', msg: { to: FAKE_RECIPIENT, amount: '1' } },
      ERR.INSUFFICIENT_FUNDS,
    );
    assert.match(poor.message, /insufficient funds/);
    const path = await fails('aivm_query', { path: 'bank/nope' }, ERR.NOT_FOUND);
    assert.match(path.message, /unknown query path: bank\/nope/);
  });

  it('internal errors are -32603 without details', async () => {
    const res = await call('aivm_getAccount', { address: FAKE_BROKEN_ADDRESS });
    assert.deepEqual(res.error, { code: RPC_ERR.INTERNAL_ERROR, message: 'internal error' });
    assert.doesNotMatch(JSON.stringify(res), /secret|ENOENT|at /);
  });

  it('subscriptions over HTTP get a clear error', async () => {
    const err = await fails('aivm_subscribe', { topic: 'newBlocks' }, RPC_ERR.METHOD_NOT_SUPPORTED);
    assert.match(err.message, /WebSocket/);
  });

  it('an oversized body gets 413 with -32005 and the server keeps serving', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'aivm_status',
      params: { pad: 'x'.repeat(1_100_000) },
    });
    const { status, text } = await post(body);
    assert.equal(status, 413);
    const res = JSON.parse(text) as Res;
    assert.equal(res.error?.code, RPC_ERR.LIMIT_EXCEEDED);
    assert.match(res.error!.message, /1048576 bytes/);
    assert.equal((await ok('aivm_status')).height, '3');
  });

  it('a huge declared body is refused at once, without reading it', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(1024 ** 3) },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('error', reject);
      req.write('{"jsonrpc":"2.0",');
    });
    assert.equal(status, 413);
    assert.equal((JSON.parse(body) as Res).error?.code, RPC_ERR.LIMIT_EXCEEDED);
    assert.equal((await ok('aivm_status')).height, '3');
  });
});

describe('batches and notifications', () => {
  it('answers a batch in order, skipping notifications', async () => {
    const res = (await raw([
      { jsonrpc: '2.0', id: 'a', method: 'aivm_getBalance', params: { address: FAKE_RECIPIENT } },
      { jsonrpc: '2.0', method: 'aivm_status' },
      { jsonrpc: '2.0', id: 'b', method: 'aivm_nope' },
      { jsonrpc: '2.0', id: 'c', method: 'aivm_getBlock', params: { height: 1 } },
      7,
    ])) as Res[];
    assert.equal(res.length, 4);
    assert.deepEqual(
      res.map((r) => [r.id, r.error?.code ?? null]),
      [
        ['a', null],
        ['b', RPC_ERR.METHOD_NOT_FOUND],
        ['c', null],
        [null, RPC_ERR.INVALID_REQUEST],
      ],
    );
    assert.equal((res[0]!.result as Obj).balanceWei, '123456789000000000000');
    assert.equal((res[2]!.result as Obj).hash, node.blocks[0]!.hash);
  });

  it('a notification (no id) gets no response', async () => {
    const before = node.calls.length;
    const single = await post(JSON.stringify({ jsonrpc: '2.0', method: 'aivm_status' }));
    assert.equal(single.status, 204);
    assert.equal(single.text, '');
    assert.deepEqual(node.calls.slice(before), [{ method: 'status', args: [] }]);
    const batch = await post(JSON.stringify([{ jsonrpc: '2.0', method: 'aivm_nope' }]));
    assert.equal(batch.status, 204);
  });

  it('refuses a batch above the limit', async () => {
    const batch = Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'aivm_status' }));
    const res = (await raw(batch)) as Res;
    assert.equal(res.error?.code, RPC_ERR.LIMIT_EXCEEDED);
    assert.match(res.error!.message, /101 requests exceeds the limit of 100/);
  });
});

describe('catalogue, docs and metrics', () => {
  it('rpc.discover is an OpenRPC document listing every method of the table', async () => {
    const doc = await ok<{
      openrpc: string;
      info: { title: string; version: string };
      methods: {
        name: string;
        params: { name: string; required: boolean }[];
        result: Obj;
        errors: { code: number }[];
      }[];
      components: { errors: Record<string, { code: number }> };
    }>('rpc.discover');
    assert.equal(doc.openrpc, '1.2.6');
    assert.equal(doc.info.title, 'AIVM JSON-RPC');
    assert.deepEqual(
      doc.methods.map((m) => m.name),
      RPC_METHODS.map((m) => m.name),
    );
    assert.deepEqual(doc.methods.map((m) => m.name).sort(), [
      'aivm_blobChunk',
      'aivm_blobStat',
      'aivm_blobUploadChunk',
      'aivm_estimateGas',
      'aivm_getAccount',
      'aivm_getAttestations',
      'aivm_getBalance',
      'aivm_getBlock',
      'aivm_getInferenceResult',
      'aivm_getProof',
      'aivm_getReceipt',
      'aivm_getTx',
      'aivm_getTxStatus',
      'aivm_getValidatorSetAttestation',
      'aivm_query',
      'aivm_sendRawTx',
      'aivm_status',
      'aivm_subscribe',
      'aivm_unsubscribe',
      'eth_accounts',
      'eth_blockNumber',
      'eth_call',
      'eth_chainId',
      'eth_estimateGas',
      'eth_feeHistory',
      'eth_gasPrice',
      'eth_getBalance',
      'eth_getBlockByHash',
      'eth_getBlockByNumber',
      'eth_getCode',
      'eth_getTransactionByHash',
      'eth_getTransactionCount',
      'eth_getTransactionReceipt',
      'eth_maxPriorityFeePerGas',
      'eth_sendRawTransaction',
      'eth_syncing',
      'net_version',
      'rpc.discover',
      'web3_clientVersion',
    ]);
    const getBlock = doc.methods.find((m) => m.name === 'aivm_getBlock')!;
    assert.deepEqual(
      getBlock.params.map((p) => [p.name, p.required]),
      [
        ['height', false],
        ['hash', false],
        ['fullTxs', false],
      ],
    );
    const send = doc.methods.find((m) => m.name === 'aivm_sendRawTx')!;
    assert.ok(send.errors.some((e) => e.code === ERR.NONCE_TOO_LOW));
    assert.deepEqual(
      send.params.map((p) => [p.name, p.required]),
      [['tx', true]],
    );
    assert.equal(doc.components.errors.NONCE_TOO_LOW?.code, 1004);
    assert.equal(doc.components.errors.PARSE_ERROR?.code, -32700);
  });

  it('every method example passes its own params schema', () => {
    for (const m of RPC_METHODS) {
      const r = m.params.safeParse(m.example);
      assert.ok(r.success, `${m.name}: ${r.error?.message}`);
    }
  });

  it('docs/rpc.md is generated from the table and up to date', () => {
    const onDisk = readFileSync(RPC_DOC_PATH, 'utf8');
    assert.ok(
      onDisk === renderRpcMarkdown(),
      'docs/rpc.md is stale: run node packages/node/src/rpc/docs.ts --write',
    );
    for (const m of RPC_METHODS) assert.ok(onDisk.includes(`## ${m.name}\n`), m.name);
  });

  it('GET /metrics serves request counters and durations from the given registry', async () => {
    await ok('aivm_status');
    await fails('aivm_getBalance', { address: 1 }, RPC_ERR.INVALID_PARAMS);
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /aivm_rpc_requests_total\{method="aivm_status",outcome="ok"\} [1-9]/);
    assert.match(text, /aivm_rpc_requests_total\{method="aivm_getBalance",outcome="invalid"\} [1-9]/);
    assert.match(text, /aivm_rpc_requests_total\{method="\(unknown\)",outcome="not_found"\} [1-9]/);
    assert.match(text, /aivm_rpc_requests_total\{method="aivm_sendRawTx",outcome="chain_error"\} 1/);
    assert.match(text, /aivm_rpc_request_duration_seconds_count\{method="aivm_status"\} [1-9]/);
    assert.match(text, /aivm_rpc_oversized_requests_total 2/);
  });

  it('a second server can share the metrics registry', async () => {
    const other = await startRpcServer(new FakeNode(), { port: 0, metrics });
    try {
      const res = await fetch(other.url, {
        method: 'POST',
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'aivm_status' }),
      });
      assert.equal(
        ((await res.json()) as { result: { chainId: string } }).result.chainId,
        FAKE_CHAIN_ID.toString(),
      );
    } finally {
      await other.close();
    }
  });
});
