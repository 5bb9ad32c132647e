// Contract between the RPC server and @aivm/sdk: the SDK client and wallet against the real server
// (HTTP and WebSocket) in front of the fake NodeApi.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BankSend, decodeTx, ERR, TxRejected, verifyTxSignature } from '@aivm/chain';
import { bytesToHex, keccak256 } from '@aivm/crypto';
import {
  AivmClient,
  type ModuleEvent,
  type NewBlockEvent,
  RpcError,
  type TxResultEvent,
  type TxView,
  Wallet,
} from '@aivm/sdk';
import { Registry as MetricsRegistry } from 'prom-client';
import { type RpcServer, startRpcServer } from '../src/rpc/server.ts';
import {
  FAKE_RECIPIENT,
  FAKE_SENDER,
  FAKE_SENDER_KEY,
  FakeNode,
  fakeTransfer,
} from '../src/rpc/testing/fake-node.ts';

let node: FakeNode;
let server: RpcServer;
let client: AivmClient;
const metrics = new MetricsRegistry();

async function wsConnections(): Promise<number> {
  return (await metrics.getSingleMetric('aivm_rpc_ws_connections')!.get()).values[0]?.value ?? 0;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

before(async () => {
  node = new FakeNode();
  server = await startRpcServer(node, { port: 0, metrics });
  client = new AivmClient(server.url, { wsUrl: server.wsUrl, timeoutMs: 2_000 });
});

after(async () => {
  client.close();
  await server.close();
});

describe('sdk client against the rpc server', () => {
  it('reads status, blocks, transactions, receipts and accounts as typed values', async () => {
    const status = await client.status();
    assert.equal(status.chainId, 1337n);
    assert.equal(status.height, 3n);
    assert.equal(status.headHash, node.head.hash);

    const rec = node.blocks[1]!;
    const block = await client.getBlock({ height: 2n });
    assert.equal(block?.hash, rec.hash);
    assert.equal(block?.header.height, 2n);
    assert.equal(block?.header.timeMs, 1_700_000_002_000n);
    assert.deepEqual(
      block?.txs,
      rec.block.txs.map((t) => bytesToHex(keccak256(t))),
    );
    const full = await client.getBlock({ hash: rec.hash, fullTxs: true });
    const txs = full?.txs as TxView[];
    assert.deepEqual(
      txs.map((t) => [t.nonce, t.msg.amount, t.from]),
      [
        [0n, '1000', FAKE_SENDER],
        [1n, '2000', FAKE_SENDER],
      ],
    );
    assert.equal(full?.receipts?.[1]?.gasUsed, 21_500n);
    assert.equal((await client.getBlock())?.header.height, 3n);
    assert.equal(await client.getBlock(99n), null);

    const hash = txs[1]!.hash;
    const tx = await client.getTx(hash);
    assert.equal(tx?.height, 2n);
    assert.equal(tx?.index, 1);
    assert.equal(tx?.receipt.feeWei, 21_500_000_000_000n);
    const receipt = await client.getReceipt(hash);
    assert.equal(receipt?.blockHash, rec.hash);
    assert.equal(receipt?.events[0]?.attributes[2]?.value, '2000');
    const waited = await client.waitForTx(hash, { timeoutMs: 500 });
    assert.equal(waited.hash, hash);

    assert.deepEqual(await client.getAccount(FAKE_RECIPIENT), {
      address: FAKE_RECIPIENT,
      nonce: 2n,
      pendingNonce: 5n,
      balanceWei: 123_456_789_000_000_000_000n,
    });
    assert.equal(await client.getBalance(FAKE_RECIPIENT), 123_456_789_000_000_000_000n);
  });

  it('transaction status: committed, pending and dropped, and waitForTx fails early on a drop', async () => {
    const [committed] = [...node.txs][0]!;
    const pending = `0x${'c1'.repeat(32)}` as const;
    const dropped = `0x${'c2'.repeat(32)}` as const;
    node.statuses.set(pending, { status: 'pending' });
    node.statuses.set(dropped, {
      status: 'dropped',
      reason: 'balance 1 wei cannot pay the maximum fee 2 wei',
      code: ERR.INSUFFICIENT_FUNDS,
    });
    try {
      assert.deepEqual(await client.getTxStatus(committed), { status: 'committed', height: 2n });
      assert.deepEqual(await client.getTxStatus(pending), { status: 'pending' });
      assert.deepEqual(await client.getTxStatus(`0x${'c3'.repeat(32)}`), { status: 'unknown' });
      const err = await client.waitForTx(dropped, { timeoutMs: 5_000, pollMs: 10 }).catch((e: unknown) => e);
      assert.ok(err instanceof Error);
      assert.equal(err.name, 'TxDroppedError');
      assert.equal(
        err.message,
        `transaction ${dropped} was dropped by the node: balance 1 wei cannot pay the maximum fee 2 wei (code ${ERR.INSUFFICIENT_FUNDS})`,
      );
      assert.equal((await client.waitForTx(committed, { timeoutMs: 5_000 })).height, 2n);
    } finally {
      node.statuses.clear();
    }
  });

  it('proofs, queries and gas estimates', async () => {
    const proven = await client.getProof(Uint8Array.of(1, 2, 3), 2n);
    assert.equal(proven.height, 2n);
    assert.equal(proven.proof.key, '0x010203');
    assert.equal(proven.proof.value, null);
    assert.equal(proven.proof.root, bytesToHex(node.blocks[1]!.block.header.stateRoot));
    assert.deepEqual(await client.query('bank/supply'), { supplyWei: '1000000000000000000000000' });
    const gas = await client.estimateGas({
      from: FAKE_SENDER,
      msgType: 'bank/send',
      msg: { to: FAKE_RECIPIENT, amount: 5n },
    });
    assert.equal(gas, 31_234n);
    assert.deepEqual(node.calls.at(-1)?.args, [
      { from: FAKE_SENDER, msgType: 'bank/send', msg: { to: FAKE_RECIPIENT, amount: '5' } },
    ]);
  });

  it('chain and protocol errors arrive as RpcError with their codes', async () => {
    node.sendError = new TxRejected(ERR.NONCE_TOO_LOW, 'nonce 0 already used (next is 2)');
    try {
      await assert.rejects(
        client.sendRawTx(fakeTransfer(0n, 1n)),
        (e: unknown) =>
          e instanceof RpcError && e.code === 1004 && e.message === 'nonce 0 already used (next is 2)',
      );
    } finally {
      node.sendError = undefined;
    }
    await assert.rejects(
      client.query('bank/nope'),
      (e: unknown) => e instanceof RpcError && e.code === ERR.NOT_FOUND,
    );
    await assert.rejects(
      client.request('aivm_getBalance', { address: 'nope' }),
      (e: unknown) => e instanceof RpcError && e.code === -32602 && /address/.test(e.message),
    );
  });

  it('the wallet signs a transfer the node can decode and verify', async () => {
    const wallet = Wallet.fromPrivateKey(FAKE_SENDER_KEY, client);
    assert.equal(wallet.address, FAKE_SENDER);
    const hash = await wallet.transfer(FAKE_RECIPIENT, 42n);
    const raw = node.calls.findLast((c) => c.method === 'sendRawTx')!.args[0] as Uint8Array;
    assert.equal(hash, bytesToHex(keccak256(raw)));
    const tx = decodeTx(raw, (t) => node.registry.message(t)?.schema);
    assert.equal(tx.chainId, 1337n);
    assert.equal(tx.nonce, 5n); // the fake's pendingNonce
    assert.equal(tx.gasPrice, 1_000_000_000n); // the default auth params
    assert.equal(tx.gasLimit, 31_234n + 6_246n + 5_000n);
    assert.deepEqual(tx.msg, { to: FAKE_RECIPIENT, amount: 42n });
    assert.equal(verifyTxSignature(tx, BankSend), FAKE_SENDER);
  });
});

describe('sdk subscriptions against the rpc server', () => {
  it('delivers typed events until unsubscribed, then closes the socket', async () => {
    const blocks: NewBlockEvent[] = [];
    const results: TxResultEvent[] = [];
    const events: ModuleEvent[] = [];
    const [txHash, txRec] = [...node.txs][0]!;
    assert.equal(await wsConnections(), 0);
    const offBlocks = await client.subscribe('newBlocks', {}, (e) => blocks.push(e));
    const offTx = await client.subscribe('txResults', { txHash }, (e) => results.push(e));
    const offEvents = await client.subscribe('events', { module: 'bank' }, (e) => events.push(e));
    assert.equal(await wsConnections(), 1); // one socket for all subscriptions
    assert.equal(node.events.listenerCount('block'), 1);
    assert.equal(node.events.listenerCount('txResult'), 1);
    assert.equal(node.events.listenerCount('moduleEvent'), 1);

    node.emit('block', node.blocks[2]!);
    node.emit('txResult', [...node.txs][1]![1]);
    node.emit('txResult', txRec);
    node.emit('moduleEvent', { module: 'staking', type: 'x', attributes: {}, height: 3n, txHash: null });
    node.emit('moduleEvent', {
      module: 'bank',
      type: 'transfer',
      attributes: { amount: '7' },
      height: 3n,
      txHash,
    });
    await until(() => blocks.length === 1 && results.length === 1 && events.length === 1, 'three events');

    assert.equal(blocks[0]!.height, 3n);
    assert.equal(blocks[0]!.hash, node.blocks[2]!.hash);
    assert.equal(blocks[0]!.header.timeMs, 1_700_000_003_000n);
    assert.equal(results[0]!.hash, txHash);
    assert.equal(results[0]!.height, 2n);
    assert.equal(results[0]!.receipt.gasUsed, 21_500n);
    assert.deepEqual(events[0], {
      module: 'bank',
      type: 'transfer',
      attributes: { amount: '7' },
      height: 3n,
      txHash,
    });

    await offBlocks();
    assert.equal(node.events.listenerCount('block'), 0);
    node.emit('block', node.blocks[2]!);
    await offTx();
    await offEvents();
    assert.equal(blocks.length, 1);
    await until(() => listenersTotal() === 0, 'listeners removed');
    const end = Date.now() + 2000;
    while ((await wsConnections()) > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.equal(await wsConnections(), 0);
    // Idempotent.
    await offBlocks();
  });
});

function listenersTotal(): number {
  return (
    node.events.listenerCount('block') +
    node.events.listenerCount('txResult') +
    node.events.listenerCount('moduleEvent')
  );
}
