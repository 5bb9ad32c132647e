import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ed25519Sign } from '@aivm/crypto';
import {
  DEC,
  getBalance,
  getDelegation,
  getSupply,
  getUnbondingEntries,
  getValidator,
  NOT_BONDED_POOL,
  type SignedVote,
  tokensFromShares,
  VOTE_PRECOMMIT,
  VOTE_PREVOTE,
  voteSignBytes,
} from '../src/index.ts';
import {
  buildBlock,
  createTestChain,
  type TestAccount,
  type TestChain,
  type TestValidator,
} from '../src/testing/index.ts';
import { assertRewardsBacked, CGPT, knownBalances, ok, send } from './staking-helpers.ts';

function vote(
  tc: TestChain,
  v: TestValidator,
  height: bigint,
  fill: number,
  over: Partial<SignedVote> = {},
): SignedVote {
  const base = {
    kind: VOTE_PRECOMMIT,
    height,
    round: 0,
    blockHash: new Uint8Array(32).fill(fill),
    validator: v.address,
  };
  const unsigned = { ...base, ...over };
  const signature = ed25519Sign(
    voteSignBytes(
      tc.chain.chainId,
      unsigned.kind as 1 | 2,
      unsigned.height,
      unsigned.round,
      unsigned.blockHash,
    ),
    v.secretKey,
  );
  return { ...unsigned, signature, ...(over.signature ? { signature: over.signature } : {}) };
}

async function rejects(tc: TestChain, from: TestAccount, a: SignedVote, b: SignedVote, re: RegExp) {
  const { receipt } = await send(tc, from, 'slashing/submitEvidence', { a, b });
  assert.notEqual(receipt.code, 0, `evidence should be refused: ${re}`);
  assert.match(receipt.error, re);
}

describe('double-sign evidence', () => {
  let tc: TestChain;
  after(() => tc.close());
  before(async () => {
    tc = await createTestChain({
      accounts: 2,
      fundCgpt: 10_000n,
      validators: 4,
      app: {
        staking: { params: { unbondingTimeMs: '1000000' } },
        slashing: { params: { maxEvidenceAgeBlocks: '20' } },
      },
    });
  });

  it('slashes the stake at risk (after the infraction, not before), tombstones and drops the validator', async () => {
    const [R, D] = tc.accounts as [TestAccount, TestAccount];
    const bad = tc.validators[1]!;
    const good = tc.validators[0]!;
    const op = bad.operator.address;
    await ok(tc, D, 'staking/delegate', { validator: op, amount: 1_000n * CGPT });
    await ok(tc, D, 'staking/undelegate', { validator: op, amount: 100n * CGPT }); // before the infraction
    const infraction = tc.head.height + 1n;
    await buildBlock(tc, []); // the height the validator double-signs at
    await ok(tc, D, 'staking/undelegate', { validator: op, amount: 200n * CGPT }); // after it
    await ok(tc, D, 'staking/redelegate', { src: op, dst: good.operator.address, amount: 300n * CGPT }); // after it
    const entriesBefore = await getUnbondingEntries(tc.state, D.address, op);
    assert.deepEqual(
      entriesBefore.map((e) => e.balance),
      [100n * CGPT, 200n * CGPT],
    );
    const tokensBefore = (await getValidator(tc.state, op))!.tokens;
    assert.equal(tokensBefore, 1_400n * CGPT);
    const dstShares = (await getDelegation(tc.state, D.address, good.operator.address))!.shares;
    const supplyBefore = await getSupply(tc.state);

    const a = vote(tc, bad, infraction, 1);
    const b = vote(tc, bad, infraction, 2);
    await rejects(tc, R, a, { ...b, signature: a.signature }, /vote b: bad signature/);
    await rejects(tc, R, a, vote(tc, bad, infraction, 1), /same block hash/);
    await rejects(tc, R, a, vote(tc, bad, infraction + 1n, 2), /different heights or rounds/);
    await rejects(tc, R, a, vote(tc, bad, infraction, 2, { round: 1 }), /different heights or rounds/);
    await rejects(tc, R, a, vote(tc, bad, infraction, 2, { kind: VOTE_PREVOTE }), /different kinds/);
    await rejects(tc, R, vote(tc, bad, 10_000n, 1), vote(tc, bad, 10_000n, 2), /in the future/);
    await rejects(tc, R, a, vote(tc, good, infraction, 2), /different validators/);
    // A vote over another chain's bytes does not verify here.
    const foreign = {
      ...b,
      signature: ed25519Sign(voteSignBytes(1n, VOTE_PRECOMMIT, infraction, 0, b.blockHash), bad.secretKey),
    };
    await rejects(tc, R, a, foreign, /vote b: bad signature/);

    const { receipt, result } = await send(tc, R, 'slashing/submitEvidence', { a, b });
    assert.equal(receipt.code, 0, receipt.error);
    const fraction = DEC / 20n; // default slashFractionDoubleSign, 5%
    const v = (await getValidator(tc.state, op))!;
    assert.equal(v.tokens, tokensBefore - (tokensBefore * fraction) / DEC);
    assert.equal(v.jailed, true);
    assert.equal(v.tombstoned, true);
    const entries = await getUnbondingEntries(tc.state, D.address, op);
    assert.equal(entries[0]!.balance, 100n * CGPT, 'created before the infraction: untouched');
    assert.equal(entries[1]!.balance, 190n * CGPT, 'created after: 5% less');
    const dstAfter = (await getDelegation(tc.state, D.address, good.operator.address))!.shares;
    assert.equal(
      dstAfter,
      dstShares - (300n * CGPT * fraction) / DEC,
      'redelegated stake slashed at the destination',
    );
    const burned = (tokensBefore * fraction) / DEC + 10n * CGPT + 15n * CGPT;
    assert.equal(await getSupply(tc.state), supplyBefore - burned);
    assert.equal(await knownBalances(tc), await getSupply(tc.state));
    await assertRewardsBacked(tc);
    assert.ok(!result.validators.some((x) => x.address === bad.address), 'removed from the next set');
    // Delegators bear it through the exchange rate.
    const selfShares = (await getDelegation(tc.state, op, op))!.shares;
    assert.equal(tokensFromShares(v, selfShares), (1_000n * CGPT * 95n) / 100n);

    await rejects(tc, R, a, b, /already tombstoned/);
    await ok(tc, R, 'bank/send', { to: op, amount: CGPT });
    const { receipt: unjail } = await send(
      tc,
      bad.operator,
      'slashing/unjail',
      {},
      { timeStepMs: 10n ** 12n },
    );
    assert.match(unjail.error, /tombstoned and can never be unjailed/);
  });

  it('refuses evidence older than maxEvidenceAgeBlocks', async () => {
    const v = tc.validators[2]!;
    for (let i = 0; i < 21; i++) await buildBlock(tc, []);
    const old = tc.head.height - 21n;
    await rejects(tc, tc.accounts[0]!, vote(tc, v, old, 1), vote(tc, v, old, 2), /older than 20 blocks/);
  });
});

describe('downtime', () => {
  let tc: TestChain;
  after(() => tc.close());
  before(async () => {
    tc = await createTestChain({
      accounts: 1,
      fundCgpt: 10_000n,
      validators: 4,
      app: {
        slashing: {
          params: {
            signedBlocksWindow: 4,
            minSignedPerWindow: (DEC / 2n).toString(),
            slashFractionDowntime: (DEC / 100n).toString(),
            downtimeJailDurationMs: '60000',
          },
        },
      },
    });
  });

  it('jails and slashes after too many misses in the window; unjail only after the jail time', async () => {
    const [F] = tc.accounts as [TestAccount];
    const off = tc.validators[3]!;
    const online = tc.validators.slice(0, 3).map((v) => v.address);
    await ok(tc, F, 'bank/send', { to: off.operator.address, amount: 30n * CGPT });
    await ok(tc, F, 'bank/send', { to: tc.validators[0]!.operator.address, amount: 10n * CGPT });
    // Block 2 onwards: the offline validator's signature is missing from every commit. Window 4,
    // at least half signed: more than 2 misses once a whole window has passed (height > start + 4).
    let jailedAt = 0n;
    for (let i = 0; i < 8 && jailedAt === 0n; i++) {
      const { result } = await buildBlock(tc, [], { signers: online });
      if ((await getValidator(tc.state, off.operator.address))!.jailed) {
        jailedAt = tc.head.height;
        assert.ok(!result.validators.some((v) => v.address === off.address), 'left the set at end block');
      }
    }
    // Tracking starts at height 2 (first commit), so the first height past the window is 7.
    assert.equal(jailedAt, 7n);
    assert.equal(
      (await getValidator(tc.state, tc.validators[0]!.operator.address))!.jailed,
      false,
      'the validators that signed stay',
    );
    const v = (await getValidator(tc.state, off.operator.address))!;
    assert.equal(v.tokens, 990n * CGPT);
    assert.equal(v.jailedUntilMs, tc.head.timeMs + 60_000n);
    assert.equal(v.tombstoned, false);
    assert.equal(await knownBalances(tc), await getSupply(tc.state));
    await assertRewardsBacked(tc);

    const early = await send(tc, off.operator, 'slashing/unjail', {}, { signers: online });
    assert.notEqual(early.receipt.code, 0);
    assert.match(early.receipt.error, /jailed until/);
    const notJailed = await send(tc, tc.validators[0]!.operator, 'slashing/unjail', {}, { signers: online });
    assert.match(notJailed.receipt.error, /is not jailed/);

    // The slash took the self-delegation below the minimum: it must be topped up first.
    const low = await send(tc, off.operator, 'slashing/unjail', {}, { signers: online, timeStepMs: 60_000n });
    assert.match(low.receipt.error, /self-delegation 990000000000000000000 is below the minimum/);
    await ok(
      tc,
      off.operator,
      'staking/delegate',
      { validator: off.operator.address, amount: 20n * CGPT },
      { signers: online },
    );
    const { receipt, result } = await send(tc, off.operator, 'slashing/unjail', {}, { signers: online });
    assert.equal(receipt.code, 0, receipt.error);
    assert.equal((await getValidator(tc.state, off.operator.address))!.jailed, false);
    assert.deepEqual(
      result.validators.find((x) => x.address === off.address)?.power,
      1_010n,
      'back in the set at end block',
    );
    assert.equal(await getBalance(tc.state, NOT_BONDED_POOL), 0n);
    // Counting starts afresh: signing from now on keeps it in.
    for (let i = 0; i < 6; i++) await buildBlock(tc, []);
    assert.equal((await getValidator(tc.state, off.operator.address))!.jailed, false);
  });
});
