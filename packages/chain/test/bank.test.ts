import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bytesToHex } from '@aivm/crypto';
import {
  BONDED_POOL,
  DISTRIBUTION_ACCOUNT,
  ERR,
  FEE_COLLECTOR,
  GOV_ACCOUNT,
  getBalance,
  getNonce,
  getSupply,
  INFERENCE_ACCOUNT,
  InvalidBlock,
  MODELS_ACCOUNT,
  MODULE_ACCOUNTS,
  NOT_BONDED_POOL,
  TxRejected,
  WEI_PER_CGPT,
} from '../src/index.ts';
import {
  buildBlock,
  createTestChain,
  GAS_PRICE,
  importBlock,
  signMsg,
  TEST_VALIDATOR_STAKE,
  type TestChain,
} from '../src/testing/index.ts';

describe('bank and block execution', () => {
  let tc: TestChain;
  before(async () => {
    tc = await createTestChain({ accounts: 3, fundCgpt: 1_000n });
  });
  after(() => tc.close());

  it('genesis funds accounts and sets the total supply (the validator operator holds its stake)', async () => {
    for (const a of tc.accounts) assert.equal(await getBalance(tc.state, a.address), 1_000n * WEI_PER_CGPT);
    assert.equal(await getSupply(tc.state), 3_000n * WEI_PER_CGPT + TEST_VALIDATOR_STAKE);
  });

  it('transfers move value, charge gasUsed * gasPrice and bump the nonce', async () => {
    const [a, b] = tc.accounts as [(typeof tc.accounts)[0], (typeof tc.accounts)[0]];
    const beforeA = await getBalance(tc.state, a.address);
    const beforeB = await getBalance(tc.state, b.address);
    const amount = 5n * WEI_PER_CGPT;
    const { result } = await buildBlock(tc, [signMsg(tc, a, 0n, 'bank/send', { to: b.address, amount })]);
    const receipt = result.receipts[0]!;
    assert.equal(receipt.code, 0, receipt.error);
    assert.equal(receipt.feeWei, receipt.gasUsed * GAS_PRICE);
    assert.ok(receipt.gasUsed > 10_000n && receipt.gasUsed < 200_000n);
    assert.equal(await getBalance(tc.state, a.address), beforeA - amount - receipt.feeWei);
    assert.equal(await getBalance(tc.state, b.address), beforeB + amount);
    assert.equal(await getBalance(tc.state, FEE_COLLECTOR), receipt.feeWei);
    assert.equal(await getNonce(tc.state, a.address), 1n);
    assert.equal(await getSupply(tc.state), 3_000n * WEI_PER_CGPT + TEST_VALIDATOR_STAKE);
    assert.deepEqual(
      receipt.events.map((e) => [
        e.module,
        e.type,
        Object.fromEntries(e.attributes.map((x) => [x.key, x.value])),
      ]),
      [['bank', 'transfer', { from: a.address, to: b.address, amount: amount.toString() }]],
    );
  });

  it('a failing message is included: fee and nonce kept, its effects reverted', async () => {
    const [a, b] = tc.accounts as [(typeof tc.accounts)[0], (typeof tc.accounts)[0]];
    const beforeA = await getBalance(tc.state, a.address);
    const beforeB = await getBalance(tc.state, b.address);
    const nonce = await getNonce(tc.state, a.address);
    const raw = signMsg(tc, a, nonce, 'bank/multiSend', {
      outputs: [
        { to: b.address, amount: 1n },
        { to: b.address, amount: 10_000n * WEI_PER_CGPT },
      ],
    });
    const { result } = await buildBlock(tc, [raw]);
    const r = result.receipts[0]!;
    assert.notEqual(r.code, 0);
    assert.match(r.error, /insufficient funds/);
    assert.deepEqual(r.events, []);
    assert.equal(await getBalance(tc.state, b.address), beforeB, 'the first output was reverted too');
    assert.equal(await getBalance(tc.state, a.address), beforeA - r.feeWei);
    assert.equal(await getNonce(tc.state, a.address), nonce + 1n);
  });

  it('multi-send pays every output', async () => {
    const [a, b, c] = tc.accounts as [
      (typeof tc.accounts)[0],
      (typeof tc.accounts)[0],
      (typeof tc.accounts)[0],
    ];
    const bB = await getBalance(tc.state, b.address);
    const bC = await getBalance(tc.state, c.address);
    const nonce = await getNonce(tc.state, a.address);
    const { result } = await buildBlock(tc, [
      signMsg(tc, a, nonce, 'bank/multiSend', {
        outputs: [
          { to: b.address, amount: 7n },
          { to: c.address, amount: 9n },
        ],
      }),
    ]);
    assert.equal(result.receipts[0]!.code, 0);
    assert.equal(await getBalance(tc.state, b.address), bB + 7n);
    assert.equal(await getBalance(tc.state, c.address), bC + 9n);
  });

  it('module accounts take no transfers: every pool holds only what its module put there', async () => {
    const [a, b] = tc.accounts as [(typeof tc.accounts)[0], (typeof tc.accounts)[0]];
    const accounts = [
      FEE_COLLECTOR,
      BONDED_POOL,
      NOT_BONDED_POOL,
      DISTRIBUTION_ACCOUNT,
      GOV_ACCOUNT,
      MODELS_ACCOUNT,
      INFERENCE_ACCOUNT,
    ];
    assert.equal(MODULE_ACCOUNTS.size, accounts.length);
    let nonce = await getNonce(tc.state, a.address);
    const txs = accounts.flatMap((to) => [
      signMsg(tc, a, nonce++, 'bank/send', { to, amount: 1n }),
      signMsg(tc, a, nonce++, 'bank/multiSend', {
        outputs: [
          { to: b.address, amount: 1n },
          { to: to.toUpperCase().replace('0X', '0x'), amount: 1n },
        ],
      }),
    ]);
    const before = await Promise.all(accounts.map((x) => getBalance(tc.state, x)));
    const beforeB = await getBalance(tc.state, b.address);
    const { result } = await buildBlock(tc, txs);
    for (const r of result.receipts) {
      assert.equal(r.code, ERR.MODULE);
      assert.match(r.error, /is a module account and takes no transfers/);
    }
    const after = await Promise.all(accounts.map((x) => getBalance(tc.state, x)));
    // Fees move the fee collector's and distribution's balances every block; the pools stand still.
    assert.deepEqual([after[1], after[2], ...after.slice(4)], [before[1], before[2], ...before.slice(4)]);
    assert.equal(await getBalance(tc.state, b.address), beforeB);
  });

  it('refuses replays, nonce gaps, wrong chains, underpriced and unpayable transactions', async () => {
    const [a, b] = tc.accounts as [(typeof tc.accounts)[0], (typeof tc.accounts)[0]];
    const nonce = await getNonce(tc.state, a.address);
    const send = { to: b.address, amount: 1n };
    const cases: [Uint8Array, number][] = [
      [signMsg(tc, a, nonce - 1n, 'bank/send', send), ERR.NONCE_TOO_LOW],
      [signMsg(tc, a, nonce + 1n, 'bank/send', send), ERR.NONCE_GAP],
      [signMsg(tc, a, nonce, 'bank/send', send, { chainId: 1n }), ERR.WRONG_CHAIN],
      [signMsg(tc, a, nonce, 'bank/send', send, { gasPrice: 1n }), ERR.UNDERPRICED],
      [
        signMsg(tc, a, nonce, 'bank/send', send, { gasLimit: 9_000_000n, gasPrice: 10n ** 15n }),
        ERR.INSUFFICIENT_FUNDS,
      ],
      [signMsg(tc, a, nonce, 'bank/send', send, { gasLimit: 100n }), ERR.GAS_LIMIT],
    ];
    const rootBefore = bytesToHex(tc.state.root);
    for (const [raw, code] of cases) {
      await assert.rejects(
        buildBlock(tc, [raw]),
        (e: TxRejected) => e instanceof TxRejected && e.code === code,
      );
    }
    assert.equal(bytesToHex(tc.state.root), rootBefore, 'state untouched');
  });

  it('another node replays the blocks to the same roots; a forged root is refused', async () => {
    const other = await createTestChain({ accounts: 3, fundCgpt: 1_000n });
    const replica = await createTestChain({ accounts: 3, fundCgpt: 1_000n });
    try {
      const [a, b] = other.accounts as [(typeof other.accounts)[0], (typeof other.accounts)[0]];
      const blocks = [];
      for (let i = 0n; i < 3n; i++) {
        blocks.push(
          (await buildBlock(other, [signMsg(other, a, i, 'bank/send', { to: b.address, amount: 1n + i })]))
            .block,
        );
      }
      for (const block of blocks) await importBlock(replica, block);
      assert.equal(bytesToHex(replica.state.root), bytesToHex(other.state.root));
      const forged = (
        await buildBlock(other, [signMsg(other, a, 3n, 'bank/send', { to: b.address, amount: 1n })])
      ).block;
      const bad = { ...forged, header: { ...forged.header, stateRoot: new Uint8Array(32) } };
      await assert.rejects(
        importBlock(replica, bad),
        (e: Error) => e instanceof InvalidBlock && /state root mismatch/.test(e.message),
      );
      const badAmount = {
        ...forged,
        txs: [signMsg(other, a, 3n, 'bank/send', { to: b.address, amount: 2n })],
      };
      await assert.rejects(importBlock(replica, badAmount), InvalidBlock);
      await importBlock(replica, forged);
      assert.equal(bytesToHex(replica.state.root), bytesToHex(other.state.root));
    } finally {
      await other.close();
      await replica.close();
    }
  });
});
