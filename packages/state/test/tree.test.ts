import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bytesToHex, sha256 } from '@aivm/crypto';
import {
  EMPTY_ROOT,
  EmptyKeyError,
  KeyTooLargeError,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  STATE_KEY_PREFIXES,
  StaleStagedStateError,
  StateTree,
  StateVersionError,
  ValueTooLargeError,
} from '../src/index.ts';
import { b, commit, prng, randomBytes, referenceRoot, type TempDb, tempDb } from './helpers.ts';

const entries = (n: number, tag = 'v'): [Uint8Array, Uint8Array][] =>
  Array.from({ length: n }, (_, i) => [b(`account/${i}`), b(`${tag}${i}`)]);

describe('StateTree', () => {
  let dbs: TempDb[] = [];
  const fresh = async (): Promise<TempDb> => {
    const t = await tempDb();
    dbs.push(t);
    return t;
  };
  before(() => {
    dbs = [];
  });
  after(async () => {
    for (const t of dbs) await t.cleanup();
  });

  test('a fresh tree has the empty root at version 0', async () => {
    const t = await fresh();
    const tree = await StateTree.open(t.db);
    assert.deepEqual(tree.root, EMPTY_ROOT);
    assert.equal(tree.version, 0n);
    assert.equal(await tree.get(b('missing')), undefined);
  });

  test('root matches the reference definition for 0, 1, 2 and many keys', async () => {
    for (const n of [0, 1, 2, 3, 17, 300, 2000]) {
      const t = await fresh();
      const tree = await StateTree.open(t.db);
      const kv = entries(n);
      const staged = await tree.stage(
        kv.map(([key, value]) => ({ key, value })),
        1n,
      );
      assert.equal(bytesToHex(staged.root), bytesToHex(referenceRoot(kv)), `n=${n}`);
    }
  });

  test('root depends only on the set of pairs: order and batching do not matter', async () => {
    const kv = entries(500);
    const rand = prng(7);
    const shuffled = [...kv];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }

    const one = await fresh();
    const t1 = await StateTree.open(one.db);
    await commit(
      t1,
      one.db,
      kv.map(([key, value]) => ({ key, value })),
      1n,
    );

    const many = await fresh();
    const t2 = await StateTree.open(many.db);
    let version = 1n;
    for (let i = 0; i < shuffled.length; i += 37) {
      const chunk = shuffled.slice(i, i + 37).map(([key, value]) => ({ key, value }));
      await commit(t2, many.db, chunk, version++);
    }

    assert.deepEqual(t2.root, t1.root);
    assert.deepEqual(t1.root, referenceRoot(kv));
    // Overwrites and deletes on the way to the same set give the same root too.
    const three = await fresh();
    const t3 = await StateTree.open(three.db);
    await commit(
      t3,
      three.db,
      entries(600, 'old').map(([key, value]) => ({ key, value })),
      1n,
    );
    await commit(
      t3,
      three.db,
      [
        ...entries(500).map(([key, value]) => ({ key, value })),
        ...entries(600)
          .slice(500)
          .map(([key]) => ({ key, value: null })),
      ],
      2n,
    );
    assert.deepEqual(t3.root, t1.root);
  });

  test('deleting what was inserted restores the earlier root, down to the empty root', async () => {
    const t = await fresh();
    const tree = await StateTree.open(t.db);
    const base = entries(200);
    await commit(
      tree,
      t.db,
      base.map(([key, value]) => ({ key, value })),
      1n,
    );
    const baseRoot = tree.root;

    const extra = Array.from({ length: 50 }, (_, i) => ({ key: b(`extra/${i}`), value: b(`x${i}`) }));
    await commit(tree, t.db, extra, 2n);
    assert.notDeepEqual(tree.root, baseRoot);
    await commit(
      tree,
      t.db,
      extra.map(({ key }) => ({ key, value: null })),
      3n,
    );
    assert.deepEqual(tree.root, baseRoot);

    // One at a time, in a different order, all the way down.
    for (let i = base.length - 1; i >= 0; i--) {
      await commit(tree, t.db, [{ key: base[i]![0], value: null }], BigInt(4 + base.length - i));
      if (i === 1) assert.deepEqual(tree.root, referenceRoot([base[0]!]));
      if (i === 1) assert.deepEqual(tree.root, sha256Leaf(base[0]![0], base[0]![1]));
    }
    assert.deepEqual(tree.root, EMPTY_ROOT);
    assert.equal(await tree.get(base[0]![0]), undefined);
  });

  test('get sees committed values, after reopening the database too', async () => {
    const t = await fresh();
    let tree = await StateTree.open(t.db);
    await commit(
      tree,
      t.db,
      [
        { key: b('a'), value: b('1') },
        { key: b('b'), value: b('2') },
        { key: b('empty'), value: new Uint8Array(0) },
      ],
      1n,
    );
    await commit(
      tree,
      t.db,
      [
        { key: b('a'), value: b('one') },
        { key: b('b'), value: null },
      ],
      2n,
    );
    assert.deepEqual(await tree.get(b('a')), b('one'));
    assert.equal(await tree.get(b('b')), undefined);
    assert.deepEqual(await tree.get(b('empty')), new Uint8Array(0));
    const root = tree.root;

    const db = await t.reopen();
    tree = await StateTree.open(db);
    assert.equal(tree.version, 2n);
    assert.deepEqual(tree.root, root);
    assert.deepEqual(await tree.get(b('a')), b('one'));
    assert.equal(await tree.get(b('b')), undefined);
    assert.deepEqual(await tree.get(b('empty')), new Uint8Array(0));
    // And the reopened tree keeps building on the same root.
    await commit(tree, db, [{ key: b('c'), value: b('3') }], 3n);
    assert.deepEqual(
      tree.root,
      referenceRoot([
        [b('a'), b('one')],
        [b('empty'), new Uint8Array(0)],
        [b('c'), b('3')],
      ]),
    );
  });

  test('later changes to the same key in one stage win', async () => {
    const t = await fresh();
    const tree = await StateTree.open(t.db);
    await commit(
      tree,
      t.db,
      [
        { key: b('k'), value: b('first') },
        { key: b('k'), value: null },
        { key: b('k'), value: b('last') },
        { key: b('gone'), value: b('x') },
        { key: b('gone'), value: null },
      ],
      1n,
    );
    assert.deepEqual(await tree.get(b('k')), b('last'));
    assert.equal(await tree.get(b('gone')), undefined);
    assert.deepEqual(tree.root, referenceRoot([[b('k'), b('last')]]));
  });

  test('stage does not move the committed view; rewriting equal values leaves the root', async () => {
    const t = await fresh();
    const tree = await StateTree.open(t.db);
    await commit(tree, t.db, [{ key: b('a'), value: b('1') }], 1n);
    const root = tree.root;
    const staged = await tree.stage([{ key: b('a'), value: b('2') }], 2n);
    assert.notDeepEqual(staged.root, root);
    assert.deepEqual(tree.root, root);
    assert.equal(tree.version, 1n);
    assert.deepEqual(await tree.get(b('a')), b('1'));

    const same = await tree.stage(
      [
        { key: b('a'), value: b('1') },
        { key: b('absent'), value: null },
      ],
      2n,
    );
    assert.deepEqual(same.root, root);
    // Only the head record: nothing else changed.
    assert.equal(same.ops.length, 1);
  });

  test('stage copies its inputs: mutating a value afterwards changes nothing', async () => {
    const t = await fresh();
    const tree = await StateTree.open(t.db);
    const value = b('original');
    const staged = await tree.stage([{ key: b('k'), value }], 1n);
    value.fill(0);
    await t.db.write(staged.ops);
    tree.applyStaged(staged);
    assert.deepEqual(await tree.get(b('k')), b('original'));
    assert.deepEqual(tree.root, referenceRoot([[b('k'), b('original')]]));
    const got = (await tree.get(b('k')))!;
    got.fill(0);
    assert.deepEqual(await tree.get(b('k')), b('original'));
  });

  test('versions must increase, and a staged state applies only on the root it was staged on', async () => {
    const t = await fresh();
    const tree = await StateTree.open(t.db);
    await commit(tree, t.db, [{ key: b('a'), value: b('1') }], 0n); // genesis at height 0
    assert.equal(tree.version, 0n);
    await assert.rejects(tree.stage([], 0n), StateVersionError);
    const s1 = await tree.stage([{ key: b('b'), value: b('1') }], 1n);
    const s2 = await tree.stage([{ key: b('c'), value: b('1') }], 1n);
    await t.db.write(s1.ops);
    tree.applyStaged(s1);
    assert.throws(() => tree.applyStaged(s2), StaleStagedStateError);
    assert.throws(() => tree.applyStaged(s1), StaleStagedStateError);
    assert.throws(() => tree.applyStaged({ ...s1 }), StaleStagedStateError);
    assert.equal(tree.version, 1n);
    assert.equal(await tree.get(b('c')), undefined);
  });

  test('crash safety: what was written survives a reopen, what was only staged does not', async () => {
    const t = await fresh();
    const tree = await StateTree.open(t.db);
    await commit(
      tree,
      t.db,
      entries(100).map(([key, value]) => ({ key, value })),
      1n,
    );

    // Block 2 is written (with the caller's own record in the same batch) but the process dies before applyStaged.
    const s2 = await tree.stage(
      [
        { key: b('account/1'), value: b('changed') },
        { key: b('account/2'), value: null },
        { key: b('new'), value: b('n') },
      ],
      2n,
    );
    await t.db.write([...s2.ops, { type: 'put', key: b('block/2'), value: b('header') }]);
    // Block 3 is staged but never written.
    const s3 = await tree.stage([{ key: b('never'), value: b('x') }], 3n);
    assert.equal(tree.version, 1n);

    const db = await t.reopen();
    const reopened = await StateTree.open(db);
    assert.equal(reopened.version, 2n);
    assert.deepEqual(reopened.root, s2.root);
    assert.notDeepEqual(reopened.root, s3.root);
    assert.deepEqual(await reopened.get(b('account/1')), b('changed'));
    assert.equal(await reopened.get(b('account/2')), undefined);
    assert.deepEqual(await reopened.get(b('new')), b('n'));
    assert.equal(await reopened.get(b('never')), undefined);
    assert.deepEqual(await db.get(b('block/2')), b('header'));
    const expected = new Map(entries(100).map(([k, v]) => [bytesToHex(k), v]));
    expected.set(bytesToHex(b('account/1')), b('changed'));
    expected.delete(bytesToHex(b('account/2')));
    expected.set(bytesToHex(b('new')), b('n'));
    assert.deepEqual(
      reopened.root,
      referenceRoot(
        [...expected].map(([k, v]) => [Buffer.from(k.slice(2), 'hex'), v] as [Uint8Array, Uint8Array]),
      ),
    );
  });

  test('only reserved prefixes are written', async () => {
    const t = await fresh();
    const tree = await StateTree.open(t.db);
    const staged = await tree.stage(
      entries(50).map(([key, value]) => ({ key, value })),
      1n,
    );
    const prefixes = new Set(staged.ops.map((op) => new TextDecoder().decode(op.key.subarray(0, 2))));
    assert.deepEqual([...prefixes].sort(), Object.values(STATE_KEY_PREFIXES).sort());
  });

  test('size limits are enforced with typed errors', async () => {
    const t = await fresh();
    const tree = await StateTree.open(t.db);
    const big = new Uint8Array(MAX_KEY_BYTES + 1);
    const maxKey = new Uint8Array(MAX_KEY_BYTES).fill(1);
    const maxValue = new Uint8Array(MAX_VALUE_BYTES).fill(2);

    await assert.rejects(tree.stage([{ key: big, value: b('v') }], 1n), (e: unknown) => {
      assert.ok(e instanceof KeyTooLargeError);
      assert.equal(e.sizeBytes, MAX_KEY_BYTES + 1);
      assert.equal(e.limitBytes, 256);
      return true;
    });
    await assert.rejects(
      tree.stage([{ key: b('k'), value: new Uint8Array(MAX_VALUE_BYTES + 1) }], 1n),
      (e: unknown) => e instanceof ValueTooLargeError && e.sizeBytes === MAX_VALUE_BYTES + 1,
    );
    await assert.rejects(tree.stage([{ key: new Uint8Array(0), value: b('v') }], 1n), EmptyKeyError);
    await assert.rejects(tree.get(big), KeyTooLargeError);
    await assert.rejects(tree.prove(big), KeyTooLargeError);

    // The limits themselves are accepted.
    await commit(tree, t.db, [{ key: maxKey, value: maxValue }], 1n);
    assert.deepEqual(await tree.get(maxKey), maxValue);
    assert.deepEqual(tree.root, referenceRoot([[maxKey, maxValue]]));
  });

  test('keys whose paths share long prefixes', async () => {
    // Brute-force keys whose sha256 paths share their first 16 bits with the first key's path.
    const rand = prng(99);
    const first = randomBytes(rand, 8);
    const target = sha256(first);
    const close: Uint8Array[] = [first];
    while (close.length < 4) {
      const k = randomBytes(rand, 8);
      const h = sha256(k);
      if (h[0] === target[0] && h[1] === target[1]) close.push(k);
    }
    const t = await fresh();
    const tree = await StateTree.open(t.db);
    const kv = close.map((k, i): [Uint8Array, Uint8Array] => [k, b(`v${i}`)]);
    await commit(
      tree,
      t.db,
      kv.map(([key, value]) => ({ key, value })),
      1n,
    );
    assert.deepEqual(tree.root, referenceRoot(kv));
    await commit(tree, t.db, [{ key: close[1]!, value: null }], 2n);
    assert.deepEqual(tree.root, referenceRoot(kv.filter((_, i) => i !== 1)));
    await commit(
      tree,
      t.db,
      close.slice(2).map((key) => ({ key, value: null })),
      3n,
    );
    assert.deepEqual(tree.root, referenceRoot([kv[0]!]));
  });
});

function sha256Leaf(key: Uint8Array, value: Uint8Array): Uint8Array {
  return referenceRoot([[key, value]]);
}
