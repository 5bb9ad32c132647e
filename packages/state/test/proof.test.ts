import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { bytesToHex, sha256 } from '@aivm/crypto';
import { EMPTY_ROOT, type StateProof, StateTree, UnknownRootError, verifyStateProof } from '../src/index.ts';
import * as proofModule from '../src/proof.ts';
import { b, commit, prng, randomBytes, type TempDb, tempDb } from './helpers.ts';

describe('state proofs', async () => {
  const t: TempDb = await tempDb();
  after(() => t.cleanup());
  let tree = await StateTree.open(t.db);

  const emptyProof = await tree.prove(b('anything'));
  const keys = Array.from({ length: 400 }, (_, i) => b(`acct/${i}`));
  await commit(
    tree,
    t.db,
    keys.map((key, i) => ({ key, value: b(`balance ${i}`) })),
    1n,
  );
  const root1 = tree.root;
  await commit(
    tree,
    t.db,
    [
      { key: keys[0]!, value: b('changed') },
      { key: keys[1]!, value: null },
      { key: b('late'), value: b('arrival') },
    ],
    2n,
  );
  const root2 = tree.root;

  test('the empty tree proves absence with no siblings', () => {
    assert.deepEqual(emptyProof, {
      key: bytesToHex(b('anything')),
      value: null,
      root: bytesToHex(EMPTY_ROOT),
      siblings: [],
    });
    assert.equal(verifyStateProof(emptyProof), true);
  });

  test('membership at the latest root', async () => {
    for (const i of [0, 2, 3, 150, 399]) {
      const p = await tree.prove(keys[i]!);
      assert.equal(p.root, bytesToHex(root2));
      assert.equal(p.value, bytesToHex(i === 0 ? b('changed') : b(`balance ${i}`)));
      assert.equal(p.leaf, undefined);
      assert.ok(p.siblings.length >= 8 && p.siblings.length < 40, `depth ${p.siblings.length}`);
      assert.equal(verifyStateProof(p), true);
    }
  });

  test('non-membership at the latest root, ending at another leaf or at an empty subtree', async () => {
    let endsAtLeaf = 0;
    let endsEmpty = 0;
    for (let i = 0; i < 200; i++) {
      const p = await tree.prove(b(`nobody/${i}`));
      assert.equal(p.value, null);
      assert.equal(verifyStateProof(p), true);
      if (p.leaf) {
        endsAtLeaf++;
        assert.notEqual(p.leaf.keyHash, bytesToHex(sha256(b(`nobody/${i}`))));
      } else endsEmpty++;
    }
    assert.ok(endsAtLeaf > 0 && endsEmpty > 0, `${endsAtLeaf} at a leaf, ${endsEmpty} empty`);
    const deleted = await tree.prove(keys[1]!);
    assert.equal(deleted.value, null);
    assert.equal(verifyStateProof(deleted), true);
  });

  test('proofs against an older root show the older values', async () => {
    const changed = await tree.prove(keys[0]!, root1);
    assert.equal(changed.root, bytesToHex(root1));
    assert.equal(changed.value, bytesToHex(b('balance 0')));
    assert.equal(verifyStateProof(changed), true);
    const deletedLater = await tree.prove(keys[1]!, root1);
    assert.equal(deletedLater.value, bytesToHex(b('balance 1')));
    assert.equal(verifyStateProof(deletedLater), true);
    const notYet = await tree.prove(b('late'), root1);
    assert.equal(notYet.value, null);
    assert.equal(verifyStateProof(notYet), true);
    const absentThen = await tree.prove(b('anything'), EMPTY_ROOT);
    assert.equal(verifyStateProof(absentThen), true);
  });

  test('older roots stay provable after a reopen (cold caches)', async () => {
    const db = await t.reopen();
    const cold = await StateTree.open(db);
    const p = await cold.prove(keys[0]!, root1);
    assert.equal(p.value, bytesToHex(b('balance 0')));
    assert.equal(verifyStateProof(p), true);
    const latest = await cold.prove(keys[0]!);
    assert.equal(latest.value, bytesToHex(b('changed')));
    assert.equal(verifyStateProof(latest), true);
    tree = cold;
  });

  test('an unknown root is refused', async () => {
    await assert.rejects(tree.prove(keys[0]!, new Uint8Array(32).fill(9)), UnknownRootError);
  });

  test('a single-leaf tree: the root is the leaf', async () => {
    const one = await tempDb();
    try {
      const small = await StateTree.open(one.db);
      await commit(small, one.db, [{ key: b('only'), value: b('me') }], 1n);
      const present = await small.prove(b('only'));
      assert.deepEqual(present.siblings, []);
      assert.equal(present.value, bytesToHex(b('me')));
      assert.equal(verifyStateProof(present), true);
      const absent = await small.prove(b('other'));
      assert.deepEqual(absent.siblings, []);
      assert.equal(absent.leaf?.keyHash, bytesToHex(sha256(b('only'))));
      assert.equal(verifyStateProof(absent), true);
      // Reopened: the root leaf's own record lets it be proven cold.
      const reopened = await StateTree.open(await one.reopen());
      assert.equal(verifyStateProof(await reopened.prove(b('only'))), true);
    } finally {
      await one.cleanup();
    }
  });

  test('tampering with any part of a proof makes it fail', async () => {
    const member = await tree.prove(keys[5]!);
    const absentAtLeaf = await findProof(tree, (p) => p.leaf !== undefined);
    const absentEmpty = await findProof(tree, (p) => p.value === null && p.leaf === undefined);
    const flip = (h: string): `0x${string}` => {
      const last = Number.parseInt(h.slice(-1), 16);
      return `${h.slice(0, -1)}${((last + 1) % 16).toString(16)}` as `0x${string}`;
    };
    for (const p of [member, absentAtLeaf, absentEmpty]) {
      assert.equal(verifyStateProof(p), true);
      const bad: StateProof[] = [
        { ...p, root: flip(p.root) },
        { ...p, key: bytesToHex(b('someone else')) },
        { ...p, siblings: p.siblings.map((s, i) => (i === 3 ? flip(s) : s)) },
        { ...p, siblings: p.siblings.slice(1) },
        { ...p, siblings: [...p.siblings, bytesToHex(EMPTY_ROOT)] },
        { ...p, root: bytesToHex(root1) },
        { ...p, value: p.value === null ? bytesToHex(b('invented')) : null },
        { ...p, siblings: ['0x1234'] },
        { ...p, key: '0x' },
      ];
      if (p.value !== null) bad.push({ ...p, value: flip(p.value) });
      if (p.leaf) {
        bad.push({ ...p, leaf: { ...p.leaf, valueHash: flip(p.leaf.valueHash) } });
        bad.push({ ...p, leaf: undefined });
        // Claiming the key's own path with its own hash as "another" leaf is refused.
        bad.push({ ...p, leaf: { ...p.leaf, keyHash: bytesToHex(sha256(keys[0]!)) } });
      } else if (p.value === null) {
        bad.push({
          ...p,
          leaf: { keyHash: bytesToHex(sha256(keys[5]!)), valueHash: bytesToHex(EMPTY_ROOT) },
        });
      }
      for (const [i, q] of bad.entries()) assert.equal(verifyStateProof(q), false, `tampered variant ${i}`);
    }
    // Malformed input of the wrong types is rejected, not thrown.
    assert.equal(verifyStateProof({ ...member, siblings: 'nope' } as unknown as StateProof), false);
    assert.equal(verifyStateProof({ ...member, root: 'zz' } as unknown as StateProof), false);
  });

  test('random keys: every proof verifies and matches the model', async () => {
    const rand = prng(3);
    for (let i = 0; i < 100; i++) {
      const key =
        rand() < 0.5
          ? keys[Math.floor(rand() * keys.length)]!
          : randomBytes(rand, 1 + Math.floor(rand() * 40));
      const p = await tree.prove(key);
      const expected = await tree.get(key);
      assert.equal(p.value, expected === undefined ? null : bytesToHex(expected));
      assert.equal(verifyStateProof(p), true);
    }
  });

  test('proof.ts is browser-safe: no node: imports, no Buffer', async () => {
    const { readFile } = await import('node:fs/promises');
    const src = await readFile(new URL('../src/proof.ts', import.meta.url), 'utf8');
    assert.doesNotMatch(src, /from ['"]node:/);
    assert.doesNotMatch(src, /\bBuffer\b/);
    assert.equal(typeof proofModule.verifyStateProof, 'function');
    const viaSubpath = await import('@aivm/state/proof');
    assert.equal(viaSubpath.verifyStateProof, proofModule.verifyStateProof);
  });
});

async function findProof(tree: StateTree, want: (p: StateProof) => boolean): Promise<StateProof> {
  for (let i = 0; ; i++) {
    const p = await tree.prove(b(`probe/${i}`));
    if (want(p)) return p;
  }
}
