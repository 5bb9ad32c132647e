// The fault policy with real processes: a validator whose machine cannot execute a transaction
// (its handler throws a RangeError, as a stack overflow or a failed worker would) neither votes
// for nor commits the block that carries it. The other three commit it and go on; the faulty node
// stops one height below, on the same chain, and catches up by sync once its fault is gone.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { BankSend, signTx } from '@aivm/chain';
import { mnemonicToPrivateKey, privateKeyToAddress } from '@aivm/crypto';
import { DEV_MNEMONIC } from '../src/index.ts';
import { Network, sleep } from './network-helpers.ts';

const BLOCK_TIME_MS = 200;

describe('a validator that cannot execute a block (real processes)', { timeout: 600_000 }, () => {
  let net: Network;

  before(
    async () => {
      net = await Network.create({ validators: 4, blockTimeMs: BLOCK_TIME_MS });
      await net.start(net.nodes.slice(0, 3));
      await net.start([net.nodes[3]!], { extraArgs: ['--inject-fault', 'bank/send'] });
    },
    { timeout: 240_000 },
  );

  afterEach((t) => {
    if (net && 'passed' in t && t.passed === false)
      console.error(`node logs after "${t.name}":${net.diagnose()}`);
  });

  after(async () => {
    await net?.close();
  });

  it('does not vote for it, stops below it without forking, and catches up once healthy', async () => {
    const [n0, n1, n2, faulty] = net.nodes as [
      (typeof net.nodes)[0],
      (typeof net.nodes)[0],
      (typeof net.nodes)[0],
      (typeof net.nodes)[0],
    ];
    const healthy = [n0, n1, n2];
    await net.waitForHeight(net.nodes, 3n, 120_000);

    const key = mnemonicToPrivateKey(DEV_MNEMONIC, 1);
    const from = privateKeyToAddress(key);
    const { chainId } = await n0.client.status();
    const { nonce } = await n0.client.getAccount(from);
    const raw = signTx(
      {
        chainId,
        from,
        nonce,
        gasLimit: 100_000n,
        gasPrice: 1_000_000_000n,
        msgType: 'bank/send',
        msg: { to: privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, 2)), amount: 1n },
      },
      key,
      BankSend,
    );
    const hash = await n0.client.sendRawTx(raw);
    const rec = await n0.client.waitForTx(hash, { timeoutMs: 120_000 });
    assert.equal(rec.receipt.code, 0, rec.receipt.error);
    const h = rec.height;

    // Three of four validators hold more than two thirds: they commit the block and go on.
    await net.waitForHeight(healthy, h + 5n, 120_000);
    // The faulty node stays one height below the block it cannot execute, and stays there.
    for (let i = 0; i < 5; i++) {
      assert.equal(await faulty.height(), h - 1n, `${faulty.name} moved past the block it cannot execute`);
      await sleep(500);
    }
    // Same chain up to there: no fork, no guess committed.
    for (let height = 1n; height < h; height++)
      assert.equal(await faulty.hashAt(height), await n0.hashAt(height), `hash at ${height}`);
    assert.match(faulty.logTail(200_000), /execution fault/);
    // The block was committed without the faulty validator's precommit.
    const next = await n0.block(h + 1n);
    assert.equal(next!.lastCommit.signatures.length, 3, `precommits for block ${h}`);

    // Once the fault is gone (a restart without it), the node syncs the block and goes on.
    await faulty.stop();
    await net.start([faulty]);
    await net.waitForHeight([faulty], h + 5n, 120_000);
    assert.equal(await faulty.hashAt(h), await n0.hashAt(h));
    assert.equal(await faulty.hashAt(h + 5n), await n0.hashAt(h + 5n));
  });
});
