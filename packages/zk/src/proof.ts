// Groth16 proof artifacts over BN254: snarkjs' JSON (proof + public signals), a compact binary form
// and EVM calldata for the exported Solidity verifier's
// verifyProof(uint[2] a, uint[2][2] b, uint[2] c, uint[N] input).
// Browser-safe: no node: imports.
//
// Binary layout (big-endian throughout), 264 + 32·N bytes:
//   0   4  magic "azk" + version 0x01
//   4   4  N, the number of public signals (uint32)
//   8  64  A  = (x, y)                                   G1, base-field elements
//  72 128  B  = (x.c0, x.c1, y.c0, y.c1)                 G2, snarkjs order (real part first)
// 200  64  C  = (x, y)                                   G1
// 264 32·N public signals, each < r (the scalar field)
// The point at infinity is (0, 0) (as on the EVM). Decoding checks the length, the magic, every
// coordinate < q, every signal < r and that A, B and C are on their curves.

/**
 * snarkjs' Groth16 proof JSON: projective points as decimal strings. Declared here, not imported
 * from snarkjs (which ships no types), so that the published declarations stand on their own.
 */
export type Groth16Proof = {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: string;
  curve: string;
};

/** snarkjs' Groth16 verification key JSON (exportVerificationKey). */
export type VerificationKey = {
  protocol: 'groth16';
  curve: string;
  nPublic: number;
  vk_alpha_1: string[];
  vk_beta_2: string[][];
  vk_gamma_2: string[][];
  vk_delta_2: string[][];
  vk_alphabeta_12?: unknown;
  IC: string[][];
};

/** A proof with its public signals (decimal strings, as snarkjs produces and consumes them). */
export type ProofArtifact = { proof: Groth16Proof; publicSignals: string[] };

/** Arguments of the generated verifier's verifyProof, G2 coordinates already swapped. */
export type SolidityProofArgs = {
  a: [bigint, bigint];
  b: [[bigint, bigint], [bigint, bigint]];
  c: [bigint, bigint];
  input: bigint[];
};

/** A proof encoding that cannot be decoded (wrong length, out-of-range element, off-curve point). */
export class ProofFormatError extends Error {
  override name = 'ProofFormatError';
}

/** BN254 base field. */
export const BN254_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** BN254 scalar field (the circuit's field). */
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const Q = BN254_Q;
const MAGIC = [0x61, 0x7a, 0x6b, 0x01];
const HEADER = 8;
const POINTS = 256;

// ---------------------------------------------------------------------------------------------
// Curve checks (y² = x³ + 3 on G1, y² = x³ + 3/(9+u) on the twist for G2)

const mod = (a: bigint, m = Q): bigint => ((a % m) + m) % m;
function inv(a: bigint): bigint {
  let [t, nt, r, nr] = [0n, 1n, Q, mod(a)];
  while (nr !== 0n) {
    const k = r / nr;
    [t, nt] = [nt, t - k * nt];
    [r, nr] = [nr, r - k * nr];
  }
  return mod(t);
}
type F2 = [bigint, bigint];
const f2mul = (a: F2, b: F2): F2 => [mod(a[0] * b[0] - a[1] * b[1]), mod(a[0] * b[1] + a[1] * b[0])];
const f2add = (a: F2, b: F2): F2 => [mod(a[0] + b[0]), mod(a[1] + b[1])];
// 3 / (9 + u) = 3·(9 − u) / 82
const TWIST_B: F2 = [mod(27n * inv(82n)), mod(-3n * inv(82n))];

function onG1(x: bigint, y: bigint): boolean {
  if (x === 0n && y === 0n) return true;
  return mod(y * y) === mod(x * x * x + 3n);
}
function onG2(x: F2, y: F2): boolean {
  if (x[0] === 0n && x[1] === 0n && y[0] === 0n && y[1] === 0n) return true;
  const lhs = f2mul(y, y);
  const rhs = f2add(f2mul(f2mul(x, x), x), TWIST_B);
  return lhs[0] === rhs[0] && lhs[1] === rhs[1];
}

// ---------------------------------------------------------------------------------------------
// Parsing snarkjs' JSON

/** Longest text a field element may take (78 decimal digits, or 0x and 64 hex digits, with room). */
const MAX_NUMBER_CHARS = 100;

function num(v: unknown, bound: bigint, what: string): bigint {
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint')
    throw new ProofFormatError(`${what} is not a number`);
  // BigInt() of a megabyte of digits takes quadratic time before the range check could refuse it.
  if (typeof v === 'string' && v.length > MAX_NUMBER_CHARS) throw new ProofFormatError(`${what} is too long`);
  let x: bigint;
  try {
    x = BigInt(v);
  } catch {
    throw new ProofFormatError(`${what} is not an integer: ${String(v).slice(0, 40)}`);
  }
  if (x < 0n || x >= bound) throw new ProofFormatError(`${what} is out of range`);
  return x;
}

function arr(v: unknown, n: number, what: string): unknown[] {
  if (!Array.isArray(v) || v.length !== n) throw new ProofFormatError(`${what} must be an array of ${n}`);
  return v;
}

/** Affine G1 point of a snarkjs projective triple [x, y, z] (z is 1, or 0 for infinity). */
function g1(v: unknown, what: string): [bigint, bigint] {
  const [x, y, z] = arr(v, 3, what).map((e, i) => num(e, Q, `${what}[${i}]`));
  if (z === 0n) return [0n, 0n];
  if (z !== 1n) throw new ProofFormatError(`${what} is not affine (z = ${z})`);
  if (!onG1(x, y)) throw new ProofFormatError(`${what} is not on the curve`);
  return [x, y];
}

function g2(v: unknown, what: string): [F2, F2] {
  const [x, y, z] = arr(v, 3, what).map(
    (e, i) => arr(e, 2, `${what}[${i}]`).map((c, j) => num(c, Q, `${what}[${i}][${j}]`)) as F2,
  );
  if (z[0] === 0n && z[1] === 0n)
    return [
      [0n, 0n],
      [0n, 0n],
    ];
  if (z[0] !== 1n || z[1] !== 0n) throw new ProofFormatError(`${what} is not affine`);
  if (!onG2(x, y)) throw new ProofFormatError(`${what} is not on the twist curve`);
  return [x, y];
}

type Parsed = { a: [bigint, bigint]; b: [F2, F2]; c: [bigint, bigint]; pub: bigint[] };

function parse(artifact: ProofArtifact): Parsed {
  if (artifact === null || typeof artifact !== 'object') throw new ProofFormatError('not a proof object');
  const p = artifact.proof as unknown as Record<string, unknown>;
  if (p === null || typeof p !== 'object') throw new ProofFormatError('proof is missing');
  if (p.protocol !== undefined && p.protocol !== 'groth16')
    throw new ProofFormatError(`protocol ${String(p.protocol)} is not groth16`);
  if (p.curve !== undefined && p.curve !== 'bn128')
    throw new ProofFormatError(`curve ${String(p.curve)} is not bn128`);
  if (!Array.isArray(artifact.publicSignals)) throw new ProofFormatError('publicSignals must be an array');
  return {
    a: g1(p.pi_a, 'pi_a'),
    b: g2(p.pi_b, 'pi_b'),
    c: g1(p.pi_c, 'pi_c'),
    pub: artifact.publicSignals.map((s, i) => num(s, R, `publicSignals[${i}]`)),
  };
}

function build(p: Parsed): ProofArtifact {
  const s = (x: bigint) => x.toString();
  const pt1 = (q: [bigint, bigint]) =>
    q[0] === 0n && q[1] === 0n ? ['0', '1', '0'] : [s(q[0]), s(q[1]), '1'];
  const infB = p.b.every((c) => c[0] === 0n && c[1] === 0n);
  return {
    proof: {
      pi_a: pt1(p.a),
      pi_b: infB
        ? [
            ['0', '0'],
            ['1', '0'],
            ['0', '0'],
          ]
        : [
            [s(p.b[0][0]), s(p.b[0][1])],
            [s(p.b[1][0]), s(p.b[1][1])],
            ['1', '0'],
          ],
      pi_c: pt1(p.c),
      protocol: 'groth16',
      curve: 'bn128',
    },
    publicSignals: p.pub.map(s),
  };
}

// ---------------------------------------------------------------------------------------------
// JSON

/** Checks and normalizes a proof artifact (throws ProofFormatError on anything malformed). */
export function checkProof(artifact: ProofArtifact): ProofArtifact {
  return build(parse(artifact));
}

/** JSON text of { proof, publicSignals } (snarkjs' own proof.json and public.json shapes). */
export function proofToJson(artifact: ProofArtifact): string {
  return JSON.stringify(checkProof(artifact));
}

/** Parses JSON text (or an already parsed object) of { proof, publicSignals }, strictly. */
export function proofFromJson(json: string | unknown): ProofArtifact {
  let v: unknown = json;
  if (typeof json === 'string') {
    try {
      v = JSON.parse(json);
    } catch (e) {
      throw new ProofFormatError(`proof JSON does not parse: ${(e as Error).message}`);
    }
  }
  return checkProof(v as ProofArtifact);
}

// ---------------------------------------------------------------------------------------------
// Binary

function put(out: Uint8Array, off: number, x: bigint): void {
  for (let i = 31; i >= 0; i--) {
    out[off + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}
function get(buf: Uint8Array, off: number): bigint {
  let x = 0n;
  for (let i = 0; i < 32; i++) x = (x << 8n) | BigInt(buf[off + i]);
  return x;
}

/** Size in bytes of the binary encoding of a proof with n public signals. */
export function binaryProofSize(nPublic: number): number {
  return HEADER + POINTS + 32 * nPublic;
}

/** Compact binary form (layout at the top of this file). */
export function encodeProof(artifact: ProofArtifact): Uint8Array {
  const p = parse(artifact);
  const out = new Uint8Array(binaryProofSize(p.pub.length));
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, p.pub.length, false);
  const words = [p.a[0], p.a[1], p.b[0][0], p.b[0][1], p.b[1][0], p.b[1][1], p.c[0], p.c[1], ...p.pub];
  words.forEach((w, i) => {
    put(out, HEADER + 32 * i, w);
  });
  return out;
}

/**
 * Strict decoding of encodeProof's output; throws ProofFormatError on any deviation. A flat layout
 * with nothing to recurse into: the exact length for the declared signal count is checked before
 * anything is read, so the signals it allocates are bounded by the input's own size.
 */
export function decodeProof(bytes: Uint8Array): ProofArtifact {
  if (!(bytes instanceof Uint8Array)) throw new ProofFormatError('binary proof must be a Uint8Array');
  if (bytes.length < HEADER + POINTS)
    throw new ProofFormatError(`binary proof is ${bytes.length} bytes, at least ${HEADER + POINTS} expected`);
  if (MAGIC.some((m, i) => bytes[i] !== m))
    throw new ProofFormatError('not a binary Groth16 proof (bad magic/version)');
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, false);
  if (bytes.length !== binaryProofSize(n))
    throw new ProofFormatError(
      `binary proof is ${bytes.length} bytes, ${binaryProofSize(n)} expected for ${n} public signals`,
    );
  const w = (i: number) => get(bytes, HEADER + 32 * i);
  const fq = (i: number, what: string) => {
    const x = w(i);
    if (x >= Q) throw new ProofFormatError(`${what} is not a base-field element`);
    return x;
  };
  const a: [bigint, bigint] = [fq(0, 'A.x'), fq(1, 'A.y')];
  const b: [F2, F2] = [
    [fq(2, 'B.x.c0'), fq(3, 'B.x.c1')],
    [fq(4, 'B.y.c0'), fq(5, 'B.y.c1')],
  ];
  const c: [bigint, bigint] = [fq(6, 'C.x'), fq(7, 'C.y')];
  if (!onG1(a[0], a[1])) throw new ProofFormatError('A is not on the curve');
  if (!onG2(b[0], b[1])) throw new ProofFormatError('B is not on the twist curve');
  if (!onG1(c[0], c[1])) throw new ProofFormatError('C is not on the curve');
  const pub: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const x = w(8 + i);
    if (x >= R) throw new ProofFormatError(`public signal ${i} is not a scalar-field element`);
    pub.push(x);
  }
  return build({ a, b, c, pub });
}

// ---------------------------------------------------------------------------------------------
// EVM calldata

/** verifyProof's arguments; B's coordinates are swapped to (c1, c0) as EIP-197 expects. */
export function toSolidityArgs(artifact: ProofArtifact): SolidityProofArgs {
  const p = parse(artifact);
  return {
    a: p.a,
    b: [
      [p.b[0][1], p.b[0][0]],
      [p.b[1][1], p.b[1][0]],
    ],
    c: p.c,
    input: p.pub,
  };
}

/** Exactly the text of snarkjs' groth16.exportSolidityCallData: `[a],[b],[c],[input]` in 0x hex. */
export function exportSolidityCallData(artifact: ProofArtifact): string {
  const { a, b, c, input } = toSolidityArgs(artifact);
  const h = (x: bigint) => `"0x${x.toString(16).padStart(64, '0')}"`;
  const pt = (xs: bigint[]) => `[${xs.map(h).join(', ')}]`;
  return `${pt(a)},[${pt(b[0])},${pt(b[1])}],${pt(c)},[${input.map(h).join(',')}]`;
}

/** The 4-byte selector of verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[n]). */
export function verifyProofSelector(nPublic: number): Uint8Array {
  const sig = `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[${nPublic}])`;
  return keccak256(new TextEncoder().encode(sig)).subarray(0, 4);
}

/**
 * Full ABI-encoded calldata of verifyProof(a, b, c, input) (selector + 32·(8 + N) bytes; static
 * arrays are encoded inline), ready to be the data of a transaction to the verifier.
 */
export function encodeVerifyProofCalldata(artifact: ProofArtifact): Uint8Array {
  const { a, b, c, input } = toSolidityArgs(artifact);
  const words = [...a, ...b[0], ...b[1], ...c, ...input];
  const out = new Uint8Array(4 + 32 * words.length);
  out.set(verifyProofSelector(input.length), 0);
  words.forEach((w, i) => {
    put(out, 4 + 32 * i, w);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Keccak-256 (the Ethereum one, not SHA3-256); only used for the selector, so simple over fast.

const RC = [
  0x0000000000000001n,
  0x0000000000008082n,
  0x800000000000808an,
  0x8000000080008000n,
  0x000000000000808bn,
  0x0000000080000001n,
  0x8000000080008081n,
  0x8000000000008009n,
  0x000000000000008an,
  0x0000000000000088n,
  0x0000000080008009n,
  0x000000008000000an,
  0x000000008000808bn,
  0x800000000000008bn,
  0x8000000000008089n,
  0x8000000000008003n,
  0x8000000000008002n,
  0x8000000000000080n,
  0x000000000000800an,
  0x800000008000000an,
  0x8000000080008081n,
  0x8000000000008080n,
  0x0000000080000001n,
  0x8000000080008008n,
];
const ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, n: number): bigint =>
  n === 0 ? x : ((x << BigInt(n)) | (x >> BigInt(64 - n))) & M64;

function keccakF(s: bigint[]): void {
  for (let round = 0; round < 24; round++) {
    const c = [0, 1, 2, 3, 4].map((x) => s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20]);
    for (let x = 0; x < 5; x++) {
      const d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
      for (let y = 0; y < 25; y += 5) s[x + y] ^= d;
    }
    const b = new Array<bigint>(25);
    for (let x = 0; x < 5; x++)
      for (let y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(s[x + 5 * y], ROT[x + 5 * y]);
    for (let x = 0; x < 5; x++)
      for (let y = 0; y < 25; y += 5)
        s[x + y] = b[x + y] ^ (~b[((x + 1) % 5) + y] & M64 & b[((x + 2) % 5) + y]);
    s[0] ^= RC[round];
  }
}

/** Keccak-256 of bytes. */
export function keccak256(data: Uint8Array): Uint8Array {
  const rate = 136;
  const padded = new Uint8Array(Math.ceil((data.length + 1) / rate) * rate);
  padded.set(data);
  padded[data.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  const s = new Array<bigint>(25).fill(0n);
  for (let off = 0; off < padded.length; off += rate) {
    for (let i = 0; i < rate / 8; i++) {
      let lane = 0n;
      for (let j = 7; j >= 0; j--) lane = (lane << 8n) | BigInt(padded[off + 8 * i + j]);
      s[i] ^= lane;
    }
    keccakF(s);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 8; j++) out[8 * i + j] = Number((s[i] >> BigInt(8 * j)) & 0xffn);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Verification keys in binary (stored on chain by the models module)
//
// Layout: "avk" 0x01, nPublic (uint32 BE), then 32-byte big-endian words: alpha (x, y), beta,
// gamma, delta (x.c0, x.c1, y.c0, y.c1 each), then nPublic + 1 IC points (x, y). Every point is
// checked to lie on its curve when decoding; the point at infinity is refused.

const VK_MAGIC = [0x61, 0x76, 0x6b, 0x01];

/** Size in bytes of encodeVerificationKey's output for n public signals. */
export function binaryVerificationKeySize(nPublic: number): number {
  return HEADER + 32 * (2 + 4 * 3 + 2 * (nPublic + 1));
}

export function encodeVerificationKey(vk: VerificationKey): Uint8Array {
  if (vk === null || typeof vk !== 'object') throw new ProofFormatError('not a verification key');
  if (vk.protocol !== 'groth16') throw new ProofFormatError(`protocol ${String(vk.protocol)} is not groth16`);
  if (!Array.isArray(vk.IC) || vk.IC.length !== vk.nPublic + 1)
    throw new ProofFormatError(`IC must hold nPublic + 1 = ${vk.nPublic + 1} points`);
  const alpha = g1(vk.vk_alpha_1, 'vk_alpha_1');
  const g2s = [
    g2(vk.vk_beta_2, 'vk_beta_2'),
    g2(vk.vk_gamma_2, 'vk_gamma_2'),
    g2(vk.vk_delta_2, 'vk_delta_2'),
  ];
  const ic = vk.IC.map((p, i) => g1(p, `IC[${i}]`));
  const out = new Uint8Array(binaryVerificationKeySize(vk.nPublic));
  out.set(VK_MAGIC, 0);
  new DataView(out.buffer).setUint32(4, vk.nPublic, false);
  const words = [...alpha, ...g2s.flatMap(([x, y]) => [x[0], x[1], y[0], y[1]]), ...ic.flat()];
  words.forEach((w, i) => {
    put(out, HEADER + 32 * i, w);
  });
  return out;
}

/**
 * Strict inverse of encodeVerificationKey (snarkjs JSON form, without vk_alphabeta_12). Flat like
 * decodeProof: at most 100,000 signals, and the exact length is checked before the IC is built.
 */
export function decodeVerificationKey(bytes: Uint8Array): VerificationKey {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER)
    throw new ProofFormatError('binary verification key is too short');
  if (VK_MAGIC.some((m, i) => bytes[i] !== m)) throw new ProofFormatError('not a binary verification key');
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, false);
  if (n > 100_000 || bytes.length !== binaryVerificationKeySize(n))
    throw new ProofFormatError(
      `binary verification key is ${bytes.length} bytes, not a key for ${n} signals`,
    );
  const w = (i: number, what: string) => {
    const x = get(bytes, HEADER + 32 * i);
    if (x >= Q) throw new ProofFormatError(`${what} is not a base-field element`);
    return x;
  };
  const s = (x: bigint) => x.toString();
  const p1 = (i: number, what: string): string[] => {
    const x = w(i, what);
    const y = w(i + 1, what);
    if ((x === 0n && y === 0n) || !onG1(x, y)) throw new ProofFormatError(`${what} is not a curve point`);
    return [s(x), s(y), '1'];
  };
  const p2 = (i: number, what: string): string[][] => {
    const x: F2 = [w(i, what), w(i + 1, what)];
    const y: F2 = [w(i + 2, what), w(i + 3, what)];
    if ((x[0] === 0n && x[1] === 0n) || !onG2(x, y))
      throw new ProofFormatError(`${what} is not a twist point`);
    return [
      [s(x[0]), s(x[1])],
      [s(y[0]), s(y[1])],
      ['1', '0'],
    ];
  };
  return {
    protocol: 'groth16',
    curve: 'bn128',
    nPublic: n,
    vk_alpha_1: p1(0, 'alpha'),
    vk_beta_2: p2(2, 'beta'),
    vk_gamma_2: p2(6, 'gamma'),
    vk_delta_2: p2(10, 'delta'),
    IC: Array.from({ length: n + 1 }, (_, k) => p1(14 + 2 * k, `IC[${k}]`)),
  };
}

/** keccak256 of the binary verification key: the hash a model publishes. */
export function verificationKeyHash(vk: VerificationKey | Uint8Array): Uint8Array {
  return keccak256(vk instanceof Uint8Array ? vk : encodeVerificationKey(vk));
}
