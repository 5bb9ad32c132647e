// The development setup's number crunching on snarkjs' own BN254 wasm (ffjavascript/wasmcurves:
// Montgomery field and curve code), driven by direct calls into one instance per thread instead of
// ffjavascript's task lists (which post every curve addition as an object to a worker):
// - fixed-base scalar multiplication by a comb: per window j of w bits a table d·2^(wj)·G for
//   d < 2^w in affine form, so [s]G is ⌈254/w⌉ additions, done in affine coordinates for a whole
//   chunk of scalars at once with one batch inversion per window (Montgomery's trick);
// - Fr arithmetic (Lagrange basis at τ, per-wire QAP sums) on Montgomery limbs in wasm memory.
// Used by setup.ts (field part, main thread) and setup-worker.ts (curve part, worker threads).
// Nothing here imports snarkjs: worker threads load it without ffjavascript's thread pool.

export type Group = 'G1' | 'G2';

const N8 = 32;
/** BN254's scalar field order r. */
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Bytes of an affine (LEM) and of a Jacobian point of the group. */
export function pointSizes(group: Group): { sOut: number; sMid: number } {
  const f = group === 'G1' ? 32 : 64;
  return { sOut: 2 * f, sMid: 3 * f };
}

/** Windows of w bits covering a scalar below r (254 bits). */
export function windowsFor(w: number): number {
  return Math.ceil(254 / w);
}

/** b^e mod r (b may be negative). */
export function powmod(b: bigint, e: bigint): bigint {
  let r = 1n;
  let x = ((b % R) + R) % R;
  let k = e;
  while (k > 0n) {
    if (k & 1n) r = (r * x) % R;
    x = (x * x) % R;
    k >>= 1n;
  }
  return r;
}

/** The 2^k-th root of unity of BN254's Fr as ffjavascript (and so the wasm's FFT) defines it. */
export function rootOfUnity(k: number): bigint {
  // ffjavascript: w[s] = nqr^t with r-1 = 2^s·t, s = 28, nqr = 5; w[i] = w[i+1]^2.
  const s = 28;
  let w = powmod(5n, (R - 1n) >> BigInt(s));
  for (let i = s; i > k; i--) w = (w * w) % R;
  return w;
}

/** x (0 ≤ x < 2^256) as 32 little-endian bytes. */
export function scalarLE(x: bigint): Uint8Array {
  const out = new Uint8Array(N8);
  let v = x;
  for (let i = 0; i < N8; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

type Exports = Record<string, (...a: number[]) => number>;

export class Bn254Wasm {
  readonly memory: WebAssembly.Memory;
  readonly ex: Exports;
  u8: Uint8Array;

  private constructor(instance: WebAssembly.Instance, memory: WebAssembly.Memory) {
    this.memory = memory;
    this.ex = instance.exports as unknown as Exports;
    this.u8 = new Uint8Array(memory.buffer);
    // wasmcurves keeps its free pointer at address 0; allocations below stay aligned to 8.
    const v = new Uint32Array(memory.buffer, 0, 1);
    v[0] = (v[0] + 7) & ~7;
  }

  static async create(code: Uint8Array | WebAssembly.Module): Promise<Bn254Wasm> {
    const mod = code instanceof WebAssembly.Module ? code : await WebAssembly.compile(code as BufferSource);
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 32767 });
    const instance = await WebAssembly.instantiate(mod, { env: { memory } });
    return new Bn254Wasm(instance, memory);
  }

  /** The free pointer (wasmcurves allocates its own temporaries from here). */
  get top(): number {
    return new Uint32Array(this.memory.buffer, 0, 1)[0];
  }

  set top(p: number) {
    new Uint32Array(this.memory.buffer, 0, 1)[0] = p;
  }

  /** Ensures `bytes` of headroom above the free pointer (for wasmcurves' temporaries). */
  reserve(bytes: number): void {
    const need = this.top + bytes + 65536;
    const have = this.memory.buffer.byteLength;
    if (need > have) {
      this.memory.grow(Math.ceil((need - have) / 65536));
      this.u8 = new Uint8Array(this.memory.buffer);
    }
  }

  /** Allocates `bytes` (8-aligned) at the free pointer. */
  alloc(bytes: number): number {
    const p = this.top;
    this.reserve(bytes);
    this.top = p + ((bytes + 7) & ~7);
    return p;
  }

  set(p: number, b: Uint8Array): void {
    this.u8.set(b, p);
  }

  get(p: number, len: number): Uint8Array {
    return this.u8.slice(p, p + len);
  }

  // ---- Fr (Montgomery form in memory)

  /** Writes x (0 ≤ x < 2^256, standard form) as 32 little-endian bytes at p. */
  setBig(p: number, x: bigint): void {
    if (x < 0n || x >> 256n) throw new RangeError('setBig: out of range');
    let v = x;
    for (let i = 0; i < N8; i++) {
      this.u8[p + i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }

  getBig(p: number): bigint {
    let x = 0n;
    for (let i = N8 - 1; i >= 0; i--) x = (x << 8n) | BigInt(this.u8[p + i]);
    return x;
  }

  /** Allocates an Fr element holding x (in Montgomery form). */
  fr(x: bigint): number {
    const p = this.alloc(N8);
    this.setBig(p, x);
    this.ex.frm_toMontgomery(p, p);
    return p;
  }

  // ---- fixed-base comb

  /**
   * Comb table rows for windows [from, to) of w bits: affine LEM points d·2^(wj)·G at index
   * (j − from)·(2^w − 1) + d − 1, for the generator G (snarkjs' LEM generator, `gen`). Per row,
   * T[2^k] by a scalar multiplication, then T[2^k + e] = T[e] + T[2^k] for e < 2^k in one
   * batch-affine step (never exceptional: e ≢ ±2^k mod r).
   */
  combRows(group: Group, gen: Uint8Array, w: number, from: number, to: number): Uint8Array {
    const { sOut, sMid } = pointSizes(group);
    const pre = group === 'G1' ? 'g1m' : 'g2m';
    const ex = this.ex;
    const mark = this.top;
    const per = (1 << w) - 1;
    const out = new Uint8Array((to - from) * per * sOut);
    const pG = this.alloc(sOut);
    this.set(pG, gen);
    const sc = this.alloc(N8);
    const jac = this.alloc(sMid);
    const rows = this.alloc(per * sOut);
    const half = 1 << (w - 1);
    const adder = new AffineAdder(this, group, half);
    const ps = new Int32Array(half);
    const qs = new Int32Array(half);
    // cur = 2^(wj + k)·G (affine): one scalar multiplication, then doublings.
    const cur = this.alloc(sOut);
    this.setBig(sc, (1n << BigInt(w * from)) % R);
    ex[`${pre}_timesScalarAffine`](pG, sc, N8, jac);
    ex[`${pre}_toAffine`](jac, cur);
    for (let j = from; j < to; j++) {
      for (let k = 0; k < w; k++) {
        const h = 1 << k;
        const th = rows + (h - 1) * sOut;
        if (j > from || k > 0) {
          ex[`${pre}_doubleAffine`](cur, jac);
          ex[`${pre}_toAffine`](jac, cur);
        }
        this.u8.copyWithin(th, cur, cur + sOut);
        for (let e = 1; e < h; e++) {
          ps[e - 1] = rows + (e - 1) * sOut;
          qs[e - 1] = th;
        }
        // T[h + e] lies right after T[h].
        adder.add(h - 1, ps, qs, th + sOut);
      }
      out.set(this.u8.subarray(rows, rows + per * sOut), (j - from) * per * sOut);
    }
    this.top = mark;
    return out;
  }

  /**
   * [s_i]·G for scalars in standard form (32 bytes little-endian each, below r) from a comb table
   * at `table` (combRows for every window), as affine LEM points (zero for a zero scalar). The
   * additions are affine, every accumulator of the chunk at once: per window one batch inversion
   * (Montgomery's trick) serves them all, ~6 field multiplications each instead of a mixed Jacobian
   * addition's 11. Never exceptional: before window j an accumulator holds k·G with k < 2^(wj) ≤ m
   * for the table point m·G it gets, and k + m ≤ s < r, so k ≢ ±m (mod r). The points go to the
   * start of `dest` when given (and an empty array is returned).
   */
  combMul(group: Group, table: number, w: number, scalars: Uint8Array, dest?: Uint8Array): Uint8Array {
    const { sOut } = pointSizes(group);
    const n = scalars.length / N8;
    const mark = this.top;
    const acc = this.alloc(n * sOut);
    const adder = new AffineAdder(this, group, n);
    const u8 = this.u8;
    u8.fill(0, acc, acc + n * sOut);
    const empty = new Uint8Array(n).fill(1);
    const ps = new Int32Array(n);
    const qs = new Int32Array(n);
    const words = new Uint32Array(scalars.buffer, scalars.byteOffset, scalars.length / 4);
    const nw = windowsFor(w);
    const mask = (1 << w) - 1;
    const rowBytes = ((1 << w) - 1) * sOut;
    const digit = new Uint32Array(n);
    const count = new Uint32Array(1 << w);
    for (let j = 0; j < nw; j++) {
      const bit = w * j;
      const wo = bit >>> 5;
      const sh = bit & 31;
      const two = sh + w > 32 && wo < 7;
      const row = table + j * rowBytes;
      // Digits first; the additions then go in digit order (counting sort), so that the table row
      // is read in address order rather than at random.
      count.fill(0);
      let m = 0;
      for (let i = 0; i < n; i++) {
        const wi = i * 8 + wo;
        let v = words[wi] >>> sh;
        if (two) v |= words[wi + 1] << (32 - sh);
        const d = v & mask;
        digit[i] = d;
        if (d === 0) continue;
        if (empty[i]) {
          const pt = row + (d - 1) * sOut;
          const a = acc + i * sOut;
          u8.copyWithin(a, pt, pt + sOut);
          empty[i] = 0;
          digit[i] = 0;
        } else {
          count[d]++;
          m++;
        }
      }
      let sum = 0;
      for (let d = 1; d <= mask; d++) {
        const c = count[d];
        count[d] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const d = digit[i];
        if (d === 0) continue;
        const k = count[d]++;
        ps[k] = acc + i * sOut;
        qs[k] = row + (d - 1) * sOut;
      }
      adder.add(m, ps, qs, -1);
    }
    let out = new Uint8Array(0);
    if (dest) dest.set(this.u8.subarray(acc, acc + n * sOut));
    else out = this.u8.slice(acc, acc + n * sOut);
    this.top = mark;
    return out;
  }

  // ---- variable-base multi-scalar multiplication (the Groth16 prover, prover-worker.ts)

  /**
   * Σ s_i·P_i for n affine LEM bases at `bases` (a zero point, all bytes 0, is skipped) and scalars
   * in standard form at `scalars` (32 bytes LE each, below 2^254), into the Jacobian point at `out`
   * (Montgomery). Pippenger's bucket method with signed c-bit digits (2^(c−1) buckets per window)
   * and affine buckets: each window's additions go in batches sharing one inversion (Montgomery's
   * trick, AffineAdder), about half the field multiplications of a mixed Jacobian addition. A bucket
   * gets at most one point per batch: a point whose bucket is taken waits for the next pass, and in
   * that pass goes to the bucket's Jacobian side sum if the bucket is taken again (crowded buckets,
   * as in the top window or for many equal small scalars, would otherwise take a batch each); a
   * point with the bucket's x coordinate (equal or opposite points) is doubled or cancelled on the
   * spot. The buckets are then summed (Σ_b b·B_b by running sums, Jacobian) and the windows joined
   * by c doublings each.
   */
  msm(group: Group, bases: number, scalars: number, n: number, out: number, c = msmWindow(n)): void {
    const { sOut, sMid } = pointSizes(group);
    const fs = sOut / 2;
    const pre = group === 'G1' ? 'g1m' : 'g2m';
    const F = group === 'G1' ? 'f1m' : 'f2m';
    const ex = this.ex;
    const addJ = ex[`${pre}_add`];
    const addMixed = ex[`${pre}_addMixed`];
    const double = ex[`${pre}_double`];
    const neg = ex[`${F}_neg`];
    const doubleAffine = ex[`${pre}_doubleAffine`];
    const toAffine = ex[`${pre}_toAffine`];
    const subMixed = ex[`${pre}_subMixed`];
    const zeroJ = ex[`${pre}_zero`];
    const mark = this.top;
    const half = 1 << (c - 1);
    const batch = Math.max(16, Math.min(1024, half >> 2));
    const buckets = this.alloc((half + 1) * sOut);
    const negs = this.alloc(batch * sOut);
    const over = this.alloc((half + 1) * sMid);
    const running = this.alloc(sMid);
    const sum = this.alloc(sMid);
    const win = this.alloc(sMid);
    const jac = this.alloc(sMid);
    const adder = new AffineAdder(this, group, batch);
    ex[`${pre}_zero`](out);
    const u32 = new Uint32Array(this.memory.buffer);
    const fw = fs >>> 2;
    const pw = sOut >>> 2;
    // Zero bases are skipped; signed digits need each point's carry into the next window.
    const skip = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const q = (bases + i * sOut) >>> 2;
      let z = 1;
      for (let k = 0; k < pw; k++)
        if (u32[q + k] !== 0) {
          z = 0;
          break;
        }
      skip[i] = z;
    }
    const carry = new Uint8Array(n);
    const nWin = Math.ceil(255 / c);
    const empty = new Uint8Array(half + 1);
    const overUsed = new Uint8Array(half + 1);
    const stamp = new Int32Array(half + 1);
    const ps = new Int32Array(batch);
    const qs = new Int32Array(batch);
    const digits = new Int32Array(n);
    let pending = new Int32Array(n);
    let next = new Int32Array(n);
    const mask = (1 << c) - 1;
    const sw = scalars >>> 2;
    const windows: Uint8Array[] = [];
    for (let j = 0; j < nWin; j++) {
      const bit = c * j;
      const wo = bit >>> 5;
      const sh = bit & 31;
      const two = sh + c > 32 && wo < 7;
      let count = 0;
      for (let i = 0; i < n; i++) {
        if (skip[i]) continue;
        let v = 0;
        if (wo < 8) {
          const wi = sw + i * 8 + wo;
          v = u32[wi] >>> sh;
          if (two) v |= u32[wi + 1] << (32 - sh);
          v &= mask;
        }
        v += carry[i];
        if (v > half) {
          v -= 1 << c;
          carry[i] = 1;
        } else carry[i] = 0;
        if (v !== 0) {
          digits[i] = v;
          pending[count++] = i;
        }
      }
      empty.fill(1);
      stamp.fill(-1);
      overUsed.fill(0);
      let round = 0;
      for (let pass = 0; count > 0; pass++) {
        let m = 0;
        let left = 0;
        for (let e = 0; e < count; e++) {
          const i = pending[e];
          const d = digits[i];
          const b = d < 0 ? -d : d;
          if (stamp[b] === round) {
            if (pass === 0) next[left++] = i;
            else {
              // Still busy in the second pass (a crowded bucket): a Jacobian side sum.
              const o = over + b * sMid;
              if (!overUsed[b]) {
                zeroJ(o);
                overUsed[b] = 1;
              }
              (d < 0 ? subMixed : addMixed)(o, bases + i * sOut, o);
            }
            continue;
          }
          const bp = buckets + b * sOut;
          let pt = bases + i * sOut;
          if (d < 0) {
            const t = negs + m * sOut;
            const tw = t >>> 2;
            const pw0 = pt >>> 2;
            for (let k = 0; k < fw; k++) u32[tw + k] = u32[pw0 + k];
            neg(pt + fs, t + fs);
            pt = t;
          }
          const bx = bp >>> 2;
          const px = pt >>> 2;
          if (empty[b]) {
            for (let k = 0; k < pw; k++) u32[bx + k] = u32[px + k];
            empty[b] = 0;
            continue;
          }
          // Same x coordinate: P + P (doubling) or P + (−P) (the bucket empties).
          let same = true;
          for (let k = 0; k < fw; k++)
            if (u32[bx + k] !== u32[px + k]) {
              same = false;
              break;
            }
          if (same) {
            let sameY = true;
            for (let k = fw; k < pw; k++)
              if (u32[bx + k] !== u32[px + k]) {
                sameY = false;
                break;
              }
            if (sameY) {
              doubleAffine(bp, jac);
              toAffine(jac, bp);
            } else empty[b] = 1;
            continue;
          }
          stamp[b] = round;
          ps[m] = bp;
          qs[m] = pt;
          m++;
          if (m === batch) {
            adder.add(m, ps, qs, -1);
            m = 0;
            round++;
          }
        }
        if (m > 0) adder.add(m, ps, qs, -1);
        round++;
        const t = pending;
        pending = next;
        next = t;
        count = left;
      }
      // Σ_b b·B_b = Σ_b (B_half + … + B_b), from the top bucket down.
      ex[`${pre}_zero`](running);
      ex[`${pre}_zero`](win);
      for (let b = half; b >= 1; b--) {
        if (!empty[b]) addMixed(running, buckets + b * sOut, running);
        if (overUsed[b]) addJ(running, over + b * sMid, running);
        addJ(win, running, win);
      }
      windows.push(this.get(win, sMid));
    }
    // Σ_j 2^(cj)·W_j, from the top window down.
    for (let j = nWin - 1; j >= 0; j--) {
      if (j < nWin - 1) for (let k = 0; k < c; k++) double(out, out);
      this.set(sum, windows[j]);
      addJ(out, sum, out);
    }
    this.top = mark;
  }
}

type Fn = (...a: number[]) => number;

/**
 * Batches of affine additions r_k = p_k + q_k (x coordinates distinct) sharing one inversion. In G2
 * the Fp2 denominators are inverted through their norms: 1/(a + bi) = (a − bi)/(a² + b²), the norms
 * batch-inverted in Fp, which is about half the cost of Montgomery's trick on Fp2 elements.
 */
class AffineAdder {
  private readonly g2: boolean;
  private readonly fs: number;
  private readonly den: number;
  private readonly inv: number;
  private readonly norm: number;
  private readonly normInv: number;
  private readonly lam: number;
  private readonly t: number;
  private readonly x3: number;
  private readonly sub: Fn;
  private readonly mul: Fn;
  private readonly square: Fn;
  private readonly copy: Fn;
  private readonly batchInverse: Fn;
  private readonly ex: Exports;

  /** Scratch for up to `max` additions, from f's allocator (freed when the caller resets it). */
  constructor(f: Bn254Wasm, group: Group, max: number) {
    const fs = pointSizes(group).sOut / 2;
    const F = group === 'G1' ? 'f1m' : 'f2m';
    this.g2 = group === 'G2';
    this.fs = fs;
    this.den = f.alloc(max * fs);
    this.inv = f.alloc(max * fs);
    this.norm = this.g2 ? f.alloc(max * N8) : 0;
    this.normInv = this.g2 ? f.alloc(max * N8) : 0;
    this.lam = f.alloc(fs);
    this.t = f.alloc(fs);
    this.x3 = f.alloc(fs);
    // batchInverse takes (max + 1)·fs of temporaries above the free pointer.
    f.reserve((max + 1) * fs);
    this.ex = f.ex;
    this.sub = f.ex[`${F}_sub`];
    this.mul = f.ex[`${F}_mul`];
    this.square = f.ex[`${F}_square`];
    this.copy = f.ex[`${F}_copy`];
    this.batchInverse = f.ex[`${F}_batchInverse`];
  }

  /** inv_k = 1/den_k for k < m. */
  private invert(m: number): void {
    const { den, inv, fs } = this;
    if (!this.g2) {
      this.batchInverse(den, fs, m, inv, fs);
      return;
    }
    const { norm, normInv, t } = this;
    const { f1m_square, f1m_add, f1m_mul, f1m_neg, f1m_batchInverse } = this.ex;
    for (let k = 0; k < m; k++) {
      const d = den + k * fs;
      f1m_square(d, t);
      f1m_square(d + N8, t + N8);
      f1m_add(t, t + N8, norm + k * N8);
    }
    f1m_batchInverse(norm, N8, m, normInv, N8);
    for (let k = 0; k < m; k++) {
      const d = den + k * fs;
      const r = inv + k * fs;
      const ni = normInv + k * N8;
      f1m_mul(d, ni, r);
      f1m_mul(d + N8, ni, t);
      f1m_neg(t, r + N8);
    }
  }

  /** m additions p_k + q_k, into p_k (rBase < 0) or into rBase + k·(2·fs). */
  add(m: number, ps: Int32Array, qs: Int32Array, rBase: number): void {
    if (m === 0) return;
    const { fs, den, inv, lam, t, x3, sub, mul, square, copy } = this;
    for (let k = 0; k < m; k++) sub(qs[k], ps[k], den + k * fs);
    this.invert(m);
    for (let k = 0; k < m; k++) {
      const p = ps[k];
      const q = qs[k];
      const r = rBase < 0 ? p : rBase + k * 2 * fs;
      // λ = (y_q − y_p)/(x_q − x_p); x3 = λ² − x_p − x_q; y3 = λ(x_p − x3) − y_p
      sub(q + fs, p + fs, t);
      mul(t, inv + k * fs, lam);
      square(lam, x3);
      sub(x3, p, x3);
      sub(x3, q, x3);
      sub(p, x3, t);
      mul(lam, t, t);
      sub(t, p + fs, r + fs);
      copy(x3, r);
    }
  }
}

/**
 * Comb window for `count` scalar multiplications: minimises additions plus table building (a table
 * point, built and copied to every thread, measured about two additions). At most 16 bits (16 windows; a table of 2^20 points, 64 MB in G1
 * and 128 MB in G2, per thread): wider windows would not fit the caches at all.
 */
export function combWindow(count: number): number {
  let best = 4;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let w = 4; w <= 16; w++) {
    const nw = windowsFor(w);
    const cost = count * nw + nw * ((1 << w) - 1) * 2;
    if (cost < bestCost) {
      bestCost = cost;
      best = w;
    }
  }
  return best;
}

/**
 * Signed-digit window for a Pippenger multi-scalar multiplication of n points: minimises the
 * per-window work, n affine bucket additions plus 2^c Jacobian ones for the bucket sums (each about
 * two affine additions), times ⌈255/c⌉ windows.
 */
export function msmWindow(n: number): number {
  let best = 2;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let c = 2; c <= 18; c++) {
    const cost = Math.ceil(255 / c) * (n + 2 * (1 << c));
    if (cost < bestCost) {
      bestCost = cost;
      best = c;
    }
  }
  return best;
}
