// On-disk layout. Keys: 'c' + sha256(chunk) -> chunk bytes; 'm' + sha256(blob) -> manifest.
// Manifest (binary, fixed): [version=1][size: u64 BE][chunkBytes: u32 BE][chunk hash: 32 bytes]*n,
// where n = ceil(size / chunkBytes); every chunk is chunkBytes long except the last.

export const CHUNK_PREFIX = 0x63; // 'c'
export const MANIFEST_PREFIX = 0x6d; // 'm'
const MANIFEST_VERSION = 1;
const HEADER = 1 + 8 + 4;

export type Manifest = { size: number; chunkBytes: number; chunkHashes: Uint8Array[] };

export function chunkKey(hash: Uint8Array): Uint8Array {
  return prefixed(CHUNK_PREFIX, hash);
}

export function manifestKey(digest: Uint8Array): Uint8Array {
  return prefixed(MANIFEST_PREFIX, digest);
}

function prefixed(prefix: number, hash: Uint8Array): Uint8Array {
  const key = new Uint8Array(1 + hash.length);
  key[0] = prefix;
  key.set(hash, 1);
  return key;
}

export function chunkCount(size: number, chunkBytes: number): number {
  return Math.ceil(size / chunkBytes);
}

/** Length of chunk `index` of a blob of `size` bytes cut into `chunkBytes` pieces. */
export function chunkLength(size: number, chunkBytes: number, index: number): number {
  return Math.min(chunkBytes, size - index * chunkBytes);
}

export function encodeManifest(m: Manifest): Uint8Array {
  const out = new Uint8Array(HEADER + 32 * m.chunkHashes.length);
  const view = new DataView(out.buffer);
  out[0] = MANIFEST_VERSION;
  view.setBigUint64(1, BigInt(m.size));
  view.setUint32(9, m.chunkBytes);
  m.chunkHashes.forEach((h, i) => {
    out.set(h, HEADER + 32 * i);
  });
  return out;
}

/** Decodes and checks a stored manifest; returns a reason string when it is malformed. */
export function decodeManifest(bytes: Uint8Array): Manifest | string {
  if (bytes.length < HEADER || (bytes.length - HEADER) % 32 !== 0) return `manifest length ${bytes.length}`;
  if (bytes[0] !== MANIFEST_VERSION) return `manifest version ${bytes[0]}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size64 = view.getBigUint64(1);
  if (size64 > BigInt(Number.MAX_SAFE_INTEGER)) return 'manifest size out of range';
  const size = Number(size64);
  const chunkBytes = view.getUint32(9);
  if (chunkBytes === 0) return 'manifest chunk size 0';
  const n = (bytes.length - HEADER) / 32;
  if (n !== chunkCount(size, chunkBytes)) return `manifest has ${n} chunks for ${size} bytes`;
  const chunkHashes: Uint8Array[] = [];
  for (let i = 0; i < n; i++) chunkHashes.push(bytes.slice(HEADER + 32 * i, HEADER + 32 * (i + 1)));
  return { size, chunkBytes, chunkHashes };
}
