import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelId } from '@aivm/runtime';
import { Database } from '@aivm/state';
import { seededBytes as randomBytes } from '../../../test-support/seeded-bytes.ts';
import {
  BLOB_ID_LENGTH,
  BlobArgumentError,
  BlobCorruptError,
  BlobError,
  BlobIncompleteError,
  BlobNotFoundError,
  BlobStore,
  type BlobStoreOptions,
  BlobTooLargeError,
  BlobUploadClosedError,
  blobId,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_MAX_BLOB_BYTES,
  InvalidBlobIdError,
} from '../src/index.ts';
import { chunkKey } from '../src/layout.ts';

const CHUNK = 1024;

const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};

type Temp = { dir: string; store: BlobStore; reopen(opts?: BlobStoreOptions): Promise<BlobStore> };

async function withStore(opts: BlobStoreOptions, fn: (t: Temp) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'aivm-blobs-'));
  const t: Temp = {
    dir,
    store: await BlobStore.open(dir, opts),
    async reopen(o = opts) {
      await t.store.close();
      t.store = await BlobStore.open(dir, o);
      return t.store;
    },
  };
  try {
    await fn(t);
  } finally {
    await t.store.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

/** Closes the store, runs `fn` on the raw LevelDB, reopens the store. */
async function rawDb<T>(t: Temp, fn: (db: Database) => Promise<T>): Promise<T> {
  await t.store.close();
  const db = await Database.open(t.dir);
  try {
    return await fn(db);
  } finally {
    await db.close();
    t.store = await BlobStore.open(t.dir, {
      chunkBytes: t.store.chunkBytes,
      maxBlobBytes: t.store.maxBlobBytes,
    });
  }
}

/** Counts stored chunk ('c') and manifest ('m') entries. */
async function counts(t: Temp): Promise<{ chunks: number; manifests: number; other: number }> {
  return rawDb(t, async (db) => {
    const c = { chunks: 0, manifests: 0, other: 0 };
    for await (const [k] of db.iterate()) {
      if (k[0] === 0x63 && k.length === 33) c.chunks++;
      else if (k[0] === 0x6d && k.length === 33) c.manifests++;
      else c.other++;
    }
    return c;
  });
}

async function checkRoundTrip(store: BlobStore, bytes: Uint8Array, chunkBytes: number): Promise<void> {
  const want = Math.ceil(bytes.length / chunkBytes);
  const r = await store.put(bytes);
  assert.equal(r.id, modelId(bytes));
  assert.equal(r.id, blobId(bytes));
  assert.equal(r.id.length, BLOB_ID_LENGTH);
  assert.equal(r.size, bytes.length);
  assert.equal(r.chunks, want);
  assert.equal(await store.has(r.id), true);
  assert.deepEqual(await store.get(r.id), bytes);
  const slices = Array.from({ length: want }, (_, i) => bytes.slice(i * chunkBytes, (i + 1) * chunkBytes));
  assert.deepEqual(await store.stat(r.id), {
    size: bytes.length,
    chunks: want,
    chunkBytes,
    chunkHashes: slices.map(hex),
  });
  for (let i = 0; i < want; i++) assert.deepEqual(await store.getChunk(r.id, i), slices[i]);
}

test('round trip: empty, 1 byte, one exact chunk, multi-chunk, random; id = modelId', async () => {
  await withStore({ chunkBytes: CHUNK }, async (t) => {
    assert.equal(t.store.chunkBytes, CHUNK);
    assert.equal(t.store.maxBlobBytes, DEFAULT_MAX_BLOB_BYTES);
    await checkRoundTrip(t.store, new Uint8Array(0), CHUNK);
    await checkRoundTrip(t.store, Uint8Array.of(7), CHUNK);
    await checkRoundTrip(t.store, randomBytes(CHUNK, 1), CHUNK);
    await checkRoundTrip(t.store, randomBytes(3 * CHUNK + 17, 2), CHUNK);
    await checkRoundTrip(t.store, randomBytes(4 * CHUNK, 3), CHUNK);
    for (let seed = 10; seed < 15; seed++)
      await checkRoundTrip(t.store, randomBytes(seed * 977, seed), CHUNK);
    // The empty blob's id is the CID of sha256("").
    assert.equal(blobId(new Uint8Array(0)), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
  });
  await withStore({}, async (t) => {
    assert.equal(t.store.chunkBytes, DEFAULT_CHUNK_BYTES);
    const big = randomBytes(4 * DEFAULT_CHUNK_BYTES + 3, 99);
    await checkRoundTrip(t.store, big, DEFAULT_CHUNK_BYTES);
    assert.deepEqual(await counts(t), { chunks: 5, manifests: 1, other: 0 });
  });
});

test('put copies its input: mutating the buffer afterwards changes nothing stored', async () => {
  await withStore({ chunkBytes: CHUNK }, async (t) => {
    const bytes = randomBytes(2 * CHUNK, 5);
    const original = bytes.slice();
    const pending = t.store.put(bytes);
    bytes.fill(0);
    const r = await pending;
    assert.equal(r.id, modelId(original));
    assert.deepEqual(await t.store.get(r.id), original);
  });
});

test('dedupe: same blob twice, and blobs sharing chunks, store each chunk once', async () => {
  await withStore({ chunkBytes: CHUNK }, async (t) => {
    const [c0, c1, c2, c3] = [1, 2, 3, 4].map((s) => randomBytes(CHUNK, s)) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const a = concat(c0, c1, c2);
    const r1 = await t.store.put(a);
    const r2 = await t.store.put(a);
    assert.deepEqual(r2, r1);
    assert.deepEqual(await counts(t), { chunks: 3, manifests: 1, other: 0 });

    const b = concat(c0, c1, c3);
    const rb = await t.store.put(b);
    assert.notEqual(rb.id, r1.id);
    const rep = concat(c2, c2, c2, c0.subarray(0, 5));
    const rr = await t.store.put(rep);
    assert.equal(rr.chunks, 4);
    // distinct chunks: c0, c1, c2, c3, and the 5-byte tail
    assert.deepEqual(await counts(t), { chunks: 5, manifests: 3, other: 0 });
    assert.deepEqual(await t.store.get(r1.id), a);
    assert.deepEqual(await t.store.get(rb.id), b);
    assert.deepEqual(await t.store.get(rr.id), rep);
    assert.deepEqual((await t.store.stat(rr.id))?.chunkHashes, [
      hex(c2),
      hex(c2),
      hex(c2),
      hex(c0.subarray(0, 5)),
    ]);
  });
});

test('delete frees a blob and the chunks no other blob shares; list names what is stored', async () => {
  await withStore({ chunkBytes: CHUNK }, async (t) => {
    const [c0, c1, c2, c3] = [1, 2, 3, 4].map((s) => randomBytes(CHUNK, s)) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const a = await t.store.put(concat(c0, c1, c2));
    const b = await t.store.put(concat(c0, c3));
    assert.deepEqual((await t.store.list()).sort(), [a.id, b.id].sort());
    assert.equal(await t.store.delete(a.id), 3 * CHUNK);
    assert.equal(await t.store.has(a.id), false);
    await assert.rejects(t.store.get(a.id), BlobNotFoundError);
    assert.deepEqual(await t.store.list(), [b.id]);
    // c1 and c2 went with a; c0 stays for b, which still reads back whole.
    assert.deepEqual(await counts(t), { chunks: 2, manifests: 1, other: 0 });
    assert.deepEqual(await t.store.get(b.id), concat(c0, c3));
    assert.equal(await t.store.delete(a.id), 0, 'deleting what is not stored frees nothing');
    // A delete racing a put of a blob that shares its chunks never leaves the put's blob broken.
    const again = concat(c0, c3, c1);
    const [freed, put] = await Promise.all([t.store.delete(b.id), t.store.put(again)]);
    assert.equal(freed, 2 * CHUNK);
    assert.deepEqual(await t.store.get(put.id), again);
    assert.deepEqual(await t.store.list(), [put.id]);
    assert.deepEqual(await counts(t), { chunks: 3, manifests: 1, other: 0 });
  });
});

test('corruption in the DB is detected; put again repairs', async () => {
  await withStore({ chunkBytes: CHUNK }, async (t) => {
    const bytes = randomBytes(3 * CHUNK + 10, 7);
    const { id } = await t.store.put(bytes);
    const h1 = sha(bytes.subarray(CHUNK, 2 * CHUNK));
    const bad = bytes.slice(CHUNK, 2 * CHUNK);
    bad[100]! ^= 1;
    await rawDb(t, (db) => db.write([{ type: 'put', key: chunkKey(h1), value: bad }]));
    await assert.rejects(t.store.get(id), (e: unknown) => e instanceof BlobCorruptError && e.id === id);
    await assert.rejects(t.store.getChunk(id, 1), BlobCorruptError);
    assert.deepEqual(await t.store.getChunk(id, 0), bytes.subarray(0, CHUNK));
    assert.deepEqual(await t.store.getChunk(id, 3), bytes.subarray(3 * CHUNK));

    // truncated chunk, then a deleted chunk
    await rawDb(t, (db) => db.write([{ type: 'put', key: chunkKey(h1), value: bad.subarray(0, 10) }]));
    await assert.rejects(t.store.get(id), BlobCorruptError);
    await rawDb(t, (db) => db.write([{ type: 'del', key: chunkKey(h1) }]));
    await assert.rejects(t.store.get(id), /chunk 1 is missing/);

    // put repairs the damaged chunk
    assert.deepEqual(await t.store.put(bytes), { id, size: bytes.length, chunks: 4 });
    assert.deepEqual(await t.store.get(id), bytes);

    // a garbled manifest is reported as corrupt too
    const mkey = new Uint8Array(33);
    mkey[0] = 0x6d;
    mkey.set(sha(bytes), 1);
    await rawDb(t, (db) => db.write([{ type: 'put', key: mkey, value: Uint8Array.of(1, 2, 3) }]));
    await assert.rejects(t.store.get(id), BlobCorruptError);
    await assert.rejects(t.store.stat(id), BlobCorruptError);
  });
});

test('size limit: over maxBlobBytes is refused before anything is stored', async () => {
  await withStore({ chunkBytes: CHUNK, maxBlobBytes: 5000 }, async (t) => {
    const ok = randomBytes(5000, 8);
    assert.equal((await t.store.put(ok)).size, 5000);
    const big = randomBytes(5001, 9);
    await assert.rejects(
      t.store.put(big),
      (e: unknown) => e instanceof BlobTooLargeError && e.size === 5001 && e.maxBytes === 5000,
    );
    assert.equal(await t.store.has(blobId(big)), false);
    assert.throws(() => t.store.receive(blobId(big), 5001), BlobTooLargeError);
    assert.deepEqual(await counts(t), { chunks: 5, manifests: 1, other: 0 });
  });
});

test('receive: out of order, missing chunk, wrong chunk, then correct', async () => {
  await withStore({ chunkBytes: CHUNK }, async (t) => {
    const bytes = randomBytes(4 * CHUNK + 100, 11);
    const id = modelId(bytes);
    const part = (i: number) => bytes.slice(i * CHUNK, Math.min((i + 1) * CHUNK, bytes.length));
    const up = t.store.receive(id, bytes.length);
    assert.equal(up.chunks, 5);
    assert.deepEqual(up.missing(), [0, 1, 2, 3, 4]);
    for (const i of [4, 2, 0, 3]) up.addChunk(i, part(i));
    assert.equal(up.received, 4);
    assert.deepEqual(up.missing(), [1]);

    // bounds and lengths
    for (const i of [-1, 5, 1.5, Number.NaN]) assert.throws(() => up.addChunk(i, part(1)), BlobArgumentError);
    assert.throws(() => up.addChunk(1, part(4)), /chunk 1 has 100 bytes, want 1024/);
    assert.throws(() => up.addChunk(4, part(1)), /chunk 4 has 1024 bytes, want 100/);

    await assert.rejects(
      up.finish(),
      (e: unknown) => e instanceof BlobIncompleteError && e.missing.join() === '1',
    );
    assert.equal(await t.store.has(id), false);

    const wrong = part(1);
    wrong[0]! ^= 0xff;
    up.addChunk(1, wrong);
    assert.deepEqual(up.missing(), []);
    await assert.rejects(up.finish(), BlobCorruptError);
    assert.equal(await t.store.has(id), false);
    assert.deepEqual(await counts(t), { chunks: 0, manifests: 0, other: 0 });

    // counts() reopened the store; a fresh upload of the correct chunks, out of order, commits
    const up2 = t.store.receive(id, bytes.length);
    for (const i of [3, 1, 4, 0, 2]) up2.addChunk(i, part(i));
    up2.addChunk(1, wrong);
    await assert.rejects(up2.finish(), BlobCorruptError);
    up2.addChunk(1, part(1)); // replacing the wrong chunk
    assert.equal(up2.received, 5);
    await up2.finish();
    assert.deepEqual(await t.store.get(id), bytes);
    assert.equal((await t.store.stat(id))?.chunks, 5);
    assert.throws(() => up2.addChunk(0, part(0)), BlobUploadClosedError);
    await assert.rejects(up2.finish(), BlobUploadClosedError);

    // content of another blob under this id is refused
    const other = randomBytes(100, 12);
    const up3 = t.store.receive(modelId(randomBytes(100, 13)), 100);
    up3.addChunk(0, other);
    await assert.rejects(up3.finish(), BlobCorruptError);
    assert.equal(await t.store.has(blobId(other)), false);

    // the empty blob needs no chunks
    const empty = t.store.receive(modelId(new Uint8Array(0)), 0);
    assert.deepEqual(empty.missing(), []);
    await empty.finish();
    assert.deepEqual(await t.store.get(modelId(new Uint8Array(0))), new Uint8Array(0));
  });
});

test('replication: receive with the source chunk size and hashes checks each chunk on arrival', async () => {
  await withStore({ chunkBytes: CHUNK }, async (src) => {
    await withStore({ chunkBytes: 4096 }, async (dst) => {
      const bytes = randomBytes(3 * CHUNK + 1, 21);
      const { id } = await src.store.put(bytes);
      const st = (await src.store.stat(id))!;
      const up = dst.store.receive(id, st.size, { chunkBytes: st.chunkBytes, chunkHashes: st.chunkHashes });
      assert.equal(up.chunks, 4);
      const bad = (await src.store.getChunk(id, 2)).slice();
      bad[3]! ^= 1;
      assert.throws(() => up.addChunk(2, bad), BlobCorruptError);
      assert.deepEqual(up.missing(), [0, 1, 2, 3]);
      for (const i of [3, 2, 1, 0]) up.addChunk(i, await src.store.getChunk(id, i));
      await up.finish();
      assert.deepEqual(await dst.store.get(id), bytes);
      assert.deepEqual(await dst.store.stat(id), st);
      assert.throws(
        () => dst.store.receive(id, st.size, { chunkBytes: CHUNK, chunkHashes: st.chunkHashes.slice(1) }),
        BlobArgumentError,
      );
      assert.throws(
        () => dst.store.receive(id, st.size, { chunkBytes: CHUNK, chunkHashes: ['zz', 'a', 'b', 'c'] }),
        BlobArgumentError,
      );
    });
  });
});

test('arguments are validated with typed errors', async () => {
  await withStore({ chunkBytes: CHUNK }, async (t) => {
    const bytes = randomBytes(2 * CHUNK, 31);
    const id = modelId(bytes);
    const last = id[id.length - 1]!;
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    const nonCanonical = id.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
    const bad: unknown[] = [
      '',
      'hello',
      id.toUpperCase(),
      'B' + id.slice(1),
      id.slice(0, -1),
      id + 'a',
      nonCanonical,
      'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', // CIDv1 dag-pb, not raw
      42,
      undefined,
    ];
    for (const b of bad) {
      const s = b as string;
      await assert.rejects(t.store.get(s), InvalidBlobIdError, String(b));
      await assert.rejects(t.store.has(s), InvalidBlobIdError);
      await assert.rejects(t.store.stat(s), InvalidBlobIdError);
      await assert.rejects(t.store.getChunk(s, 0), InvalidBlobIdError);
      assert.throws(() => t.store.receive(s, 1), InvalidBlobIdError);
    }
    assert.ok(new InvalidBlobIdError('x', 'y') instanceof BlobArgumentError);
    assert.ok(new BlobNotFoundError(id) instanceof BlobError);

    // valid but absent
    await assert.rejects(t.store.get(id), (e: unknown) => e instanceof BlobNotFoundError && e.id === id);
    await assert.rejects(t.store.getChunk(id, 0), BlobNotFoundError);
    assert.equal(await t.store.stat(id), undefined);
    assert.equal(await t.store.has(id), false);

    await t.store.put(bytes);
    for (const i of [2, -1, 0.5]) await assert.rejects(t.store.getChunk(id, i), BlobArgumentError);
    await assert.rejects(t.store.put('abc' as unknown as Uint8Array), BlobArgumentError);
    for (const size of [-1, 1.5, Number.NaN])
      assert.throws(() => t.store.receive(id, size), BlobArgumentError);
    assert.throws(() => t.store.receive(id, 10, { chunkBytes: 0 }), BlobArgumentError);
    for (const chunkBytes of [0, -5, 1.5, 16 * 1024 * 1024 + 1]) {
      await assert.rejects(BlobStore.open(join(t.dir, 'x'), { chunkBytes }), BlobArgumentError);
    }
    await assert.rejects(BlobStore.open(join(t.dir, 'x'), { maxBlobBytes: -1 }), BlobArgumentError);
  });
});

test('reopen: blobs survive close/open, also under a different chunk size', async () => {
  await withStore({ chunkBytes: CHUNK }, async (t) => {
    const blobs = [new Uint8Array(0), randomBytes(1, 41), randomBytes(5 * CHUNK + 3, 42)];
    const ids = [];
    for (const b of blobs) ids.push((await t.store.put(b)).id);
    const uploaded = randomBytes(2 * CHUNK + 1, 43);
    const up = t.store.receive(modelId(uploaded), uploaded.length);
    for (const i of [2, 1, 0]) up.addChunk(i, uploaded.slice(i * CHUNK, (i + 1) * CHUNK));
    await up.finish();

    const old = t.store;
    const store = await t.reopen({ chunkBytes: 4096 });
    await assert.rejects(old.get(ids[0]!), BlobError);
    assert.equal(store.chunkBytes, 4096);
    for (let i = 0; i < blobs.length; i++) assert.deepEqual(await store.get(ids[i]!), blobs[i]);
    assert.deepEqual(await store.get(modelId(uploaded)), uploaded);
    assert.equal((await store.stat(ids[2]!))?.chunkBytes, CHUNK);
    assert.equal((await store.stat(ids[2]!))?.chunks, 6);
    const fresh = randomBytes(3 * 4096, 44);
    assert.equal((await store.put(fresh)).chunks, 3);
    assert.equal((await store.stat(modelId(fresh)))?.chunkBytes, 4096);
  });
});
