// A WebAssembly SIMD module for the hot loops of the runtime: the int8 matrix products of linear,
// conv and matmul including their requantization, conv's padding and im2col, Relu, and 2×2 max
// pooling. It computes exactly the integers of the spec (and of the JavaScript loops in
// kernels.ts): each dot product is a sum of int8·int8 products in i32 lanes, which the quantizer
// bounds below 2^31 together with the bias, so nothing wraps; the requantization
// floor((acc·m + 2^(s-1)) / 2^s) is an i64 multiply, add and arithmetic shift, which is that floor
// exactly; saturation to ±127 follows. The module is assembled here from its bytes (no build
// step, a few KB) and used when the engine validates fixed-width SIMD (Node ≥ 16, current
// browsers); otherwise kernels.ts runs its JavaScript loops. Integer SIMD only (no float
// instructions, no relaxed-simd), so results are the same on every engine and CPU.
// Browser-safe: no node: imports.

// ---- A tiny assembler for the instructions the module uses. ---------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 for small constants (|v| < 2^31). */
function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function str(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

const I32 = 0x7f;
const I64 = 0x7e;
const V128 = 0x7b;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32c = (v: number) => [0x41, ...sleb(v)];
const i64c = (v: number) => [0x42, ...sleb(v)];
const LOOP = [0x03, 0x40];
const IF = [0x04, 0x40];
const END = [0x0b];
const brIf = (d: number) => [0x0d, ...uleb(d)];
const call = (f: number) => [0x10, ...uleb(f)];
const SELECT = [0x1b];
const I32_LOAD = [0x28, 2, 0];
const I32_STORE8 = [0x3a, 0, 0];
const I32_LT_U = [0x49];
const I32_ADD = [0x6a];
const I32_MUL = [0x6c];
const I32_SHL = [0x74];
const I64_LT_S = [0x53];
const I64_GT_S = [0x55];
const I64_ADD = [0x7c];
const I64_MUL = [0x7e];
const I64_SHL = [0x86];
const I64_SHR_S = [0x87];
const I32_WRAP_I64 = [0xa7];
const I64_EXTEND_I32_S = [0xac];
const I64_EXTEND_I32_U = [0xad];
const V128_LOAD = [0xfd, 0x00, 4, 0];
const V128_LOAD8X8_S = [0xfd, 0x01, 3, 0];
const V128_STORE = [0xfd, 0x0b, 4, 0];
const I8X16_MAX_S = [0xfd, ...uleb(120)];
const BLOCK = [0x02, 0x40];
const I32_EQZ = [0x45];
const I32_EQ = [0x46];
const I32_GE_U = [0x4f];
const I32_LE_U = [0x4d];
const I32_AND = [0x71];
const I32_LOAD8_S = [0x2c, 0, 0];
const I32_STORE16 = [0x3b, 1, 0];
const MEMORY_COPY = [0xfc, 0x0a, 0, 0];
const MEMORY_FILL = [0xfc, 0x0b, 0];
const V128_ZERO = [0xfd, 0x0c, ...new Array(16).fill(0)];
const I32X4_EXTRACT = (lane: number) => [0xfd, 0x1b, lane];
const I32X4_ADD = [0xfd, ...uleb(174)];
const I32X4_DOT_I16X8_S = [0xfd, ...uleb(186)];
const I8X16_SHUFFLE = (lanes: number[]) => [0xfd, 0x0d, ...lanes];
const I32X4_SPLAT = [0xfd, 0x11];
const I64X2_SPLAT = [0xfd, 0x12];
const I64X2_EXTEND_LOW_I32X4_S = [0xfd, ...uleb(199)];
const I64X2_EXTEND_HIGH_I32X4_S = [0xfd, ...uleb(200)];
const I64X2_SHR_S = [0xfd, ...uleb(204)];
const I64X2_ADD = [0xfd, ...uleb(206)];
const I64X2_MUL = [0xfd, ...uleb(213)];
const I16X8_NARROW_I32X4_S = [0xfd, ...uleb(133)];
const I8X16_NARROW_I16X8_S = [0xfd, ...uleb(101)];
const V128_STORE32_LANE = (lane: number) => [0xfd, ...uleb(90), 2, 0, lane];
const V128_STORE64_LANE = (lane: number) => [0xfd, ...uleb(91), 3, 0, lane];
const I64_SHL_ONE = [0x42, 1]; // i64.const 1
const I64_LE_S = [0x57];
const I32X4_MIN_S = [0xfd, ...uleb(182)];
const I32X4_MAX_S = [0xfd, ...uleb(184)];
const I32X4_CONST = (v: number) => {
  const lane = [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff];
  return [0xfd, 0x0c, ...lane, ...lane, ...lane, ...lane];
};

/**
 * Function 0, gemm(a, rows, kp, b, cols, out, bias, mult, shift, perRow):
 *   for r < rows, n < cols:  acc = Σ_{k<kp} a[r·kp + k] · b[n·kp + k]        (a, b: i16)
 *     i = perRow ? r : n;  out[r·cols + n] (i8) = emit(acc, bias[i], mult[i], shift[i])
 *   b must hold a multiple of 4 rows (zero rows past cols), kp is a multiple of 8.
 * Function 1, emit(o, acc, i, bias, mult, shift):
 *   v = ((i64)(acc + bias[i]) · mult[i] + ((1 << s) >> 1)) >> s  (arithmetic), s = shift[i]
 *   store8(o, clamp(v, -127, 127))
 * Functions 2-5 (pad, im2col, relu, maxpool2) are described where they are built.
 */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  // gemm: two rows of `a` against four rows of `b` per step (8 accumulators), one row when the
  // row count is odd. Locals: 0 a, 1 rows, 2 kp, 3 b, 4 cols, 5 out, 6 bias, 7 mult, 8 shift,
  // 9 perRow, 10 r, 11 n, 12 k, 13 arow0, 14 arow1, 15-18 b0..b3, 19 o, 20 rowBytes, 21 two;
  // v128: 22-25 acc row 0, 26-29 acc row 1, 30 av0, 31 av1, 32 bv.
  const hsum = (v: number) => [
    ...get(v),
    ...I32X4_EXTRACT(0),
    ...get(v),
    ...I32X4_EXTRACT(1),
    ...I32_ADD,
    ...get(v),
    ...I32X4_EXTRACT(2),
    ...I32_ADD,
    ...get(v),
    ...I32X4_EXTRACT(3),
    ...I32_ADD,
  ];
  const dotInto = (acc: number, av: number) => [
    ...get(acc),
    ...get(av),
    ...get(32),
    ...I32X4_DOT_I16X8_S,
    ...I32X4_ADD,
    ...set(acc),
  ];
  const kLoop = (twoRows: boolean) => {
    const body: number[] = [...get(13), ...get(12), ...I32_ADD, ...V128_LOAD, ...set(30)];
    if (twoRows) body.push(...get(14), ...get(12), ...I32_ADD, ...V128_LOAD, ...set(31));
    for (let j = 0; j < 4; j++) {
      body.push(...get(15 + j), ...get(12), ...I32_ADD, ...V128_LOAD, ...set(32));
      body.push(...dotInto(22 + j, 30));
      if (twoRows) body.push(...dotInto(26 + j, 31));
    }
    return [
      ...[...i32c(0), ...set(12)],
      ...LOOP,
      ...body,
      ...[...get(12), ...i32c(16), ...I32_ADD, ...tee(12), ...get(20), ...I32_LT_U, ...brIf(0)],
      ...END,
    ];
  };
  /** Stores output (row r + dr, column n + j) from accumulator `acc`; local 19 is row r's start. */
  const emitJ = (dr: number, j: number, acc: number) => {
    const e = [
      ...[...get(19), ...(dr ? [...get(4), ...I32_ADD] : []), ...get(11), ...I32_ADD, ...i32c(j), ...I32_ADD],
      ...hsum(acc),
      ...[...get(10), ...i32c(dr), ...I32_ADD, ...get(11), ...i32c(j), ...I32_ADD, ...get(9), ...SELECT],
      ...[...get(6), ...get(7), ...get(8), ...call(1)],
    ];
    if (j === 0) return e;
    return [...get(11), ...i32c(j), ...I32_ADD, ...get(4), ...I32_LT_U, ...IF, ...e, ...END];
  };
  // The per-row epilogue in SIMD (perRow, four whole columns, and |mult| ≤ 2^shift so that the
  // rescaled value of an accumulator below 2^31 fits in i32): the four sums of one output row as
  // one i32x4, the i64 requantization two lanes at a time, then the ±127 clamp in i32. Row
  // parameters are loaded once per pair of rows. Extra locals: v128 33 s01, 34 s23, 35 lo, 36 hi,
  // 37-38 m2[dr], 39-40 half2[dr], 41-42 bias4[dr]; i32 43-44 sh[dr], 45-46 fast[dr].
  const lanes32 = (xs: number[]) => xs.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
  const rowParam = (base: number, dr: number) => [
    ...get(base),
    ...get(10),
    ...i32c(dr),
    ...I32_ADD,
    ...i32c(2),
    ...I32_SHL,
    ...I32_ADD,
    ...I32_LOAD,
  ];
  const loadRowParams = (dr: number) => [
    ...[...rowParam(8, dr), ...set(43 + dr)],
    ...[...rowParam(6, dr), ...I32X4_SPLAT, ...set(41 + dr)],
    ...[...rowParam(7, dr), ...I64_EXTEND_I32_S, ...I64X2_SPLAT, ...set(37 + dr)],
    ...[...I64_SHL_ONE, ...get(43 + dr), ...I64_EXTEND_I32_U, ...I64_SHL, ...i64c(1), ...I64_SHR_S],
    ...[...I64X2_SPLAT, ...set(39 + dr)],
    // fast = |mult| ≤ 2^shift: always when shift ≥ 15 (|mult| < 2^15), else mult² ≤ 2^(2·shift)
    // in i64 (no abs needed; 2·shift < 30 there, so the shift does not wrap).
    ...i32c(1),
    ...[...rowParam(7, dr), ...I64_EXTEND_I32_S, ...tee(47), ...get(47), ...I64_MUL],
    ...[
      ...I64_SHL_ONE,
      ...get(43 + dr),
      ...i32c(1),
      ...I32_SHL,
      ...I64_EXTEND_I32_U,
      ...I64_SHL,
      ...I64_LE_S,
    ],
    ...[...get(43 + dr), ...i32c(15), ...I32_GE_U, ...SELECT],
    ...set(45 + dr),
  ];
  const requantHalf = (extend: number[], dr: number, dst: number) => [
    ...[...get(33), ...extend, ...get(37 + dr), ...I64X2_MUL, ...get(39 + dr), ...I64X2_ADD],
    ...[...get(43 + dr), ...I64X2_SHR_S, ...set(dst)],
  ];
  const emitRowSimd = (dr: number, acc: number) => [
    ...[...get(acc), ...get(acc + 1), ...I8X16_SHUFFLE(lanes32([0, 4, 1, 5]))],
    ...[...get(acc), ...get(acc + 1), ...I8X16_SHUFFLE(lanes32([2, 6, 3, 7])), ...I32X4_ADD, ...set(33)],
    ...[...get(acc + 2), ...get(acc + 3), ...I8X16_SHUFFLE(lanes32([0, 4, 1, 5]))],
    ...[...get(acc + 2), ...get(acc + 3), ...I8X16_SHUFFLE(lanes32([2, 6, 3, 7])), ...I32X4_ADD, ...set(34)],
    ...[...get(33), ...get(34), ...I8X16_SHUFFLE(lanes32([0, 1, 4, 5]))],
    ...[...get(33), ...get(34), ...I8X16_SHUFFLE(lanes32([2, 3, 6, 7])), ...I32X4_ADD],
    ...[...get(41 + dr), ...I32X4_ADD, ...set(33)],
    ...requantHalf(I64X2_EXTEND_LOW_I32X4_S, dr, 35),
    ...requantHalf(I64X2_EXTEND_HIGH_I32X4_S, dr, 36),
    ...[...get(35), ...get(36), ...I8X16_SHUFFLE(lanes32([0, 2, 4, 6]))],
    ...[...I32X4_CONST(127), ...I32X4_MIN_S, ...I32X4_CONST(-127), ...I32X4_MAX_S],
    ...[
      ...tee(33),
      ...get(33),
      ...I16X8_NARROW_I32X4_S,
      ...tee(33),
      ...get(33),
      ...I8X16_NARROW_I16X8_S,
      ...set(34),
    ],
    ...[...get(19), ...(dr ? [...get(4), ...I32_ADD] : []), ...get(11), ...I32_ADD],
    ...[...get(34), ...V128_STORE32_LANE(0)],
  ];
  const emitRow = (dr: number, acc: number) => [
    ...[...get(45 + dr), ...get(11), ...i32c(4), ...I32_ADD, ...get(4), ...I32_LE_U, ...I32_AND, ...IF],
    ...emitRowSimd(dr, acc),
    0x05,
    ...emitJ(dr, 0, acc),
    ...emitJ(dr, 1, acc + 1),
    ...emitJ(dr, 2, acc + 2),
    ...emitJ(dr, 3, acc + 3),
    ...END,
  ];
  const gemm = [
    ...[5, 12, I32, 11, V128, 10, V128, 4, I32, 1, I64],
    ...[...get(2), ...i32c(1), ...I32_SHL, ...set(20)],
    ...LOOP, // r, two at a time
    ...[
      ...get(0),
      ...get(10),
      ...get(20),
      ...I32_MUL,
      ...I32_ADD,
      ...tee(13),
      ...get(20),
      ...I32_ADD,
      ...set(14),
    ],
    ...[...get(10), ...i32c(1), ...I32_ADD, ...get(1), ...I32_LT_U, ...set(21)],
    ...[...i32c(0), ...set(45), ...i32c(0), ...set(46)],
    ...[...get(9), ...IF, ...loadRowParams(0), ...get(21), ...IF, ...loadRowParams(1), ...END, ...END],
    ...[...i32c(0), ...set(11)],
    ...LOOP, // n, four at a time
    ...[...get(3), ...get(11), ...get(20), ...I32_MUL, ...I32_ADD, ...tee(15)],
    ...[...get(20), ...I32_ADD, ...tee(16), ...get(20), ...I32_ADD, ...tee(17)],
    ...[...get(20), ...I32_ADD, ...set(18)],
    ...[
      ...V128_ZERO,
      ...tee(22),
      ...tee(23),
      ...tee(24),
      ...tee(25),
      ...tee(26),
      ...tee(27),
      ...tee(28),
      ...set(29),
    ],
    ...[...get(21), ...IF, ...kLoop(true), 0x05, ...kLoop(false), ...END],
    ...[...get(5), ...get(10), ...get(4), ...I32_MUL, ...I32_ADD, ...set(19)],
    ...emitRow(0, 22),
    ...[...get(21), ...IF, ...emitRow(1, 26), ...END],
    ...[...get(11), ...i32c(4), ...I32_ADD, ...tee(11), ...get(4), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...[...get(10), ...i32c(2), ...I32_ADD, ...tee(10), ...get(1), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...END,
  ];
  // emit locals: 0 o, 1 acc, 2 i, 3 bias, 4 mult, 5 shift, 6 v (i64), 7 s (i32).
  const at = (base: number) => [...get(base), ...get(2), ...i32c(2), ...I32_SHL, ...I32_ADD, ...I32_LOAD];
  const emit = [
    ...[2, 1, I64, 1, I32],
    ...get(0),
    ...[...at(5), ...set(7)],
    ...[...get(1), ...at(3), ...I32_ADD, ...I64_EXTEND_I32_S],
    ...[...at(4), ...I64_EXTEND_I32_S, ...I64_MUL],
    ...[...i64c(1), ...get(7), ...I64_EXTEND_I32_U, ...I64_SHL, ...i64c(1), ...I64_SHR_S, ...I64_ADD],
    ...[...get(7), ...I64_EXTEND_I32_U, ...I64_SHR_S, ...set(6)],
    ...[...i64c(127), ...get(6), ...get(6), ...i64c(127), ...I64_GT_S, ...SELECT, ...set(6)],
    ...[...i64c(-127), ...get(6), ...get(6), ...i64c(-127), ...I64_LT_S, ...SELECT],
    ...I32_WRAP_I64,
    ...I32_STORE8,
    ...END,
  ];
  // pad(src, C, H, W, pt, pl, Hp, Wp, dst): dst = C planes of Hp×Wp zeros with each H×W plane
  // of src copied at row pt, column pl. Locals: 9 c, 10 h.
  const pad = [
    ...[1, 2, I32],
    ...[...get(8), ...i32c(0), ...get(1), ...get(6), ...I32_MUL, ...get(7), ...I32_MUL, ...MEMORY_FILL],
    ...LOOP,
    ...[...i32c(0), ...set(10)],
    ...LOOP,
    ...[
      ...get(8),
      ...get(9),
      ...get(6),
      ...I32_MUL,
      ...get(10),
      ...I32_ADD,
      ...get(4),
      ...I32_ADD,
      ...get(7),
    ],
    ...[...I32_MUL, ...get(5), ...I32_ADD, ...I32_ADD],
    ...[
      ...get(0),
      ...get(9),
      ...get(2),
      ...I32_MUL,
      ...get(10),
      ...I32_ADD,
      ...get(3),
      ...I32_MUL,
      ...I32_ADD,
    ],
    ...[...get(3), ...MEMORY_COPY],
    ...[...get(10), ...i32c(1), ...I32_ADD, ...tee(10), ...get(2), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...[...get(9), ...i32c(1), ...I32_ADD, ...tee(9), ...get(1), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...END,
  ];
  // im2col(xp, C, Hp, Wp, kh, kw, sh, sw, dh, dw, OH, OW, dst, kp): row p = oh·OW + ow of dst
  // (i16, kp per row) = the window of the padded planes xp, c-major, zero tail. Kernel rows of
  // up to 8 contiguous values are copied as one 8-lane load/store (the overshoot is overwritten
  // by the next write; buffers carry 16 bytes of slack).
  // Locals: 14 oh, 15 ow, 16 d, 17 q, 18 base, 19 c, 20 i, 21 rowp, 22 j, 23 plane, 24 rowEnd,
  // 25 simd, 26 kwBytes, 27 dhWp.
  const im2col = [
    ...[1, 14, I32],
    ...[...get(2), ...get(3), ...I32_MUL, ...set(23)],
    ...[...get(9), ...i32c(1), ...I32_EQ, ...get(5), ...i32c(8), ...I32_LE_U, ...I32_AND, ...set(25)],
    ...[...get(5), ...i32c(1), ...I32_SHL, ...set(26)],
    ...[...get(8), ...get(3), ...I32_MUL, ...set(27)],
    ...[...get(12), ...set(16)],
    ...LOOP, // oh
    ...[...i32c(0), ...set(15)],
    ...LOOP, // ow
    ...[
      ...get(0),
      ...get(14),
      ...get(6),
      ...I32_MUL,
      ...get(3),
      ...I32_MUL,
      ...I32_ADD,
      ...get(15),
      ...get(7),
      ...I32_MUL,
      ...I32_ADD,
      ...set(18),
    ],
    ...[...get(16), ...set(17), ...i32c(0), ...set(19)],
    ...LOOP, // c
    ...[...get(18), ...get(19), ...get(23), ...I32_MUL, ...I32_ADD, ...set(21), ...i32c(0), ...set(20)],
    ...LOOP, // i
    ...[...get(25), ...IF],
    ...[
      ...get(17),
      ...get(21),
      ...V128_LOAD8X8_S,
      ...V128_STORE,
      ...get(17),
      ...get(26),
      ...I32_ADD,
      ...set(17),
    ],
    ...[0x05], // else
    ...[...i32c(0), ...set(22)],
    ...LOOP, // j
    ...[
      ...get(17),
      ...get(21),
      ...get(22),
      ...get(9),
      ...I32_MUL,
      ...I32_ADD,
      ...I32_LOAD8_S,
      ...I32_STORE16,
    ],
    ...[...get(17), ...i32c(2), ...I32_ADD, ...set(17)],
    ...[...get(22), ...i32c(1), ...I32_ADD, ...tee(22), ...get(5), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...END, // if
    ...[...get(21), ...get(27), ...I32_ADD, ...set(21)],
    ...[...get(20), ...i32c(1), ...I32_ADD, ...tee(20), ...get(4), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...[...get(19), ...i32c(1), ...I32_ADD, ...tee(19), ...get(1), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...[...get(16), ...get(13), ...i32c(1), ...I32_SHL, ...I32_ADD, ...set(24)],
    ...BLOCK,
    ...[...get(17), ...get(24), ...I32_GE_U, ...brIf(0)],
    ...LOOP,
    ...[
      ...get(17),
      ...V128_ZERO,
      ...V128_STORE,
      ...get(17),
      ...i32c(16),
      ...I32_ADD,
      ...tee(17),
      ...get(24),
      ...I32_LT_U,
      ...brIf(0),
    ],
    ...END,
    ...END,
    ...[...get(24), ...set(16)],
    ...[...get(15), ...i32c(1), ...I32_ADD, ...tee(15), ...get(11), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...[...get(14), ...i32c(1), ...I32_ADD, ...tee(14), ...get(10), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...END,
  ];
  // relu(src, n, dst): dst[i] = max(src[i], 0) for i < n rounded up to 16. Locals: 3 i.
  const relu = [
    ...[1, 1, I32],
    ...BLOCK,
    ...[...get(1), ...I32_EQZ, ...brIf(0)],
    ...LOOP,
    ...[
      ...get(2),
      ...get(3),
      ...I32_ADD,
      ...get(0),
      ...get(3),
      ...I32_ADD,
      ...V128_LOAD,
      ...V128_ZERO,
      ...I8X16_MAX_S,
      ...V128_STORE,
    ],
    ...[...get(3), ...i32c(16), ...I32_ADD, ...tee(3), ...get(1), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...END,
    ...END,
  ];
  // maxpool2(src, planes, H, W, OH, OW, dst): 2×2 windows, stride 2, no padding; eight outputs
  // per step (16 input bytes of two rows, then even/odd lanes). Output rows are written in order,
  // so the 8-byte store's overshoot is overwritten by the next row (buffers carry slack).
  // Locals: 7 pl, 8 oh, 9 ow, 10 r0, 11 o, 12 v (v128).
  const even = [0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14];
  const odd = even.map((x) => x + 1);
  const maxpool2 = [
    ...[2, 5, I32, 1, V128],
    ...[...get(6), ...set(11)],
    ...LOOP,
    ...[...i32c(0), ...set(8)],
    ...LOOP,
    ...[...get(0), ...get(7), ...get(2), ...I32_MUL, ...get(3), ...I32_MUL, ...I32_ADD],
    ...[...get(8), ...i32c(1), ...I32_SHL, ...get(3), ...I32_MUL, ...I32_ADD, ...set(10)],
    ...[...i32c(0), ...set(9)],
    ...LOOP,
    ...[...get(10), ...get(9), ...i32c(1), ...I32_SHL, ...I32_ADD, ...V128_LOAD],
    ...[...get(10), ...get(3), ...I32_ADD, ...get(9), ...i32c(1), ...I32_SHL, ...I32_ADD, ...V128_LOAD],
    ...[...I8X16_MAX_S, ...set(12)],
    ...[...get(11), ...get(9), ...I32_ADD],
    ...[
      ...get(12),
      ...get(12),
      ...I8X16_SHUFFLE(even),
      ...get(12),
      ...get(12),
      ...I8X16_SHUFFLE(odd),
      ...I8X16_MAX_S,
    ],
    ...V128_STORE64_LANE(0),
    ...[...get(9), ...i32c(8), ...I32_ADD, ...tee(9), ...get(5), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...[...get(11), ...get(5), ...I32_ADD, ...set(11)],
    ...[...get(8), ...i32c(1), ...I32_ADD, ...tee(8), ...get(4), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...[...get(7), ...i32c(1), ...I32_ADD, ...tee(7), ...get(1), ...I32_LT_U, ...brIf(0)],
    ...END,
    ...END,
  ];
  const fn = (n: number) => [0x60, n, ...new Array(n).fill(I32), 0];
  const body = (b: number[]) => [...uleb(b.length), ...b];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [6, ...fn(10), ...fn(6), ...fn(9), ...fn(14), ...fn(3), ...fn(7)]),
    ...section(3, [6, 0, 1, 2, 3, 4, 5]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [
      6,
      ...[...str('maxpool2'), 0x00, 5],
      ...[...str('gemm'), 0x00, 0],
      ...[...str('pad'), 0x00, 2],
      ...[...str('im2col'), 0x00, 3],
      ...[...str('relu'), 0x00, 4],
      ...[...str('mem'), 0x02, 0],
    ]),
    ...section(10, [
      6,
      ...body(gemm),
      ...body(emit),
      ...body(pad),
      ...body(im2col),
      ...body(relu),
      ...body(maxpool2),
    ]),
  ];
  return Uint8Array.from(bytes);
}

// ---- Memory: model data cached by identity, per-call scratch above it. --------------------------

type Exports = {
  gemm: (
    a: number,
    rows: number,
    kp: number,
    b: number,
    cols: number,
    out: number,
    bias: number,
    mult: number,
    shift: number,
    perRow: number,
  ) => void;
  pad: (
    src: number,
    C: number,
    H: number,
    W: number,
    pt: number,
    pl: number,
    Hp: number,
    Wp: number,
    dst: number,
  ) => void;
  im2col: (
    xp: number,
    C: number,
    Hp: number,
    Wp: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    OH: number,
    OW: number,
    dst: number,
    kp: number,
  ) => void;
  relu: (src: number, n: number, dst: number) => void;
  maxpool2: (src: number, planes: number, H: number, W: number, OH: number, OW: number, dst: number) => void;
  mem: WebAssembly.Memory;
};

let wasm: Exports | null | undefined;
let enabled = true;
/** Model arrays copied into wasm memory, by identity then element offset: their byte address. */
let cache = new WeakMap<object, Map<number, number>>();
let top = 0;
const CACHE_LIMIT = 256 * 1024 * 1024;
const PAGE = 65536;

function load(): Exports | null {
  if (wasm !== undefined) return wasm;
  wasm = null;
  try {
    if (typeof WebAssembly !== 'object') return null;
    const bytes = moduleBytes();
    if (!WebAssembly.validate(bytes)) return null;
    const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as Exports;
    wasm = {
      gemm: ex.gemm,
      pad: ex.pad,
      im2col: ex.im2col,
      relu: ex.relu,
      maxpool2: ex.maxpool2,
      mem: ex.mem,
    };
  } catch {
    wasm = null;
  }
  return wasm;
}

/** Turns the wasm kernel off or back on (tests run both paths and compare). */
export function setWasmEnabled(on: boolean): void {
  enabled = on;
}

export function wasmAvailable(): boolean {
  return enabled && load() !== null;
}

/**
 * The wasm instance, after dropping the cache if it has outgrown its limit. Called once at the
 * start of each entry point, so addresses taken during one call stay valid through it.
 */
function begin(): Exports | null {
  if (!enabled) return null;
  const ex = load();
  if (ex && top > CACHE_LIMIT) {
    cache = new WeakMap();
    top = 0;
  }
  return ex;
}

function align16(n: number): number {
  return (n + 15) & ~15;
}

function ensure(ex: Exports, bytes: number): void {
  const have = ex.mem.buffer.byteLength;
  if (bytes > have) ex.mem.grow(Math.ceil((bytes - have) / PAGE));
}

function cached(
  ex: Exports,
  key: object,
  off: number,
  bytes: number,
  fill: (buf: ArrayBuffer, at: number) => void,
): number {
  let m = cache.get(key);
  const hit = m?.get(off);
  if (hit !== undefined) return hit;
  const at = top;
  top = align16(top + bytes);
  ensure(ex, top);
  fill(ex.mem.buffer, at);
  if (!m) {
    m = new Map();
    cache.set(key, m);
  }
  m.set(off, at);
  return at;
}

/** rows × K int8 (row stride K, from element off) → i16 [rowsPad][kp], zero padded, at `at`. */
function writeRows(
  buf: ArrayBuffer,
  at: number,
  X: Int8Array,
  off: number,
  rows: number,
  K: number,
  kp: number,
  rowsPad: number,
): void {
  const v = new Int16Array(buf, at, rowsPad * kp);
  if (kp === K) v.set(X.subarray(off, off + rows * K));
  else for (let r = 0; r < rows; r++) v.set(X.subarray(off + r * K, off + (r + 1) * K), r * kp);
  if (kp !== K) for (let r = 0; r < rows; r++) v.fill(0, r * kp + K, (r + 1) * kp);
  v.fill(0, rows * kp, rowsPad * kp);
}

function params(ex: Exports, arr: Int32Array): number {
  return cached(ex, arr, 0, arr.length * 4, (buf, at) => new Int32Array(buf, at, arr.length).set(arr));
}

/**
 * out[oOff + r·N + n] = requant(Σ_k A[aOff + r·K + k] · W[wOff + n·K + k] + bias[cOff+n]) with
 * mult/shift[cOff+n]: the linear kernel's contiguous layout. W and the parameter arrays are cached
 * in wasm memory when `cacheW` (model data); returns false when wasm is unavailable.
 */
export function wasmLinear(
  A: Int8Array,
  aOff: number,
  rows: number,
  K: number,
  W: Int8Array,
  wOff: number,
  N: number,
  bias: Int32Array,
  mult: Int32Array,
  shift: Int32Array,
  cOff: number,
  out: Int8Array,
  oOff: number,
  cacheW: boolean,
): boolean {
  const ex = begin();
  if (!ex) return false;
  const kp = (K + 7) & ~7;
  const np = (N + 3) & ~3;
  const pb = params(ex, bias) + cOff * 4;
  const pm = params(ex, mult) + cOff * 4;
  const ps = params(ex, shift) + cOff * 4;
  let wAt: number;
  let scratch: number;
  if (cacheW) {
    wAt = cached(ex, W, wOff, np * kp * 2, (buf, at) => writeRows(buf, at, W, wOff, N, K, kp, np));
    scratch = top;
  } else {
    wAt = top;
    scratch = align16(wAt + np * kp * 2);
  }
  const aAt = scratch;
  const outAt = align16(aAt + rows * kp * 2);
  ensure(ex, outAt + rows * N);
  const buf = ex.mem.buffer;
  if (!cacheW) writeRows(buf, wAt, W, wOff, N, K, kp, np);
  writeRows(buf, aAt, A, aOff, rows, K, kp, rows);
  ex.gemm(aAt, rows, kp, wAt, N, outAt, pb, pm, ps, 0);
  out.set(new Int8Array(buf, outAt, rows * N), oOff);
  return true;
}

export type WasmConvGeometry = {
  C: number;
  H: number;
  W: number;
  kernel: [number, number];
  strides: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  dilations: [number, number];
  OH: number;
  OW: number;
};

/**
 * One image and group of a convolution: X[xOff ..] holds C planes of H×W int8; they are padded
 * and unfolded (im2col) inside wasm memory, and
 *   out[oOff + o·P + p] = requant(Σ_k W[wOff + o·K + k] · cols[p][k] + bias[cOff+o])
 * for o < O, p < P = OH·OW, with K = C·kh·kw. Returns false when wasm is unavailable.
 */
export function wasmConv(
  X: Int8Array,
  xOff: number,
  geo: WasmConvGeometry,
  W: Int8Array,
  wOff: number,
  O: number,
  bias: Int32Array,
  mult: Int32Array,
  shift: Int32Array,
  cOff: number,
  out: Int8Array,
  oOff: number,
): boolean {
  const ex = begin();
  if (!ex) return false;
  const { C, H, W: Wd, kernel, strides, pads, dilations, OH, OW } = geo;
  const K = C * kernel[0] * kernel[1];
  const P = OH * OW;
  const kp = (K + 7) & ~7;
  const pp = (P + 3) & ~3;
  const Hp = H + pads[0] + pads[2];
  const Wp = Wd + pads[1] + pads[3];
  const pb = params(ex, bias) + cOff * 4;
  const pm = params(ex, mult) + cOff * 4;
  const ps = params(ex, shift) + cOff * 4;
  const wAt = cached(ex, W, wOff, O * kp * 2, (buf, at) => writeRows(buf, at, W, wOff, O, K, kp, O));
  const xAt = top;
  const xpAt = align16(xAt + C * H * Wd);
  const colsAt = align16(xpAt + C * Hp * Wp + 16);
  const outAt = align16(colsAt + pp * kp * 2 + 16);
  ensure(ex, outAt + O * P);
  const buf = ex.mem.buffer;
  new Int8Array(buf, xAt, C * H * Wd).set(X.subarray(xOff, xOff + C * H * Wd));
  ex.pad(xAt, C, H, Wd, pads[0], pads[1], Hp, Wp, xpAt);
  ex.im2col(
    xpAt,
    C,
    Hp,
    Wp,
    kernel[0],
    kernel[1],
    strides[0],
    strides[1],
    dilations[0],
    dilations[1],
    OH,
    OW,
    colsAt,
    kp,
  );
  if (pp !== P) new Int16Array(buf, colsAt + P * kp * 2, (pp - P) * kp).fill(0);
  ex.gemm(wAt, O, kp, colsAt, P, outAt, pb, pm, ps, 1);
  out.set(new Int8Array(buf, outAt, O * P), oOff);
  return true;
}

/** out = max(X, 0) elementwise through i8x16.max_s; returns false when wasm is unavailable. */
export function wasmRelu(X: Int8Array, out: Int8Array): boolean {
  const ex = begin();
  if (!ex) return false;
  const n = X.length;
  const src = top;
  const dst = align16(src + n + 16);
  ensure(ex, dst + n + 16);
  const buf = ex.mem.buffer;
  new Int8Array(buf, src, n).set(X);
  ex.relu(src, n, dst);
  out.set(new Int8Array(buf, dst, n));
  return true;
}

/**
 * 2×2 max pooling with stride 2 and no padding over `planes` H×W int8 planes (OH = ⌊H/2⌋,
 * OW = ⌊W/2⌋); returns false when wasm is unavailable.
 */
export function wasmMaxPool2(
  X: Int8Array,
  planes: number,
  H: number,
  W: number,
  OH: number,
  OW: number,
  out: Int8Array,
): boolean {
  const ex = begin();
  if (!ex) return false;
  const n = planes * H * W;
  const src = top;
  const dst = align16(src + n + 32);
  ensure(ex, dst + planes * OH * OW + 16);
  const buf = ex.mem.buffer;
  new Int8Array(buf, src, n).set(X);
  ex.maxpool2(src, planes, H, W, OH, OW, dst);
  out.set(new Int8Array(buf, dst, planes * OH * OW));
  return true;
}
