// BlobUploads' slot policy on a real blob store with a hand-driven clock (issue 13, attack 5): only
// progress keeps an upload alive, each client holds its share, and a stalled upload gives its slot
// to a new one. The signed, published-model side runs against a real node in upload-attack.test.ts.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobStore, blobId } from '@aivm/blobs';
import { seededBytes } from '../../../test-support/seeded-bytes.ts';
import {
  type BlobLimits,
  BlobUploadCapacityError,
  BlobUploadClientLimitError,
  BlobUploads,
} from '../src/blob-uploads.ts';

const CHUNK = 1024;
const IDLE_MS = 60_000;
const STALL_MS = 5_000;

let dir: string;
let store: BlobStore;
let clock = 0;
const open: BlobUploads[] = [];

function uploads(limits: Partial<BlobLimits>, maxUploadsPerClient = 1): BlobUploads {
  const u = new BlobUploads(
    store,
    { uploadIdleMs: IDLE_MS, uploadStallMs: STALL_MS, ...limits },
    { maxUploadsPerClient, now: () => clock },
  );
  open.push(u);
  return u;
}

/** A blob of four chunks, different for every seed. */
const blob = (seed: number): Uint8Array => seededBytes(4 * CHUNK, seed);
const chunk = (b: Uint8Array, i: number): Uint8Array => b.subarray(i * CHUNK, (i + 1) * CHUNK);
const add = (u: BlobUploads, b: Uint8Array, i: number, client: string) =>
  u.addChunk(blobId(b), b.length, i, chunk(b, i), { client });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aivm-blob-uploads-'));
  store = await BlobStore.open(dir, { chunkBytes: CHUNK });
});

after(async () => {
  for (const u of open) u.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('blob upload slots', () => {
  it('re-sending a chunk the upload has does not keep it alive; a new chunk does', async () => {
    clock = 1_000_000;
    // One slot, and stalled uploads never give way: only the idle drop can free the slot.
    const u = uploads({ maxUploads: 1, uploadStallMs: 10 * IDLE_MS });
    const squatter = blob(1);
    const other = blob(2);
    await add(u, squatter, 0, 'a');
    for (let t = 1; t <= 10; t++) {
      clock += IDLE_MS / 10 - 1; // the attack: chunk 0 again, just inside the idle limit each time
      assert.deepEqual((await add(u, squatter, 0, 'a')).missing, [1, 2, 3]);
    }
    clock += 20;
    // More than uploadIdleMs without progress: the next upload finds the slot free.
    assert.deepEqual((await add(u, other, 0, 'b')).missing, [1, 2, 3]);
    assert.equal(u.size, 1);
    assert.equal(await u.stat(blobId(squatter)), undefined, 'the squatter was dropped');

    // Progress does keep an upload: one new chunk per almost-idle period and it survives.
    for (const i of [1, 2]) {
      clock += IDLE_MS - 1;
      await add(u, other, i, 'b');
    }
    await assert.rejects(add(u, blob(3), 0, 'c'), BlobUploadCapacityError);
    assert.equal((await add(u, other, 3, 'b')).complete, true);
  });

  it('a client holds at most maxUploadsPerClient uploads; its own stalled one gives way', async () => {
    clock = 2_000_000;
    const u = uploads({ maxUploads: 4 });
    await add(u, blob(10), 0, 'a');
    await assert.rejects(add(u, blob(11), 0, 'a'), (err: Error) => {
      assert.ok(err instanceof BlobUploadClientLimitError);
      assert.equal(
        err.message,
        'upload limit reached (1 in progress per client a); finish or abandon one first',
      );
      return true;
    });
    assert.deepEqual((await add(u, blob(12), 0, 'b')).missing, [1, 2, 3], 'another client is not held back');
    clock += STALL_MS;
    // Client a's interrupted upload no longer holds it back.
    assert.deepEqual((await add(u, blob(11), 0, 'a')).missing, [1, 2, 3]);
    assert.equal(await u.stat(blobId(blob(10))), undefined);
  });

  it('when the node is full, a new upload takes the slot of the one stalled longest, never of one making progress', async () => {
    clock = 3_000_000;
    const u = uploads({ maxUploads: 2, minUploadBytesPerSec: 0 });
    const [a, b, c] = [blob(20), blob(21), blob(22)];
    await add(u, a, 0, 'a');
    clock += 1_000;
    await add(u, b, 0, 'b');
    clock += STALL_MS - 1_000 - 1;
    // Neither has gone uploadStallMs without progress yet.
    await assert.rejects(add(u, c, 0, 'c'), BlobUploadCapacityError);
    await add(u, a, 0, 'a'); // a repeated chunk: no progress
    clock += 1;
    assert.deepEqual((await add(u, c, 0, 'c')).missing, [1, 2, 3], 'c takes a stalled slot');
    assert.equal(await u.stat(blobId(a)), undefined, 'a (no progress for longest) gave way');
    assert.equal((await u.stat(blobId(b)))?.complete, false, 'b keeps its slot');
    // b progresses; c stalls: the next newcomer takes c's slot, not b's.
    clock += STALL_MS - 1;
    await add(u, b, 1, 'b');
    clock += 1;
    assert.deepEqual((await add(u, a, 0, 'a')).missing, [1, 2, 3]);
    assert.equal(await u.stat(blobId(c)), undefined);
    assert.equal((await u.stat(blobId(b)))?.complete, false);
  });

  it('an upload slower than minUploadBytesPerSec counts as stalled once it has run uploadStallMs', async () => {
    clock = 4_000_000;
    // 1 KiB chunks: a chunk every 2 s is 512 B/s, under the 1 KiB/s minimum.
    const u = uploads({ maxUploads: 1, minUploadBytesPerSec: CHUNK });
    const [slow, next] = [blob(30), blob(31)];
    await add(u, slow, 0, 'a');
    clock += 2_000;
    await add(u, slow, 1, 'a');
    clock += 2_000;
    await add(u, slow, 2, 'a');
    await assert.rejects(add(u, next, 0, 'b'), BlobUploadCapacityError, 'not yet run uploadStallMs');
    clock += 1_000;
    // 3 KiB in 5 s: below 1 KiB/s, though its last chunk came 1 s ago.
    assert.deepEqual((await add(u, next, 0, 'b')).missing, [1, 2, 3]);
    assert.equal(await u.stat(blobId(slow)), undefined);
  });
});
