// Issue 13, attack 5 replayed against a real node: a script held every blob upload slot by
// re-sending chunk 0 of its uploads, and `aivm model publish` failed with "the node already holds 4
// uploads in progress". Now an upload needs a published model and its owner's signature, a client
// (remote IP; the script uses 127.0.0.2-127.0.0.6, the publisher 127.0.0.1) holds one upload, and
// only progress keeps a slot: a publisher gets one at its first request while the script goes on.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CHUNK_BYTES } from '@aivm/blobs';
import { bytesToHex, ed25519GenerateKey, privateKeyToAddress, sha256 } from '@aivm/crypto';
import { AivmClient, blobId, Wallet } from '@aivm/sdk';
import { seededBytes } from '../../../test-support/seeded-bytes.ts';
import { buildGenesis, DEFAULT_SELF_STAKE_WEI } from '../src/genesis-builder.ts';
import { createLogger } from '../src/logger.ts';
import { AivmNode } from '../src/node.ts';
import { BLOB_ERR, RPC_ERR } from '../src/rpc/errors.ts';
import { publishBlobModel, uploadSignature } from './blob-upload-helpers.ts';

const CHUNK = DEFAULT_CHUNK_BYTES;
const CHAIN_ID = 11n;
const STALL_MS = 1_500;
const BLOCK_MS = 100;
const key = (name: string) => sha256(new TextEncoder().encode(`upload-attack ${name}`));
const PUBLISHER = key('publisher');
const ATTACKER = key('attacker');
const STRANGER = key('stranger');

let home: string;
let node: AivmNode;
let client: AivmClient;
let port: number;

type Answer = {
  result?: { complete: boolean; missing: number[] };
  error?: { code: number; message: string };
};

/** One JSON-RPC call over HTTP from local address `from` (each address is another client of the node). */
function post(from: string, method: string, params: object): Promise<Answer> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress: from,
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve(JSON.parse(text) as Answer));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Chunk `index` of `bytes`, signed by `signer` (none: unsigned). */
function chunkCall(from: string, bytes: Uint8Array, index: number, signer?: Uint8Array, size = bytes.length) {
  return post(from, 'aivm_blobUploadChunk', {
    id: blobId(bytes),
    size,
    index,
    data: bytesToHex(bytes.subarray(index * CHUNK, (index + 1) * CHUNK)),
    ...(signer ? { signature: uploadSignature(CHAIN_ID, signer, bytes, blobId(bytes), size) } : {}),
  });
}

function fails(a: Answer, code: number, match: RegExp): void {
  assert.equal(a.error?.code, code, JSON.stringify(a));
  assert.match(a.error!.message, match);
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'aivm-upload-attack-'));
  const validator = ed25519GenerateKey();
  node = await AivmNode.start({
    home,
    genesis: buildGenesis({
      chainId: Number(CHAIN_ID),
      genesisTimeMs: 1_700_000_000_000,
      validators: [
        {
          operator: privateKeyToAddress(key('operator')),
          consensusPubKey: validator.publicKey,
          selfStakeWei: DEFAULT_SELF_STAKE_WEI,
        },
      ],
      balances: [PUBLISHER, ATTACKER, STRANGER].map((k) => ({
        address: privateKeyToAddress(k),
        amountWei: 10n ** 24n,
      })),
    }),
    validatorKey: validator.secretKey,
    rpc: { host: '127.0.0.1', port: 0 }, // default client limits: one upload per client
    blockIntervalMs: BLOCK_MS,
    emptyBlocks: true,
    // No minimum rate: the squatter must lose its slot for want of progress alone (the rate is
    // covered in blob-uploads.test.ts).
    blobs: { maxBlobBytes: 4 * CHUNK, maxUploads: 4, uploadStallMs: STALL_MS, minUploadBytesPerSec: 0 },
    logger: createLogger('silent'),
  });
  port = Number(new URL(node.rpcUrl).port);
  client = new AivmClient(node.rpcUrl, { timeoutMs: 20_000 });
});

after(async () => {
  client.close();
  await node.close();
  await rm(home, { recursive: true, force: true });
});

describe('blob uploads (issue 13, attack 5)', () => {
  it('opens uploads only for published models, signed by their owner', async () => {
    const owner = new Wallet(PUBLISHER, client);
    const bytes = seededBytes(2 * CHUNK, 1);
    fails(
      await chunkCall('127.0.0.1', bytes, 0, PUBLISHER),
      BLOB_ERR.NOT_PUBLISHED,
      /is published: send models\/publish .* before uploading its blob/,
    );
    const id = await publishBlobModel(owner, client, node.registry, bytes);
    fails(
      await chunkCall('127.0.0.1', bytes, 0),
      BLOB_ERR.UPLOAD_UNAUTHORIZED,
      /must be signed by its owner/,
    );
    const stranger = privateKeyToAddress(STRANGER);
    fails(
      await chunkCall('127.0.0.7', bytes, 0, STRANGER),
      BLOB_ERR.UPLOAD_UNAUTHORIZED,
      new RegExp(`signed by ${stranger}, not by its owner ${owner.address}`, 'i'),
    );
    fails(
      await chunkCall('127.0.0.1', bytes, 0, PUBLISHER, bytes.length - 1),
      RPC_ERR.INVALID_PARAMS,
      /artifactSize/,
    );
    assert.deepEqual((await chunkCall('127.0.0.1', bytes, 0, PUBLISHER)).result?.missing, [1]);
    // A stranger cannot feed (and so spoil) an upload the owner opened.
    fails(await chunkCall('127.0.0.7', bytes, 1, STRANGER), BLOB_ERR.UPLOAD_UNAUTHORIZED, /not by its owner/);
    assert.equal((await chunkCall('127.0.0.1', bytes, 1, PUBLISHER)).result?.complete, true);
    assert.equal(await node.blobs.has(id), true);
  });

  it("uploadBlob waits while this client's share of uploads is busy, and goes on when it frees", async () => {
    const owner = new Wallet(PUBLISHER, client);
    const [first, second] = [seededBytes(2 * CHUNK, 3), seededBytes(CHUNK + 5, 4)];
    for (const bytes of [first, second]) await publishBlobModel(owner, client, node.registry, bytes);
    assert.deepEqual((await chunkCall('127.0.0.1', first, 0, PUBLISHER)).result?.missing, [1]);
    const refusals: number[] = [];
    const orig = client.request.bind(client);
    client.request = (async (method: string, params?: object) => {
      try {
        return await orig(method, params);
      } catch (err) {
        refusals.push((err as { code?: number }).code ?? 0);
        throw err;
      }
    }) as typeof client.request;
    try {
      const upload = client.uploadBlob(second, { signer: owner });
      for (let polls = 0; refusals.length === 0; polls++) {
        assert.ok(polls < 500, 'the second upload was never refused');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(refusals, [RPC_ERR.LIMIT_EXCEEDED], 'held back by its own upload in progress');
      assert.equal((await chunkCall('127.0.0.1', first, 1, PUBLISHER)).result?.complete, true);
      await upload;
    } finally {
      client.request = orig;
    }
    assert.deepEqual(await node.blobs.get(blobId(second)), second);
  });

  it('replays the attack: slots held by re-sending chunk 0 do not keep a paying publisher out', async () => {
    const attacker = new Wallet(ATTACKER, client);
    const models = Array.from({ length: 5 }, (_, i) => seededBytes(2 * CHUNK, 100 + i));
    // The attacker now has to pay for what it squats: a published model per upload.
    for (const bytes of models) await publishBlobModel(attacker, client, node.registry, bytes);
    const ips = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
    for (const [i, ip] of ips.entries())
      assert.deepEqual((await chunkCall(ip, models[i]!, 0, ATTACKER)).result?.missing, [1]);
    // One client, one upload.
    fails(
      await chunkCall('127.0.0.2', models[4]!, 0, ATTACKER),
      RPC_ERR.LIMIT_EXCEEDED,
      /upload limit reached \(1 in progress per client 127\.0\.0\.2\)/,
    );
    // Every node-wide slot is taken by uploads that have not stalled yet.
    fails(
      await chunkCall('127.0.0.6', models[4]!, 0, ATTACKER),
      BLOB_ERR.UPLOAD_CAPACITY,
      /4 uploads in progress/,
    );

    // The attack as reported: every held upload re-sends chunk 0, forever.
    let stop = false;
    let resends = 0;
    const loops = ips.map(async (ip, i) => {
      while (!stop) {
        await chunkCall(ip, models[i]!, 0, ATTACKER);
        resends++;
      }
    });

    const publisher = new Wallet(PUBLISHER, client);
    const artifact = seededBytes(3 * CHUNK + 17, 2);
    await publishBlobModel(publisher, client, node.registry, artifact);
    // Let the squatted uploads stall (no progress for uploadStallMs): counted in blocks, while the
    // attack goes on.
    const from = node.status().height;
    while (node.status().height < from + BigInt(Math.ceil(STALL_MS / BLOCK_MS) + 3))
      await new Promise((r) => setTimeout(r, BLOCK_MS));
    const resendsBefore = resends;

    // The publisher's uploadBlob (what publishModel calls after models/publish): every request it
    // sends is a chunk the node takes, the first one included; it never meets a full node.
    const refusals: number[] = [];
    let requests = 0;
    const orig = client.request.bind(client);
    client.request = (async (method: string, params?: object) => {
      if (method === 'aivm_blobUploadChunk') requests++;
      try {
        return await orig(method, params);
      } catch (err) {
        refusals.push((err as { code?: number }).code ?? 0);
        throw err;
      }
    }) as typeof client.request;
    let resendsDuring: number;
    try {
      await client.uploadBlob(artifact, { signer: publisher, slotWaitMs: 0 });
    } finally {
      client.request = orig;
      resendsDuring = resends - resendsBefore;
      stop = true;
      await Promise.all(loops);
    }
    assert.deepEqual(refusals, []);
    assert.equal(requests, 4, 'one request per chunk: a slot at the first request');
    assert.ok(resendsDuring > 0, 'the attack was running while the publisher uploaded');
    assert.deepEqual(await node.blobs.get(blobId(artifact)), artifact);
  });
});
