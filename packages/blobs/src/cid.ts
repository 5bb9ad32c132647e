// Blob ids: CIDv1, raw codec (0x55), sha2-256 multihash, multibase base32 lower ('b' prefix) — the
// same string as `modelId` in @aivm/runtime (tested for equality), built with multiformats.

import { createHash } from 'node:crypto';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { InvalidBlobIdError } from './errors.ts';

const RAW_CODEC = 0x55;
const SHA2_256 = 0x12;
/** 'b' + ceil(36 * 8 / 5) base32 characters (CID prefix 4 bytes + 32-byte digest). */
export const BLOB_ID_LENGTH = 1 + Math.ceil((36 * 8) / 5);

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** The blob id of a sha2-256 digest. */
export function idFromDigest(digest: Uint8Array): string {
  if (digest.length !== 32) throw new Error('sha2-256 digest must be 32 bytes');
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256, digest)).toString();
}

/** The blob id of some bytes (equal to `modelId(bytes)`). */
export function blobId(bytes: Uint8Array): string {
  return idFromDigest(sha256(bytes));
}

/** Parses a blob id into its sha2-256 digest; throws InvalidBlobIdError unless it is canonical. */
export function parseBlobId(id: unknown): Uint8Array {
  if (typeof id !== 'string') throw new InvalidBlobIdError(id, 'not a string');
  if (id.length !== BLOB_ID_LENGTH)
    throw new InvalidBlobIdError(id, `length ${id.length}, want ${BLOB_ID_LENGTH}`);
  if (id[0] !== 'b') throw new InvalidBlobIdError(id, "multibase prefix must be 'b' (base32 lower)");
  let cid: CID;
  try {
    cid = CID.parse(id);
  } catch {
    throw new InvalidBlobIdError(id, 'not base32 lower');
  }
  if (
    cid.version !== 1 ||
    cid.code !== RAW_CODEC ||
    cid.multihash.code !== SHA2_256 ||
    cid.multihash.size !== 32
  )
    throw new InvalidBlobIdError(id, 'not a CIDv1 raw sha2-256 id');
  // Reject non-canonical encodings (non-zero padding bits) so one blob has exactly one id string.
  if (cid.toString() !== id) throw new InvalidBlobIdError(id, 'non-canonical base32');
  return cid.multihash.digest.slice();
}
