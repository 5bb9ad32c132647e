// Wallet against a scripted JSON-RPC server: what it asks the node, and the exact transaction it signs.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { BankSend, defaultModules, Registry } from '@aivm/chain';
import { decodeTx, verifyTxSignature } from '@aivm/chain/tx';
import { bytesToHex, type Hex, hexToBytes, keccak256 } from '@aivm/crypto';
import { AivmClient, RpcError, Wallet } from '../src/index.ts';
import { ok, TinyRpc } from './tiny-rpc.ts';

const HARDHAT_MNEMONIC = 'test test test test test test test test test test test junk';
const KEY = hexToBytes(`0x${'11'.repeat(32)}`);
const BOB = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const registry = new Registry(defaultModules());
const lookup = (type: string) => registry.message(type)?.schema;

let rpc: TinyRpc;
let client: AivmClient;
/** Raw transactions the node received. */
let sent: Uint8Array[];
let pendingNonce: bigint;

function scriptNode(): void {
  sent = [];
  pendingNonce = 4n;
  rpc.handlers = {
    aivm_status: () =>
      ok({
        chainId: '1337',
        genesisHash: `0x${'00'.repeat(32)}`,
        height: '1',
        headHash: `0x${'00'.repeat(32)}`,
        stateRoot: `0x${'00'.repeat(32)}`,
        timeMs: '0',
        mempool: { count: 0, bytes: 0 },
        validator: null,
        version: 'x',
      }),
    aivm_query: (p) =>
      ok(
        p.path === 'auth/params'
          ? { minGasPriceWei: '1000000000', maxTxGas: '100000', blockGasLimit: '200000000' }
          : null,
      ),
    aivm_getAccount: (p) =>
      ok({ address: p.address, nonce: '0', pendingNonce: pendingNonce.toString(), balanceWei: '0' }),
    aivm_estimateGas: () => ok({ gas: '30000' }),
    aivm_sendRawTx: (p) => {
      const raw = hexToBytes(p.tx as string);
      sent.push(raw);
      return ok({ hash: bytesToHex(keccak256(raw)) });
    },
  };
}

before(async () => {
  rpc = await new TinyRpc().start();
  client = new AivmClient(rpc.url, { timeoutMs: 2_000 });
});
afterEach(() => rpc.reset());
after(async () => {
  client.close();
  await rpc.stop();
});

describe('Wallet keys', () => {
  it('fromPrivateKey and fromMnemonic derive Ethereum addresses', () => {
    assert.equal(Wallet.fromPrivateKey(KEY, client).address, '0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A');
    assert.equal(
      Wallet.fromPrivateKey(bytesToHex(KEY), client).address,
      '0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A',
    );
    assert.equal(
      Wallet.fromMnemonic(HARDHAT_MNEMONIC, 0, client).address,
      '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    );
    assert.equal(
      Wallet.fromMnemonic(HARDHAT_MNEMONIC, 1, client).address,
      '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    );
  });

  it('buildSigned signs the same bytes from JSON-form and typed messages', () => {
    const w = Wallet.fromPrivateKey(KEY, client);
    const tx = { chainId: 1337n, nonce: 0n, gasLimit: 50_000n, gasPrice: 1_000_000_000n };
    const typed = w.buildSigned('bank/send', { to: BOB, amount: 1000n }, tx);
    const json = w.buildSigned('bank/send', { to: BOB.toLowerCase(), amount: '1000' }, tx);
    assert.deepEqual(json, typed);
    // The same bytes the RPC docs show as the aivm_sendRawTx example.
    assert.equal(
      bytesToHex(typed),
      '0xf8878205399419e7e376e7c213b7e7e7e46cc70a5dd086daff2a8082c350843b9aca008962616e6b2f73656e64d8945aaeb6053f3e94c9b9a09f33669435e7ef1beaed8203e8b841fa2c207dc5f1317094bb3edfbe6e93cf6d4f206752f56480a529fd3185bfe210276bd68278969ae15189859cc76ef7ba99ccae25bb147162d732d19860c403531c',
    );
    const decoded = decodeTx(typed, lookup);
    assert.equal(verifyTxSignature(decoded, BankSend), w.address);
    assert.throws(() => w.buildSigned('bank/nope', {}, tx), /unknown message type: bank\/nope/);
    assert.throws(() => w.buildSigned('bank/send', { to: BOB, amount: -1n }, tx), /amount/);
  });
});

describe('Wallet.send', () => {
  it('transfer: fetches chain id, min gas price, pending nonce and an estimate, then signs and sends', async () => {
    scriptNode();
    const w = Wallet.fromPrivateKey(KEY, client);
    const hash = await w.transfer(BOB, 5n * 10n ** 18n);

    assert.deepEqual(rpc.methods(), [
      'aivm_status',
      'aivm_query',
      'aivm_getAccount',
      'aivm_estimateGas',
      'aivm_sendRawTx',
    ]);
    assert.deepEqual(rpc.requests[1]!.params, { path: 'auth/params', params: {} });
    assert.deepEqual(rpc.requests[2]!.params, { address: w.address });
    assert.deepEqual(rpc.requests[3]!.params, {
      from: w.address,
      msgType: 'bank/send',
      msg: { to: BOB, amount: '5000000000000000000' },
      gasPrice: '1000000000',
    });

    assert.equal(sent.length, 1);
    assert.equal(hash, bytesToHex(keccak256(sent[0]!)));
    const tx = decodeTx(sent[0]!, lookup);
    assert.equal(tx.chainId, 1337n);
    assert.equal(tx.from, w.address);
    assert.equal(tx.nonce, 4n);
    assert.equal(tx.gasLimit, 30_000n + 6_000n + 5_000n); // estimate + 20% + fixed headroom
    assert.equal(tx.gasPrice, 1_000_000_000n);
    assert.equal(tx.msgType, 'bank/send');
    assert.deepEqual(tx.msg, { to: BOB, amount: 5n * 10n ** 18n });
    assert.equal(verifyTxSignature(tx, BankSend), w.address);
  });

  it('hands out consecutive nonces even while the node still reports the old pending nonce', async () => {
    scriptNode();
    const w = Wallet.fromPrivateKey(KEY, client);
    const hashes = await Promise.all([w.transfer(BOB, 1n), w.transfer(BOB, 2n), w.transfer(BOB, 3n)]);
    assert.equal(new Set(hashes).size, 3);
    const txs = sent.map((raw) => decodeTx(raw, lookup));
    assert.deepEqual(
      txs.map((t) => [t.nonce, t.msg.amount]),
      [
        [4n, 1n],
        [5n, 2n],
        [6n, 3n],
      ],
    );
    // Chain id and fee parameters are asked once per wallet.
    assert.equal(rpc.methods().filter((m) => m === 'aivm_status').length, 1);
    assert.equal(rpc.methods().filter((m) => m === 'aivm_query').length, 1);
  });

  it('uses explicit gasLimit, gasPrice and nonce without asking the node for them', async () => {
    scriptNode();
    const w = Wallet.fromPrivateKey(KEY, client);
    await w.send(
      'bank/send',
      { to: BOB, amount: '9' },
      { gasLimit: 70_000n, gasPrice: 3_000_000_000n, nonce: 11n },
    );
    assert.deepEqual(rpc.methods(), ['aivm_status', 'aivm_query', 'aivm_sendRawTx']);
    const tx = decodeTx(sent[0]!, lookup);
    assert.deepEqual([tx.nonce, tx.gasLimit, tx.gasPrice, tx.msg.amount], [11n, 70_000n, 3_000_000_000n, 9n]);
  });

  it('caps the gas limit at the chain maximum', async () => {
    scriptNode();
    rpc.handlers.aivm_estimateGas = () => ok({ gas: '95000' });
    const w = Wallet.fromPrivateKey(KEY, client);
    await w.transfer(BOB, 1n);
    assert.equal(decodeTx(sent[0]!, lookup).gasLimit, 100_000n);
  });

  it('surfaces the node error and trusts the node nonce again after a failure', async () => {
    scriptNode();
    const w = Wallet.fromPrivateKey(KEY, client);
    await w.transfer(BOB, 1n); // nonce 4; the wallet expects 5 next
    const send = rpc.handlers.aivm_sendRawTx!;
    rpc.handlers.aivm_sendRawTx = () => ({
      error: { code: 1004, message: 'nonce 5 already used (next is 9)' },
    });
    await assert.rejects(w.transfer(BOB, 2n), (e: unknown) => e instanceof RpcError && e.code === 1004);
    rpc.handlers.aivm_sendRawTx = send;
    pendingNonce = 9n;
    await w.transfer(BOB, 3n);
    assert.deepEqual(
      sent.map((raw) => decodeTx(raw, lookup).nonce),
      [4n, 9n],
    );
  });

  it('refuses an unknown message type before talking to the node', async () => {
    scriptNode();
    const w = Wallet.fromPrivateKey(KEY, client);
    await assert.rejects(w.send('bank/nope', {}), /unknown message type: bank\/nope/);
    assert.deepEqual(rpc.methods(), []);
  });

  it('falls back to 1 gwei when the chain has no auth/params query', async () => {
    scriptNode();
    rpc.handlers.aivm_query = () => ({ error: { code: 1300, message: 'unknown query path: auth/params' } });
    const w = Wallet.fromPrivateKey(KEY, client);
    const hash: Hex = await w.transfer(BOB, 1n);
    const tx = decodeTx(sent[0]!, lookup);
    assert.equal(tx.gasPrice, 1_000_000_000n);
    assert.equal(hash, bytesToHex(keccak256(sent[0]!)));
  });
});
