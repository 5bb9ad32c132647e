// Invariants after every block of a multi-module scenario, each invariant caught on corrupted
// state with its numbers, and the genesis export round trip (export -> new chain -> same export).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Address, bigintToBytes, bytesToHex, utf8ToBytes } from '@aivm/crypto';
import { Database, StateTree } from '@aivm/state';
import {
  BONDED_POOL,
  checkInvariants,
  DEC,
  defaultModules,
  ExecContext,
  exportGenesis,
  GasMeter,
  getBalance,
  getSupply,
  initGenesis,
  NOT_BONDED_POOL,
  Registry,
  readValidatorSet,
  StateOverlay,
} from '../src/index.ts';
import { balanceKey } from '../src/modules/bank/store.ts';
import { distributionOwedDec } from '../src/modules/distribution/invariants.ts';
import {
  DISTRIBUTION_ACCOUNT,
  getOutstandingDec,
  setCommissionDec,
} from '../src/modules/distribution/store.ts';
import { govOwed } from '../src/modules/gov/invariants.ts';
import { GOV_ACCOUNT, getProposal, setProposal } from '../src/modules/gov/store.ts';
import { inferenceOwed } from '../src/modules/inference/invariants.ts';
import { getRequest, INFERENCE_ACCOUNT, setRequest } from '../src/modules/inference/store.ts';
import { modelsOwed } from '../src/modules/models/invariants.ts';
import { getModelRecord, MODELS_ACCOUNT, setModelRecord } from '../src/modules/models/store.ts';
import { stakingOwed } from '../src/modules/staking/invariants.ts';
import { getDelegation, listValidators, setDelegation } from '../src/modules/staking/store.ts';
import { buildBlock, createTestChain, signMsg, type TestChain, withRawWrites } from '../src/testing/index.ts';
import {
  advanceTo,
  block,
  CGPT,
  digit,
  type Fixture,
  honest,
  MODEL_ID,
  newRequest,
  ok,
  registerTxs,
  requestMsg,
  resultMsg,
  STAKE,
  setupChain,
  ZERO,
} from './inference-helpers.ts';

const WINDOW = 3n; // TEST_PARAMS.challengeWindowBlocks

/** Module accounts hold exactly what their module owes when nobody sent them anything by hand. */
async function assertExactlyBacked(tc: TestChain): Promise<void> {
  const s = tc.state;
  const st = await stakingOwed(s);
  assert.equal(await getBalance(s, BONDED_POOL), st.bonded, 'bonded pool');
  assert.equal(
    await getBalance(s, NOT_BONDED_POOL),
    st.notBondedValidators + st.unbonding,
    'not-bonded pool',
  );
  const d = await distributionOwedDec(s);
  assert.equal(
    (await getBalance(s, DISTRIBUTION_ACCOUNT)) * DEC,
    d.outstandingDec + d.poolDec,
    'distribution',
  );
  assert.equal(await getBalance(s, GOV_ACCOUNT), (await govOwed(s)).deposits, 'gov');
  const inf = await inferenceOwed(s);
  assert.equal(
    await getBalance(s, INFERENCE_ACCOUNT),
    inf.escrow + inf.providerStake + inf.bonds,
    'inference',
  );
  // Reviewer fees round down per reviewer: the models account may keep dust, never less.
  const m = await modelsOwed(s);
  const held = await getBalance(s, MODELS_ACCOUNT);
  const owed = m.bonded + m.unbonding + m.rewards;
  assert.ok(held >= owed && held - owed < 10n, `models account ${held} vs owed ${owed}`);
}

/** Writes straight into committed state (no transaction, no block): what a bug would leave behind. */
let version = 1_000_000n;
async function corrupt(
  tc: TestChain,
  write: (ctx: ExecContext) => Promise<void> | void,
): Promise<() => Promise<void>> {
  const overlay = new StateOverlay(tc.state);
  const ctx = new ExecContext(
    overlay,
    {
      chainId: 99n,
      height: tc.head.height,
      timeMs: tc.head.timeMs,
      proposer: ZERO,
      parentHash: new Uint8Array(32),
      lastCommit: { round: 0, signers: [] },
    },
    new GasMeter(2n ** 62n),
  );
  const before = new Map<string, Uint8Array | undefined>();
  await write(ctx);
  const changes = overlay.changes();
  for (const c of changes) before.set(bytesToHex(c.key), await tc.state.get(c.key));
  await apply(tc, changes);
  return () =>
    apply(
      tc,
      changes.map((c) => ({ key: c.key, value: before.get(bytesToHex(c.key)) ?? null })),
    );
}

async function apply(tc: TestChain, changes: { key: Uint8Array; value: Uint8Array | null }[]): Promise<void> {
  const staged = await tc.state.stage(changes, version++);
  await tc.db.write(staged.ops);
  tc.state.applyStaged(staged);
}

/** Sets an account's balance and moves the supply with it, so only the invariant under test breaks. */
async function setBalanceKeepSupply(ctx: ExecContext, who: Address, amount: bigint): Promise<void> {
  const old = await getBalance(ctx, who);
  ctx.set(balanceKey(who), bigintToBytes(amount));
  const supplyKey = utf8ToBytes('bank/supply');
  ctx.set(supplyKey, bigintToBytes((await getSupply(ctx)) - old + amount));
}

async function expectOnly(tc: TestChain, name: string, parts: RegExp[]): Promise<void> {
  const broken = await checkInvariants(tc.state, tc.chain.registry);
  assert.equal(broken.length, 1, `expected only ${name}, got:\n${broken.join('\n')}`);
  assert.ok(broken[0]!.startsWith(`${name}: `), broken[0]);
  for (const re of parts) assert.match(broken[0]!, re);
}

describe('invariants', () => {
  let f: Fixture;
  let tc: TestChain;
  let validator: Address;
  let openRequest: bigint;
  let finalizedRequest: bigint;

  before(async () => {
    f = await setupChain({
      models: { reviewUnbondingBlocks: '3' },
      app: {
        staking: { params: { unbondingTimeMs: '5000' } },
        distribution: { params: { emissionPerBlockWei: (3n * CGPT).toString() } },
        gov: { params: { votingPeriodMs: '120000' } },
      },
    });
    tc = f.tc;
    tc.checkInvariants = true;
    validator = tc.validators[0]!.operator.address;
  });
  after(() => tc.close());

  it('hold after every block of transfers, staking, rewards, gov, reviews and inference', async () => {
    const a = f.a;
    assert.deepEqual(await checkInvariants(tc.state, tc.chain.registry), [], 'at genesis');
    // Transfers, a delegation, a review and two optimistic providers.
    await block(tc, [
      { from: a[2]!, type: 'bank/send', msg: { to: a[3]!.address, amount: 5n * CGPT } },
      { from: a[3]!, type: 'staking/delegate', msg: { validator, amount: 500n * CGPT } },
      { from: a[4]!, type: 'models/review', msg: { id: MODEL_ID, stakeWei: 50n * CGPT, rating: 4 } },
      ...registerTxs(f, [5, 6], { tiers: 4, stakeWei: STAKE }),
    ]);
    // Gov: a text proposal with the full deposit (voting at once) and a vote.
    const text = {
      kind: 'text',
      title: 'hello',
      description: '',
      paramModule: '',
      paramsJson: '',
      recipient: ZERO,
      amountWei: 0n,
      modelId: '',
      initialDepositWei: 100n * CGPT,
    };
    await ok(tc, a[7]!, 'gov/submitProposal', text);
    await ok(tc, validator === a[0]!.address ? a[0]! : tc.validators[0]!.operator, 'gov/vote', {
      proposalId: 1n,
      option: 'yes',
    });
    // On-chain inference (finalized in its transaction) and an optimistic one answered and finalized.
    await ok(tc, f.requester, 'inference/request', requestMsg(digit(1).bytes, { tier: 1 }));
    const x = digit(0);
    const first = await newRequest(f, x.bytes);
    finalizedRequest = first.id;
    await ok(
      tc,
      first.provider,
      'inference/submitResult',
      resultMsg(first.id, honest(x.bytes, first.provider)),
    );
    await advanceTo(tc, tc.head.height + WINDOW);
    assert.equal((await getRequest(tc.state, first.id))!.status, 'finalized');
    // Rewards (3 CGPT emission a block) withdrawn by the delegator and the operator.
    await ok(tc, a[3]!, 'distribution/withdrawRewards', { validator });
    await ok(tc, tc.validators[0]!.operator, 'distribution/withdrawCommission', {});
    // Undelegation and unreview; both mature within the scenario.
    await ok(tc, a[3]!, 'staking/undelegate', { validator, amount: 100n * CGPT });
    await ok(tc, a[4]!, 'models/unreview', { id: MODEL_ID, amountWei: 10n * CGPT });
    await assertExactlyBacked(tc);
    await block(tc, [], { timeStepMs: 6_000n });
    await advanceTo(tc, tc.head.height + 3n);
    // The proposal's voting period ends: deposits go back.
    await block(tc, [], { timeStepMs: 121_000n });
    assert.equal((await getProposal(tc.state, 1n))!.status, 'passed');
    // What stays open for the export: an unbonding entry, a review unbonding, a proposal in its
    // voting period and an assigned optimistic request.
    await ok(tc, a[3]!, 'staking/undelegate', { validator, amount: 50n * CGPT });
    await ok(tc, a[4]!, 'models/unreview', { id: MODEL_ID, amountWei: 5n * CGPT });
    await ok(tc, a[8]!, 'gov/submitProposal', { ...text, title: 'still voting' });
    openRequest = (await newRequest(f, digit(2).bytes)).id;
    assert.equal((await getRequest(tc.state, openRequest))!.status, 'assigned');
    await assertExactlyBacked(tc);
    assert.deepEqual(await checkInvariants(tc.state, tc.chain.registry), []);
  });

  it('the test kit throws after a block that breaks one', async () => {
    const g = await createTestChain({ checkInvariants: true });
    withRawWrites(g);
    try {
      await buildBlock(g, []);
      const a = g.accounts[2]!;
      const supply = await getSupply(g.state);
      const tx = signMsg(g, a, 0n, 'raw/write', { key: balanceKey(a.address), value: bigintToBytes(1n) });
      await assert.rejects(buildBlock(g, [tx]), (e: Error) => {
        assert.match(e.message, /^invariants broken after block 2:\n/);
        // a2 had 1,000 CGPT less its fee; now it holds 1 wei, and the supply did not move.
        assert.match(
          e.message,
          new RegExp(`bank/supply: supply is ${supply} wei but the \\d+ balances sum to \\d+ wei`),
        );
        assert.equal(e.message.split('\n').length, 2, e.message);
        return true;
      });
    } finally {
      await g.close();
    }
  });

  it('export -> new chain: same balances, supply, validators, models, requests; the new export is identical', async () => {
    const registry = tc.chain.registry;
    const doc = await exportGenesis(tc.state, registry, { chainId: 99n, genesisTimeMs: tc.head.timeMs });
    const json = JSON.parse(JSON.stringify(doc));
    const dir = await mkdtemp(join(tmpdir(), 'aivm-export-'));
    const db = await Database.open(join(dir, 'db'));
    const state = await StateTree.open(db);
    try {
      const fresh = new Registry(defaultModules());
      const { header, result } = await initGenesis(state, json, fresh);
      await db.write(result.staged.ops);
      state.applyStaged(result.staged);
      assert.deepEqual(await checkInvariants(state, fresh), []);
      // Strong check: the new chain exports exactly what the old one did.
      const again = await exportGenesis(state, fresh, { chainId: 99n, genesisTimeMs: tc.head.timeMs });
      assert.deepEqual(JSON.parse(JSON.stringify(again)), json);
      // Every committed entry of the modules is the same, byte for byte, but slashing's window
      // start (exported as 0) and the chain's own validator-set records (rebuilt at genesis).
      const dump = async (s: StateTree) => {
        const out: string[] = [];
        for await (const [k, v] of s.scan(new Uint8Array(0))) {
          const key = new TextDecoder().decode(k);
          if (key.startsWith('chain/') || key.startsWith('slashing/info/')) continue;
          out.push(`${bytesToHex(k)}=${bytesToHex(v)}`);
        }
        return out;
      };
      const oldDump = await dump(tc.state);
      assert.ok(oldDump.length > 50, `only ${oldDump.length} entries`);
      assert.deepEqual(await dump(state), oldDump);
      // The readable parts, read back through the modules' accessors.
      assert.equal(await getSupply(state), await getSupply(tc.state));
      for (const who of [
        ...f.a.map((x) => x.address),
        BONDED_POOL,
        NOT_BONDED_POOL,
        INFERENCE_ACCOUNT,
        MODELS_ACCOUNT,
        GOV_ACCOUNT,
        DISTRIBUTION_ACCOUNT,
      ])
        assert.equal(await getBalance(state, who), await getBalance(tc.state, who), who);
      assert.deepEqual(await listValidators(state), await listValidators(tc.state));
      assert.deepEqual(await readValidatorSet(state, 'current'), await readValidatorSet(tc.state, 'current'));
      assert.equal(header.validatorSetHash.length, 32);
      assert.deepEqual(await getModelRecord(state, MODEL_ID), await getModelRecord(tc.state, MODEL_ID));
      const open = (await getRequest(state, openRequest))!;
      assert.equal(open.status, 'assigned');
      assert.deepEqual(open, await getRequest(tc.state, openRequest));
      assert.equal((await getRequest(state, finalizedRequest))!.status, 'finalized');
      // The new chain runs: blocks with invariants checked, and the open request still answerable.
      const next: TestChain = {
        ...tc,
        db,
        state,
        head: header,
        dir,
        checkInvariants: true,
        close: async () => {},
      };
      await block(next, []);
      const slot = (await getRequest(state, openRequest))!.slots[0]!;
      const provider = f.a.find((x) => x.address.toLowerCase() === slot.provider.toLowerCase())!;
      await ok(
        next,
        provider,
        'inference/submitResult',
        resultMsg(openRequest, honest(digit(2).bytes, provider)),
      );
      assert.equal((await getRequest(state, openRequest))!.status, 'computed');
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('each invariant catches its own corruption, with the numbers', () => {
    const cases: [string, (ctx: ExecContext) => Promise<void>, RegExp[]][] = [
      [
        'bank/supply',
        async (ctx) =>
          ctx.set(balanceKey(f.a[9]!.address), bigintToBytes((await getBalance(ctx, f.a[9]!.address)) + 7n)),
        [/supply is (\d+) wei but the \d+ balances sum to \d+ wei \(difference 7\)/],
      ],
      [
        'staking/bonded-pool',
        async (ctx) => setBalanceKeepSupply(ctx, BONDED_POOL, (await stakingOwed(tc.state)).bonded - 3n),
        [/the bonded pool holds \d+ wei but owes \d+ wei \(tokens of bonded validators\); short by 3 wei/],
      ],
      [
        // Bank refuses transfers to module accounts, so a surplus in a pool is a bug too.
        'staking/bonded-pool',
        async (ctx) => setBalanceKeepSupply(ctx, BONDED_POOL, (await stakingOwed(tc.state)).bonded + 5n),
        [
          /the bonded pool holds \d+ wei but owes \d+ wei \(tokens of bonded validators\); 5 wei more than it owes/,
        ],
      ],
      [
        'staking/not-bonded-pool',
        async (ctx) => {
          const o = await stakingOwed(tc.state);
          await setBalanceKeepSupply(ctx, NOT_BONDED_POOL, o.notBondedValidators + o.unbonding - 2n);
        },
        [
          /the not-bonded pool holds \d+ wei but owes 50000000000000000000 wei \(0 of unbonding\/unbonded validators' tokens \+ 50000000000000000000 in 1 unbonding entries\); short by 2 wei/,
        ],
      ],
      [
        'staking/delegator-shares',
        async (ctx) => {
          const d = (await getDelegation(ctx, f.a[3]!.address, validator))!;
          setDelegation(ctx, f.a[3]!.address, validator, d.shares + 5n);
        },
        [/validator 0x[0-9a-fA-F]{40} has (\d+) shares but its delegations sum to \d+/],
      ],
      [
        'distribution/rewards-backed',
        async (ctx) =>
          setBalanceKeepSupply(ctx, DISTRIBUTION_ACCOUNT, (await getBalance(ctx, DISTRIBUTION_ACCOUNT)) - 1n),
        [
          /short by 1000000000000000000 dec-wei/,
          /outstanding rewards of 1 validators \d+ \+ community pool \d+/,
        ],
      ],
      [
        'distribution/commission-within-outstanding',
        async (ctx) => setCommissionDec(ctx, validator, (await getOutstandingDec(ctx, validator)) + 1n),
        [
          /validator 0x[0-9a-fA-F]{40} has commission (\d+) dec-wei above its outstanding rewards \d+ dec-wei/,
        ],
      ],
      [
        'gov/deposits-held',
        async (ctx) => setBalanceKeepSupply(ctx, GOV_ACCOUNT, 100n * CGPT - 4n),
        [
          /the gov account holds 99999999999999999996 wei but owes 100000000000000000000 wei \(deposits of 1 proposals in their deposit or voting period\); short by 4 wei/,
        ],
      ],
      [
        'gov/deposit-records',
        async (ctx) => {
          const p = (await getProposal(ctx, 2n))!;
          p.deposits[0]!.amountWei -= 1n;
          setProposal(ctx, p);
        },
        [
          /proposal 2 records a total deposit of 100000000000000000000 wei but its deposits sum to 99999999999999999999 wei/,
        ],
      ],
      [
        'models/reviewer-stake',
        async (ctx) => {
          const m = (await getModelRecord(ctx, MODEL_ID))!;
          setModelRecord(ctx, { ...m, totalStakeWei: m.totalStakeWei + 1n });
        },
        [
          /records 35000000000000000001 wei of reviewer stake but its reviews sum to 35000000000000000000 wei/,
        ],
      ],
      [
        'models/account-backed',
        async (ctx) => {
          const o = await modelsOwed(tc.state);
          await setBalanceKeepSupply(
            ctx,
            MODELS_ACCOUNT,
            o.bonded + o.unbonding + o.rewards + o.deposits - 1n,
          );
        },
        [
          /1 reviews: bonded 35000000000000000000 \+ unbonding 5000000000000000000 \+ unclaimed rewards \d+; deposits of 1 models 0\); short by 1 wei/,
        ],
      ],
      [
        'inference/account-balance',
        async (ctx) => {
          const o = await inferenceOwed(tc.state);
          await setBalanceKeepSupply(ctx, INFERENCE_ACCOUNT, o.escrow + o.providerStake + o.bonds - 9n);
        },
        [
          /escrow of 1 open requests 10000000000000000 \+ stake of 2 providers 4000000000000000000000 \+ bonds of 0 disputes 0\); short by 9 wei/,
        ],
      ],
      [
        'inference/escrow-covers-fees',
        async (ctx) => {
          const r = (await getRequest(ctx, finalizedRequest))!;
          setRequest(ctx, { ...r, fees: { ...r.fees, refundWei: r.fees.refundWei + 1n } });
        },
        [
          new RegExp(
            `request ${'\\'}d+ paid out 10000000000000001 wei from an escrow of 10000000000000000 wei`,
          ),
        ],
      ],
    ];
    for (const [name, write, parts] of cases) {
      it(name, async () => {
        const restore = await corrupt(tc, write);
        try {
          await expectOnly(tc, name, parts);
        } finally {
          await restore();
        }
        assert.deepEqual(await checkInvariants(tc.state, tc.chain.registry), []);
      });
    }
  });
});
