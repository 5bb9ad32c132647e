// Blob replication between real nodes over p2p on 127.0.0.1: a validator (A) and a full node (B),
// plus a raw p2p peer (E) that serves corrupt data.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blobId, DEFAULT_CHUNK_BYTES } from '@aivm/blobs';
import { authParams, type Receipt, readParams, signTx } from '@aivm/chain';
import { decode, encode } from '@aivm/codec';
import { ed25519GenerateKey, privateKeyToAddress, sha256 } from '@aivm/crypto';
import { generatePrivateKey, P2P } from '@aivm/p2p';
import { seededBytes as randomBytes } from '../../../test-support/seeded-bytes.ts';
import {
  BlobChunkRequestSchema,
  BlobStatRequestSchema,
  BlobStatResponseSchema,
  PROTOCOL_BLOB_CHUNK,
  PROTOCOL_BLOB_STAT,
  publishedBlobIds,
} from '../src/blob-sync.ts';
import { buildGenesis, DEFAULT_SELF_STAKE_WEI } from '../src/genesis-builder.ts';
import { createLogger } from '../src/logger.ts';
import { AivmNode } from '../src/node.ts';

const CHUNK = DEFAULT_CHUNK_BYTES;
const LISTEN = ['/ip4/127.0.0.1/tcp/0'];

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const userKey = sha256(new TextEncoder().encode('blob-sync user'));
const user = privateKeyToAddress(userKey);

const homes: string[] = [];
let a: AivmNode;
let b: AivmNode;
let evil: P2P;
/** What the evil peer answers, per blob id: a manifest and the chunks it serves. */
const evilServes = new Map<
  string,
  { bytes: Uint8Array; chunk: (i: number, real: Uint8Array) => Uint8Array }
>();
const penalties: { peer: string; reason: string }[] = [];

async function startNode(
  validatorKey: Uint8Array | null,
  genesis: ReturnType<typeof buildGenesis>,
  peers: string[],
): Promise<AivmNode> {
  const home = await mkdtemp(join(tmpdir(), 'aivm-blob-sync-'));
  homes.push(home);
  return AivmNode.start({
    home,
    genesis,
    validatorKey,
    network: { p2p: { listen: LISTEN, peers, privateKey: await generatePrivateKey() } },
    rpc: false,
    blockIntervalMs: 300,
    emptyBlocks: true,
    logger: createLogger('silent'),
  });
}

before(async () => {
  const key = ed25519GenerateKey();
  const operator = privateKeyToAddress(sha256(new TextEncoder().encode('blob-sync operator')));
  const genesis = buildGenesis({
    chainId: 8,
    genesisTimeMs: 1_700_000_000_000,
    validators: [{ operator, consensusPubKey: key.publicKey, selfStakeWei: DEFAULT_SELF_STAKE_WEI }],
    balances: [{ address: user, amountWei: 10n ** 24n }],
  });
  a = await startNode(key.secretKey, genesis, []);
  b = await startNode(null, genesis, [a.p2p!.multiaddrs()[0]!]);
  await until(() => b.p2p!.peers().some((p) => p.id === a.p2p!.peerId), 'b connected to a');

  // E speaks the node's blob protocol but lies: its answers come from `evilServes`.
  evil = await P2P.create({ network: `${a.chainId}-${a.store.genesisHash.slice(2, 14)}`, listen: LISTEN });
  evil.handle(PROTOCOL_BLOB_STAT, async (req) => {
    const { id } = decode(BlobStatRequestSchema, req);
    const e = evilServes.get(id);
    if (!e)
      return encode(BlobStatResponseSchema, {
        found: false,
        size: 0n,
        chunkBytes: 0,
        chunkHashes: new Uint8Array(0),
      });
    const n = Math.ceil(e.bytes.length / CHUNK);
    const hashes = new Uint8Array(32 * n);
    for (let i = 0; i < n; i++) hashes.set(sha256(e.bytes.subarray(i * CHUNK, (i + 1) * CHUNK)), 32 * i);
    return encode(BlobStatResponseSchema, {
      found: true,
      size: BigInt(e.bytes.length),
      chunkBytes: CHUNK,
      chunkHashes: hashes,
    });
  });
  evil.handle(PROTOCOL_BLOB_CHUNK, async (req) => {
    const { id, index } = decode(BlobChunkRequestSchema, req);
    const e = evilServes.get(id);
    if (!e) throw new Error('not found');
    return e.chunk(index, e.bytes.slice(index * CHUNK, (index + 1) * CHUNK));
  });
  await evil.start();
  await b.p2p!.connect(evil.multiaddrs()[0]!);
  await until(() => b.p2p!.peers().some((p) => p.id === evil.peerId), 'b connected to the evil peer');

  const p2p = b.p2p!;
  const penalize = p2p.penalize.bind(p2p);
  p2p.penalize = (peer: string, reason: string, amount?: number) => {
    penalties.push({ peer, reason });
    penalize(peer, reason, amount);
  };
});

after(async () => {
  await evil?.stop();
  await b?.close();
  await a?.close();
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

describe('blob replication over p2p', () => {
  it('a full node fetches a blob stored on the validator, verifies and stores it', async () => {
    const bytes = randomBytes(2 * CHUNK + 321, 1);
    const { id } = await a.blobs.put(bytes);
    assert.equal(await b.blobs.has(id), false);
    const [x, y] = await Promise.all([b.fetchBlob(id), b.fetchBlob(id)]);
    assert.deepEqual(x, bytes);
    assert.deepEqual(y, bytes);
    assert.equal(await b.blobs.has(id), true);
    assert.deepEqual(await b.blobs.get(id), bytes);
    assert.deepEqual(penalties, []);
  });

  it('a peer serving corrupt chunks is penalized; the blob still arrives from the honest peer', async () => {
    const bytes = randomBytes(4 * CHUNK + 5, 2);
    const { id } = await a.blobs.put(bytes);
    // E announces the true manifest but flips a byte in every chunk it serves.
    evilServes.set(id, {
      bytes,
      chunk: (_i, real) => {
        real[0] = real[0]! ^ 0xff;
        return real;
      },
    });
    assert.deepEqual(await b.fetchBlob(id), bytes);
    assert.ok(penalties.length > 0, 'the evil peer was penalized');
    assert.ok(penalties.every((p) => p.peer === evil.peerId));
    assert.match(penalties[0]!.reason, /chunk \d+: .*does not match its announced hash/);
  });

  it('a peer announcing a manifest whose content is not the id is penalized; the fetch fails cleanly', async () => {
    penalties.length = 0;
    const real = randomBytes(CHUNK + 9, 3);
    const fake = randomBytes(CHUNK + 9, 4);
    const id = blobId(real);
    evilServes.set(id, { bytes: fake, chunk: (_i, c) => c });
    await assert.rejects(b.fetchBlob(id), (err: Error) => {
      assert.equal(err.name, 'BlobUnavailableError');
      assert.match(err.message, /does not hash to the id/);
      return true;
    });
    assert.equal(await b.blobs.has(id), false);
    assert.deepEqual(
      penalties.map((p) => [p.peer, p.reason]),
      [[evil.peerId, `blob ${id}: manifest does not match the id`]],
    );
  });

  it('a blob no peer has fails with a clear error', async () => {
    const id = blobId(randomBytes(10, 5));
    await assert.rejects(b.fetchBlob(id), /none of 2 peer\(s\) has it/);
  });

  it('finds the ids of committed models/published events', () => {
    const id = blobId(randomBytes(10, 6));
    const receipt = (code: number, events: Receipt['events']): Receipt =>
      ({ txHash: new Uint8Array(32), code, gasUsed: 0n, feeWei: 0n, error: '', events }) as Receipt;
    const ev = (module: string, type: string, attrs: Record<string, string>) => ({
      module,
      type,
      attributes: Object.entries(attrs).map(([key, value]) => ({ key, value })),
    });
    assert.deepEqual(
      publishedBlobIds([
        receipt(0, [
          ev('bank', 'transfer', { id }),
          ev('models', 'published', { id, owner: '0x', tiers: '4' }),
        ]),
        receipt(1100, [ev('models', 'published', { id: blobId(randomBytes(10, 7)) })]),
        receipt(0, [ev('models', 'published', { id: 'not-a-cid' }), ev('models', 'published', { id })]),
        receipt(0, [ev('models', 'uploaded', { id: blobId(randomBytes(10, 8)) })]),
      ]),
      [id],
    );
  });

  it('a committed models/publish makes the full node replicate the artifact', async (t) => {
    const def = a.registry.message('models/publish');
    if (!def) {
      t.skip('the models module is not registered');
      return;
    }
    const bytes = randomBytes(CHUNK + 77, 9);
    const { id } = await a.blobs.put(bytes);
    const params = await readParams(a.store.state, 'auth', authParams);
    const raw = signTx(
      {
        chainId: a.chainId,
        from: user,
        nonce: 0n,
        gasLimit: params.maxTxGas,
        gasPrice: params.minGasPriceWei,
        msgType: 'models/publish',
        msg: {
          id,
          name: 'replicated',
          task: 'classification',
          inputSchema: '[1,4]',
          outputSchema: '[1,2]',
          license: 'MIT',
          version: '1',
          description: '',
          priceWei: 10n ** 15n, // the optimistic tier's floor (minPriceWei)
          tiers: 4,
          artifactSize: bytes.length,
          vkHash: new Uint8Array(32),
          vkSize: 0,
          zkInputs: 0,
          zkWeights: 0,
          weightCommitment: 0n,
          zkConstraints: 0n,
          previous: '',
        },
      },
      userKey,
      def.schema,
    );
    const hash = await a.sendRawTx(raw);
    await until(async () => (await b.getTx(hash)) !== undefined, 'the publish tx on b', 30_000);
    const rec = await b.getTx(hash);
    assert.equal(rec?.receipt.code, 0, rec?.receipt.error);
    await until(() => b.blobs.has(id), 'b replicated the artifact', 30_000);
    assert.deepEqual(await b.blobs.get(id), bytes);
  });
});
