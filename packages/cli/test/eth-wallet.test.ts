// Ethereum wallets against a real devnet process: viem's public and wallet clients over the node's
// eth_* JSON-RPC (docs/wallets.md), checked against the AIVM view of the same chain.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BankSend, signTx } from '@aivm/chain';
import { bytesToHex, mnemonicToPrivateKey, privateKeyToAddress } from '@aivm/crypto';
import type { AivmClient } from '@aivm/sdk';
import {
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type PublicClient,
  parseEther,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { DEV_CHAIN_ID, DEV_MNEMONIC } from '../src/index.ts';
import { type RunningNode, useDevnet } from './helpers.ts';

const CGPT = 10n ** 18n;
const key = (i: number) => mnemonicToPrivateKey(DEV_MNEMONIC, i);

type RpcAnswer = { result?: unknown; error?: { code: number; message: string; data?: { code: number } } };

async function rpc(url: string, method: string, params: unknown[]): Promise<RpcAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await res.json()) as RpcAnswer;
}

describe('Ethereum wallets (viem) against a devnet', () => {
  const devnet = useDevnet();
  let node: RunningNode;
  let client: AivmClient;
  let chain: Chain;
  let publicClient: PublicClient;

  before(() => {
    ({ node, client } = devnet);
    chain = defineChain({
      id: DEV_CHAIN_ID,
      name: 'AIVM devnet',
      nativeCurrency: { name: 'CGPT', symbol: 'CGPT', decimals: 18 },
      rpcUrls: { default: { http: [node.rpcUrl] } },
    });
    publicClient = createPublicClient({ chain, transport: http(node.rpcUrl), pollingInterval: 50 });
  });

  it('reports the chain id and the AIVM balances and nonces', async () => {
    assert.equal(await publicClient.getChainId(), DEV_CHAIN_ID);
    assert.equal((await rpc(node.rpcUrl, 'net_version', [])).result, String(DEV_CHAIN_ID));
    const dev0 = privateKeyToAddress(key(0));
    assert.equal(await publicClient.getBalance({ address: dev0 }), await client.getBalance(dev0));
    assert.equal(await publicClient.getBalance({ address: dev0 }), 1_000_000n * CGPT);
    const account = await client.getAccount(dev0);
    assert.equal(BigInt(await publicClient.getTransactionCount({ address: dev0 })), account.nonce);
    const status = await client.status();
    assert.ok((await publicClient.getBlockNumber()) >= status.height);
    assert.equal(await publicClient.getGasPrice(), 10n ** 9n);
  });

  it('getBlock(latest) parses: number, hash, timestamp, base fee', async () => {
    const block = await publicClient.getBlock({ blockTag: 'latest' });
    const aivm = await client.getBlock(block.number);
    assert.ok(aivm);
    assert.equal(block.hash, aivm.hash);
    assert.equal(block.timestamp, aivm.header.timeMs / 1000n);
    assert.equal(block.parentHash, aivm.header.parentHash);
    assert.equal(block.baseFeePerGas, 10n ** 9n);
    assert.equal(block.gasUsed, aivm.header.gasUsed);
    assert.deepEqual(block.transactions, aivm.txs);
    const byHash = await publicClient.getBlock({ blockHash: block.hash });
    assert.equal(byHash.number, block.number);
  });

  for (const type of ['legacy', 'eip1559'] as const) {
    it(`sends 1.5 CGPT as a ${type} transaction and waits for its receipt`, async () => {
      const account = privateKeyToAccount(bytesToHex(key(1)) as Hex);
      const wallet = createWalletClient({ account, chain, transport: http(node.rpcUrl) });
      const to = privateKeyToAddress(key(2));
      const toBefore = await client.getBalance(to);
      const nonceBefore = (await client.getAccount(account.address)).nonce;
      assert.equal(
        BigInt(await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' })),
        nonceBefore,
      );
      const hash =
        type === 'legacy'
          ? await wallet.sendTransaction({
              to,
              value: parseEther('1.5'),
              type: 'legacy',
              gasPrice: 10n ** 9n,
            })
          : await wallet.sendTransaction({ to, value: parseEther('1.5') });
      const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
      assert.equal(receipt.status, 'success');
      assert.equal(receipt.transactionHash, hash);
      assert.equal(receipt.type, type);
      assert.equal(receipt.from.toLowerCase(), account.address.toLowerCase());
      assert.ok(receipt.gasUsed <= 21_000n, `gas ${receipt.gasUsed}`);
      assert.equal(receipt.effectiveGasPrice, 10n ** 9n);
      const aivm = await client.getTx(hash);
      assert.ok(aivm);
      assert.equal(aivm.receipt.success, true);
      assert.equal(aivm.receipt.gasUsed, receipt.gasUsed);
      assert.equal(aivm.receipt.feeWei, receipt.gasUsed * receipt.effectiveGasPrice);
      assert.equal(await client.getBalance(to), toBefore + 1_500_000_000_000_000_000n);
      const nonceAfter = (await client.getAccount(account.address)).nonce;
      assert.equal(nonceAfter, nonceBefore + 1n);
      assert.equal(BigInt(await publicClient.getTransactionCount({ address: account.address })), nonceAfter);
      const tx = await publicClient.getTransaction({ hash });
      assert.equal(tx.blockNumber, receipt.blockNumber);
      assert.equal(tx.value, parseEther('1.5'));
      assert.equal(tx.nonce, Number(nonceBefore));
      const block = await publicClient.getBlock({
        blockNumber: receipt.blockNumber,
        includeTransactions: true,
      });
      assert.ok(block.transactions.some((t) => typeof t !== 'string' && t.hash === hash));
    });
  }

  it('refuses contract creation, call data and a wrong chain id with clear JSON-RPC errors', async () => {
    const account = privateKeyToAccount(bytesToHex(key(1)) as Hex);
    const wallet = createWalletClient({ account, chain, transport: http(node.rpcUrl) });
    await assert.rejects(wallet.sendTransaction({ data: '0x6080604052' }), (err: Error) => {
      assert.match(err.message, /contract creation is not supported: AIVM has no EVM/);
      return true;
    });
    const to = privateKeyToAddress(key(2));
    await assert.rejects(publicClient.call({ to, data: '0x70a08231' }), (err: Error) => {
      assert.match(err.message, /call data is not supported: AIVM has no EVM/);
      return true;
    });
    assert.deepEqual((await publicClient.call({ to })).data, undefined);

    const call = await rpc(node.rpcUrl, 'eth_call', [{ to, data: '0x70a08231' }, 'latest']);
    assert.equal(call.error?.code, -32000);
    assert.equal(call.error?.data?.code, 1013);
    const create = await rpc(node.rpcUrl, 'eth_estimateGas', [{ from: account.address, data: '0x60' }]);
    assert.equal(create.error?.code, -32000);
    assert.match(create.error?.message ?? '', /contract creation is not supported/);

    const nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' });
    const wrongChain = await account.signTransaction({
      chainId: DEV_CHAIN_ID + 1,
      type: 'eip1559',
      nonce,
      gas: 21_000n,
      maxFeePerGas: 2n * 10n ** 9n,
      maxPriorityFeePerGas: 0n,
      to,
      value: 1n,
    });
    const sent = await rpc(node.rpcUrl, 'eth_sendRawTransaction', [wrongChain]);
    assert.equal(sent.error?.code, -32000);
    assert.equal(sent.error?.data?.code, 1002);
    assert.match(sent.error?.message ?? '', /^invalid chain id: /);

    const bad = await rpc(node.rpcUrl, 'eth_getBalance', ['0x1234', 'latest']);
    assert.equal(bad.error?.code, -32602);
    const old = await rpc(node.rpcUrl, 'eth_getBalance', [to, '0x1']);
    assert.equal(old.error?.code, -32602);
    assert.match(old.error?.message ?? '', /latest state only/);
  });

  it('refuses a reused nonce and an unaffordable transfer with the wording wallets read', async () => {
    const account = privateKeyToAccount(bytesToHex(key(3)) as Hex);
    const to = privateKeyToAddress(key(2));
    const nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' });
    const sign = (n: number, value: bigint) =>
      account.signTransaction({
        chainId: DEV_CHAIN_ID,
        type: 'legacy',
        nonce: n,
        gas: 21_000n,
        gasPrice: 10n ** 9n,
        to,
        value,
      });
    const tooMuch = await rpc(node.rpcUrl, 'eth_sendRawTransaction', [await sign(nonce, 2_000_000n * CGPT)]);
    assert.equal(tooMuch.error?.code, -32000);
    assert.match(tooMuch.error?.message ?? '', /^insufficient funds for gas \* price \+ value: /);
    const hash = await publicClient.sendRawTransaction({ serializedTransaction: await sign(nonce, 1n) });
    assert.equal(
      (await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })).status,
      'success',
    );
    const reused = await rpc(node.rpcUrl, 'eth_sendRawTransaction', [await sign(nonce, 2n)]);
    assert.equal(reused.error?.code, -32000);
    assert.match(reused.error?.message ?? '', /^nonce too low: /);
  });

  it('an AIVM transaction and an Ethereum one share the nonce and commit in the same block', async () => {
    const sk = key(0);
    const from = privateKeyToAddress(sk);
    const account = privateKeyToAccount(bytesToHex(sk) as Hex);
    const to = privateKeyToAddress(key(2));
    // Two sends over HTTP straddle a 100 ms block boundary now and then; a few tries make one land.
    let sameBlock = false;
    for (let attempt = 0; attempt < 5 && !sameBlock; attempt++) {
      const toBefore = await client.getBalance(to);
      const nonce = (await client.getAccount(from)).pendingNonce;
      const aivmRaw = signTx(
        {
          chainId: BigInt(DEV_CHAIN_ID),
          from,
          nonce,
          gasLimit: 100_000n,
          gasPrice: 10n ** 9n,
          msgType: 'bank/send',
          msg: { to, amount: CGPT },
        },
        sk,
        BankSend,
      );
      const ethRaw = await account.signTransaction({
        chainId: DEV_CHAIN_ID,
        type: 'eip1559',
        nonce: Number(nonce + 1n),
        gas: 21_000n,
        maxFeePerGas: 2n * 10n ** 9n,
        maxPriorityFeePerGas: 0n,
        to,
        value: 2n * CGPT,
      });
      const aivmHash = (await rpc(node.rpcUrl, 'eth_sendRawTransaction', [bytesToHex(aivmRaw)]))
        .result as Hex;
      const ethHash = await publicClient.sendRawTransaction({ serializedTransaction: ethRaw });
      const ethReceipt = await publicClient.waitForTransactionReceipt({ hash: ethHash, pollingInterval: 50 });
      assert.equal(ethReceipt.status, 'success');
      const aivmRecord = await client.waitForTx(aivmHash, { timeoutMs: 15_000 });
      assert.equal(aivmRecord.receipt.success, true);
      // The AIVM transaction is not an Ethereum one: the eth_* view has no receipt for it.
      assert.equal((await rpc(node.rpcUrl, 'eth_getTransactionReceipt', [aivmHash])).result, null);
      assert.equal(await client.getBalance(to), toBefore + 3n * CGPT);
      const after = await client.getAccount(from);
      assert.equal(after.nonce, nonce + 2n);
      assert.equal(BigInt(await publicClient.getTransactionCount({ address: from })), nonce + 2n);
      sameBlock = aivmRecord.height === ethReceipt.blockNumber;
      if (sameBlock) {
        const block = await publicClient.getBlock({ blockNumber: ethReceipt.blockNumber });
        assert.ok(block.transactions.includes(aivmHash));
        assert.ok(block.transactions.includes(ethHash));
        assert.ok(ethReceipt.cumulativeGasUsed >= ethReceipt.gasUsed);
      }
    }
    assert.ok(sameBlock, 'the two transactions never landed in the same block');
  });
});
