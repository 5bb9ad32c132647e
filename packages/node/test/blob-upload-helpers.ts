// Test helpers for blob uploads, which a node opens only for a published model and its owner: publish
// a model naming a blob (zk tier: it stays `uploading` until its verification key is uploaded, which
// these tests never do), and sign an upload as that model's owner.

import assert from 'node:assert/strict';
import type { Registry } from '@aivm/chain';
import { bytesToHex, type Hex, signTypedData } from '@aivm/crypto';
import { type AivmClient, blobId, blobUploadTypedData, type Wallet } from '@aivm/sdk';

/** Sends models/publish for a model whose artifact is `bytes` and waits until it is committed. */
export async function publishBlobModel(
  wallet: Wallet,
  client: AivmClient,
  registry: Registry,
  bytes: Uint8Array,
): Promise<string> {
  const id = blobId(bytes);
  // zkConstraints (the zk circuit's size, which a zk publish pays for) arrives with a concurrent
  // change of the models module: sent when the message declares it.
  const fields = registry.message('models/publish')?.schema.fields ?? {};
  const hash = await wallet.send('models/publish', {
    id,
    name: `blob ${id.slice(-8)}`,
    task: '',
    inputSchema: '[1,4]',
    outputSchema: '[1,2]',
    license: '',
    version: '',
    description: '',
    priceWei: 10n ** 18n, // above the zk tier's price floor
    tiers: 2,
    artifactSize: bytes.length,
    vkHash: `0x${'11'.repeat(32)}`,
    vkSize: 1,
    zkInputs: 0,
    zkWeights: 0,
    weightCommitment: 0n,
    previous: '',
    ...('zkConstraints' in fields ? { zkConstraints: 1n } : {}),
  });
  const rec = await client.waitForTx(hash, { timeoutMs: 30_000 });
  assert.equal(rec.receipt.success, true, `models/publish failed: ${rec.receipt.error}`);
  return id;
}

/** The owner's signature that opens the upload of `bytes` (or of blob `id` of `size` bytes). */
export function uploadSignature(
  chainId: bigint,
  ownerKey: Uint8Array,
  bytes: Uint8Array,
  id = blobId(bytes),
  size = bytes.length,
): Hex {
  return bytesToHex(signTypedData(blobUploadTypedData(chainId, id, size), ownerKey));
}
