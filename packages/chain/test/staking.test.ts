import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bytesToHex, ed25519PublicKey } from '@aivm/crypto';
import {
  BONDED_POOL,
  DEC,
  FEE_COLLECTOR,
  getBalance,
  getBondedValidators,
  getDelegation,
  getDelegatorsOf,
  getDelegatorValidators,
  getSupply,
  getUnbondingEntries,
  getValidator,
  getValidatorByConsensusAddress,
  listValidators,
  NOT_BONDED_POOL,
  readValidatorSet,
  tokensFromShares,
  totalBondedTokens,
  validatorAddress,
} from '../src/index.ts';
import { buildBlock, createTestChain, type TestAccount, type TestChain } from '../src/testing/index.ts';
import { assertRewardsBacked, CGPT, knownBalances, ok, pendingRewards, send } from './staking-helpers.ts';

const UNBONDING_MS = 10_000n;

function newKey(tc: TestChain, seed: number) {
  const sk = new Uint8Array(32).fill(seed);
  const pub = ed25519PublicKey(sk);
  tc.consensusKeys.set(validatorAddress(pub).toLowerCase(), sk);
  return { pub, address: validatorAddress(pub) };
}

function createMsg(pub: Uint8Array, selfStake: bigint, over: Record<string, unknown> = {}) {
  return {
    consensusPubKey: pub,
    moniker: 'alpha',
    selfStake,
    commissionRate: DEC / 10n,
    maxCommissionRate: DEC / 5n,
    maxCommissionChangeRate: DEC / 100n,
    ...over,
  };
}

async function fails(
  tc: TestChain,
  from: TestAccount,
  type: string,
  msg: Record<string, unknown>,
  re: RegExp,
) {
  const { receipt } = await send(tc, from, type, msg);
  assert.notEqual(receipt.code, 0, `${type} should fail with ${re}`);
  assert.match(receipt.error, re);
}

describe('staking messages', () => {
  let tc: TestChain;
  let A: TestAccount;
  let B: TestAccount;
  let v0: string;
  let supply: bigint;
  before(async () => {
    tc = await createTestChain({
      accounts: 3,
      fundCgpt: 10_000n,
      app: { staking: { params: { unbondingTimeMs: UNBONDING_MS.toString() } } },
    });
    [A, B] = tc.accounts as [TestAccount, TestAccount];
    v0 = tc.validators[0]!.operator.address;
    supply = await getSupply(tc.state);
  });
  after(async () => {
    // Nothing was slashed here: every wei is still in some known account or pool.
    assert.equal(await getSupply(tc.state), supply);
    assert.equal(await knownBalances(tc), supply);
    await assertRewardsBacked(tc);
    await tc.close();
  });

  it('genesis bonds the validator: its stake sits in the bonded pool', async () => {
    const v = (await getValidator(tc.state, v0 as never))!;
    assert.equal(v.status, 'bonded');
    assert.equal(v.tokens, 1_000n * CGPT);
    assert.equal((await getDelegation(tc.state, v0 as never, v0 as never))!.shares, 1_000n * CGPT);
    assert.equal(await getBalance(tc.state, BONDED_POOL), 1_000n * CGPT);
    assert.equal(await getBalance(tc.state, v0 as never), 0n);
    assert.equal(await totalBondedTokens(tc.state), 1_000n * CGPT);
  });

  it('createValidator bonds a new validator at end block and validates its inputs', async () => {
    const k = newKey(tc, 50);
    const balance = await getBalance(tc.state, A.address);
    const { receipt, result } = await send(tc, A, 'staking/createValidator', createMsg(k.pub, 2_000n * CGPT));
    assert.equal(receipt.code, 0, receipt.error);
    assert.equal(await getBalance(tc.state, A.address), balance - 2_000n * CGPT - receipt.feeWei);
    assert.deepEqual(
      result.validators.map((v) => [v.address, v.power]),
      [
        [k.address, 2_000n],
        [tc.validators[0]!.address, 1_000n],
      ],
    );
    const v = (await getValidatorByConsensusAddress(tc.state, k.address))!;
    assert.equal(v.operator, A.address);
    assert.equal(v.status, 'bonded');
    assert.equal(v.commissionRate, DEC / 10n);
    assert.equal(await getBalance(tc.state, BONDED_POOL), 3_000n * CGPT);
    assert.equal((await listValidators(tc.state)).length, 2);

    const other = newKey(tc, 51);
    await fails(tc, A, 'staking/createValidator', createMsg(other.pub, 2_000n * CGPT), /already a validator/);
    await fails(
      tc,
      B,
      'staking/createValidator',
      createMsg(k.pub, 2_000n * CGPT),
      /consensus key is already used/,
    );
    await fails(
      tc,
      B,
      'staking/createValidator',
      createMsg(other.pub, 999n * CGPT),
      /self-stake must be at least/,
    );
    await fails(
      tc,
      B,
      'staking/createValidator',
      createMsg(other.pub, 1_000n * CGPT, { commissionRate: (DEC * 3n) / 10n }),
      /commissionRate must be <= maxCommissionRate/,
    );
    await fails(
      tc,
      B,
      'staking/createValidator',
      createMsg(other.pub, 1_000n * CGPT, { maxCommissionRate: DEC + 1n }),
      /maxCommissionRate must be <= 1/,
    );
    await fails(
      tc,
      B,
      'staking/createValidator',
      createMsg(other.pub, 1_000n * CGPT, { maxCommissionChangeRate: DEC / 2n }),
      /maxCommissionChangeRate must be <= maxCommissionRate/,
    );
    await fails(tc, B, 'staking/createValidator', createMsg(other.pub, 20_000n * CGPT), /insufficient funds/);
  });

  it('delegate issues shares at the exchange rate and raises power', async () => {
    const result = await ok(tc, B, 'staking/delegate', { validator: A.address, amount: 500n * CGPT });
    assert.equal((await getDelegation(tc.state, B.address, A.address))!.shares, 500n * CGPT);
    assert.deepEqual(await getDelegatorsOf(tc.state, A.address), [A.address, B.address]);
    assert.deepEqual(await getDelegatorValidators(tc.state, B.address), [A.address]);
    assert.equal(result.validators[0]!.power, 2_500n);
    assert.equal(await getBalance(tc.state, BONDED_POOL), 3_500n * CGPT);
    await fails(
      tc,
      B,
      'staking/delegate',
      { validator: B.address, amount: CGPT },
      /no validator with operator/,
    );
    await fails(tc, B, 'staking/delegate', { validator: A.address, amount: 0n }, /amount must be positive/);
    await fails(
      tc,
      B,
      'staking/delegate',
      { validator: A.address, amount: 100_000n * CGPT },
      /insufficient funds/,
    );
  });

  it('undelegate moves tokens to the not-bonded pool and pays out after the unbonding period', async () => {
    // Changing a delegation first pays out its rewards (fees earned so far). An empty block moves the
    // last fees to distribution, so the undelegate block allocates none and pays exactly what is
    // pending now.
    await buildBlock(tc, []);
    assert.equal(await getBalance(tc.state, FEE_COLLECTOR), 0n);
    const rewards = await pendingRewards(tc, B.address, A.address);
    assert.ok(rewards > 0n, 'the delegation earned a share of the fees');
    const balance = await getBalance(tc.state, B.address);
    const { receipt, result } = await send(tc, B, 'staking/undelegate', {
      validator: A.address,
      amount: 200n * CGPT,
    });
    assert.equal(receipt.code, 0, receipt.error);
    const withdrawn = receipt.events.find((e) => e.module === 'distribution' && e.type === 'withdrawRewards');
    assert.equal(withdrawn?.attributes.find((a) => a.key === 'amount')?.value, rewards.toString());
    assert.equal(await pendingRewards(tc, B.address, A.address), 0n);
    const entries = await getUnbondingEntries(tc.state, B.address, A.address);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.balance, 200n * CGPT);
    assert.equal(entries[0]!.creationHeight, tc.head.height);
    assert.equal(entries[0]!.completionTimeMs, tc.head.timeMs + UNBONDING_MS);
    assert.equal(result.validators[0]!.power, 2_300n);
    assert.equal(await getBalance(tc.state, NOT_BONDED_POOL), 200n * CGPT);
    assert.equal(
      await getBalance(tc.state, B.address),
      balance - receipt.feeWei + rewards,
      'rewards paid, the stake not paid out yet',
    );
    await fails(
      tc,
      B,
      'staking/undelegate',
      { validator: A.address, amount: 1_000n * CGPT },
      /exceeds the delegation/,
    );
    await fails(tc, B, 'staking/undelegate', { validator: v0, amount: CGPT }, /no delegation/);
    const mid = await getBalance(tc.state, B.address);
    await ok(tc, A, 'bank/send', { to: A.address, amount: 1n }, { timeStepMs: 4_000n });
    assert.equal(await getBalance(tc.state, B.address), mid, 'still maturing');
    await ok(tc, A, 'bank/send', { to: A.address, amount: 1n }, { timeStepMs: 6_000n });
    assert.equal(await getBalance(tc.state, B.address), mid + 200n * CGPT);
    assert.deepEqual(await getUnbondingEntries(tc.state, B.address, A.address), []);
    assert.equal(await getBalance(tc.state, NOT_BONDED_POOL), 0n);
  });

  it('redelegate moves stake at once and forbids transitive redelegation while maturing', async () => {
    await ok(tc, B, 'staking/redelegate', { src: A.address, dst: v0, amount: 100n * CGPT });
    assert.equal((await getDelegation(tc.state, B.address, v0 as never))!.shares, 100n * CGPT);
    assert.equal((await getDelegation(tc.state, B.address, A.address))!.shares, 200n * CGPT);
    await fails(
      tc,
      B,
      'staking/redelegate',
      { src: v0, dst: A.address, amount: 10n * CGPT },
      /still maturing/,
    );
    await fails(tc, B, 'staking/redelegate', { src: A.address, dst: A.address, amount: CGPT }, /must differ/);
    await fails(
      tc,
      B,
      'staking/redelegate',
      { src: A.address, dst: v0, amount: 500n * CGPT },
      /exceeds the delegation/,
    );
    await ok(tc, A, 'bank/send', { to: A.address, amount: 1n }, { timeStepMs: UNBONDING_MS });
    await ok(tc, B, 'staking/redelegate', { src: v0, dst: A.address, amount: 100n * CGPT });
    assert.equal(await getDelegation(tc.state, B.address, v0 as never), undefined);
    assert.deepEqual(await getDelegatorValidators(tc.state, B.address), [A.address]);
  });

  it('editValidator changes commission within its bounds, once per 24 hours', async () => {
    await fails(
      tc,
      A,
      'staking/editValidator',
      { moniker: 'a', commissionRate: (DEC * 11n) / 100n },
      /once per 24 hours/,
    );
    await fails(
      tc,
      B,
      'staking/editValidator',
      { moniker: 'b', commissionRate: DEC / 10n },
      /not a validator operator/,
    );
    await ok(tc, A, 'bank/send', { to: A.address, amount: 1n }, { timeStepMs: 86_400_000n });
    await fails(
      tc,
      A,
      'staking/editValidator',
      { moniker: 'a', commissionRate: (DEC * 12n) / 100n },
      /change by at most/,
    );
    await ok(tc, A, 'staking/editValidator', { moniker: 'renamed', commissionRate: (DEC * 11n) / 100n });
    const v = (await getValidator(tc.state, A.address))!;
    assert.equal(v.commissionRate, (DEC * 11n) / 100n);
    assert.equal(v.moniker, 'renamed');
    assert.equal(v.commissionUpdatedMs, tc.head.timeMs);
  });

  it('an operator that undelegates below the minimum self-delegation is jailed and leaves the set', async () => {
    const result = await ok(tc, A, 'staking/undelegate', { validator: A.address, amount: 1_500n * CGPT });
    const v = (await getValidator(tc.state, A.address))!;
    assert.equal(v.jailed, true);
    assert.equal(v.status, 'unbonding');
    assert.deepEqual(
      result.validators.map((x) => x.address),
      [tc.validators[0]!.address],
    );
    assert.equal(
      tokensFromShares(v, (await getDelegation(tc.state, A.address, A.address))!.shares),
      500n * CGPT,
    );
  });
});

describe('active set', () => {
  let tc: TestChain;
  after(() => tc.close());
  before(async () => {
    tc = await createTestChain({
      accounts: 2,
      fundCgpt: 10_000n,
      app: { staking: { params: { maxValidators: 1, unbondingTimeMs: UNBONDING_MS.toString() } } },
    });
  });

  it('keeps the top maxValidators by power, updated at end block; the dropped one unbonds then is unbonded', async () => {
    const [A, B] = tc.accounts as [TestAccount, TestAccount];
    const v0 = tc.validators[0]!;
    const k = newKey(tc, 60);
    const setBefore = await readValidatorSet(tc.state, 'current');
    const result = await ok(tc, A, 'staking/createValidator', createMsg(k.pub, 2_000n * CGPT));
    assert.deepEqual(
      result.validators.map((v) => [v.address, v.power]),
      [[k.address, 2_000n]],
    );
    // The block that changed the set was itself signed by the old set.
    assert.deepEqual(
      (await readValidatorSet(tc.state, 'previous')).map((v) => v.address),
      setBefore.map((v) => v.address),
    );
    const old = (await getValidator(tc.state, v0.operator.address))!;
    assert.equal(old.status, 'unbonding');
    assert.equal(old.unbondingCompletionMs, tc.head.timeMs + UNBONDING_MS);
    assert.equal(await getBalance(tc.state, BONDED_POOL), 2_000n * CGPT);
    assert.equal(await getBalance(tc.state, NOT_BONDED_POOL), 1_000n * CGPT);
    await ok(tc, A, 'bank/send', { to: A.address, amount: 1n }, { timeStepMs: UNBONDING_MS });
    assert.equal((await getValidator(tc.state, v0.operator.address))!.status, 'unbonded');

    const back = await ok(tc, B, 'staking/delegate', {
      validator: v0.operator.address,
      amount: 1_500n * CGPT,
    });
    assert.deepEqual(
      back.validators.map((v) => [v.address, v.power]),
      [[v0.address, 2_500n]],
    );
    assert.deepEqual(
      (await getBondedValidators(tc.state)).map((v) => v.operator),
      [v0.operator.address],
    );
    assert.equal(await getBalance(tc.state, BONDED_POOL), 2_500n * CGPT);
    assert.equal(await getBalance(tc.state, NOT_BONDED_POOL), 2_000n * CGPT);
    assert.equal(bytesToHex(tc.head.validatorSetHash).length, 66);
  });
});
