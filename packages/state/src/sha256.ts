// SHA-256 for the tree's hot path, allocating nothing but its 32-byte (on-heap) result.
// Why not node:crypto: its one-shot hash is fast per byte (SHA-NI) but every call allocates an off-heap Buffer for
// the digest; at ~30k hashes per block that cost more in allocation and GC than the hashing itself (see README.md
// for the measurement). Output is standard SHA-256; the tests check it against @aivm/crypto's sha256.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const W = new Int32Array(64);
const S = new Int32Array(8);
/** Scratch for the padded tail of a message (at most two blocks). */
const TAIL = new Uint8Array(128);

function expand(w: Int32Array, off: number): void {
  for (let i = 16; i < 64; i++) {
    const w15 = w[off + i - 15]!;
    const w2 = w[off + i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[off + i] = (w[off + i - 16]! + s0 + w[off + i - 7]! + s1) | 0;
  }
}

// The second block of a 65-byte message is its last byte, 0x80, zeros and the length 520: its message schedule
// depends on that one byte only, so K[i] + W[i] is precomputed for all 256 values (64 KiB).
const KW65 = new Int32Array(256 * 64);
for (let b = 0; b < 256; b++) {
  const off = 64 * b;
  KW65[off] = (b << 24) | (0x80 << 16);
  KW65[off + 15] = 520;
  expand(KW65, off);
  for (let i = 0; i < 64; i++) KW65[off + i] = (KW65[off + i]! + K[i]!) | 0;
}
const KW = new Int32Array(64);

function compress(src: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const o = off + 4 * i;
    W[i] = (src[o]! << 24) | (src[o + 1]! << 16) | (src[o + 2]! << 8) | src[o + 3]!;
  }
  expand(W, 0);
  for (let i = 0; i < 64; i++) KW[i] = (K[i]! + W[i]!) | 0;
  rounds(KW, 0);
}

/** The 64 rounds, given K[i] + W[i] at kw[off + i]. */
function rounds(kw: Int32Array, off: number): void {
  let a = S[0]!;
  let b = S[1]!;
  let c = S[2]!;
  let d = S[3]!;
  let e = S[4]!;
  let f = S[5]!;
  let g = S[6]!;
  let h = S[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + kw[off + i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  S[0] = (S[0]! + a) | 0;
  S[1] = (S[1]! + b) | 0;
  S[2] = (S[2]! + c) | 0;
  S[3] = (S[3]! + d) | 0;
  S[4] = (S[4]! + e) | 0;
  S[5] = (S[5]! + f) | 0;
  S[6] = (S[6]! + g) | 0;
  S[7] = (S[7]! + h) | 0;
}

function writeDigest(dst: Uint8Array, off: number): void {
  for (let i = 0; i < 8; i++) {
    const v = S[i]!;
    dst[off + 4 * i] = v >>> 24;
    dst[off + 4 * i + 1] = v >>> 16;
    dst[off + 4 * i + 2] = v >>> 8;
    dst[off + 4 * i + 3] = v;
  }
}

/** sha256(prefix || a[aOff, +32) || b[bOff, +32)): the 65-byte leaf and internal-node preimages. */
export function sha256Pair(
  prefix: number,
  a: Uint8Array,
  aOff: number,
  b: Uint8Array,
  bOff: number,
): Uint8Array {
  S.set(IV);
  TAIL[0] = prefix;
  for (let i = 0; i < 32; i++) TAIL[i + 1] = a[aOff + i]!;
  for (let i = 0; i < 31; i++) TAIL[i + 33] = b[bOff + i]!;
  compress(TAIL, 0);
  rounds(KW65, 64 * b[bOff + 31]!);
  const out = new Uint8Array(32);
  writeDigest(out, 0);
  return out;
}

/** dst[dstOff, +32) = sha256(prefix || src[srcOff, +64)), allocating nothing. */
export function sha256Prefixed64(
  prefix: number,
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
): void {
  S.set(IV);
  TAIL[0] = prefix;
  for (let i = 0; i < 63; i++) TAIL[i + 1] = src[srcOff + i]!;
  compress(TAIL, 0);
  rounds(KW65, 64 * src[srcOff + 63]!);
  writeDigest(dst, dstOff);
}

/** sha256 of any input, into a new 32-byte array. */
export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  sha256Into(data, out, 0);
  return out;
}

/** dst[dstOff, +32) = sha256(data). */
export function sha256Into(data: Uint8Array, dst: Uint8Array, dstOff: number): void {
  S.set(IV);
  const n = data.length;
  const full = n - (n % 64);
  for (let off = 0; off < full; off += 64) compress(data, off);
  const rest = n - full;
  for (let i = 0; i < rest; i++) TAIL[i] = data[full + i]!;
  TAIL[rest] = 0x80;
  const end = rest < 56 ? 64 : 128;
  TAIL.fill(0, rest + 1, end - 8);
  const bits = n * 8;
  const hi = Math.floor(bits / 0x100000000);
  const lo = bits >>> 0;
  TAIL[end - 8] = hi >>> 24;
  TAIL[end - 7] = hi >>> 16;
  TAIL[end - 6] = hi >>> 8;
  TAIL[end - 5] = hi;
  TAIL[end - 4] = lo >>> 24;
  TAIL[end - 3] = lo >>> 16;
  TAIL[end - 2] = lo >>> 8;
  TAIL[end - 1] = lo;
  compress(TAIL, 0);
  if (end === 128) compress(TAIL, 64);
  writeDigest(dst, dstOff);
}
