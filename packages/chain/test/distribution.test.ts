import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Address, bytesToHex, ed25519PublicKey } from '@aivm/crypto';
import { DEC } from '../src/dec.ts';
import { FEE_COLLECTOR, getBalance, getSupply, validatorAddress, WEI_PER_CGPT } from '../src/index.ts';
import { createDistributionHooks } from '../src/modules/distribution/hooks.ts';
import {
  createDistributionModule,
  distributionHooks,
  distributionModule,
} from '../src/modules/distribution/module.ts';
import {
  DISTRIBUTION_ACCOUNT,
  getCommissionDec,
  getCommunityPoolDec,
  getOutstandingDec,
} from '../src/modules/distribution/store.ts';
import { authModule, bankModule, createStakingModule } from '../src/modules/index.ts';
import {
  createFakeStakingModule,
  createHarness,
  fakeStakingView,
  type Harness,
  runBlock,
  runOk,
  tx,
} from './helpers/fake-staking.ts';

const CGPT = WEI_PER_CGPT;
const C1 = '0x00000000000000000000000000000000000000c1' as Address;
const C2 = '0x00000000000000000000000000000000000000c2' as Address;
const pct = (n: bigint) => (n * DEC) / 100n;

function distributionChain(params: Record<string, unknown>, opts: { gasPrice?: bigint } = {}) {
  const hooks = createDistributionHooks(fakeStakingView);
  return createHarness(
    (list) => [...list, createFakeStakingModule(hooks), createDistributionModule(fakeStakingView)],
    {
      gasPrice: opts.gasPrice ?? 0n,
      app: { auth: { params: { minGasPriceWei: '0' } }, distribution: { params } },
    },
  );
}

/** balance(distribution account) * DEC must equal everything the module still owes. */
async function assertFundsBacked(h: Harness, operators: Address[]): Promise<void> {
  let owed = await getCommunityPoolDec(h.state);
  for (const op of operators) owed += await getOutstandingDec(h.state, op);
  assert.equal((await getBalance(h.state, DISTRIBUTION_ACCOUNT)) * DEC, owed);
}

async function query(
  h: Harness,
  path: string,
  params: Record<string, unknown>,
): Promise<Record<string, string>> {
  return (await h.chain.registry.query(path)!.handler(h.state, params as never)) as Record<string, string>;
}

describe('distribution: block reward split', () => {
  let h: Harness;
  const emission = 10n * CGPT;
  before(async () => {
    h = await distributionChain({ emissionPerBlockWei: emission.toString() }, { gasPrice: 1_000_000_000n });
  });
  after(() => h.close());

  it('splits fees + emission by signed power, commission first, community tax to the pool', async () => {
    const [a0, a1, a2] = h.accounts as [
      Harness['accounts'][0],
      Harness['accounts'][0],
      Harness['accounts'][0],
    ];
    await runOk(h, [
      tx(h, a0, 'fakestk/create', { consensusAddress: C1, commissionRate: pct(10n), amount: 100n * CGPT }),
      tx(h, a1, 'fakestk/create', { consensusAddress: C2, commissionRate: pct(20n), amount: 300n * CGPT }),
      tx(h, a2, 'fakestk/delegate', { validator: a0.address, amount: 100n * CGPT }),
    ]);
    // Powers now: V1 200, V2 300 (CGPT). The block's fees wait in the fee collector.
    const fees = await getBalance(h.state, FEE_COLLECTOR);
    assert.ok(fees > 0n);
    const supplyBefore = await getSupply(h.state);
    await runOk(h, [], { signers: [C1, C2] });

    const total = (fees + emission) * DEC; // dec-wei
    const forValidators = (total * (DEC - pct(2n))) / DEC; // default community tax 2%
    const r1 = (forValidators * 200n) / 500n;
    const r2 = (forValidators * 300n) / 500n;
    assert.equal(await getOutstandingDec(h.state, a0.address), r1);
    assert.equal(await getOutstandingDec(h.state, a1.address), r2);
    assert.equal(await getCommissionDec(h.state, a0.address), (r1 * 10n) / 100n);
    assert.equal(await getCommissionDec(h.state, a1.address), (r2 * 20n) / 100n);
    assert.equal(await getCommunityPoolDec(h.state), total - r1 - r2);
    assert.equal(await getBalance(h.state, FEE_COLLECTOR), 0n);
    assert.equal(await getSupply(h.state), supplyBefore + emission);
    // a2 holds half of V1's 200 tokens: half of V1's reward after commission.
    const pending = await query(h, 'distribution/pendingRewards', {
      delegator: a2.address,
      validator: a0.address,
    });
    const expected = ((r1 - (r1 * 10n) / 100n) * 100n) / 200n;
    assert.ok(BigInt(pending.decWei!) <= expected && expected - BigInt(pending.decWei!) <= 200n);
    assert.equal(pending.wei, (BigInt(pending.decWei!) / DEC).toString());
    await assertFundsBacked(h, [a0.address, a1.address]);
  });

  it("exact numbers with no fees; an absent signer's share goes to the community pool", async () => {
    const [a0, a1] = h.accounts as [Harness['accounts'][0], Harness['accounts'][0]];
    await runOk(h, [], { signers: [C1, C2] }); // drains fees of the previous block (none: it had no txs)
    const out1 = await getOutstandingDec(h.state, a0.address);
    const out2 = await getOutstandingDec(h.state, a1.address);
    const pool = await getCommunityPoolDec(h.state);
    await runOk(h, [], { signers: [C1] }); // V2 did not sign: 10 CGPT emission only
    // 10 CGPT, 2% tax -> 9.8 CGPT for validators; V1's power share 200/500 = 3.92 CGPT.
    assert.equal((await getOutstandingDec(h.state, a0.address)) - out1, (392n * CGPT * DEC) / 100n);
    assert.equal(await getOutstandingDec(h.state, a1.address), out2);
    assert.equal((await getCommunityPoolDec(h.state)) - pool, (10n * CGPT - (392n * CGPT) / 100n) * DEC);
    await assertFundsBacked(h, [a0.address, a1.address]);
  });

  it('queries expose params, outstanding, commission and the community pool', async () => {
    const [a0] = h.accounts as [Harness['accounts'][0]];
    const params = await query(h, 'distribution/params', {});
    assert.equal(params.emissionPerBlockWei, emission.toString());
    assert.equal(params.communityTax, pct(2n).toString());
    const out = await query(h, 'distribution/outstanding', { validator: a0.address });
    assert.equal(out.decWei, (await getOutstandingDec(h.state, a0.address)).toString());
    const comm = await query(h, 'distribution/commission', { validator: a0.address });
    assert.equal(comm.decWei, (await getCommissionDec(h.state, a0.address)).toString());
    const pool = await query(h, 'distribution/communityPool', {});
    assert.equal(pool.wei, ((await getCommunityPoolDec(h.state)) / DEC).toString());
  });
});

describe('distribution: F1 across delegation changes and a slash', () => {
  let h: Harness;
  before(async () => {
    h = await distributionChain({ emissionPerBlockWei: (10n * CGPT).toString(), communityTax: '0' });
  });
  after(() => h.close());

  it('pays each delegator exactly its stake-weighted share of every block', async () => {
    const [a0, , a2, a3] = h.accounts as Harness['accounts'];
    const V1 = a0!.address;
    const start = new Map<string, bigint>();
    for (const a of [a0!, a2!, a3!]) start.set(a.address, await getBalance(h.state, a.address));

    // B1: V1 with 100 self-stake (commission 10%), a2 delegates 100 -> 200 tokens.
    await runOk(h, [
      tx(h, a0!, 'fakestk/create', { consensusAddress: C1, commissionRate: pct(10n), amount: 100n * CGPT }),
      tx(h, a2!, 'fakestk/delegate', { validator: V1, amount: 100n * CGPT }),
    ]);
    // Every block from B2 on: 10 CGPT, 1 to commission, 9 to delegators by stake.
    // B2 pays 9 over 200 (a0 4.5, a2 4.5); then a3 delegates 250 -> 450 tokens.
    await runOk(h, [tx(h, a3!, 'fakestk/delegate', { validator: V1, amount: 250n * CGPT })], {
      signers: [C1],
    });
    const pendingA3 = await query(h, 'distribution/pendingRewards', {
      delegator: a3!.address,
      validator: V1,
    });
    assert.equal(pendingA3.decWei, '0', 'a new delegation earns nothing of earlier blocks');
    // B3 pays 9 over 450 (a0 2, a2 2, a3 5); a2 then undelegates 50, which first pays it 4.5 + 2.
    await runOk(h, [tx(h, a2!, 'fakestk/undelegate', { validator: V1, shares: 50n * CGPT })], {
      signers: [C1],
    });
    const a2AfterUndelegate = await getBalance(h.state, a2!.address);
    assert.equal(
      a2AfterUndelegate - (start.get(a2!.address)! - 100n * CGPT),
      50n * CGPT + (65n * CGPT) / 10n,
    );
    // B4 pays 9 over 400 (a0 2.25, a2 1.125, a3 5.625); then V1 is slashed 10% -> 360 tokens.
    await runOk(h, [tx(h, a0!, 'fakestk/slash', { validator: V1, fraction: pct(10n) })], { signers: [C1] });
    // B5 pays 9 over 360: a0's 90 earn 2.25 (not 2.5: the slash cut its stake), a2's 45 1.125, a3's 225 5.625.
    await runOk(h, [], { signers: [C1] });
    const pendingA0 = await query(h, 'distribution/pendingRewards', {
      delegator: a0!.address,
      validator: V1,
    });
    assert.equal(BigInt(pendingA0.decWei!), ((450n + 200n + 225n + 225n) * CGPT * DEC) / 100n);

    // B6: nobody signs B5 (no allocation); everyone withdraws.
    await runOk(h, [
      tx(h, a0!, 'distribution/withdrawRewards', { validator: V1 }),
      tx(h, a0!, 'distribution/withdrawCommission', {}),
      tx(h, a2!, 'distribution/withdrawRewards', { validator: V1 }),
      tx(h, a3!, 'distribution/withdrawRewards', { validator: V1 }),
    ]);
    const gain = async (a: Harness['accounts'][0], staked: bigint) =>
      (await getBalance(h.state, a.address)) - (start.get(a.address)! - staked);
    assert.equal(await gain(a0!, 100n * CGPT), 11n * CGPT + 4n * CGPT); // 4.5+2+2.25+2.25, commission 4x1
    assert.equal(await gain(a2!, 50n * CGPT), (65n * CGPT) / 10n + (225n * CGPT) / 100n); // 6.5 earlier + 1.125 + 1.125
    assert.equal(await gain(a3!, 250n * CGPT), (1625n * CGPT) / 100n); // 5 + 5.625 + 5.625
    // 4 blocks x 10 CGPT, all paid out; nothing left over in these exact numbers.
    assert.equal(await getOutstandingDec(h.state, V1), 0n);
    assert.equal(await getBalance(h.state, DISTRIBUTION_ACCOUNT), 0n);
  });

  it('rejects withdrawals without a delegation or commission', async () => {
    const [a0, , , , a4] = h.accounts as Harness['accounts'];
    const r = await runBlock(h, [
      tx(h, a4!, 'distribution/withdrawRewards', { validator: a0!.address }),
      tx(h, a4!, 'distribution/withdrawCommission', {}),
    ]);
    assert.match(r.receipts[0]!.error, /has no delegation to validator/);
    assert.match(r.receipts[1]!.error, /no commission to withdraw/);
  });
});

describe('distribution: rounding never pays more than allocated', () => {
  let h: Harness;
  before(async () => {
    // Awkward numbers everywhere: emission not divisible, odd commission, odd stakes.
    h = await distributionChain({
      emissionPerBlockWei: (CGPT + 7n).toString(),
      communityTax: pct(3n).toString(),
    });
  });
  after(() => h.close());

  it('sum(withdrawn) <= allocated, the difference is dust and the module stays fully backed', async () => {
    const [a0, a1, a2, a3, a4] = h.accounts as Harness['accounts'];
    const V1 = a0!.address;
    const V2 = a1!.address;
    const c1 = (DEC * 1n) / 3n; // 33.33..%
    await runOk(h, [
      tx(h, a0!, 'fakestk/create', { consensusAddress: C1, commissionRate: c1, amount: 7n * CGPT + 3n }),
      tx(h, a1!, 'fakestk/create', {
        consensusAddress: C2,
        commissionRate: pct(7n),
        amount: 13n * CGPT + 11n,
      }),
      tx(h, a2!, 'fakestk/delegate', { validator: V1, amount: 101n * CGPT + 1n }),
      tx(h, a3!, 'fakestk/delegate', { validator: V2, amount: 3n * CGPT + 5n }),
    ]);
    const emissionDec = (CGPT + 7n) * DEC;
    let allocatedDec = 0n; // to validators, from the block inputs (no fees: gas price 0)
    let paidWei = 0n;
    let payouts = 0;
    const countPayouts = (
      receipts: { events: { type: string; attributes: { key: string; value: string }[] }[] }[],
    ) => {
      for (const r of receipts)
        for (const e of r.events)
          if (e.type === 'withdrawRewards' || e.type === 'withdrawCommission') {
            paidWei += BigInt(e.attributes.find((x) => x.key === 'amount')!.value);
            payouts += 1;
          }
    };
    const blocks = 12;
    for (let i = 0; i < blocks; i++) {
      const txs: Uint8Array[] = [];
      if (i % 3 === 1) {
        txs.push(tx(h, a2!, 'distribution/withdrawRewards', { validator: V1 }));
        txs.push(
          tx(h, a4!, 'fakestk/delegate', { validator: i % 2 ? V1 : V2, amount: 1n * CGPT + BigInt(i) }),
        );
      }
      if (i === 5) txs.push(tx(h, a0!, 'fakestk/slash', { validator: V1, fraction: (DEC * 7n) / 99n }));
      if (i === 7) txs.push(tx(h, a3!, 'fakestk/undelegate', { validator: V2, shares: CGPT + 1n }));
      // This block allocates by the powers as they are before it runs.
      const set = await fakeStakingView.previousValidatorSet(h.state);
      const total = set.reduce((x, v) => x + v.power, 0n);
      const forValidators = (emissionDec * (DEC - pct(3n))) / DEC;
      for (const v of set) allocatedDec += (forValidators * v.power) / total;
      const { receipts } = await runOk(h, txs, { signers: [C1, C2] });
      countPayouts(receipts);
      await assertFundsBacked(h, [V1, V2]);
    }
    const { receipts } = await runOk(h, [
      tx(h, a0!, 'distribution/withdrawRewards', { validator: V1 }),
      tx(h, a0!, 'distribution/withdrawCommission', {}),
      tx(h, a1!, 'distribution/withdrawRewards', { validator: V2 }),
      tx(h, a1!, 'distribution/withdrawCommission', {}),
      tx(h, a2!, 'distribution/withdrawRewards', { validator: V1 }),
      tx(h, a3!, 'distribution/withdrawRewards', { validator: V2 }),
      tx(h, a4!, 'distribution/withdrawRewards', { validator: V1 }),
      tx(h, a4!, 'distribution/withdrawRewards', { validator: V2 }),
    ]);
    countPayouts(receipts);
    await assertFundsBacked(h, [V1, V2]);
    const leftDec = allocatedDec - paidWei * DEC;
    assert.ok(leftDec >= 0n, 'paid more than allocated');
    // Each payout rounds down by less than 1 wei; F1 ratio rounding adds far less than 1 wei per period.
    assert.ok(leftDec < BigInt(payouts + blocks) * DEC, `dust ${leftDec} dec-wei over ${payouts} payouts`);
    assert.ok(paidWei > (allocatedDec * 99n) / (100n * DEC), 'nearly everything was paid out');
  });
});

describe('distribution with the real staking module', () => {
  let h: Harness;
  const keys = [1, 2].map((i) => ed25519PublicKey(new Uint8Array(32).fill(40 + i)));
  const [K1, K2] = keys.map(validatorAddress) as [Address, Address];
  before(async () => {
    h = await createHarness(
      () => [authModule, bankModule, createStakingModule(distributionHooks), distributionModule],
      {
        gasPrice: 0n,
        fixedValidatorSet: false,
        // Operators are the harness's (deterministic) accounts 0 and 1.
        app: ([a0, a1]) => ({
          auth: { params: { minGasPriceWei: '0' } },
          distribution: { params: { emissionPerBlockWei: (10n * CGPT).toString(), communityTax: '0' } },
          staking: {
            validators: [
              {
                operator: a0!.address,
                consensusPubKey: bytesToHex(keys[0]!),
                selfStake: (1_000n * CGPT).toString(),
              },
              {
                operator: a1!.address,
                consensusPubKey: bytesToHex(keys[1]!),
                selfStake: (3_000n * CGPT).toString(),
                commissionRate: pct(20n).toString(),
              },
            ],
          },
        }),
      },
    );
  });
  after(() => h.close());

  it('allocates by the previous set, settles on undelegation and pays commission', async () => {
    const [a0, a1, a2] = h.accounts as [
      Harness['accounts'][0],
      Harness['accounts'][0],
      Harness['accounts'][0],
    ];
    const V1 = a0.address;
    // B1: a2 delegates 1000 to V1 (2000 tokens); the set signing B1 is still the genesis one.
    await runOk(h, [tx(h, a2, 'staking/delegate', { validator: V1, amount: 1_000n * CGPT })]);
    const a2Start = await getBalance(h.state, a2.address);
    // B2 pays for B1 by the genesis powers 1000/3000: V1 2.5 (commission 10% = 0.25), V2 7.5.
    // V1's 2.25 go to its 2000 tokens: a2 1.125.
    await runOk(h, [], { signers: [K1, K2] });
    assert.equal(await getOutstandingDec(h.state, V1), (25n * CGPT * DEC) / 10n);
    // B3 pays for B2 by powers 2000/3000: V1 4 (0.4 commission), a2 1.8; then a2 undelegates 500,
    // which first pays it 1.125 + 1.8.
    await runOk(h, [tx(h, a2, 'staking/undelegate', { validator: V1, amount: 500n * CGPT })], {
      signers: [K1, K2],
    });
    assert.equal((await getBalance(h.state, a2.address)) - a2Start, (2925n * CGPT) / 1000n);
    // V2's commission: 20% of 7.5 + 20% of 6.
    await runOk(h, [tx(h, a1, 'distribution/withdrawCommission', {})]);
    assert.equal(await getCommissionDec(h.state, a1.address), 0n);
    const pendingA0 = await query(h, 'distribution/pendingRewards', { delegator: V1, validator: V1 });
    assert.equal(BigInt(pendingA0.decWei!), ((1125n + 1800n) * CGPT * DEC) / 1000n);
    await assertFundsBacked(h, [V1, a1.address]);
  });
});
