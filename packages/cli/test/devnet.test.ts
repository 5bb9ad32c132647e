// End to end: a real devnet process, driven through the SDK, raw JSON-RPC and the CLI.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BankSend, ERR, signTx } from '@aivm/chain';
import {
  addressToBytes,
  bytesToHex,
  concatBytes,
  hexToBytes,
  mnemonicToPrivateKey,
  privateKeyToAddress,
  utf8ToBytes,
} from '@aivm/crypto';
import { type AivmClient, RpcError, Wallet } from '@aivm/sdk';
import { verifyStateProof } from '@aivm/state/proof';
import { DEV_CHAIN_ID, DEV_MNEMONIC } from '../src/index.ts';
import { type RunningNode, runAivm, tempDir, useDevnet } from './helpers.ts';

const CGPT = 10n ** 18n;
const key = (i: number) => mnemonicToPrivateKey(DEV_MNEMONIC, i);

async function rpc(url: string, body: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, json: await res.json() };
}

describe('devnet (real process)', () => {
  const devnet = useDevnet();
  let node: RunningNode;
  let client: AivmClient;
  before(() => {
    ({ node, client } = devnet);
  });

  it('prints the RPC URL and the funded dev accounts', async () => {
    const accounts = node.info.accounts as { address: string; balanceWei: string }[];
    assert.equal(accounts.length, 4);
    assert.equal(accounts[0]!.address, privateKeyToAddress(key(0)));
    assert.equal(accounts[0]!.address, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    assert.equal(BigInt(accounts[0]!.balanceWei), 1_000_000n * CGPT);
    const status = await client.status();
    assert.equal(status.chainId, BigInt(DEV_CHAIN_ID));
  });

  it('commits a transfer signed by the SDK wallet and serves its receipt, block and proof', async () => {
    const alice = Wallet.fromPrivateKey(key(0), client);
    const bob = privateKeyToAddress(key(1));
    const bobBefore = await client.getBalance(bob);
    const estimate = await client.estimateGas({
      from: alice.address,
      msgType: 'bank/send',
      msg: { to: bob, amount: (3n * CGPT).toString() },
    });
    const hash = await alice.transfer(bob, 3n * CGPT);
    const record = await client.waitForTx(hash, { timeoutMs: 15_000 });
    assert.equal(record.receipt.success, true);
    // The estimate differs from the real use only by the few bytes of encoding of gas limit and nonce.
    const diff = estimate - record.receipt.gasUsed;
    assert.ok(diff >= -100n && diff <= 100n, `estimate ${estimate} vs used ${record.receipt.gasUsed}`);
    assert.equal(await client.getBalance(bob), bobBefore + 3n * CGPT);

    const tx = await client.getTx(hash);
    assert.equal(tx?.from, alice.address);
    const block = await client.getBlock({ height: record.height });
    assert.ok(block?.txs.some((t) => (typeof t === 'string' ? t : t.hash) === hash));

    // The balance is proven against the state root in that height's header.
    const balanceKey = concatBytes(utf8ToBytes('bank/bal/'), addressToBytes(bob));
    const latest = await client.getBlock({});
    const proven = await client.getProof(balanceKey, latest!.header.height);
    assert.equal(proven.proof.root, latest!.header.stateRoot);
    assert.equal(verifyStateProof(proven.proof), true);
    assert.equal(BigInt(proven.proof.value!), await client.getBalance(bob));
    assert.equal(verifyStateProof({ ...proven.proof, value: bytesToHex(Uint8Array.of(1)) }), false);
  });

  it('streams new blocks over a WebSocket subscription', async () => {
    const heights: bigint[] = [];
    const unsubscribe = await client.subscribe('newBlocks', {}, (event: { height: bigint | string }) => {
      heights.push(BigInt(event.height));
    });
    await new Promise((r) => setTimeout(r, 600));
    await unsubscribe();
    assert.ok(heights.length >= 2, `got ${heights.length} blocks`);
    for (let i = 1; i < heights.length; i++) assert.equal(heights[i], heights[i - 1]! + 1n);
  });

  it('streams tx results and module events of committed transactions', async () => {
    const carol = Wallet.fromPrivateKey(key(1), client);
    const dave = privateKeyToAddress(key(2));
    const events: {
      module: string;
      type: string;
      attributes: Record<string, string>;
      txHash: string | null;
    }[] = [];
    const results: { hash: string; receipt: { success: boolean } }[] = [];
    const stopEvents = await client.subscribe(
      'events',
      { module: 'bank', type: 'transfer' },
      (e: (typeof events)[number]) => {
        events.push(e);
      },
    );
    const stopResults = await client.subscribe('txResults', {}, (e: (typeof results)[number]) => {
      results.push(e);
    });
    const hash = await carol.transfer(dave, 42n);
    await client.waitForTx(hash, { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 200));
    await stopEvents();
    await stopResults();
    const mine = events.filter((e) => e.txHash === hash);
    assert.equal(mine.length, 1);
    assert.deepEqual(mine[0]!.attributes, { from: carol.address, to: dave, amount: '42' });
    assert.equal(results.find((r) => r.hash === hash)?.receipt.success, true);
  });

  it('answers bad input with stable errors and keeps running', async () => {
    assert.equal(
      ((await rpc(node.rpcUrl, '{not json')).json as { error: { code: number } }).error.code,
      -32700,
    );
    assert.equal(
      (
        (await rpc(node.rpcUrl, '{"jsonrpc":"2.0","id":1,"method":"nope"}')).json as {
          error: { code: number };
        }
      ).error.code,
      -32601,
    );
    const badParams = (
      await rpc(node.rpcUrl, '{"jsonrpc":"2.0","id":1,"method":"aivm_getBalance","params":{"address":42}}')
    ).json as { error: { code: number; message: string } };
    assert.equal(badParams.error.code, -32602);
    assert.match(badParams.error.message, /address/);

    const sk = key(2);
    const from = privateKeyToAddress(sk);
    const base = {
      from,
      nonce: 0n,
      gasLimit: 100_000n,
      gasPrice: 10n ** 9n,
      msgType: 'bank/send',
      msg: { to: from, amount: 1n },
    };
    const expectCode = async (raw: Uint8Array, code: number) => {
      await assert.rejects(client.sendRawTx(raw), (e: unknown) => e instanceof RpcError && e.code === code);
    };
    await expectCode(signTx({ ...base, chainId: 1n }, sk, BankSend), ERR.WRONG_CHAIN);
    await expectCode(
      signTx({ ...base, chainId: BigInt(DEV_CHAIN_ID), nonce: 3n }, sk, BankSend),
      ERR.NONCE_GAP,
    );
    const forged = signTx({ ...base, chainId: BigInt(DEV_CHAIN_ID) }, key(3), BankSend);
    await expectCode(forged, ERR.BAD_SIGNATURE);
    await expectCode(hexToBytes('0xdeadbeef'), ERR.TX_DECODE);
    const poor = mnemonicToPrivateKey(DEV_MNEMONIC, 50);
    const poorAddr = privateKeyToAddress(poor);
    await expectCode(
      signTx({ ...base, from: poorAddr, chainId: BigInt(DEV_CHAIN_ID) }, poor, BankSend),
      ERR.INSUFFICIENT_FUNDS,
    );

    const ok = signTx({ ...base, chainId: BigInt(DEV_CHAIN_ID) }, sk, BankSend);
    const hash = await client.sendRawTx(ok);
    await client.waitForTx(hash, { timeoutMs: 15_000 });
    await expectCode(ok, ERR.NONCE_TOO_LOW); // replay
    assert.ok((await client.status()).height > 0n);
  });

  it('serves the method catalogue (OpenRPC) and Prometheus metrics', async () => {
    const doc = (await rpc(node.rpcUrl, '{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}')).json as {
      result: { methods: { name: string }[] };
    };
    const names = doc.result.methods.map((m) => m.name);
    for (const m of ['aivm_status', 'aivm_sendRawTx', 'aivm_getProof', 'aivm_estimateGas', 'aivm_subscribe'])
      assert.ok(names.includes(m), m);
    const metrics = await (await fetch(`${node.rpcUrl}/metrics`)).text();
    assert.match(metrics, /aivm_block_height \d+/);
    assert.match(metrics, /aivm_txs_committed_total [1-9]/);
  });

  it('the CLI queries and sends through the same node', async () => {
    const ks = await tempDir('aivm-keys-');
    try {
      const env = { AIVM_PASSWORD: 'pw', AIVM_KEYSTORE: ks.path, AIVM_RPC: node.rpcUrl };
      const status = await runAivm(['status', '--json'], env);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(JSON.parse(status.stdout).chainId, String(DEV_CHAIN_ID));

      const pkFile = `${ks.path}/pk.txt`;
      await import('node:fs/promises').then((fs) => fs.writeFile(pkFile, bytesToHex(key(0))));
      const imported = await runAivm(
        ['keys', 'import', 'alice', '--private-key-file', pkFile, '--json'],
        env,
      );
      assert.equal(imported.code, 0, imported.stderr);
      assert.equal(JSON.parse(imported.stdout).address, privateKeyToAddress(key(0)));

      const to = privateKeyToAddress(key(3));
      const before = await client.getBalance(to);
      const sent = await runAivm(
        ['tx', 'send', '--from', 'alice', '--to', to, '--amount', '1.5', '--json'],
        env,
      );
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal(JSON.parse(sent.stdout).receipt.success, true);
      assert.equal(await client.getBalance(to), before + 15n * 10n ** 17n);

      const txHash = JSON.parse(sent.stdout).hash as string;
      const shown = await runAivm(['query', 'tx', txHash, '--json'], env);
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal(JSON.parse(shown.stdout).receipt.success, true);
      const block = await runAivm(['query', 'block', String(JSON.parse(shown.stdout).height), '--json'], env);
      assert.equal(block.code, 0, block.stderr);
      assert.ok(JSON.stringify(JSON.parse(block.stdout).txs).includes(txHash));
      const account = await runAivm(['query', 'account', privateKeyToAddress(key(0)), '--json'], env);
      assert.ok(BigInt(JSON.parse(account.stdout).nonce) >= 2n);

      const bal = await runAivm(['query', 'balance', to], env);
      assert.equal(bal.stdout.trim(), `${(before + 15n * 10n ** 17n) / CGPT}.5 CGPT`);
      const bad = await runAivm(['query', 'balance', '0x1234'], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /not an address/);
    } finally {
      await ks.remove();
    }
  });
});
