// AivmClient against a scripted JSON-RPC server: request shapes, parsed results, errors, timeouts.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { WebSocketServer, WebSocket as WsWebSocket } from 'ws';
import { TxDroppedError } from '../src/client.ts';
import {
  AivmClient,
  MalformedResponseError,
  RpcError,
  RpcTimeoutError,
  type WebSocketConstructor,
} from '../src/index.ts';
import { ok, TinyRpc } from './tiny-rpc.ts';

const ADDR = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const H = (b: string): `0x${string}` => `0x${b.repeat(32)}`;

const headerJson = {
  chainId: '1337',
  height: '18446744073709551615',
  timeMs: '1700000002000',
  parentHash: H('01'),
  stateRoot: H('02'),
  txRoot: H('03'),
  resultsRoot: H('04'),
  validatorSetHash: H('05'),
  lastCommitHash: H('06'),
  gasUsed: '43000',
  proposer: ADDR,
};

const receiptJson = {
  txHash: H('aa'),
  success: true,
  code: 0,
  gasUsed: '21500',
  feeWei: '21500000000000',
  error: '',
  events: [{ module: 'bank', type: 'transfer', attributes: [{ key: 'amount', value: '1000' }] }],
};

const txJson = {
  hash: H('aa'),
  chainId: '1337',
  from: ADDR,
  nonce: '7',
  gasLimit: '60000',
  gasPrice: '1000000000',
  msgType: 'bank/send',
  msg: { to: ADDR, amount: '1000' },
  signature: `0x${'11'.repeat(65)}`,
};

const parsedReceipt = {
  txHash: H('aa'),
  success: true,
  code: 0,
  gasUsed: 21_500n,
  feeWei: 21_500_000_000_000n,
  error: '',
  events: [{ module: 'bank', type: 'transfer', attributes: [{ key: 'amount', value: '1000' }] }],
};

const parsedTx = {
  hash: H('aa'),
  chainId: 1337n,
  from: ADDR,
  nonce: 7n,
  gasLimit: 60_000n,
  gasPrice: 1_000_000_000n,
  msgType: 'bank/send',
  msg: { to: ADDR, amount: '1000' },
  signature: `0x${'11'.repeat(65)}`,
};

let rpc: TinyRpc;
let client: AivmClient;

before(async () => {
  rpc = await new TinyRpc().start();
  client = new AivmClient(rpc.url, { timeoutMs: 2_000 });
});
afterEach(() => rpc.reset());
after(async () => {
  client.close();
  await rpc.stop();
});

describe('AivmClient requests and results', () => {
  it('derives the WebSocket URL from the HTTP URL', () => {
    assert.equal(new AivmClient('http://127.0.0.1:8545').wsUrl, 'ws://127.0.0.1:8545/ws');
    assert.equal(new AivmClient('https://rpc.example.org/').wsUrl, 'wss://rpc.example.org/ws');
    assert.equal(new AivmClient('http://a:1', { wsUrl: 'ws://b:2/x' }).wsUrl, 'ws://b:2/x');
  });

  it('status(): JSON-RPC 2.0 POST with by-name params, bigints parsed', async () => {
    rpc.handlers.aivm_status = () =>
      ok({
        chainId: '1337',
        genesisHash: H('aa'),
        height: '12',
        headHash: H('bb'),
        stateRoot: H('cc'),
        timeMs: '1700000000000',
        mempool: { count: 1, bytes: 150 },
        validator: null,
        version: '0.1.0',
      });
    const s = await client.status();
    assert.deepEqual(s, {
      chainId: 1337n,
      genesisHash: H('aa'),
      height: 12n,
      headHash: H('bb'),
      stateRoot: H('cc'),
      timeMs: 1_700_000_000_000n,
      mempool: { count: 1, bytes: 150 },
      validator: null,
      version: '0.1.0',
    });
    assert.equal(rpc.requests.length, 1);
    const r = rpc.requests[0]!;
    assert.equal(r.method, 'aivm_status');
    assert.deepEqual(r.params, {});
    assert.equal(typeof r.id, 'number');
    assert.equal(r.contentType, 'application/json');
  });

  it('getBlock(): every way to name a block, hashes or full txs', async () => {
    const blockJson = {
      hash: H('bb'),
      header: headerJson,
      txs: [H('aa')],
      lastCommit: { round: 2, signatures: [{ validator: ADDR, signature: `0x${'07'.repeat(64)}` }] },
    };
    rpc.handlers.aivm_getBlock = (p) =>
      ok(
        p.height === '404'
          ? null
          : p.fullTxs
            ? { ...blockJson, txs: [txJson], receipts: [receiptJson] }
            : blockJson,
      );

    const latest = await client.getBlock();
    assert.deepEqual(latest, {
      hash: H('bb'),
      header: {
        ...headerJson,
        chainId: 1337n,
        height: 18_446_744_073_709_551_615n,
        timeMs: 1_700_000_002_000n,
        gasUsed: 43_000n,
      },
      txs: [H('aa')],
      lastCommit: { round: 2, signatures: [{ validator: ADDR, signature: `0x${'07'.repeat(64)}` }] },
    });
    await client.getBlock(5n);
    await client.getBlock(6);
    await client.getBlock(H('bb'));
    await client.getBlock({ height: 7n });
    const full = await client.getBlock({ height: 8, fullTxs: true });
    assert.deepEqual(
      rpc.requests.map((r) => r.params),
      [{}, { height: '5' }, { height: 6 }, { hash: H('bb') }, { height: '7' }, { height: 8, fullTxs: true }],
    );
    assert.deepEqual(full?.txs, [parsedTx]);
    assert.deepEqual(full?.receipts, [parsedReceipt]);
    assert.equal(await client.getBlock({ height: 404n }), null);
  });

  it('getTx() and getReceipt(): records with their block position, or null', async () => {
    rpc.handlers.aivm_getTx = (p) =>
      ok(
        p.hash === H('aa')
          ? { ...txJson, blockHash: H('bb'), height: '2', index: 0, receipt: receiptJson }
          : null,
      );
    rpc.handlers.aivm_getReceipt = (p) =>
      ok(p.hash === H('aa') ? { ...receiptJson, blockHash: H('bb'), height: '2', index: 0 } : null);
    assert.deepEqual(await client.getTx(H('aa')), {
      ...parsedTx,
      blockHash: H('bb'),
      height: 2n,
      index: 0,
      receipt: parsedReceipt,
    });
    assert.deepEqual(await client.getReceipt(H('aa')), {
      ...parsedReceipt,
      blockHash: H('bb'),
      height: 2n,
      index: 0,
    });
    assert.equal(await client.getTx(H('00')), null);
    assert.equal(await client.getReceipt(H('00')), null);
    assert.deepEqual(
      rpc.requests.map((r) => [r.method, r.params]),
      [
        ['aivm_getTx', { hash: H('aa') }],
        ['aivm_getReceipt', { hash: H('aa') }],
        ['aivm_getTx', { hash: H('00') }],
        ['aivm_getReceipt', { hash: H('00') }],
      ],
    );
  });

  it('getTxStatus(): each status with its fields, height as bigint', async () => {
    const answers: Record<string, unknown> = {
      [H('01')]: { status: 'pending' },
      [H('02')]: { status: 'committed', height: '42' },
      [H('03')]: { status: 'dropped', reason: 'balance 5 wei cannot pay the maximum fee 9 wei', code: 1006 },
      [H('04')]: { status: 'dropped', reason: 'execution fault in tx' },
      [H('05')]: { status: 'unknown' },
    };
    rpc.handlers.aivm_getTxStatus = (p) => ok(answers[p.hash as string]);
    assert.deepEqual(await client.getTxStatus(H('01')), { status: 'pending' });
    assert.deepEqual(await client.getTxStatus(H('02')), { status: 'committed', height: 42n });
    assert.deepEqual(await client.getTxStatus(H('03')), {
      status: 'dropped',
      reason: 'balance 5 wei cannot pay the maximum fee 9 wei',
      code: 1006,
    });
    assert.deepEqual(await client.getTxStatus(H('04')), {
      status: 'dropped',
      reason: 'execution fault in tx',
    });
    assert.deepEqual(await client.getTxStatus(H('05')), { status: 'unknown' });
    assert.deepEqual(rpc.requests[0]!.params, { hash: H('01') });
    assert.deepEqual(rpc.methods(), Array(5).fill('aivm_getTxStatus'));
  });

  it('getTxStatus(): malformed answers name the field', async () => {
    const bad: [unknown, RegExp][] = [
      [{ status: 'lost' }, /status: unknown status "lost"/],
      [{ status: 'committed' }, /height: expected a decimal integer string/],
      [{ status: 'dropped', code: 1005 }, /reason: expected a string/],
      [{ status: 'dropped', reason: 'x', code: '1005' }, /code: expected an integer/],
      [null, /txStatus: expected an object/],
    ];
    for (const [answer, message] of bad) {
      rpc.handlers.aivm_getTxStatus = () => ok(answer);
      await assert.rejects(client.getTxStatus(H('01')), (err: unknown) => {
        assert.ok(err instanceof MalformedResponseError);
        assert.match(err.message, message);
        return true;
      });
    }
  });

  it('getAccount() and getBalance(): amounts as bigint', async () => {
    rpc.handlers.aivm_getAccount = (p) =>
      ok({ address: p.address, nonce: '3', pendingNonce: '4', balanceWei: '1000000000000000000000000' });
    rpc.handlers.aivm_getBalance = (p) =>
      ok({ address: p.address, balanceWei: '123456789012345678901234567890' });
    assert.deepEqual(await client.getAccount(ADDR), {
      address: ADDR,
      nonce: 3n,
      pendingNonce: 4n,
      balanceWei: 10n ** 24n,
    });
    assert.equal(await client.getBalance(ADDR), 123_456_789_012_345_678_901_234_567_890n);
    assert.deepEqual(
      rpc.requests.map((r) => r.params),
      [{ address: ADDR }, { address: ADDR }],
    );
  });

  it('getProof(): key bytes as hex, height as decimal string', async () => {
    const proof = { key: '0x0102', value: '0x05', root: H('02'), siblings: [H('22')] };
    rpc.handlers.aivm_getProof = () => ok({ height: '9', proof });
    assert.deepEqual(await client.getProof(Uint8Array.of(1, 2), 9n), { height: 9n, proof });
    await client.getProof('0x0102');
    assert.deepEqual(
      rpc.requests.map((r) => r.params),
      [{ key: '0x0102', height: '9' }, { key: '0x0102' }],
    );
  });

  it('sendRawTx(): bytes or hex in, hash out', async () => {
    rpc.handlers.aivm_sendRawTx = () => ok({ hash: H('cd') });
    assert.equal(await client.sendRawTx(Uint8Array.of(0xf8, 0x01)), H('cd'));
    assert.equal(await client.sendRawTx('0xf802'), H('cd'));
    assert.deepEqual(
      rpc.requests.map((r) => r.params),
      [{ tx: '0xf801' }, { tx: '0xf802' }],
    );
  });

  it('estimateGas(): message values converted to JSON form', async () => {
    rpc.handlers.aivm_estimateGas = () => ok({ gas: '31234' });
    const gas = await client.estimateGas({
      from: ADDR,
      msgType: 'bank/send',
      msg: { to: ADDR, amount: 10n ** 20n, memo: Uint8Array.of(0xab) },
      gasPrice: 2_000_000_000n,
    });
    assert.equal(gas, 31_234n);
    assert.deepEqual(rpc.requests[0]!.params, {
      from: ADDR,
      msgType: 'bank/send',
      msg: { to: ADDR, amount: '100000000000000000000', memo: '0xab' },
      gasPrice: '2000000000',
    });
  });

  it('query(): path and params passed by name, result returned as JSON', async () => {
    rpc.handlers.aivm_query = () => ok({ supplyWei: '5' });
    assert.deepEqual(await client.query('bank/supply'), { supplyWei: '5' });
    assert.deepEqual(await client.query('bank/balance', { address: ADDR }), { supplyWei: '5' });
    assert.deepEqual(
      rpc.requests.map((r) => r.params),
      [
        { path: 'bank/supply', params: {} },
        { path: 'bank/balance', params: { address: ADDR } },
      ],
    );
  });
});

describe('AivmClient errors', () => {
  it('throws RpcError with the code, message and data of an error answer', async () => {
    rpc.handlers.aivm_sendRawTx = () => ({
      error: { code: 1004, message: 'nonce 0 already used (next is 2)', data: { next: '2' } },
    });
    const err = await client.sendRawTx('0x01').catch((e: unknown) => e);
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, 1004);
    assert.equal(err.message, 'nonce 0 already used (next is 2)');
    assert.deepEqual(err.data, { next: '2' });
    assert.equal(err.name, 'RpcError');
  });

  it('maps HTTP error statuses that carry a JSON-RPC error, and non-JSON bodies', async () => {
    rpc.rawReply = {
      status: 413,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32005, message: 'request body exceeds' },
      }),
    };
    await assert.rejects(client.status(), (e: unknown) => e instanceof RpcError && e.code === -32005);
    rpc.rawReply = { status: 502, body: '<html>bad gateway</html>' };
    await assert.rejects(
      client.status(),
      (e: unknown) => e instanceof RpcError && e.code === -32700 && /HTTP 502/.test(e.message),
    );
  });

  it('rejects malformed results, naming the field', async () => {
    rpc.handlers.aivm_getAccount = () =>
      ok({ address: ADDR, nonce: '1', pendingNonce: 'x', balanceWei: '0' });
    await assert.rejects(
      client.getAccount(ADDR),
      (e: unknown) => e instanceof MalformedResponseError && /pendingNonce/.test(e.message),
    );
  });

  it('times out a request with RpcTimeoutError', async () => {
    rpc.handlers.aivm_status = () => new Promise((r) => setTimeout(() => r(ok(null)), 300));
    const quick = new AivmClient(rpc.url, { timeoutMs: 50 });
    const started = Date.now();
    const err = await quick.status().catch((e: unknown) => e);
    assert.ok(err instanceof RpcTimeoutError, String(err));
    assert.match(err.message, /aivm_status got no answer within 50 ms/);
    assert.ok(Date.now() - started < 250);
    quick.close();
  });

  it('close() aborts requests in flight and refuses new ones', async () => {
    rpc.handlers.aivm_status = () => new Promise((r) => setTimeout(() => r(ok(null)), 300));
    const c = new AivmClient(rpc.url);
    const pending = c.status().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    c.close();
    const err = await pending;
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'AbortError');
    await assert.rejects(c.status(), /client is closed/);
  });
});

describe('AivmClient.waitForTx', () => {
  it('polls getTx until the transaction is committed (a node without aivm_getTxStatus)', async () => {
    let calls = 0;
    rpc.handlers.aivm_getTx = () => {
      calls++;
      return ok(
        calls < 3 ? null : { ...txJson, blockHash: H('bb'), height: '2', index: 1, receipt: receiptJson },
      );
    };
    const rec = await client.waitForTx(H('aa'), { timeoutMs: 2_000, pollMs: 10 });
    assert.equal(rec.height, 2n);
    assert.equal(rec.index, 1);
    assert.equal(rec.receipt.success, true);
    assert.equal(rec.receipt.feeWei, 21_500_000_000_000n);
    assert.deepEqual(
      rpc.methods(),
      ['aivm_getTx', 'aivm_getTxStatus', 'aivm_getTx', 'aivm_getTx'],
      'the status is asked once: the node answered method not found',
    );
  });

  it('asks the status while the transaction is pending, and returns once it is committed', async () => {
    let calls = 0;
    rpc.handlers.aivm_getTx = () => {
      calls++;
      return ok(
        calls < 3 ? null : { ...txJson, blockHash: H('bb'), height: '2', index: 1, receipt: receiptJson },
      );
    };
    rpc.handlers.aivm_getTxStatus = () => ok({ status: 'pending' });
    const rec = await client.waitForTx(H('aa'), { timeoutMs: 2_000, pollMs: 10 });
    assert.equal(rec.height, 2n);
    assert.deepEqual(rpc.methods(), [
      'aivm_getTx',
      'aivm_getTxStatus',
      'aivm_getTx',
      'aivm_getTxStatus',
      'aivm_getTx',
    ]);
  });

  it('fails early with TxDroppedError when the node dropped the transaction', async () => {
    let statusCalls = 0;
    rpc.handlers.aivm_getTx = () => ok(null);
    rpc.handlers.aivm_getTxStatus = () => {
      statusCalls++;
      return ok(
        statusCalls < 2
          ? { status: 'pending' }
          : { status: 'dropped', reason: 'an earlier nonce of the sender was dropped', code: 1005 },
      );
    };
    const started = Date.now();
    const err = await client.waitForTx(H('aa'), { timeoutMs: 10_000, pollMs: 10 }).catch((e: unknown) => e);
    assert.ok(Date.now() - started < 5_000, 'long before the timeout');
    assert.ok(err instanceof TxDroppedError);
    assert.equal(err.name, 'TxDroppedError');
    assert.equal(err.hash, H('aa'));
    assert.equal(err.reason, 'an earlier nonce of the sender was dropped');
    assert.equal(err.code, 1005);
    assert.equal(
      err.message,
      `transaction ${H('aa')} was dropped by the node: an earlier nonce of the sender was dropped (code 1005)`,
    );
    assert.deepEqual(rpc.methods(), ['aivm_getTx', 'aivm_getTxStatus', 'aivm_getTx', 'aivm_getTxStatus']);
  });

  it('other errors of aivm_getTxStatus are passed on', async () => {
    rpc.handlers.aivm_getTx = () => ok(null);
    rpc.handlers.aivm_getTxStatus = () => ({ error: { code: -32603, message: 'internal error' } });
    const err = await client.waitForTx(H('aa'), { timeoutMs: 2_000, pollMs: 10 }).catch((e: unknown) => e);
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, -32603);
  });

  it('gives up with RpcTimeoutError', async () => {
    rpc.handlers.aivm_getTx = () => ok(null);
    const err = await client.waitForTx(H('aa'), { timeoutMs: 60, pollMs: 10 }).catch((e: unknown) => e);
    assert.ok(err instanceof RpcTimeoutError);
    assert.match(err.message, /not committed within 60 ms/);
    assert.ok(rpc.requests.length >= 2);
  });
});

describe('AivmClient WebSocket class (Node 20 has no global WebSocket)', () => {
  it('subscribes through the WebSocket class it is given', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const seen: string[] = [];
    server.on('connection', (sock) =>
      sock.on('message', (raw) => {
        const msg = JSON.parse(String(raw)) as { id: number; method: string };
        seen.push(msg.method);
        sock.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: `sub-${seen.length}` }));
      }),
    );
    const opened: string[] = [];
    class CountingWebSocket extends WsWebSocket {
      constructor(url: string) {
        super(url);
        opened.push(url);
      }
    }
    const { port } = server.address() as { port: number };
    const wsUrl = `ws://127.0.0.1:${port}/ws`;
    const client = new AivmClient('http://127.0.0.1:1', {
      wsUrl,
      WebSocket: CountingWebSocket as unknown as WebSocketConstructor,
    });
    try {
      const unsubscribe = await client.subscribe('newBlocks', {}, () => {});
      assert.deepEqual(opened, [wsUrl]);
      await unsubscribe();
      assert.deepEqual(seen, ['aivm_subscribe', 'aivm_unsubscribe']);
    } finally {
      client.close();
      server.close();
    }
  });

  it('without any WebSocket class, subscribe says what to pass and HTTP calls still work', async () => {
    const rpc = await new TinyRpc().start();
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    Reflect.deleteProperty(globalThis, 'WebSocket');
    try {
      const client = new AivmClient(rpc.url);
      const err = await client.subscribe('newBlocks', {}, () => {}).catch((e: unknown) => e);
      assert.ok(err instanceof Error);
      assert.match(err.message, /no WebSocket class \(Node 20\).*\{ WebSocket \}.*'ws' package/);
      rpc.handlers.aivm_getBalance = () => ok({ balanceWei: '42' });
      assert.equal(await client.getBalance('0x70997970C51812dc3A010C7d01b50e0d17dc79C8'), 42n);
      client.close();
    } finally {
      if (saved) Object.defineProperty(globalThis, 'WebSocket', saved);
      await rpc.stop();
    }
  });
});
