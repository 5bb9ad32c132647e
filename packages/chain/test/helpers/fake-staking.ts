// A small staking stand-in for distribution and gov tests: validators, share-based delegations,
// undelegation and slashing over real state, calling the distribution hooks exactly where the
// staking module's contract calls them. Also a block harness that sets who signed the parent.
// (Replace with the real staking module once distribution and gov are wired into defaultModules.)

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode, type Infer, t } from '@aivm/codec';
import {
  type Address,
  addressToBytes,
  bytesToHex,
  concatBytes,
  ed25519PublicKey,
  mnemonicToPrivateKeys,
  privateKeyToAddress,
  utf8ToBytes,
} from '@aivm/crypto';
import { Database, type KVReader, StateTree } from '@aivm/state';
import { DEC } from '../../src/dec.ts';
import {
  BlockExecution,
  type BlockResult,
  type ChainContext,
  defineMsg,
  type ExecContext,
  initGenesis,
  type Module,
  moduleAddress,
  Registry,
  requireThat,
  signTx,
  WEI_PER_CGPT,
} from '../../src/index.ts';
import { burn, transfer } from '../../src/modules/bank/store.ts';
import type { StakingView, ValidatorView } from '../../src/modules/distribution/expected.ts';
import type { DistributionHooks } from '../../src/modules/distribution/hooks.ts';
import { authModule, bankModule } from '../../src/modules/index.ts';

const POOL = moduleAddress('fakestk_pool');
const ValidatorSchema = t.struct('FakeValidator', {
  operator: t.address,
  consensusAddress: t.address,
  tokens: t.uint256,
  delegatorShares: t.uint256,
  commissionRate: t.uint256,
  bonded: t.bool,
});
const List = t.array(t.address, 1_000);
const key = (s: string, ...a: Address[]) =>
  concatBytes(utf8ToBytes(`fakestk/${s}/`), ...a.map(addressToBytes));

async function readList(state: KVReader, k: Uint8Array): Promise<Address[]> {
  const raw = await state.get(k);
  return raw ? decode(List, raw) : [];
}

function toView(r: Infer<typeof ValidatorSchema>): ValidatorView {
  return { ...r, status: r.bonded ? 'bonded' : 'unbonded', jailed: false };
}

async function getValidator(state: KVReader, op: Address): Promise<ValidatorView | undefined> {
  const raw = await state.get(key('v', op));
  return raw ? toView(decode(ValidatorSchema, raw)) : undefined;
}

function setValidator(ctx: ExecContext, v: ValidatorView): void {
  const { operator, consensusAddress, tokens, delegatorShares, commissionRate } = v;
  const record = {
    operator,
    consensusAddress,
    tokens,
    delegatorShares,
    commissionRate,
    bonded: v.status === 'bonded',
  };
  ctx.set(key('v', v.operator), encode(ValidatorSchema, record));
}

async function listValidators(state: KVReader): Promise<ValidatorView[]> {
  const out: ValidatorView[] = [];
  for (const op of await readList(state, key('ops'))) out.push((await getValidator(state, op))!);
  return out;
}

export const fakeStakingView: StakingView = {
  getValidator,
  async getValidatorByConsensusAddress(state, cons) {
    return (await listValidators(state)).find((v) => v.consensusAddress.toLowerCase() === cons.toLowerCase());
  },
  async getBondedValidators(state) {
    return (await listValidators(state)).filter((v) => v.status === 'bonded');
  },
  async getDelegation(state, del, op) {
    const raw = await state.get(key('d', del, op));
    return raw ? { shares: decode(t.uint256, raw) } : undefined;
  },
  getDelegatorValidators: (state, del) => readList(state, key('dv', del)),
  async totalBondedTokens(state) {
    let total = 0n;
    for (const v of await listValidators(state)) if (v.status === 'bonded') total += v.tokens;
    return total;
  },
  tokensFromShares(v, shares) {
    return v.delegatorShares === 0n ? 0n : (shares * v.tokens) / v.delegatorShares;
  },
  /** Power = bonded tokens in whole CGPT (as staking does), read from the current records. */
  async previousValidatorSet(state) {
    return (await listValidators(state))
      .filter((v) => v.status === 'bonded')
      .map((v) => ({ address: v.consensusAddress, power: v.tokens / WEI_PER_CGPT }));
  },
};

async function setShares(ctx: ExecContext, del: Address, op: Address, shares: bigint): Promise<void> {
  const list = await readList(ctx, key('dv', del));
  const rest = list.filter((x) => x.toLowerCase() !== op.toLowerCase());
  if (shares === 0n) {
    ctx.delete(key('d', del, op));
    ctx.set(key('dv', del), encode(List, rest));
  } else {
    ctx.set(key('d', del, op), encode(t.uint256, shares));
    ctx.set(key('dv', del), encode(List, [...rest, op]));
  }
}

async function delegate(
  ctx: ExecContext,
  hooks: DistributionHooks,
  del: Address,
  op: Address,
  amount: bigint,
) {
  const v = await getValidator(ctx, op);
  requireThat(v !== undefined, 'no such validator');
  await hooks.beforeDelegationSharesModified(ctx, del, op);
  const shares = v.delegatorShares === 0n ? amount : (amount * v.delegatorShares) / v.tokens;
  await transfer(ctx, del, POOL, amount);
  setValidator(ctx, { ...v, tokens: v.tokens + amount, delegatorShares: v.delegatorShares + shares });
  const cur = (await fakeStakingView.getDelegation(ctx, del, op))?.shares ?? 0n;
  await setShares(ctx, del, op, cur + shares);
  await hooks.afterDelegationModified(ctx, del, op);
}

export function createFakeStakingModule(hooks: DistributionHooks): Module {
  return {
    name: 'fakestk',
    messages: {
      'fakestk/create': defineMsg({
        schema: t.struct('FakeCreate', {
          consensusAddress: t.address,
          commissionRate: t.uint256,
          amount: t.uint256,
        }),
        description: 'test: create a bonded validator with a self-delegation',
        async handler(ctx, msg, sender) {
          setValidator(ctx, {
            operator: sender,
            consensusAddress: msg.consensusAddress,
            tokens: 0n,
            delegatorShares: 0n,
            commissionRate: msg.commissionRate,
            status: 'bonded',
            jailed: false,
          });
          ctx.set(key('ops'), encode(List, [...(await readList(ctx, key('ops'))), sender]));
          await hooks.afterValidatorCreated(ctx, sender);
          await delegate(ctx, hooks, sender, sender, msg.amount);
        },
      }),
      'fakestk/delegate': defineMsg({
        schema: t.struct('FakeDelegate', { validator: t.address, amount: t.uint256 }),
        description: 'test: delegate',
        handler: (ctx, msg, sender) => delegate(ctx, hooks, sender, msg.validator, msg.amount),
      }),
      'fakestk/undelegate': defineMsg({
        schema: t.struct('FakeUndelegate', { validator: t.address, shares: t.uint256 }),
        description: 'test: undelegate shares, tokens returned at once',
        async handler(ctx, msg, sender) {
          const v = (await getValidator(ctx, msg.validator))!;
          const have = (await fakeStakingView.getDelegation(ctx, sender, msg.validator))?.shares ?? 0n;
          requireThat(msg.shares <= have, 'not enough shares');
          await hooks.beforeDelegationSharesModified(ctx, sender, msg.validator);
          const tokens = fakeStakingView.tokensFromShares(v, msg.shares);
          setValidator(ctx, {
            ...v,
            tokens: v.tokens - tokens,
            delegatorShares: v.delegatorShares - msg.shares,
          });
          await setShares(ctx, sender, msg.validator, have - msg.shares);
          await transfer(ctx, POOL, sender, tokens);
          await hooks.afterDelegationModified(ctx, sender, msg.validator);
        },
      }),
      'fakestk/slash': defineMsg({
        schema: t.struct('FakeSlash', { validator: t.address, fraction: t.uint256 }),
        description: 'test: slash a fraction (DEC) of a validator tokens',
        async handler(ctx, msg) {
          const v = (await getValidator(ctx, msg.validator))!;
          await hooks.beforeValidatorSlashed(ctx, msg.validator, msg.fraction);
          const cut = (v.tokens * msg.fraction) / DEC;
          setValidator(ctx, { ...v, tokens: v.tokens - cut });
          await burn(ctx, POOL, cut);
        },
      }),
      'fakestk/unbond': defineMsg({
        schema: t.struct('FakeUnbond', { validator: t.address }),
        description: 'test: move a validator out of the bonded set',
        async handler(ctx, msg) {
          const v = (await getValidator(ctx, msg.validator))!;
          setValidator(ctx, { ...v, status: 'unbonded' });
        },
      }),
    },
    queries: {},
  };
}

export type TestAccount = { privateKey: Uint8Array; address: Address };

/** A chain on a temporary LevelDB with the given modules, driven block by block. */
export type Harness = {
  db: Database;
  state: StateTree;
  chain: ChainContext;
  accounts: TestAccount[];
  height: bigint;
  timeMs: bigint;
  nonces: Map<string, bigint>;
  gasPrice: bigint;
  close(): Promise<void>;
};

export async function createHarness(
  modules: (list: Module[]) => Module[],
  opts: {
    accounts?: number;
    fundCgpt?: bigint;
    gasPrice?: bigint;
    /** A fixed genesis validator set; must be false when the real staking module is registered. */
    fixedValidatorSet?: boolean;
    /** Module sections of genesis, or a function of the accounts (e.g. to name operators). */
    app?: Record<string, unknown> | ((accounts: TestAccount[]) => Record<string, unknown>);
  } = {},
): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'aivm-distgov-'));
  const db = await Database.open(join(dir, 'db'));
  const state = await StateTree.open(db);
  const list: Module[] = [authModule, bankModule];
  const registry = new Registry(modules(list));
  const accounts = mnemonicToPrivateKeys(
    'test test test test test test test test test test test junk',
    0,
    opts.accounts ?? 6,
  ).map((privateKey) => ({ privateKey, address: privateKeyToAddress(privateKey) }));
  const fund = (opts.fundCgpt ?? 10_000n) * WEI_PER_CGPT;
  const { result } = await initGenesis(
    state,
    {
      chainId: 99,
      genesisTimeMs: 1_700_000_000_000,
      ...(opts.fixedValidatorSet === false
        ? {}
        : { validators: [{ pubKey: bytesToHex(ed25519PublicKey(new Uint8Array(32).fill(9))), power: 1 }] }),
      app: {
        bank: { balances: accounts.map((a) => ({ address: a.address, amount: fund.toString() })) },
        ...(typeof opts.app === 'function' ? opts.app(accounts) : opts.app),
      },
    },
    registry,
  );
  await db.write(result.staged.ops);
  state.applyStaged(result.staged);
  return {
    db,
    state,
    chain: { chainId: 99n, registry },
    accounts,
    height: 0n,
    timeMs: 1_700_000_000_000n,
    nonces: new Map(),
    gasPrice: opts.gasPrice ?? 1_000_000_000n,
    async close() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function tx(h: Harness, from: TestAccount, msgType: string, msg: Record<string, unknown>): Uint8Array {
  const nonce = h.nonces.get(from.address) ?? 0n;
  h.nonces.set(from.address, nonce + 1n);
  const def = h.chain.registry.message(msgType)!;
  return signTx(
    { chainId: 99n, from: from.address, nonce, gasLimit: 2_000_000n, gasPrice: h.gasPrice, msgType, msg },
    from.privateKey,
    def.schema,
  );
}

/** Runs one block; `signers` are the consensus addresses that signed the parent. */
export async function runBlock(
  h: Harness,
  txs: Uint8Array[],
  opts: { signers?: readonly Address[]; timeStepMs?: bigint } = {},
): Promise<BlockResult> {
  h.height += 1n;
  h.timeMs += opts.timeStepMs ?? 1_000n;
  const info = {
    chainId: 99n,
    height: h.height,
    timeMs: h.timeMs,
    proposer: '0x0000000000000000000000000000000000000000' as Address,
    parentHash: new Uint8Array(32),
    lastCommit: { round: 0, signers: opts.signers ?? [] },
  };
  const exec = await BlockExecution.begin(h.state, info, h.chain);
  for (const raw of txs) await exec.applyTx(raw);
  const result = await exec.finish();
  await h.db.write(result.staged.ops);
  h.state.applyStaged(result.staged);
  return result;
}

/** Runs one block and fails the test if any of its transactions failed. */
export async function runOk(
  h: Harness,
  txs: Uint8Array[],
  opts: { signers?: readonly Address[]; timeStepMs?: bigint } = {},
): Promise<BlockResult> {
  const result = await runBlock(h, txs, opts);
  for (const r of result.receipts) if (r.code !== 0) throw new Error(`tx failed: ${r.error}`);
  return result;
}
