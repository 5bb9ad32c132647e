// Who may open a blob upload: the owner of a model published on chain whose artifact is that blob.
// The on-chain models/publish (gas, and a storage deposit per byte) is the fee-paying intent that
// buys the upload; the owner's EIP-712 signature over (chainId, blob id, size) proves the request
// comes from it, so nobody can hold an upload slot for someone else's model. Node and SDK use the
// chain's one definition of the typed data (blobUploadTypedData in @aivm/chain/tx).

import { BlobArgumentError, BlobError } from '@aivm/blobs';
import { blobUploadTypedData } from '@aivm/chain/tx';
import { type Address, hashTypedData, InvalidSignatureError, recoverAddress } from '@aivm/crypto';

/** No published model (uploading or active) names this blob: publish it first. */
export class BlobNotPublishedError extends BlobError {
  override name = 'BlobNotPublishedError';
}

/** The upload request is not signed by the owner of the model that names the blob. */
export class BlobUploadUnauthorizedError extends BlobError {
  override name = 'BlobUploadUnauthorizedError';
}

/** What an upload needs to know of the model a blob belongs to. */
export type UploadModel = { owner: Address; status: string; artifactSize: number };

/** Checks a request to open (or add to) an upload; throws a typed error when it may not. */
export type UploadAuthorizer = (id: string, size: number, signature: Uint8Array | undefined) => Promise<void>;

/**
 * The node's authorizer: the model named `id` must be published and uploading or active, its
 * artifactSize must be `size`, and `signature` must be its owner's over blobUploadTypedData.
 */
export function blobUploadAuthorizer(
  chainId: bigint,
  model: (id: string) => Promise<UploadModel | undefined>,
): UploadAuthorizer {
  return async (id, size, signature) => {
    const m = await model(id);
    if (!m)
      throw new BlobNotPublishedError(
        `no model ${id} is published: send models/publish (which pays for the upload) before uploading its blob`,
      );
    if (m.status !== 'uploading' && m.status !== 'active')
      throw new BlobNotPublishedError(
        `model ${id} is ${m.status}: blobs are uploaded only for models uploading or active`,
      );
    if (m.artifactSize !== size)
      throw new BlobArgumentError(`model ${id} has artifactSize ${m.artifactSize}, not ${size}`);
    if (!signature)
      throw new BlobUploadUnauthorizedError(
        `the upload of model ${id} must be signed by its owner ${m.owner} (EIP-712 BlobUpload(id, size))`,
      );
    let signer: Address;
    try {
      signer = recoverAddress(hashTypedData(blobUploadTypedData(chainId, id, size)), signature);
    } catch (err) {
      if (!(err instanceof InvalidSignatureError)) throw err;
      throw new BlobUploadUnauthorizedError(`invalid upload signature: ${err.message}`);
    }
    if (signer.toLowerCase() !== m.owner.toLowerCase())
      throw new BlobUploadUnauthorizedError(
        `the upload of model ${id} is signed by ${signer}, not by its owner ${m.owner}`,
      );
  };
}
