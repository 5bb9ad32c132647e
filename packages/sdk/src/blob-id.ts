// Blob ids in the browser: CIDv1, raw codec (0x55), sha2-256 multihash, base32 lower with the 'b'
// multibase prefix — the same string as `modelId(bytes)` of @aivm/runtime and `blobId` of
// @aivm/blobs (the node's tests check all three agree), computed here without Node built-ins.

import { sha256 } from '@aivm/crypto';

/** Bytes of a raw sha2-256 CIDv1 before the digest: version 1, raw codec, sha2-256, 32 bytes. */
const CID_PREFIX = [0x01, 0x55, 0x12, 0x20];
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** Chunk size of blob uploads and downloads over JSON-RPC (fixed by the node). */
export const BLOB_CHUNK_BYTES = 256 * 1024;

/** The blob id (= model id) of some bytes. */
export function blobId(bytes: Uint8Array): string {
  const cid = new Uint8Array(CID_PREFIX.length + 32);
  cid.set(CID_PREFIX);
  cid.set(sha256(bytes), CID_PREFIX.length);
  let out = 'b';
  let acc = 0;
  let bits = 0;
  for (const byte of cid) {
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
