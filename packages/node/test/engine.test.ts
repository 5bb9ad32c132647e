// The single-validator engine inside a real in-process node: block interval, optional empty
// blocks, and commits signed by the genesis validator.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BankSend, commitSignBytes, ERR, type GenesisDoc, headerHash, signTx } from '@aivm/chain';
import { ed25519GenerateKey, ed25519Verify, mnemonicToPrivateKeys, privateKeyToAddress } from '@aivm/crypto';
import { buildGenesis, DEFAULT_SELF_STAKE_WEI } from '../src/genesis-builder.ts';
import { createLogger } from '../src/logger.ts';
import { AivmNode } from '../src/node.ts';

const [sk] = mnemonicToPrivateKeys('test test test test test test test test test test test junk', 0, 1) as [
  Uint8Array,
];
const from = privateKeyToAddress(sk);
const operatorKey = mnemonicToPrivateKeys(
  'test test test test test test test test test test test junk',
  1,
  1,
)[0]!;

async function withNode(
  emptyBlocks: boolean,
  fn: (node: AivmNode, validatorPub: Uint8Array) => Promise<void>,
) {
  const home = await mkdtemp(join(tmpdir(), 'aivm-engine-'));
  const key = ed25519GenerateKey();
  const genesis: GenesisDoc = buildGenesis({
    chainId: 5,
    genesisTimeMs: 1_700_000_000_000,
    validators: [
      {
        operator: privateKeyToAddress(operatorKey),
        consensusPubKey: key.publicKey,
        selfStakeWei: DEFAULT_SELF_STAKE_WEI,
      },
    ],
    balances: [{ address: from, amountWei: 10n ** 24n }],
  });
  const node = await AivmNode.start({
    home,
    genesis,
    validatorKey: key.secretKey,
    rpc: false,
    blockIntervalMs: 30,
    emptyBlocks,
    logger: createLogger('silent'),
  });
  try {
    await fn(node, key.publicKey);
  } finally {
    await node.close();
    await rm(home, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('single-validator engine', () => {
  it('with empty blocks off, waits for transactions and then commits them', async () => {
    await withNode(false, async (node) => {
      await sleep(200);
      assert.equal(node.status().height, 0n);
      const raw = signTx(
        {
          chainId: 5n,
          from,
          nonce: 0n,
          gasLimit: 100_000n,
          gasPrice: 10n ** 9n,
          msgType: 'bank/send',
          msg: { to: from, amount: 1n },
        },
        sk,
        BankSend,
      );
      const hash = await node.sendRawTx(raw);
      for (let i = 0; i < 100 && !(await node.getTx(hash)); i++) await sleep(10);
      const rec = await node.getTx(hash);
      assert.equal(rec?.height, 1n);
      assert.equal(rec?.receipt.code, 0);
      await sleep(150);
      assert.equal(node.status().height, 1n, 'no empty blocks after it');
    });
  });

  it('reports each transaction committed, dropped with its reason, or unknown', async () => {
    await withNode(false, async (node) => {
      const tx = (nonce: bigint, amount: bigint) =>
        signTx(
          {
            chainId: 5n,
            from,
            nonce,
            gasLimit: 100_000n,
            gasPrice: 10n ** 9n,
            msgType: 'bank/send',
            msg: { to: privateKeyToAddress(operatorKey), amount },
          },
          sk,
          BankSend,
        );
      // The first leaves less than the second's maximum fee (1e14 wei): the second is dropped.
      const h0 = await node.sendRawTx(tx(0n, 10n ** 24n - 10n ** 14n - 10n ** 13n));
      const h1 = await node.sendRawTx(tx(1n, 1n));
      assert.ok(['pending', 'committed', 'dropped'].includes((await node.getTxStatus(h1)).status));
      for (let i = 0; i < 200 && (await node.getTxStatus(h1)).status === 'pending'; i++) await sleep(10);
      for (let i = 0; i < 200 && (await node.getTxStatus(h0)).status === 'pending'; i++) await sleep(10);
      assert.deepEqual(await node.getTxStatus(h0), { status: 'committed', height: 1n });
      const dropped = await node.getTxStatus(h1);
      assert.equal(dropped.status, 'dropped');
      assert.ok(dropped.status === 'dropped');
      assert.equal(dropped.code, ERR.INSUFFICIENT_FUNDS);
      assert.match(dropped.reason, /cannot pay the maximum fee 100000000000000 wei/);
      assert.equal(await node.getTx(h1), undefined);
      assert.deepEqual(await node.getTxStatus(`0x${'00'.repeat(32)}`), { status: 'unknown' });
    });
  });

  it('with empty blocks on, makes a block every interval, each committed by the validator', async () => {
    await withNode(true, async (node, pub) => {
      // Blocks keep coming with no transactions (how fast is the machine's business, not the test's).
      for (let i = 0; i < 1_000 && node.status().height < 4n; i++) await sleep(10);
      const height = node.status().height;
      assert.ok(height >= 4n, `only ${height} blocks after 10 s at a 30 ms interval`);
      const b2 = (await node.getBlock({ height: 2n }))!;
      const b3 = (await node.getBlock({ height: 3n }))!;
      assert.ok(b3.block.header.timeMs > b2.block.header.timeMs);
      assert.deepEqual(b3.block.header.parentHash, headerHash(b2.block.header));
      // Block 3 carries the commit of block 2: the validator's ed25519 signature over it.
      assert.equal(b3.block.lastCommit.signatures.length, 1);
      const sig = b3.block.lastCommit.signatures[0]!.signature;
      assert.equal(ed25519Verify(sig, commitSignBytes(5n, 2n, 0, headerHash(b2.block.header)), pub), true);
      assert.equal(ed25519Verify(sig, commitSignBytes(5n, 3n, 0, headerHash(b2.block.header)), pub), false);
    });
  });
});
