// A rank-1 constraint system over BN254's scalar field: signals, linear combinations, constraints
// A·B = C, witness hints, a constraint checker, and writers for snarkjs' binary `.r1cs` (version
// 1) and `.wtns` (version 2) files. Browser-safe: no node: imports.

/** BN254 (snarkjs "bn128") scalar field order r: the prime of every circuit here. */
export const BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** x mod r in [0, r). */
export function fmod(x: bigint): bigint {
  const m = x % BN254_R;
  return m < 0n ? m + BN254_R : m;
}

/** The field element of r's upper half read as a negative integer (the inverse of fmod for small values). */
export function toSigned(x: bigint): bigint {
  return x > BN254_R >> 1n ? x - BN254_R : x;
}

/** A linear combination Σ coeff·signal; signal 0 is the constant one. Coefficients are integers (not reduced). */
export type LC = Map<number, bigint>;

export type Constraint = { a: LC; b: LC; c: LC; label: string };

export type SignalRole = 'one' | 'output' | 'input' | 'private';

/** Fills the witness values of the signals a gadget owns from signals assigned before it. */
export type Hint = (w: (bigint | undefined)[]) => void;

export const ONE = 0;

export function lc(...terms: [number, bigint | number][]): LC {
  const m: LC = new Map();
  for (const [s, c] of terms) addTerm(m, s, BigInt(c));
  return m;
}

export function addTerm(m: LC, s: number, c: bigint): LC {
  if (c === 0n) return m;
  const v = (m.get(s) ?? 0n) + c;
  if (v === 0n) m.delete(s);
  else m.set(s, v);
  return m;
}

/** Σ k_i · lc_i */
export function lcSum(...parts: [bigint | number, LC][]): LC {
  const m: LC = new Map();
  for (const [k, l] of parts) {
    const kb = BigInt(k);
    for (const [s, c] of l) addTerm(m, s, kb * c);
  }
  return m;
}

export function constLC(c: bigint | number): LC {
  return lc([ONE, c]);
}

export function sig(s: number): LC {
  return lc([s, 1n]);
}

/** Value of a linear combination in the field (throws when a signal has no value yet). */
export function evalLC(l: LC, w: readonly (bigint | undefined)[]): bigint {
  let acc = 0n;
  for (const [s, c] of l) {
    const v = w[s];
    if (v === undefined) throw new Error(`signal ${s} has no witness value`);
    acc += c * v;
  }
  return fmod(acc);
}

/**
 * A circuit with more constraints than the compile budget (CompileOptions.maxConstraints). Thrown
 * as the constraint past the budget is added, so that refusing a circuit costs at most the budget's
 * memory and time, never the whole circuit's.
 */
export class CircuitTooLarge extends RangeError {
  override name = 'CircuitTooLarge';
  readonly maxConstraints: number;
  constructor(maxConstraints: number) {
    super(`the circuit has more than ${maxConstraints} constraints`);
    this.maxConstraints = maxConstraints;
  }
}

export class R1csBuilder {
  labels: string[] = ['one'];
  roles: SignalRole[] = ['one'];
  constraints: Constraint[] = [];
  hints: Hint[] = [];
  /** Most constraints this builder takes (CircuitTooLarge past it). */
  readonly maxConstraints: number;

  constructor(maxConstraints = Number.POSITIVE_INFINITY) {
    this.maxConstraints = maxConstraints;
  }

  signal(label: string, role: SignalRole = 'private'): number {
    this.labels.push(label);
    this.roles.push(role);
    return this.labels.length - 1;
  }

  /** a·b = c */
  constrain(a: LC, b: LC, c: LC, label: string): void {
    if (this.constraints.length >= this.maxConstraints) throw new CircuitTooLarge(this.maxConstraints);
    this.constraints.push({ a, b, c, label });
  }

  /** l = 0, as l·1 = 0 */
  zero(l: LC, label: string): void {
    if (this.constraints.length >= this.maxConstraints) throw new CircuitTooLarge(this.maxConstraints);
    this.constraints.push({ a: l, b: constLC(1), c: new Map(), label });
  }

  hint(h: Hint): void {
    this.hints.push(h);
  }
}

/**
 * A finished circuit: signals renumbered into snarkjs' wire order — 0 the constant one, then the
 * public outputs, then the public inputs, then private signals — with `wireOf[id]` mapping a
 * builder signal id to its wire.
 */
export type R1cs = {
  nWires: number;
  nOutputs: number;
  nPubInputs: number;
  constraints: Constraint[];
  labels: string[];
  wireOf: Int32Array;
};

export function finalize(b: R1csBuilder): R1cs {
  const n = b.labels.length;
  const wireOf = new Int32Array(n);
  const labels: string[] = new Array(n);
  let next = 0;
  let nOutputs = 0;
  let nPubInputs = 0;
  for (const role of ['one', 'output', 'input', 'private'] as const)
    for (let id = 0; id < n; id++)
      if (b.roles[id] === role) {
        if (role === 'output') nOutputs++;
        if (role === 'input') nPubInputs++;
        labels[next] = b.labels[id];
        wireOf[id] = next++;
      }
  const remap = (l: LC): LC => {
    const m: LC = new Map();
    for (const [s, c] of l) m.set(wireOf[s], c);
    return m;
  };
  const constraints = b.constraints.map((c) => {
    // A bit check x·x = x uses one object three times: remap it once.
    const a = remap(c.a);
    const bb = c.b === c.a ? a : remap(c.b);
    const cc = c.c === c.a ? a : c.c === c.b ? bb : remap(c.c);
    return { a, b: bb, c: cc, label: c.label };
  });
  return { nWires: n, nOutputs, nPubInputs, constraints, labels, wireOf };
}

/** Index of the first violated constraint among `which` (all by default), or -1. */
export function firstViolation(r: R1cs, w: readonly bigint[], which?: Iterable<number>): number {
  const idx = which ?? r.constraints.keys();
  for (const i of idx) {
    const c = r.constraints[i];
    if (fmod(evalLC(c.a, w) * evalLC(c.b, w)) !== evalLC(c.c, w)) return i;
  }
  return -1;
}

// ---- binary files (iden3 binfile: magic, u32 version, u32 nSections, sections of u32 type + u64 size)

const N8 = 32;

class ByteWriter {
  buf = new Uint8Array(1 << 16);
  view = new DataView(this.buf.buffer);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  u64(v: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, v % 0x100000000, true);
    this.view.setUint32(this.pos + 4, Math.floor(v / 0x100000000), true);
    this.pos += 8;
  }
  /** A field element, reduced, little-endian in 32 bytes (normal form, not Montgomery). */
  fe(x: bigint): void {
    this.raw(fmod(x));
  }
  /** A non-negative integer below 2^256, little-endian in 32 bytes (used for the prime itself). */
  raw(x: bigint): void {
    this.ensure(N8);
    // Four 64-bit limbs: a quarter of the bigint operations of a byte loop (R1CS files of the
    // private-weights circuits hold ~16 M coefficients).
    let v = x;
    for (let i = 0; i < N8; i += 8) {
      this.view.setBigUint64(this.pos + i, BigInt.asUintN(64, v), true);
      v >>= 64n;
    }
    this.pos += N8;
  }
  magic(s: string, version: number, nSections: number): void {
    this.ensure(4);
    for (let i = 0; i < 4; i++) this.buf[this.pos + i] = s.charCodeAt(i);
    this.pos += 4;
    this.u32(version);
    this.u32(nSections);
  }
  /** Starts a section; returns the position of its size field. */
  section(type: number): number {
    this.u32(type);
    const at = this.pos;
    this.u64(0);
    return at;
  }
  endSection(at: number): void {
    const size = this.pos - at - 8;
    this.view.setUint32(at, size % 0x100000000, true);
    this.view.setUint32(at + 4, Math.floor(size / 0x100000000), true);
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** A malformed binfile (.r1cs, .wtns, .zkey). */
export class BinFileError extends Error {
  override name = 'BinFileError';
}

/**
 * The sections of a binfile with this magic: type → where its bytes start and how many. Read only
 * from files this machine wrote or was handed by its operator (setup, keys, witnesses), never from
 * the network or a transaction; still bounded: every section is checked against the file's end.
 */
export function binSections(bytes: Uint8Array, magic: string): Map<number, { start: number; size: number }> {
  if (bytes.length < 12 || String.fromCharCode(...bytes.subarray(0, 4)) !== magic)
    throw new BinFileError(`not a .${magic} file`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = v.getUint32(8, true);
  const out = new Map<number, { start: number; size: number }>();
  let p = 12;
  for (let i = 0; i < n; i++) {
    if (p + 12 > bytes.length) throw new BinFileError(`.${magic} file truncated`);
    const type = v.getUint32(p, true);
    const size = Number(v.getBigUint64(p + 4, true));
    if (p + 12 + size > bytes.length) throw new BinFileError(`.${magic} file truncated`);
    out.set(type, { start: p + 12, size });
    p += 12 + size;
  }
  return out;
}

/** snarkjs/circom `.r1cs` version 1: header, constraints and the wire-to-label map. */
export function writeR1cs(r: R1cs): Uint8Array {
  const w = new ByteWriter();
  w.magic('r1cs', 1, 3);
  let at = w.section(1);
  w.u32(N8);
  w.raw(BN254_R);
  w.u32(r.nWires);
  w.u32(r.nOutputs);
  w.u32(r.nPubInputs);
  w.u32(0); // private inputs: none are declared as such
  w.u64(r.nWires); // labels
  w.u32(r.constraints.length);
  w.endSection(at);
  at = w.section(2);
  const writeLC = (l: LC): void => {
    const terms = [...l].map(([s, c]) => [s, fmod(c)] as const).filter(([, c]) => c !== 0n);
    terms.sort((x, y) => x[0] - y[0]);
    w.u32(terms.length);
    for (const [s, c] of terms) {
      w.u32(s);
      w.fe(c);
    }
  };
  for (const c of r.constraints) {
    writeLC(c.a);
    writeLC(c.b);
    writeLC(c.c);
  }
  w.endSection(at);
  at = w.section(3);
  for (let i = 0; i < r.nWires; i++) w.u64(i);
  w.endSection(at);
  return w.bytes();
}

/** snarkjs `.wtns` version 2 of a witness in wire order. */
export function writeWtns(witness: readonly bigint[]): Uint8Array {
  const w = new ByteWriter();
  w.magic('wtns', 2, 2);
  let at = w.section(1);
  w.u32(N8);
  w.raw(BN254_R);
  w.u32(witness.length);
  w.endSection(at);
  at = w.section(2);
  for (const v of witness) w.fe(v);
  w.endSection(at);
  return w.bytes();
}
