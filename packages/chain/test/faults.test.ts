// The state machine is total: no transaction content can stop block building, only typed failures
// decide outcomes (as codes, never text), and anything else is an ExecutionFault that leaves
// nothing behind. Faults are injected into every module's handlers and block hooks.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FieldType } from '@aivm/codec';
import { CodecError, decodeRlp } from '@aivm/codec';
import { type Address, bigintToBytes, concatBytes, utf8ToBytes } from '@aivm/crypto';
import { decodeArtifact, ModelError } from '@aivm/runtime/core';
import { ProofFormatError } from '@aivm/zk';
import {
  BlockExecution,
  type BlockResult,
  type ChainContext,
  ERR,
  EVENT_LIMITS,
  ExecContext,
  ExecutionFault,
  encodeConsensusReceipt,
  errorText,
  failureCode,
  GasMeter,
  GOV_ACCOUNT,
  getBalance,
  getNonce,
  MAX_ERROR_TEXT_BYTES,
  type Module,
  ModuleError,
  merkleRoot,
  OK,
  Registry,
  StateOverlay,
  utf8Length,
} from '../src/index.ts';
import { nonceKey } from '../src/modules/auth/store.ts';
import { balanceKey } from '../src/modules/bank/store.ts';
import {
  buildBlock,
  createTestChain,
  importBlock,
  signMsg,
  type TestChain,
  withRawWrites,
} from '../src/testing/index.ts';

const ZERO = '0x0000000000000000000000000000000000000000' as Address;
const PROBE = utf8ToBytes('probe/key');

/** Whether sealing the block writes the state entry `key` (the flat index holds "s:" + key). */
function wrote(result: BlockResult, key: Uint8Array): boolean {
  return result.staged.ops.some((op) => op.type === 'put' && endsWith(op.key, key));
}
function endsWith(a: Uint8Array, b: Uint8Array): boolean {
  return a.length >= b.length && b.every((x, i) => a[a.length - b.length + i] === x);
}

/** The simplest value of a schema: enough to sign a transaction whose handler is replaced. */
function zeroValue(type: FieldType): unknown {
  switch (type.kind) {
    case 'uint':
      return type.bits <= 32 ? 0 : 0n;
    case 'address':
      return ZERO;
    case 'bool':
      return false;
    case 'bytes32':
      return new Uint8Array(32);
    case 'bytes':
      return new Uint8Array(0);
    case 'string':
      return '';
    case 'array':
      return [];
    case 'struct':
      return Object.fromEntries(Object.entries(type.fields).map(([k, f]) => [k, zeroValue(f)]));
  }
}

/** The test chain's modules with one message handler or hook replaced. */
function withInjected(
  tc: TestChain,
  target: { message: string } | { module: string; hook: 'beginBlock' | 'endBlock' },
  fn: (ctx: ExecContext) => Promise<void>,
): ChainContext {
  const modules: Module[] = tc.chain.registry.modules.map((m) => {
    if ('message' in target) {
      const def = m.messages[target.message];
      if (!def) return m;
      return { ...m, messages: { ...m.messages, [target.message]: { ...def, handler: (ctx) => fn(ctx) } } };
    }
    return m.name === target.module ? { ...m, [target.hook]: fn } : m;
  });
  return { ...tc.chain, registry: new Registry(modules) };
}

async function openBlock(tc: TestChain, chain: ChainContext): Promise<BlockExecution> {
  return BlockExecution.begin(
    tc.state,
    {
      chainId: tc.chain.chainId,
      height: tc.head.height + 1n,
      timeMs: tc.head.timeMs + 1_000n,
      proposer: tc.proposer,
      parentHash: new Uint8Array(32),
      lastCommit: { round: 0, signers: [] },
    },
    chain,
  );
}

describe('failures as codes: receipts and the results root', () => {
  let tc: TestChain;
  before(async () => {
    tc = await createTestChain({ accounts: 2 });
  });
  after(() => tc.close());

  it('the gov/submitProposal with a 3,000-character params key fails with a code and the chain goes on', async () => {
    const [a] = tc.accounts;
    const paramsJson = JSON.stringify({ [`${'k'.repeat(3_000)}`]: 1 });
    const tx = signMsg(
      tc,
      a!,
      0n,
      'gov/submitProposal',
      {
        kind: 'paramChange',
        title: 't',
        description: '',
        paramModule: 'bank',
        paramsJson,
        recipient: ZERO,
        amountWei: 0n,
        modelId: '',
        initialDepositWei: 0n,
      },
      { gasLimit: 2_000_000n },
    );
    const { result } = await buildBlock(tc, [tx]);
    const r = result.receipts[0]!;
    assert.equal(r.code, ERR.INVALID_PARAMS);
    assert.match(r.error, /^invalid bank params: /);
    assert.ok(utf8Length(r.error) <= MAX_ERROR_TEXT_BYTES, `${utf8Length(r.error)} bytes`);
    assert.ok(r.error.endsWith('...'));
    assert.equal(await getNonce(tc.state, a!.address), 1n, 'included: nonce and fee taken');
    const next = await buildBlock(tc, []);
    assert.equal(next.block.header.height, 2n);
  });

  it('resultsRoot commits to codes, gas, fee and events, never to the error text', () => {
    const base = {
      txHash: new Uint8Array(32).fill(1),
      code: ERR.MODULE,
      gasUsed: 21_000n,
      feeWei: 21_000n,
      events: [],
    };
    const a = encodeConsensusReceipt({ ...base, error: 'out of memory on this machine' });
    const b = encodeConsensusReceipt({ ...base, error: 'something else entirely' });
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      merkleRoot([a]),
      merkleRoot([encodeConsensusReceipt({ ...base, code: ERR.MALFORMED, error: '' })]),
    );
  });

  it('error text is cut to its byte bound at a character boundary', () => {
    for (const unit of ['a', 'é', '€', '😀']) {
      const text = errorText(new Error(unit.repeat(1_000)));
      assert.ok(utf8Length(text) <= MAX_ERROR_TEXT_BYTES);
      assert.ok(utf8Length(text) > MAX_ERROR_TEXT_BYTES - 8, `${unit}: ${utf8Length(text)}`);
      assert.equal(text, `${unit.repeat((text.length - 3) / unit.length)}...`);
    }
    assert.equal(errorText(new Error('short')), 'short');
    assert.equal(utf8Length('a\u00e9\u20ac\u{1f600}\ud800'), 1 + 2 + 3 + 4 + 3);
  });

  it('only typed, deterministic errors have a failure code', () => {
    assert.equal(failureCode(new ModuleError('x')), ERR.MODULE);
    assert.equal(failureCode(new ModuleError('x', ERR.OUT_OF_GAS)), ERR.OUT_OF_GAS);
    assert.equal(failureCode(new CodecError('a', 'bad')), ERR.MALFORMED);
    // The artifact nested 5,500 levels deep that once split nodes by their stack size.
    let artifact: Uint8Array = Uint8Array.of(0xc0);
    for (let i = 0; i < 5_500; i++) {
      const n = artifact.length;
      const header = n < 56 ? [0xc0 + n] : n < 256 ? [0xf8, n] : [0xf9, n >> 8, n & 0xff];
      artifact = concatBytes(Uint8Array.from(header), artifact);
    }
    const thrown = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err;
      }
    };
    assert.ok(thrown(() => decodeArtifact(artifact)) instanceof ModelError);
    assert.equal(failureCode(thrown(() => decodeArtifact(artifact))), ERR.TOO_DEEP);
    assert.equal(failureCode(thrown(() => decodeRlp(artifact))), ERR.TOO_DEEP);
    assert.equal(failureCode(new ModelError('bad model')), ERR.MODEL);
    assert.equal(failureCode(new ProofFormatError('bad proof')), ERR.PROOF_FORMAT);
    for (const e of [
      new RangeError('Maximum call stack size exceeded'),
      new TypeError('x'),
      new Error('x'),
      'str',
    ])
      assert.equal(failureCode(e), undefined);
  });
});

describe('injected failures in every message handler', () => {
  let tc: TestChain;
  before(async () => {
    tc = await createTestChain({ accounts: 2 });
  });
  after(() => tc.close());

  it('a RangeError in any handler is an ExecutionFault that leaves no fee, nonce or write behind', async () => {
    const [a] = tc.accounts;
    const types = tc.chain.registry.messageTypes();
    assert.ok(types.length >= 30, `${types.length} message types`);
    for (const type of types) {
      const chain = withInjected(tc, { message: type }, async (ctx) => {
        ctx.set(PROBE, Uint8Array.of(1));
        throw new RangeError('Maximum call stack size exceeded');
      });
      const exec = await openBlock(tc, chain);
      const msg = zeroValue(tc.chain.registry.message(type)!.schema) as Record<string, unknown>;
      const raw = signMsg(tc, a!, 0n, type, msg);
      await assert.rejects(exec.applyTx(raw), (err: unknown) => {
        assert.ok(err instanceof ExecutionFault, `${type}: ${String(err)}`);
        assert.match(err.where, new RegExp(`\\(${type}\\)$`));
        assert.ok(err.cause instanceof RangeError);
        return true;
      });
      assert.equal(exec.receipts.length, 0);
      const result = await exec.finish();
      // The block is as if the transaction never came: only block hooks wrote anything.
      const empty = await (await openBlock(tc, tc.chain)).finish();
      assert.deepEqual(result.stateRoot, empty.stateRoot, type);
    }
  });

  it('a typed failure in any handler is a failed receipt with its code; its writes and events are undone', async () => {
    const [a] = tc.accounts;
    const before = await getBalance(tc.state, a!.address);
    for (const [i, type] of tc.chain.registry.messageTypes().entries()) {
      const code = [ERR.MODULE, ERR.MALFORMED, ERR.MODEL][i % 3]!;
      const chain = withInjected(tc, { message: type }, async (ctx) => {
        ctx.set(PROBE, Uint8Array.of(1));
        ctx.emit('probe', 'written', { k: 'v' });
        if (code === ERR.MALFORMED) throw new CodecError('field', 'bad bytes');
        if (code === ERR.MODEL) throw new ModelError('bad model');
        throw new ModuleError('refused');
      });
      const exec = await openBlock(tc, chain);
      const msg = zeroValue(tc.chain.registry.message(type)!.schema) as Record<string, unknown>;
      const r = await exec.applyTx(signMsg(tc, a!, 0n, type, msg));
      assert.equal(r.code, code, type);
      assert.deepEqual(r.events, []);
      assert.ok(r.feeWei > 0n);
      const result = await exec.finish();
      assert.equal(wrote(result, PROBE), false, `${type}: the handler's write was undone`);
      assert.equal(wrote(result, nonceKey(a!.address)), true, `${type}: the nonce and fee stay`);
    }
    assert.equal(await getBalance(tc.state, a!.address), before, 'nothing committed');
  });
});

describe('injected failures in every block hook', () => {
  let tc: TestChain;
  before(async () => {
    tc = await createTestChain({ accounts: 2 });
  });
  after(() => tc.close());

  const hooks = (tc: TestChain) =>
    tc.chain.registry.modules.flatMap((m) =>
      (['beginBlock', 'endBlock'] as const).filter((h) => m[h]).map((hook) => ({ module: m.name, hook })),
    );

  it('a RangeError in a hook is an ExecutionFault naming the module and hook', async () => {
    const all = hooks(tc);
    assert.ok(all.length >= 5, JSON.stringify(all));
    for (const target of all) {
      const chain = withInjected(tc, target, async () => {
        throw new RangeError('Array buffer allocation failed');
      });
      const run = async () => (await openBlock(tc, chain)).finish();
      await assert.rejects(run, (err: unknown) => {
        assert.ok(err instanceof ExecutionFault);
        assert.equal(err.where, `${target.hook} of ${target.module}`);
        return true;
      });
    }
  });

  it('a typed failure in a hook undoes that hook alone, is recorded as chain/hookFailed, and the block seals', async () => {
    for (const target of hooks(tc)) {
      const original = tc.chain.registry.modules.find((m) => m.name === target.module)![target.hook]!;
      const chain = withInjected(tc, target, async (ctx) => {
        await original(ctx); // the real hook's writes, then a later check fails
        ctx.set(PROBE, Uint8Array.of(1));
        throw new ModuleError('refused', ERR.INSUFFICIENT_FUNDS);
      });
      const exec = await openBlock(tc, chain);
      const result = await exec.finish();
      const failed = result.blockEvents.filter((e) => e.module === 'chain' && e.type === 'hookFailed');
      assert.deepEqual(failed, [
        {
          module: 'chain',
          type: 'hookFailed',
          attributes: { module: target.module, hook: target.hook, code: String(ERR.INSUFFICIENT_FUNDS) },
        },
      ]);
      assert.deepEqual(
        result.hookFailures.map((f) => [f.module, f.hook, f.code, f.error]),
        [[target.module, target.hook, ERR.INSUFFICIENT_FUNDS, 'refused']],
      );
      // The probe write is gone, and so is everything the real hook wrote in this block: the
      // state is the state of a block without that hook.
      assert.equal(wrote(result, PROBE), false);
      const without = withInjected(tc, target, async () => {});
      assert.deepEqual(result.stateRoot, (await (await openBlock(tc, without)).finish()).stateRoot);
    }
  });
});

describe('bounded events and state entries', () => {
  const info = {
    chainId: 1n,
    height: 1n,
    timeMs: 1n,
    proposer: ZERO,
    parentHash: new Uint8Array(32),
    lastCommit: { round: 0, signers: [] },
  };
  const ctx = () =>
    new ExecContext(new StateOverlay({ get: async () => undefined }), info, new GasMeter(10n ** 12n));
  const code = (fn: () => void) => {
    try {
      fn();
      return OK;
    } catch (err) {
      return failureCode(err);
    }
  };

  it('an event beyond the receipt bounds fails the message with EVENT_TOO_LARGE', () => {
    const c = ctx();
    assert.equal(
      code(() => c.emit('m', 't', { v: 'x'.repeat(4_096) })),
      OK,
    );
    assert.equal(
      code(() => c.emit('m', 't', { v: 'x'.repeat(4_097) })),
      ERR.EVENT_TOO_LARGE,
    );
    assert.equal(
      code(() => c.emit('m', 't', { v: '€'.repeat(1_366) })),
      ERR.EVENT_TOO_LARGE,
      'counts bytes',
    );
    assert.equal(
      code(() => c.emit('m', 't', { ['k'.repeat(65)]: '' })),
      ERR.EVENT_TOO_LARGE,
    );
    assert.equal(
      code(() => c.emit('m'.repeat(65), 't', {})),
      ERR.EVENT_TOO_LARGE,
    );
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, '']));
    assert.equal(
      code(() => c.emit('m', 't', many)),
      ERR.EVENT_TOO_LARGE,
    );
    // A transaction's receipt holds 1,000 events; a block hook's work is bounded by its own budgets.
    const tx = new ExecContext(
      new StateOverlay({ get: async () => undefined }),
      info,
      new GasMeter(10n ** 12n),
      EVENT_LIMITS.perContext,
    );
    for (let i = 0; i < 1_000; i++) tx.emit('m', 't', {});
    assert.equal(
      code(() => tx.emit('m', 't', {})),
      ERR.EVENT_TOO_LARGE,
    );
    const hook = ctx();
    for (let i = 0; i < 5_000; i++) hook.emit('m', 't', {});
    assert.equal(hook.events.length, 5_000);
  });

  it('a state entry beyond the tree limits fails the message with VALUE_TOO_LARGE', () => {
    const c = ctx();
    assert.equal(
      code(() => c.set(new Uint8Array(256), new Uint8Array(1))),
      OK,
    );
    assert.equal(
      code(() => c.set(new Uint8Array(257), new Uint8Array(1))),
      ERR.VALUE_TOO_LARGE,
    );
    assert.equal(
      code(() => c.set(new Uint8Array(0), new Uint8Array(1))),
      ERR.VALUE_TOO_LARGE,
    );
    assert.equal(
      code(() => c.set(Uint8Array.of(1), new Uint8Array(1024 * 1024 + 1))),
      ERR.VALUE_TOO_LARGE,
    );
  });

  it('atomic() keeps all of a step or none of it', async () => {
    const c = ctx();
    const key = (k: string) => utf8ToBytes(k);
    await c.atomic(async () => {
      c.set(key('a'), Uint8Array.of(1));
      c.emit('m', 'kept', {});
    });
    await assert.rejects(
      c.atomic(async () => {
        c.set(key('a'), Uint8Array.of(2));
        c.set(key('b'), Uint8Array.of(2));
        c.emit('m', 'undone', {});
        throw new ModuleError('later check');
      }),
      ModuleError,
    );
    assert.deepEqual(await c.get(key('a')), Uint8Array.of(1));
    assert.equal(await c.get(key('b')), undefined);
    assert.deepEqual(
      c.events.map((e) => e.type),
      ['kept'],
    );
  });
});

describe('a block with a failed transaction replays to the same roots', () => {
  it('builder and verifier agree on code-only receipts', async () => {
    const a = await createTestChain({ accounts: 2 });
    const b = await createTestChain({ accounts: 2 });
    try {
      const [x, y] = a.accounts;
      const txs = [
        signMsg(a, x!, 0n, 'bank/send', { to: y!.address, amount: 10n ** 30n }),
        signMsg(a, y!, 0n, 'bank/send', { to: x!.address, amount: 1n }),
      ];
      const { block, result } = await buildBlock(a, txs);
      assert.deepEqual(
        result.receipts.map((r) => r.code),
        [ERR.INSUFFICIENT_FUNDS, OK],
      );
      const replay = await importBlock(b, block);
      assert.deepEqual(replay.resultsRoot, result.resultsRoot);
      assert.deepEqual(replay.stateRoot, result.stateRoot);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('block hooks that work through many items', () => {
  it('a proposal whose end fails stays active and is tried again; the other proposals end', async () => {
    const tc = await createTestChain({ accounts: 2, checkInvariants: false });
    try {
      withRawWrites(tc);
      const [a] = tc.accounts;
      const CGPT = 10n ** 18n;
      const propose = (nonce: bigint, initialDepositWei: bigint) =>
        signMsg(tc, a!, nonce, 'gov/submitProposal', {
          kind: 'text',
          title: 'stuck?',
          description: '',
          paramModule: '',
          paramsJson: '',
          recipient: ZERO,
          amountWei: 0n,
          modelId: '',
          initialDepositWei,
        });
      // Two proposals that never reach the minimum deposit: their deposits burn at expiry.
      await buildBlock(tc, [propose(0n, 10n * CGPT), propose(1n, 20n * CGPT)]);
      // The gov account holds 25 CGPT: enough to burn the first deposit, not then the second.
      await buildBlock(tc, [
        signMsg(tc, a!, 2n, 'raw/write', { key: balanceKey(GOV_ACCOUNT), value: bigintToBytes(25n * CGPT) }),
      ]);
      const expiry = await buildBlock(tc, [], { timeStepMs: 3n * 24n * 3_600_000n });
      const events = expiry.result.blockEvents.filter((e) => e.module === 'gov');
      assert.deepEqual(
        events.map((e) => [e.type, e.attributes.id, e.attributes.status ?? e.attributes.code]),
        [
          ['proposalFinished', '1', 'expired'],
          ['proposalStuck', '2', String(ERR.INSUFFICIENT_FUNDS)],
        ],
      );
      const active = async () =>
        ((await tc.chain.registry.query('gov/activeProposals')!.handler(tc.state, {})) as { ids: string[] })
          .ids;
      assert.deepEqual(await active(), ['2']);
      assert.equal(await getBalance(tc.state, GOV_ACCOUNT), 15n * CGPT, 'only the first burn stayed');
      // Once the account holds the deposit again, the stuck proposal ends at the next block.
      await buildBlock(tc, [
        signMsg(tc, a!, 3n, 'raw/write', { key: balanceKey(GOV_ACCOUNT), value: bigintToBytes(20n * CGPT) }),
      ]);
      assert.deepEqual(await active(), []);
      assert.equal(await getBalance(tc.state, GOV_ACCOUNT), 0n);
    } finally {
      await tc.close();
    }
  });
});
