// Blob ids: CIDv1, raw codec (0x55), sha2-256 multihash, multibase base32 lower ('b' prefix) — the
// same string as `modelId` in @aivm/runtime (tested for equality). Computed here without multiformats.

import { createHash } from 'node:crypto';
import { InvalidBlobIdError } from './errors.ts';

/** CID bytes before the digest: version 1, raw codec, sha2-256, 32-byte length. */
const CID_PREFIX = Uint8Array.of(0x01, 0x55, 0x12, 0x20);
const CID_BYTES = CID_PREFIX.length + 32;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** 'b' + ceil(36 * 8 / 5) base32 characters. */
export const BLOB_ID_LENGTH = 1 + Math.ceil((CID_BYTES * 8) / 5);

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** The blob id of a sha2-256 digest. */
export function idFromDigest(digest: Uint8Array): string {
  if (digest.length !== 32) throw new Error('sha2-256 digest must be 32 bytes');
  const bytes = new Uint8Array(CID_BYTES);
  bytes.set(CID_PREFIX);
  bytes.set(digest, CID_PREFIX.length);
  return 'b' + base32(bytes);
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
  const bytes = unbase32(id, 1);
  if (bytes === undefined) throw new InvalidBlobIdError(id, 'not base32 lower');
  for (let i = 0; i < CID_PREFIX.length; i++) {
    if (bytes[i] !== CID_PREFIX[i]) throw new InvalidBlobIdError(id, 'not a CIDv1 raw sha2-256 id');
  }
  const digest = bytes.slice(CID_PREFIX.length);
  // Reject non-canonical encodings (non-zero padding bits) so one blob has exactly one id string.
  if (idFromDigest(digest) !== id) throw new InvalidBlobIdError(id, 'non-canonical base32');
  return digest;
}

function base32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = ((acc << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

function unbase32(s: string, start: number): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor(((s.length - start) * 5) / 8));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = start; i < s.length; i++) {
    const v = ALPHABET.indexOf(s[i]!);
    if (v < 0) return undefined;
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
