import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bytesToHex, ed25519PublicKey, ed25519Sign } from '@aivm/crypto';
import { Database, StateTree } from '@aivm/state';
import {
  authModule,
  type Block,
  bankModule,
  commitSignBytes,
  defaultModules,
  type GenesisDoc,
  InvalidBlock,
  initGenesis,
  lastCommitHash,
  Registry,
  readValidatorSet,
  VOTE_PRECOMMIT,
  VOTE_PREVOTE,
  validatorAddress,
  validatorSetHash,
  verifyCommit,
  voteSignBytes,
} from '../src/index.ts';
import { buildBlock, createTestChain, importBlock, type TestChain } from '../src/testing/index.ts';

const CHAIN = 99n;

describe('validator set, commits and their verification', () => {
  let a: TestChain;
  let b: TestChain;
  let block: Block;
  before(async () => {
    a = await createTestChain({ validators: 4 });
    b = await createTestChain({ validators: 4 });
    for (let i = 0; i < 2; i++) await importBlock(b, (await buildBlock(a, [])).block);
    block = (await buildBlock(a, [])).block; // height 3, carries the commit of height 2
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('the genesis set comes from staking, canonical, and the header commits to it', async () => {
    const set = await readValidatorSet(b.state, 'current');
    assert.equal(set.length, 4);
    // Equal powers: address ascending.
    const addrs = set.map((v) => v.address.toLowerCase());
    assert.deepEqual(addrs, [...addrs].sort());
    assert.ok(set.every((v) => v.power === 1_000n));
    assert.equal(bytesToHex(block.header.validatorSetHash), bytesToHex(validatorSetHash(set)));
    assert.equal(block.lastCommit.signatures.length, 4);
  });

  it('priorities advance once per block and stay out of the set hash', async () => {
    const before1 = await readValidatorSet(a.state, 'current');
    const next = (await buildBlock(a, [])).result.validators;
    assert.notDeepEqual(
      next.map((v) => v.priority),
      before1.map((v) => v.priority),
    );
    assert.equal(bytesToHex(validatorSetHash(next)), bytesToHex(validatorSetHash(before1)));
    // Priorities are centred: they sum to about zero.
    const sum = next.reduce((s, v) => s + v.priority, 0n);
    assert.ok(sum > -4n && sum < 4n, `sum ${sum}`);
  });

  const withCommit = (blk: Block, lastCommit: Block['lastCommit']): Block => ({
    ...blk,
    lastCommit,
    header: { ...blk.header, lastCommitHash: lastCommitHash({ lastCommit }) },
  });

  it('verifyCommit accepts > 2/3 and rejects 2/3, duplicates, wrong round, non-members, bad signatures', async () => {
    const set = await readValidatorSet(a.state, 'previous');
    const parent = block.header.parentHash;
    const sigs = block.lastCommit.signatures;
    verifyCommit(set, CHAIN, 2n, 0, parent, sigs);
    verifyCommit(set, CHAIN, 2n, 0, parent, sigs.slice(0, 3)); // 3000 of 4000
    const fails = (s: typeof sigs, re: RegExp, round = 0, height = 2n) =>
      assert.throws(
        () => verifyCommit(set, CHAIN, height, round, parent, s),
        (e: Error) => e instanceof InvalidBlock && re.test(e.message),
      );
    fails(sigs.slice(0, 2), /hold 2000 of 4000 power, need > 2\/3/);
    fails([...sigs.slice(0, 3), sigs[0]!], /signed twice/);
    fails(sigs, /bad signature/, 1);
    fails(sigs, /bad signature/, 0, 3n);
    const stranger = new Uint8Array(32).fill(77);
    const strangerSig = {
      validator: validatorAddress(ed25519PublicKey(stranger)),
      signature: ed25519Sign(commitSignBytes(CHAIN, 2n, 0, parent), stranger),
    };
    fails([...sigs, strangerSig], /is not in the validator set/);
    fails([{ ...sigs[0]!, signature: sigs[1]!.signature }, ...sigs.slice(1)], /bad signature/);
    // A prevote for the same block is not a precommit.
    const [v0] = a.validators;
    const prevote = ed25519Sign(voteSignBytes(CHAIN, VOTE_PREVOTE, 2n, 0, parent), v0!.secretKey);
    assert.notEqual(
      bytesToHex(prevote),
      bytesToHex(ed25519Sign(voteSignBytes(CHAIN, VOTE_PRECOMMIT, 2n, 0, parent), v0!.secretKey)),
    );
  });

  it('executeBlock refuses blocks whose last commit is short, duplicated, of another round or forged', async () => {
    const sigs = block.lastCommit.signatures;
    const cases: [Block, RegExp][] = [
      [withCommit(block, { round: 0, signatures: sigs.slice(0, 2) }), /need > 2\/3/],
      [withCommit(block, { round: 0, signatures: [...sigs, sigs[2]!] }), /signed twice/],
      [withCommit(block, { round: 1, signatures: sigs }), /bad signature/],
      [
        { ...block, lastCommit: { round: 0, signatures: sigs.slice(0, 3) } },
        /last commit hash does not match/,
      ],
      [
        { ...block, header: { ...block.header, validatorSetHash: new Uint8Array(32) } },
        /validator set hash does not match/,
      ],
    ];
    for (const [bad, re] of cases) {
      await assert.rejects(
        importBlock(b, bad),
        (e: Error) => e instanceof InvalidBlock && re.test(e.message),
        re.source,
      );
    }
  });

  it('block 1 must carry an empty commit, and a valid block imports to the same root', async () => {
    const fresh = await createTestChain({ validators: 4 });
    const other = await createTestChain({ validators: 4 });
    try {
      const b1 = (await buildBlock(fresh, [])).block;
      const sig = ed25519Sign(new Uint8Array(1), other.validators[0]!.secretKey);
      await assert.rejects(
        importBlock(
          other,
          withCommit(b1, {
            round: 0,
            signatures: [{ validator: other.validators[0]!.address, signature: sig }],
          }),
        ),
        /block 1 must carry an empty last commit/,
      );
      await importBlock(other, b1);
      const b2 = (await buildBlock(fresh, [])).block;
      await importBlock(other, b2);
      assert.equal(bytesToHex(other.state.root), bytesToHex(fresh.state.root));
    } finally {
      await fresh.close();
      await other.close();
    }
  });
});

describe('genesis validators', () => {
  async function withState(fn: (s: StateTree) => Promise<void>) {
    const dir = await mkdtemp(join(tmpdir(), 'aivm-genesis-'));
    const db = await Database.open(join(dir, 'db'));
    try {
      await fn(await StateTree.open(db));
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
  const pub = bytesToHex(ed25519PublicKey(new Uint8Array(32).fill(5)));

  it('top-level validators are accepted without staking, refused with it, and staking must create one', async () => {
    const doc: GenesisDoc = {
      chainId: 7,
      genesisTimeMs: 1,
      validators: [{ pubKey: pub, power: 3 }],
      app: {},
    };
    await withState(async (s) => {
      const { header, validators } = await initGenesis(s, doc, new Registry([authModule, bankModule]));
      assert.equal(validators.length, 1);
      assert.equal(validators[0]!.power, 3n);
      assert.equal(bytesToHex(header.validatorSetHash), bytesToHex(validatorSetHash(validators)));
    });
    await withState(async (s) => {
      await assert.rejects(
        initGenesis(s, doc, new Registry(defaultModules())),
        /validators come from the staking section/,
      );
    });
    await withState(async (s) => {
      await assert.rejects(
        initGenesis(s, { ...doc, validators: undefined }, new Registry(defaultModules())),
        /the staking section creates no validator/,
      );
    });
  });
});
