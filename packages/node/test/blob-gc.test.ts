// Garbage collection of artifact blobs on a real single-validator node (issue 13, attack 2): the
// blob of a model that never activates goes once the model expires, a deprecated model's blob
// stays for the retention period and then goes, an open model's blob stays, and a blob no model
// names goes at the next sweep.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519GenerateKey, privateKeyToAddress, sha256 } from '@aivm/crypto';
import { AivmClient, Wallet } from '@aivm/sdk';
import { seededBytes as randomBytes } from '../../../test-support/seeded-bytes.ts';
import { blobNeeded } from '../src/blob-gc.ts';
import { buildGenesis, DEFAULT_SELF_STAKE_WEI } from '../src/genesis-builder.ts';
import { createLogger } from '../src/logger.ts';
import { AivmNode } from '../src/node.ts';
import { publishBlobModel } from './blob-upload-helpers.ts';

const OWNER_KEY = sha256(new TextEncoder().encode('blob-gc model owner'));
const WINDOW = 25n; // models.activationWindowBlocks
const RETENTION = 6; // blocks a deprecated model's blob is kept
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let home: string;
let node: AivmNode;
let client: AivmClient;
let owner: Wallet;

type Model = { status: string; closedAt: string; depositWei: string; publishedAt: string };
const model = async (id: string) => (await client.query('models/model', { id })) as Model;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'aivm-blob-gc-'));
  const key = ed25519GenerateKey();
  node = await AivmNode.start({
    home,
    genesis: buildGenesis({
      chainId: 7,
      genesisTimeMs: 1_700_000_000_000,
      validators: [
        {
          operator: privateKeyToAddress(sha256(new TextEncoder().encode('blob-gc operator'))),
          consensusPubKey: key.publicKey,
          selfStakeWei: DEFAULT_SELF_STAKE_WEI,
        },
      ],
      balances: [{ address: privateKeyToAddress(OWNER_KEY), amountWei: 10n ** 24n }],
      app: { models: { params: { activationWindowBlocks: WINDOW.toString() } } },
    }),
    validatorKey: key.secretKey,
    rpc: { host: '127.0.0.1', port: 0 },
    blockIntervalMs: 100,
    emptyBlocks: true,
    blobGc: { retentionBlocks: RETENTION, everyBlocks: 1 },
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

describe('blob garbage collection', () => {
  it('which blobs are needed: open models always, closed ones for the retention, expired and unnamed never', () => {
    const rec = (status: string, closedAt: bigint) => ({ status, closedAt }) as never;
    assert.equal(blobNeeded(undefined, 10n, 5), false);
    assert.equal(blobNeeded(rec('uploading', 0n), 10n ** 9n, 5), true);
    assert.equal(blobNeeded(rec('active', 0n), 10n ** 9n, 5), true);
    assert.equal(blobNeeded(rec('expired', 10n), 10n, 5), false);
    for (const status of ['deprecated', 'faulty']) {
      assert.equal(blobNeeded(rec(status, 10n), 14n, 5), true);
      assert.equal(blobNeeded(rec(status, 10n), 15n, 5), false);
    }
  });

  it('deletes the blob of a model that expired without activating; keeps an open one', async () => {
    const junk = randomBytes(300_000, 1);
    const id = await publishBlobModel(owner, client, node.registry, junk);
    await client.uploadBlob(junk, { signer: owner });
    assert.equal((await client.blobStat(id))?.complete, true, 'stored while the model is uploading');
    const published = await model(id);
    assert.equal(published.status, 'uploading');
    assert.ok(BigInt(published.depositWei) > 0n, 'the publish locked a storage deposit');

    const expired = await until('expiry', async () => {
      const m = await model(id);
      return m.status === 'expired' ? m : undefined;
    });
    assert.equal(BigInt(expired.closedAt), BigInt(published.publishedAt) + WINDOW);
    assert.equal(expired.depositWei, '0', 'the deposit was forfeited');
    // A model published later is still open (uploading) when the first one's blob goes.
    const open = randomBytes(200_000, 2);
    const openId = await publishBlobModel(owner, client, node.registry, open);
    await client.uploadBlob(open, { signer: owner });
    await until('the expired blob deleted', async () =>
      (await client.blobStat(id)) === null ? true : undefined,
    );
    assert.equal(await node.blobs.has(id), false);
    const height = (await client.status()).height;
    await until('a few more sweeps', async () =>
      (await client.status()).height >= height + 3n ? true : undefined,
    );
    assert.equal((await model(openId)).status, 'uploading');
    assert.equal((await client.blobStat(openId))?.complete, true, 'the open model keeps its blob');

    // Deprecated: the deposit comes back, the blob stays for the retention period, then goes.
    const before = await client.getBalance(owner.address);
    const dep = await owner.send('models/deprecate', { id: openId });
    const rec = await client.waitForTx(dep, { timeoutMs: 30_000 });
    assert.equal(rec.receipt.success, true, rec.receipt.error);
    const closed = await model(openId);
    assert.equal(closed.status, 'deprecated');
    assert.equal(BigInt(closed.closedAt), rec.height);
    assert.ok(
      (await client.getBalance(owner.address)) > before - BigInt(rec.receipt.feeWei),
      'deposit refunded',
    );
    assert.equal(await node.blobs.has(openId), true, 'kept right after deprecation');
    const goneAt = await until('the deprecated blob deleted', async () =>
      (await node.blobs.has(openId)) ? undefined : (await client.status()).height,
    );
    assert.ok(goneAt >= rec.height + BigInt(RETENTION), `deleted at ${goneAt}, closed at ${rec.height}`);
  });

  it('deletes a blob that no model names at the next sweep', async () => {
    const orphan = await node.blobs.put(randomBytes(50_000, 3));
    assert.equal(await node.blobs.has(orphan.id), true);
    await until('the orphan deleted', async () => ((await node.blobs.has(orphan.id)) ? undefined : true));
  });
});
