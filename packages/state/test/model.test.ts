// Randomized model test: the tree against a plain Map over many blocks of puts, overwrites and deletes, with reopens,
// tiny caches (so nodes and values keep coming back from LevelDB) and proofs against older roots.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesToHex } from '@aivm/crypto';
import { StaleStagedStateError, type StateChange, StateTree, verifyStateProof } from '../src/index.ts';
import { b, commit, prng, randomBytes, referenceRoot, tempDb } from './helpers.ts';

for (const [name, opts] of [
  ['default caches', {}],
  ['tiny caches', { nodeCacheSize: 4, valueCacheSize: 4 }],
] as const) {
  test(`matches a Map over many random blocks (${name})`, async () => {
    const t = await tempDb();
    try {
      const rand = prng(name.length * 7919);
      const keySpace = Array.from({ length: 400 }, (_, i) =>
        i % 5 === 0 ? randomBytes(rand, 1 + (i % 64)) : b(`k/${i}`),
      );
      const model = new Map<string, Uint8Array>();
      const history: { root: Uint8Array; snapshot: Map<string, Uint8Array> }[] = [];
      let tree = await StateTree.open(t.db, opts);

      for (let height = 1n; height <= 60n; height++) {
        const changes: StateChange[] = [];
        const n = Math.floor(rand() * 90);
        for (let i = 0; i < n; i++) {
          const key = keySpace[Math.floor(rand() * keySpace.length)]!;
          // Deletes get likelier as the state fills up, so it keeps growing and shrinking.
          const value = rand() < 0.15 + model.size / 800 ? null : randomBytes(rand, Math.floor(rand() * 48));
          changes.push({ key, value });
        }
        await commit(tree, t.db, changes, height);
        for (const c of changes) {
          if (c.value === null) model.delete(bytesToHex(c.key));
          else model.set(bytesToHex(c.key), c.value);
        }
        history.push({ root: tree.root, snapshot: new Map(model) });

        if (height % 15n === 0n) tree = await StateTree.open(await t.reopen(), opts);
        assert.equal(tree.version, height);

        // Every key of the key space reads as the model says.
        for (const key of keySpace) assert.deepEqual(await tree.get(key), model.get(bytesToHex(key)));
        if (height % 10n === 0n) {
          const pairs = [...model].map(([k, v]): [Uint8Array, Uint8Array] => [hexBytes(k), v]);
          assert.deepEqual(tree.root, referenceRoot(pairs));
        }

        // Proofs of a few keys against a random earlier root agree with that block's model.
        for (let i = 0; i < 5; i++) {
          const past = history[Math.floor(rand() * history.length)]!;
          const key = keySpace[Math.floor(rand() * keySpace.length)]!;
          const p = await tree.prove(key, past.root);
          const expected = past.snapshot.get(bytesToHex(key));
          assert.equal(p.value, expected === undefined ? null : bytesToHex(expected));
          assert.equal(verifyStateProof(p), true);
        }
      }
      assert.ok(model.size > 50, `state size ${model.size}`);
    } finally {
      await t.cleanup();
    }
  });
}

test('proofs and stages running while blocks commit stay correct (tiny node cache, slots reused constantly)', async () => {
  const t = await tempDb();
  try {
    const rand = prng(5);
    const keys = Array.from({ length: 300 }, (_, i) => b(`c/${i}`));
    const tree = await StateTree.open(t.db, { nodeCacheSize: 16, valueCacheSize: 4 });
    const model = new Map<string, Uint8Array>();
    const history: { root: Uint8Array; snapshot: Map<string, Uint8Array> }[] = [];
    const randomBlock = (): StateChange[] =>
      Array.from({ length: 60 }, () => ({
        key: keys[Math.floor(rand() * keys.length)]!,
        value: rand() < 0.2 ? null : randomBytes(rand, 1 + Math.floor(rand() * 30)),
      }));
    const applyToModel = (m: Map<string, Uint8Array>, changes: StateChange[]): void => {
      for (const c of changes) {
        if (c.value === null) m.delete(bytesToHex(c.key));
        else m.set(bytesToHex(c.key), c.value);
      }
    };

    const genesis = keys.map((key, i) => ({ key, value: b(`v${i}`) }));
    await commit(tree, t.db, genesis, 1n);
    applyToModel(model, genesis);
    history.push({ root: tree.root, snapshot: new Map(model) });

    for (let height = 2n; height <= 12n; height++) {
      const changes = randomBlock();
      const rival = randomBlock();
      // Proofs against random earlier roots, and a rival stage on the same base, all in flight during the commit.
      const proofs = Array.from({ length: 25 }, () => {
        const past = history[Math.floor(rand() * history.length)]!;
        const key = keys[Math.floor(rand() * keys.length)]!;
        return tree.prove(key, past.root).then((p) => ({ p, past, key }));
      });
      const rivalStaged = tree.stage(rival, height);
      await commit(tree, t.db, changes, height);
      applyToModel(model, changes);
      history.push({ root: tree.root, snapshot: new Map(model) });

      for (const { p, past, key } of await Promise.all(proofs)) {
        const expected = past.snapshot.get(bytesToHex(key));
        assert.equal(p.value, expected === undefined ? null : bytesToHex(expected));
        assert.equal(verifyStateProof(p), true);
      }
      // The rival was computed on the previous root and is exactly that root plus its own changes.
      const rivalModel = new Map(history[history.length - 2]!.snapshot);
      applyToModel(rivalModel, rival);
      const staged = await rivalStaged;
      assert.deepEqual(
        staged.root,
        referenceRoot([...rivalModel].map(([k, v]): [Uint8Array, Uint8Array] => [hexBytes(k), v])),
      );
      assert.throws(() => tree.applyStaged(staged), StaleStagedStateError);
    }
    assert.deepEqual(
      tree.root,
      referenceRoot([...model].map(([k, v]): [Uint8Array, Uint8Array] => [hexBytes(k), v])),
    );
  } finally {
    await t.cleanup();
  }
});

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.slice(2).match(/../g) ?? [], (x) => Number.parseInt(x, 16));
}
