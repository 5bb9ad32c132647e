// Artifact blob upload and reads over the real JSON-RPC server of a real (single-validator) node,
// raw and through the SDK. Uploads are for published models, signed by their owner (see
// upload-limits.test.ts for the per-client limits and the refusals).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CHUNK_BYTES, DEFAULT_MAX_BLOB_BYTES, blobId as storeBlobId } from '@aivm/blobs';
import { bytesToHex, ed25519GenerateKey, privateKeyToAddress, sha256 } from '@aivm/crypto';
import { AivmClient, BLOB_CHUNK_BYTES, blobId, RpcError, Wallet } from '@aivm/sdk';
import { seededBytes as randomBytes } from '../../../test-support/seeded-bytes.ts';
import { DEFAULT_BLOB_LIMITS } from '../src/blob-uploads.ts';
import { buildGenesis, DEFAULT_SELF_STAKE_WEI } from '../src/genesis-builder.ts';
import { createLogger } from '../src/logger.ts';
import { AivmNode } from '../src/node.ts';
import { BLOB_ERR, RPC_ERR } from '../src/rpc/errors.ts';
import { publishBlobModel, uploadSignature } from './blob-upload-helpers.ts';

const CHUNK = DEFAULT_CHUNK_BYTES;
const MAX_BLOB = 3 * CHUNK + 100;
// Long enough that two uploads on a loaded 2-core CI machine never idle out between steps.
const IDLE_MS = 2_000;

const chunkOf = (b: Uint8Array, i: number): Uint8Array =>
  b.subarray(i * CHUNK, Math.min(b.length, (i + 1) * CHUNK));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let home: string;
let node: AivmNode;
let client: AivmClient;
let owner: Wallet;
const OWNER_KEY = sha256(new TextEncoder().encode('blob-rpc model owner'));
const CHAIN_ID = 7n;
const publish = (bytes: Uint8Array): Promise<string> => publishBlobModel(owner, client, node.registry, bytes);

type Answer = { result?: unknown; error?: { code: number; message: string } };

async function call(method: string, params: object): Promise<Answer> {
  const res = await fetch(node.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as Answer;
}

async function ok<T>(method: string, params: object): Promise<T> {
  const a = await call(method, params);
  assert.equal(a.error, undefined, `${method}: ${a.error?.message}`);
  return a.result as T;
}

async function fails(method: string, params: object, code: number, match?: RegExp): Promise<string> {
  const a = await call(method, params);
  assert.equal(a.error?.code, code, `${method}: expected ${code}, got ${JSON.stringify(a)}`);
  if (match) assert.match(a.error!.message, match);
  return a.error!.message;
}

type Upload = { id: string; size: number; complete: boolean; missing: number[] };

function upload(bytes: Uint8Array, index: number, id = blobId(bytes), size = bytes.length): Promise<Upload> {
  return ok<Upload>('aivm_blobUploadChunk', {
    id,
    size,
    index,
    data: bytesToHex(chunkOf(bytes, index)),
    signature: uploadSignature(CHAIN_ID, OWNER_KEY, bytes, id, size),
  });
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'aivm-blob-rpc-'));
  const key = ed25519GenerateKey();
  const operator = privateKeyToAddress(sha256(new TextEncoder().encode('blob-rpc operator')));
  node = await AivmNode.start({
    home,
    genesis: buildGenesis({
      chainId: 7,
      genesisTimeMs: 1_700_000_000_000,
      validators: [{ operator, consensusPubKey: key.publicKey, selfStakeWei: DEFAULT_SELF_STAKE_WEI }],
      balances: [{ address: privateKeyToAddress(OWNER_KEY), amountWei: 10n ** 24n }],
    }),
    validatorKey: key.secretKey,
    // Every upload here comes from 127.0.0.1: let it hold all of the node's slots.
    rpc: { host: '127.0.0.1', port: 0, clientLimits: { maxUploadsPerClient: 3 } },
    blockIntervalMs: 200,
    emptyBlocks: false,
    // Stalled uploads never give way here (upload-limits.test.ts covers that).
    blobs: { maxBlobBytes: MAX_BLOB, maxUploads: 2, uploadIdleMs: IDLE_MS, uploadStallMs: 600_000 },
    logger: createLogger('silent'),
  });
  client = new AivmClient(node.rpcUrl, { timeoutMs: 10_000 });
  owner = new Wallet(OWNER_KEY, client);
});

after(async () => {
  client.close();
  await node.close();
  await rm(home, { recursive: true, force: true });
});

describe('blob upload over JSON-RPC', () => {
  it('the sdk computes the same id as the blob store (= modelId)', () => {
    assert.equal(BLOB_CHUNK_BYTES, DEFAULT_CHUNK_BYTES);
    for (const n of [0, 1, 31, 32, 1000, CHUNK + 7]) {
      const b = randomBytes(n, n + 1);
      assert.equal(blobId(b), storeBlobId(b));
    }
    assert.equal(DEFAULT_BLOB_LIMITS.maxBlobBytes, DEFAULT_MAX_BLOB_BYTES);
    assert.equal(DEFAULT_MAX_BLOB_BYTES, 64 * 1024 * 1024);
  });

  it('takes chunks out of order, verifies the whole blob on the last one, then serves stat and chunks', async () => {
    const bytes = randomBytes(2 * CHUNK + 1000, 1);
    const id = await publish(bytes);
    assert.equal(await ok('aivm_blobStat', { id }), null);
    assert.deepEqual(await upload(bytes, 2), { id, size: bytes.length, complete: false, missing: [0, 1] });
    const during = await ok<{ complete: boolean; chunks: number; size: number }>('aivm_blobStat', { id });
    assert.deepEqual(
      [during.complete, during.chunks, during.size],
      [false, 3, bytes.length],
      'an upload in progress is visible',
    );
    await fails('aivm_blobChunk', { id, index: 0 }, BLOB_ERR.NOT_FOUND);
    assert.deepEqual((await upload(bytes, 0)).missing, [1]);
    assert.deepEqual((await upload(bytes, 0)).missing, [1], 'a repeated chunk changes nothing');
    assert.deepEqual(await upload(bytes, 1), { id, size: bytes.length, complete: true, missing: [] });

    const stat = await ok<{
      size: number;
      chunks: number;
      chunkBytes: number;
      chunkHashes: string[];
      complete: boolean;
    }>('aivm_blobStat', { id });
    assert.deepEqual(stat, {
      size: bytes.length,
      chunks: 3,
      chunkBytes: CHUNK,
      chunkHashes: [0, 1, 2].map((i) => bytesToHex(sha256(chunkOf(bytes, i))).slice(2)),
      complete: true,
    });
    for (let i = 0; i < 3; i++) {
      const c = await ok<{ id: string; index: number; data: string }>('aivm_blobChunk', { id, index: i });
      assert.deepEqual(c, { id, index: i, data: bytesToHex(chunkOf(bytes, i)) });
    }
    await fails('aivm_blobChunk', { id, index: 3 }, RPC_ERR.INVALID_PARAMS, /out of range/);
    assert.deepEqual(await node.blobs.get(id), bytes);
    assert.deepEqual(await node.fetchBlob(id), bytes);
    // Uploading a stored blob again is answered at once.
    assert.deepEqual(await upload(bytes, 1), { id, size: bytes.length, complete: true, missing: [] });
    await fails(
      'aivm_blobUploadChunk',
      {
        id,
        size: bytes.length + 1,
        index: 0,
        data: bytesToHex(chunkOf(bytes, 0)),
        signature: uploadSignature(CHAIN_ID, OWNER_KEY, bytes, id, bytes.length + 1),
      },
      RPC_ERR.INVALID_PARAMS,
      /has \d+ bytes, not/,
    );
  });

  it('refuses blobs above the limit, malformed chunks and ids with typed codes', async () => {
    const big = randomBytes(MAX_BLOB + 1, 2);
    const msg = await fails(
      'aivm_blobUploadChunk',
      { id: blobId(big), size: big.length, index: 0, data: bytesToHex(chunkOf(big, 0)) },
      BLOB_ERR.TOO_LARGE,
    );
    assert.match(msg, new RegExp(`limit of ${MAX_BLOB} bytes`));
    const bytes = randomBytes(CHUNK + 10, 3);
    const id = await publish(bytes);
    const signature = uploadSignature(CHAIN_ID, OWNER_KEY, bytes);
    await fails(
      'aivm_blobUploadChunk',
      { id, size: bytes.length, index: 1, data: '0x0102', signature },
      RPC_ERR.INVALID_PARAMS,
      /chunk 1 has 2 bytes, want 10/,
    );
    await fails(
      'aivm_blobUploadChunk',
      { id, size: bytes.length, index: 2, data: '0x0102', signature },
      RPC_ERR.INVALID_PARAMS,
      /out of range/,
    );
    // A chunk above 256 KiB never reaches the node's upload: the params schema refuses it.
    await fails(
      'aivm_blobUploadChunk',
      { id, size: bytes.length, index: 0, data: bytesToHex(new Uint8Array(CHUNK + 1)) },
      RPC_ERR.INVALID_PARAMS,
      /data/,
    );
    for (const bad of ['bafy', 'Qmabc', `${id.slice(0, -1)}1`, id.toUpperCase()]) {
      await fails('aivm_blobStat', { id: bad }, BLOB_ERR.INVALID_ID, /invalid blob id/);
      await fails('aivm_blobChunk', { id: bad, index: 0 }, BLOB_ERR.INVALID_ID);
      await fails('aivm_blobUploadChunk', { id: bad, size: 1, index: 0, data: '0x01' }, BLOB_ERR.INVALID_ID);
    }
    await fails('aivm_blobChunk', { id: blobId(randomBytes(5, 4)), index: 0 }, BLOB_ERR.NOT_FOUND);
    await sleep(IDLE_MS * 2); // let the upload opened above expire
  });

  it('refuses bytes that do not hash to the id and drops the upload', async () => {
    const real = randomBytes(CHUNK + 500, 5);
    const fake = randomBytes(CHUNK + 500, 6);
    const id = await publish(real);
    assert.equal((await upload(fake, 0, id)).complete, false);
    const msg = await fails(
      'aivm_blobUploadChunk',
      {
        id,
        size: fake.length,
        index: 1,
        data: bytesToHex(chunkOf(fake, 1)),
        signature: uploadSignature(CHAIN_ID, OWNER_KEY, real),
      },
      BLOB_ERR.CORRUPT,
    );
    assert.match(msg, /does not hash to the id/);
    assert.equal(await ok('aivm_blobStat', { id }), null, 'nothing stored, upload dropped');
    assert.equal(await node.blobs.has(id), false);
    // The honest bytes are taken afterwards.
    await upload(real, 1);
    assert.equal((await upload(real, 0)).complete, true);
    assert.deepEqual(await node.blobs.get(id), real);
  });

  it('holds at most maxUploads uploads and drops idle ones', async () => {
    const a = randomBytes(CHUNK + 1, 7);
    const b = randomBytes(CHUNK + 2, 8);
    const c = randomBytes(CHUNK + 3, 9);
    for (const bytes of [a, b, c]) await publish(bytes);
    await upload(a, 0);
    await upload(b, 0);
    const msg = await fails(
      'aivm_blobUploadChunk',
      {
        id: blobId(c),
        size: c.length,
        index: 0,
        data: bytesToHex(chunkOf(c, 0)),
        signature: uploadSignature(CHAIN_ID, OWNER_KEY, c),
      },
      BLOB_ERR.UPLOAD_CAPACITY,
    );
    assert.match(msg, /2 uploads in progress/);
    // Uploads in progress still take chunks; finishing one frees its slot.
    assert.equal((await upload(a, 1)).complete, true);
    assert.deepEqual((await upload(c, 0)).missing, [1]);
    // b and c go idle and are dropped: their chunks are gone.
    await sleep(IDLE_MS * 2);
    assert.equal(await ok('aivm_blobStat', { id: blobId(b) }), null);
    assert.deepEqual((await upload(c, 1)).missing, [0], 'c starts over');
    await sleep(IDLE_MS * 2);
  });

  it('fetchBlob on a node without p2p reads only the local store', async () => {
    const id = blobId(randomBytes(10, 10));
    await assert.rejects(node.fetchBlob(id), (err: Error) => {
      assert.equal(err.name, 'BlobUnavailableError');
      assert.match(err.message, /not stored on this node, and without p2p/);
      return true;
    });
    await assert.rejects(node.fetchBlob('nope'), { name: 'InvalidBlobIdError' });
  });
});

describe('sdk blob methods', () => {
  it('uploadBlob reports progress, resumes, and getBlob downloads and verifies', async () => {
    const bytes = randomBytes(3 * CHUNK + 99, 11);
    await publish(bytes);
    const progress: number[] = [];
    const r = await client.uploadBlob(bytes, {
      signer: owner,
      onProgress: (p) => progress.push(p.sentBytes),
    });
    assert.deepEqual(r, { id: blobId(bytes), size: bytes.length });
    assert.equal(progress.length, 4);
    assert.equal(progress.at(-1), bytes.length);
    const stat = await client.blobStat(r.id);
    assert.equal(stat?.complete, true);
    assert.equal(stat?.chunks, 4);
    assert.deepEqual(await client.getBlob(r.id), bytes);
    // Already stored: one request, complete at once.
    const again: number[] = [];
    await client.uploadBlob(bytes, { signer: owner, onProgress: (p) => again.push(p.sentChunks) });
    assert.deepEqual(again, [4]);

    // Resume: the node already holds chunk 1 of an interrupted upload; only the others are sent.
    const other = randomBytes(2 * CHUNK + 5, 12);
    await publish(other);
    await upload(other, 1);
    const sent: number[] = [];
    const orig = client.request.bind(client);
    client.request = (async (method: string, params: { index?: number } = {}) => {
      if (method === 'aivm_blobUploadChunk') sent.push(params.index!);
      return orig(method, params);
    }) as typeof client.request;
    try {
      await client.uploadBlob(other, { signer: OWNER_KEY }); // a raw private key signs as well
    } finally {
      client.request = orig;
    }
    assert.deepEqual(sent.sort(), [0, 2]);
    assert.deepEqual(await client.getBlob(blobId(other)), other);

    assert.equal(await client.getBlob(blobId(randomBytes(3, 13))), null);
    assert.equal(await client.blobStat(blobId(randomBytes(3, 13))), null);
    await assert.rejects(client.blobStat('nope'), (err: unknown) => {
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, BLOB_ERR.INVALID_ID);
      return true;
    });
    await assert.rejects(client.uploadBlob(randomBytes(MAX_BLOB + 1, 14), { signer: owner }), {
      code: BLOB_ERR.TOO_LARGE,
    });
  });
});
