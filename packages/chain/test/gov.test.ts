import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Address, bytesToHex, ed25519PublicKey } from '@aivm/crypto';
import { DEC } from '../src/dec.ts';
import {
  authParams,
  bankParams,
  ERR,
  getBalance,
  getSupply,
  readParams,
  WEI_PER_CGPT,
} from '../src/index.ts';
import type { Module } from '../src/module.ts';
import { spendCommunityPool } from '../src/modules/distribution/f1.ts';
import { createDistributionHooks } from '../src/modules/distribution/hooks.ts';
import {
  createDistributionModule,
  distributionHooks,
  distributionModule,
} from '../src/modules/distribution/module.ts';
import { getCommunityPoolDec } from '../src/modules/distribution/store.ts';
import { createGovModule } from '../src/modules/gov/module.ts';
import { GOV_ACCOUNT } from '../src/modules/gov/store.ts';
import { authModule, bankModule, createStakingModule } from '../src/modules/index.ts';
import { modelsKeeper } from '../src/modules/models/keeper.ts';
import { stakingView } from '../src/modules/staking/keeper.ts';
import {
  createFakeStakingModule,
  createHarness,
  fakeStakingView,
  type Harness,
  runBlock,
  runOk,
  type TestAccount,
  tx,
} from './helpers/fake-staking.ts';

const CGPT = WEI_PER_CGPT;
const ZERO = '0x0000000000000000000000000000000000000000' as Address;
const C1 = '0x00000000000000000000000000000000000000c1' as Address;
const C2 = '0x00000000000000000000000000000000000000c2' as Address;
const MIN_DEPOSIT = 10n * CGPT;
const PERIOD_MS = 60_000n;

type Proposal = { id: string; status: string; failCode: number; finalTally: Record<string, string> };

describe('gov', () => {
  let h: Harness;
  let a: TestAccount[];
  let nextId = 1n;

  const proposal = async (id: bigint) =>
    (await h.chain.registry.query('gov/proposal')!.handler(h.state, { id } as never)) as Proposal;

  const submit = (from: TestAccount, fields: Record<string, unknown>, deposit = MIN_DEPOSIT) =>
    tx(h, from, 'gov/submitProposal', {
      kind: 'text',
      title: 'title',
      description: 'why',
      paramModule: '',
      paramsJson: '',
      recipient: ZERO,
      amountWei: 0n,
      modelId: '',
      initialDepositWei: deposit,
      ...fields,
    });

  const vote = (from: TestAccount, id: bigint, option: string) =>
    tx(h, from, 'gov/vote', { proposalId: id, option });

  /** Submits, casts the votes in the next block, then ends the voting period; returns the proposal. */
  async function decideProposal(fields: Record<string, unknown>, votes: [TestAccount, string][]) {
    const id = nextId++;
    await runOk(h, [submit(a[5]!, fields)]);
    await runOk(
      h,
      votes.map(([who, option]) => vote(who, id, option)),
    );
    await runOk(h, [], { timeStepMs: PERIOD_MS });
    return proposal(id);
  }

  before(async () => {
    const hooks = createDistributionHooks(fakeStakingView);
    h = await createHarness(
      (list) => {
        const all: Module[] = [
          ...list,
          createFakeStakingModule(hooks),
          createDistributionModule(fakeStakingView),
        ];
        all.push(
          createGovModule({
            modules: () => all,
            staking: fakeStakingView,
            models: modelsKeeper,
            communityPool: { spend: spendCommunityPool },
          }),
        );
        return all;
      },
      {
        gasPrice: 0n,
        accounts: 7,
        app: {
          auth: { params: { minGasPriceWei: '0' } },
          // Half of every block's 10 CGPT goes to the community pool, so spends can be tested.
          distribution: {
            params: { emissionPerBlockWei: (10n * CGPT).toString(), communityTax: (DEC / 2n).toString() },
          },
          gov: {
            params: {
              minDepositWei: MIN_DEPOSIT.toString(),
              maxDepositPeriodMs: PERIOD_MS.toString(),
              votingPeriodMs: PERIOD_MS.toString(),
              maxActiveProposals: 3,
            },
          },
        },
      },
    );
    a = h.accounts;
    // V1 (a0) and V2 (a1) with 100 CGPT each; a2 delegates 100 to V1, a3 100 to V2: 400 bonded.
    await runOk(h, [
      tx(h, a[0]!, 'fakestk/create', { consensusAddress: C1, commissionRate: 0n, amount: 100n * CGPT }),
      tx(h, a[1]!, 'fakestk/create', { consensusAddress: C2, commissionRate: 0n, amount: 100n * CGPT }),
      tx(h, a[2]!, 'fakestk/delegate', { validator: a[0]!.address, amount: 100n * CGPT }),
      tx(h, a[3]!, 'fakestk/delegate', { validator: a[1]!.address, amount: 100n * CGPT }),
    ]);
  });
  after(() => h.close());

  it('a text proposal passes with both validators voting yes; the deposit is refunded', async () => {
    const before = await getBalance(h.state, a[5]!.address);
    const p = await decideProposal({}, [
      [a[0]!, 'yes'],
      [a[1]!, 'yes'],
    ]);
    assert.equal(p.status, 'passed');
    assert.deepEqual(p.finalTally, { yes: (400n * CGPT).toString(), no: '0', abstain: '0', veto: '0' });
    assert.equal(await getBalance(h.state, a[5]!.address), before);
    assert.equal(await getBalance(h.state, GOV_ACCOUNT), 0n);
  });

  it('a delegator that votes overrides its validator for its own stake (inheritance)', async () => {
    const p = await decideProposal({}, [
      [a[0]!, 'yes'], // V1: 200 tokens, of which a2's 100 are deducted
      [a[2]!, 'no'],
      [a[1]!, 'abstain'], // V2: 200 tokens, a3 inherits abstain
    ]);
    const tally = Object.fromEntries(Object.entries(p.finalTally).map(([k, v]) => [k, BigInt(v) / CGPT]));
    assert.deepEqual(tally, { yes: 100n, no: 100n, abstain: 200n, veto: 0n });
    // yes / (yes + no + veto) = 0.5, not above the 0.5 threshold.
    assert.equal(p.status, 'rejected');
  });

  it('fails without quorum and refunds the deposit', async () => {
    const before = await getBalance(h.state, a[5]!.address);
    const p = await decideProposal({}, [[a[3]!, 'yes']]); // 100 of 400 bonded < 33.4%
    assert.equal(p.status, 'rejected');
    assert.equal(p.finalTally.yes, (100n * CGPT).toString());
    assert.equal(await getBalance(h.state, a[5]!.address), before);
  });

  it('a veto above one third burns the deposit', async () => {
    const before = await getBalance(h.state, a[5]!.address);
    const supply = await getSupply(h.state);
    const p = await decideProposal({}, [
      [a[0]!, 'veto'],
      [a[1]!, 'yes'],
    ]);
    assert.equal(p.status, 'vetoed');
    assert.equal(await getBalance(h.state, a[5]!.address), before - MIN_DEPOSIT);
    // No block here had signers, so nothing was minted: the supply drops by the burnt deposit.
    assert.equal(await getSupply(h.state), supply - MIN_DEPOSIT);
  });

  it('a parameter change within bounds is applied through the module bounds', async () => {
    const p = await decideProposal(
      { kind: 'paramChange', paramModule: 'bank', paramsJson: '{"maxMultiSendOutputs":200}' },
      [
        [a[0]!, 'yes'],
        [a[1]!, 'yes'],
      ],
    );
    assert.equal(p.status, 'passed');
    const bank = await readParams(h.state, 'bank', bankParams);
    assert.equal(bank.maxMultiSendOutputs, 200);
    assert.equal(bank.sendEnabled, true, 'fields not named keep their value');
  });

  it('a parameter change outside bounds is refused at submission', async () => {
    const r = await runBlock(h, [
      submit(a[5]!, { kind: 'paramChange', paramModule: 'bank', paramsJson: '{"maxMultiSendOutputs":5000}' }),
      submit(a[5]!, { kind: 'paramChange', paramModule: 'nope', paramsJson: '{"x":1}' }),
      submit(a[5]!, { kind: 'paramChange', paramModule: 'bank', paramsJson: '{"unknown":1}' }),
    ]);
    assert.match(r.receipts[0]!.error, /bank.maxMultiSendOutputs must be within 1..1000/);
    assert.match(r.receipts[1]!.error, /unknown module "nope"/);
    assert.match(r.receipts[2]!.error, /unknown field unknown/);
  });

  it('a passed change that no longer validates at execution fails the proposal, not the chain', async () => {
    // Each is valid alone; once P1 raised maxTxGas to 150M, P2's blockGasLimit of 100M is below it.
    const p1 = nextId++;
    const p2 = nextId++;
    await runOk(h, [
      submit(a[5]!, { kind: 'paramChange', paramModule: 'auth', paramsJson: '{"maxTxGas":"150000000"}' }),
      submit(a[5]!, {
        kind: 'paramChange',
        paramModule: 'auth',
        paramsJson: '{"blockGasLimit":"100000000"}',
      }),
    ]);
    await runOk(h, [
      vote(a[0]!, p1, 'yes'),
      vote(a[1]!, p1, 'yes'),
      vote(a[0]!, p2, 'yes'),
      vote(a[1]!, p2, 'yes'),
    ]);
    const before = await getBalance(h.state, a[5]!.address);
    await runOk(h, [], { timeStepMs: PERIOD_MS });
    assert.equal((await proposal(p1)).status, 'passed');
    const failed = await proposal(p2);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.failCode, ERR.INVALID_PARAMS);
    const auth = await readParams(h.state, 'auth', authParams);
    assert.equal(auth.maxTxGas, 150_000_000n);
    assert.equal(auth.blockGasLimit, 200_000_000n);
    assert.equal(
      await getBalance(h.state, a[5]!.address),
      before + 2n * MIN_DEPOSIT,
      'both deposits refunded',
    );
    await runOk(h, []); // the chain goes on
  });

  it('community pool spend pays the recipient when the pool holds enough, fails otherwise', async () => {
    await runOk(h, [], { signers: [C1, C2] }); // 10 CGPT emission, half to the pool
    const pool = await getCommunityPoolDec(h.state);
    assert.ok(pool >= 5n * CGPT * DEC);
    const recipient = a[6]!.address;
    const before = await getBalance(h.state, recipient);
    const ok = await decideProposal({ kind: 'communityPoolSpend', recipient, amountWei: 3n * CGPT }, [
      [a[0]!, 'yes'],
      [a[1]!, 'yes'],
    ]);
    assert.equal(ok.status, 'passed');
    assert.equal(await getBalance(h.state, recipient), before + 3n * CGPT);
    assert.equal(await getCommunityPoolDec(h.state), pool - 3n * CGPT * DEC);
    const tooMuch = await decideProposal(
      { kind: 'communityPoolSpend', recipient, amountWei: 1_000n * CGPT },
      [
        [a[0]!, 'yes'],
        [a[1]!, 'yes'],
      ],
    );
    assert.equal(tooMuch.status, 'failed');
    assert.equal(tooMuch.failCode, ERR.INSUFFICIENT_FUNDS);
    assert.equal(await getBalance(h.state, recipient), before + 3n * CGPT);
  });

  it('deposits: voting starts at the minimum; an underfunded proposal expires and its deposit burns', async () => {
    const funded = nextId++;
    const starved = nextId++;
    await runOk(h, [submit(a[5]!, {}, 2n * CGPT), submit(a[5]!, {}, 1n * CGPT)]);
    assert.equal((await proposal(funded)).status, 'deposit');
    await runOk(h, [tx(h, a[4]!, 'gov/deposit', { proposalId: funded, amountWei: 8n * CGPT })]);
    assert.equal((await proposal(funded)).status, 'voting');
    const r = await runBlock(h, [vote(a[4]!, funded, 'yes'), vote(a[0]!, starved, 'yes')]);
    assert.match(r.receipts[0]!.error, /only accounts with delegations can vote/);
    assert.match(r.receipts[1]!.error, /not in its voting period/);
    const supply = await getSupply(h.state);
    await runOk(h, [], { timeStepMs: PERIOD_MS });
    assert.equal((await proposal(starved)).status, 'expired');
    assert.equal(await getSupply(h.state), supply - 1n * CGPT);
    // funded: nobody voted -> no quorum; a4's deposit came back.
    assert.equal((await proposal(funded)).status, 'rejected');
  });

  it('bounds the number of active proposals and validates messages', async () => {
    const r = await runBlock(h, [
      submit(a[5]!, {}),
      submit(a[5]!, {}),
      submit(a[5]!, {}),
      submit(a[5]!, {}), // maxActiveProposals = 3
      submit(a[5]!, { kind: 'weird' }),
      submit(a[5]!, { amountWei: 5n }),
      submit(a[5]!, {}, 1n), // below 10% of the minimum deposit
    ]);
    nextId += 3n;
    assert.deepEqual(
      r.receipts.slice(0, 3).map((x) => x.code === 0),
      [true, true, true],
    );
    assert.match(r.receipts[3]!.error, /too many active proposals/);
    assert.match(r.receipts[4]!.error, /kind must be one of/);
    assert.match(r.receipts[5]!.error, /takes no recipient\/amountWei/);
    assert.match(r.receipts[6]!.error, /initial deposit must be at least/);
    const bad = await runBlock(h, [vote(a[0]!, nextId - 1n, 'maybe'), vote(a[0]!, 999n, 'yes')]);
    assert.match(bad.receipts[0]!.error, /option must be yes, no, abstain or veto/);
    assert.match(bad.receipts[1]!.error, /proposal 999 does not exist/);
  });

  it('queries: live tally and votes during voting, params', async () => {
    const id = nextId - 1n;
    await runOk(h, [vote(a[0]!, id, 'no'), vote(a[3]!, id, 'veto')]);
    const votes = (await h.chain.registry.query('gov/votes')!.handler(h.state, { id } as never)) as unknown[];
    assert.deepEqual(votes, [
      { voter: a[0]!.address, option: 'no' },
      { voter: a[3]!.address, option: 'veto' },
    ]);
    const tally = await h.chain.registry.query('gov/tally')!.handler(h.state, { id } as never);
    assert.deepEqual(tally, {
      yes: '0',
      no: (200n * CGPT).toString(),
      abstain: '0',
      veto: (100n * CGPT).toString(),
    });
    const params = (await h.chain.registry.query('gov/params')!.handler(h.state, {} as never)) as Record<
      string,
      unknown
    >;
    assert.equal(params.minDepositWei, MIN_DEPOSIT.toString());
    assert.equal(params.maxActiveProposals, 3);
  });
});

describe('gov with the real staking module', () => {
  let h: Harness;
  const keys = [1, 2].map((i) => bytesToHex(ed25519PublicKey(new Uint8Array(32).fill(60 + i))));
  before(async () => {
    h = await createHarness(
      (list) => {
        const all: Module[] = [
          authModule,
          bankModule,
          createStakingModule(distributionHooks),
          distributionModule,
        ];
        all.push(
          createGovModule({
            modules: () => all,
            staking: stakingView,
            models: modelsKeeper,
            communityPool: { spend: spendCommunityPool },
          }),
        );
        void list;
        return all;
      },
      {
        gasPrice: 0n,
        fixedValidatorSet: false,
        app: ([a0, a1]) => ({
          auth: { params: { minGasPriceWei: '0' } },
          gov: { params: { minDepositWei: MIN_DEPOSIT.toString(), votingPeriodMs: PERIOD_MS.toString() } },
          staking: {
            validators: [
              { operator: a0!.address, consensusPubKey: keys[0], selfStake: (1_000n * CGPT).toString() },
              { operator: a1!.address, consensusPubKey: keys[1], selfStake: (3_000n * CGPT).toString() },
            ],
          },
        }),
      },
    );
  });
  after(() => h.close());

  it('tallies real delegations: an abstaining delegator takes its stake out of its validator vote', async () => {
    const [a0, , a2, , , a5] = h.accounts as TestAccount[];
    await runOk(h, [tx(h, a2!, 'staking/delegate', { validator: a0!.address, amount: 1_000n * CGPT })]);
    await runOk(h, [
      tx(h, a5!, 'gov/submitProposal', {
        kind: 'text',
        title: 't',
        description: '',
        paramModule: '',
        paramsJson: '',
        recipient: ZERO,
        amountWei: 0n,
        modelId: '',
        initialDepositWei: MIN_DEPOSIT,
      }),
    ]);
    await runOk(h, [
      tx(h, a0!, 'gov/vote', { proposalId: 1n, option: 'yes' }),
      tx(h, a2!, 'gov/vote', { proposalId: 1n, option: 'abstain' }),
    ]);
    await runOk(h, [], { timeStepMs: PERIOD_MS });
    const p = (await h.chain.registry
      .query('gov/proposal')!
      .handler(h.state, { id: 1n } as never)) as Proposal;
    // 5000 bonded, 2000 voted (40% >= 33.4%); yes 1000 of decisive 1000 -> passed.
    assert.deepEqual(p.finalTally, {
      yes: (1_000n * CGPT).toString(),
      no: '0',
      abstain: (1_000n * CGPT).toString(),
      veto: '0',
    });
    assert.equal(p.status, 'passed');
  });
});
