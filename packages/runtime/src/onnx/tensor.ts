// Decoding of ONNX TensorProto payloads into runtime tensors, with every size checked against the
// limits before anything is allocated. Browser-safe: DataView over the decoded bytes, no Buffer.
import type onnx from 'onnx-proto';
import { ModelError, type ModelLimits, type Tensor } from '../graph.ts';

type LongLike = number | { low: number; high: number; unsigned?: boolean } | null | undefined;

/** Converts a protobuf int64 (number or Long) to a number; values past 2^53 lose precision only. */
export function toNumber(v: LongLike): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  const high = v.unsigned ? v.high >>> 0 : v.high | 0;
  return high * 4294967296 + (v.low >>> 0);
}

/** Saturates to the int32 range: int64 shapes and indices are narrowed for the runtime. */
export function toInt32(v: number): number {
  if (v > 2147483647) return 2147483647;
  if (v < -2147483648) return -2147483648;
  return Math.trunc(v);
}

export const DTYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED',
  1: 'FLOAT',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'STRING',
  9: 'BOOL',
  10: 'FLOAT16',
  11: 'DOUBLE',
  12: 'UINT32',
  13: 'UINT64',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  16: 'BFLOAT16',
};

/** Bytes per element in raw_data for the element types the runtime reads. */
const RAW_SIZE: Record<number, number> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  16: 2,
};

const FLOAT_TYPES = new Set([1, 10, 11, 16]);

export function isFloatType(dataType: number): boolean {
  return FLOAT_TYPES.has(dataType);
}

export function isSupportedType(dataType: number): boolean {
  return RAW_SIZE[dataType] !== undefined;
}

function half(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const f = bits & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function bfloat16(bits: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setUint32(0, (bits & 0xffff) << 16);
  return b.getFloat32(0);
}

/**
 * Validates a shape declared by a file: integers >= 0, rank and element count within limits.
 * Returns the element count; never allocates.
 */
export function checkDeclaredShape(dims: readonly number[], limits: ModelLimits, what: string): number {
  if (dims.length > limits.maxRank)
    throw new ModelError(`${what} has rank ${dims.length}, over the limit of ${limits.maxRank}`);
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ModelError(`${what} has an invalid dimension ${d}`);
    n *= d;
  }
  if (n > limits.maxTensorElements)
    throw new ModelError(
      `${what} declares ${n} elements (shape [${dims.join(',')}]), over the limit of ${limits.maxTensorElements}`,
    );
  return n;
}

/**
 * Reads a TensorProto into a float32 or int32 tensor: float types (FLOAT, DOUBLE, FLOAT16,
 * BFLOAT16) become float32, integer and bool types become int32 (saturated). Checks the
 * declared shape and the payload length before allocating.
 */
export function tensorFromProto(t: onnx.onnx.ITensorProto, limits: ModelLimits, what: string): Tensor {
  const dims = (t.dims ?? []).map((d) => toNumber(d));
  const n = checkDeclaredShape(dims, limits, what);
  const dataType = t.dataType ?? 0;
  if (!isSupportedType(dataType))
    throw new ModelError(
      `${what} has element type ${DTYPE_NAMES[dataType] ?? dataType}, which is not supported`,
    );
  if (t.dataLocation === 1 || (t.externalData && t.externalData.length > 0))
    throw new ModelError(
      `${what} uses external data, which is not supported (embed the weights in the file)`,
    );
  const isFloat = isFloatType(dataType);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const need = n * RAW_SIZE[dataType];
    if (raw.length !== need)
      throw new ModelError(
        `${what}: raw_data has ${raw.length} bytes but shape [${dims.join(',')}] of ${DTYPE_NAMES[dataType]} needs ${need}`,
      );
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (isFloat) {
      const out = new Float32Array(n);
      if (dataType === 1) for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      else if (dataType === 11) for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      else if (dataType === 10) for (let i = 0; i < n; i++) out[i] = half(view.getUint16(i * 2, true));
      else for (let i = 0; i < n; i++) out[i] = bfloat16(view.getUint16(i * 2, true));
      return { dtype: 'float32', shape: dims, data: out };
    }
    const out = new Int32Array(n);
    switch (dataType) {
      case 2:
      case 9:
        for (let i = 0; i < n; i++) out[i] = view.getUint8(i);
        break;
      case 3:
        for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
        break;
      case 4:
        for (let i = 0; i < n; i++) out[i] = view.getUint16(i * 2, true);
        break;
      case 5:
        for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
        break;
      case 6:
        for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
        break;
      case 12:
        for (let i = 0; i < n; i++) out[i] = toInt32(view.getUint32(i * 4, true));
        break;
      default: {
        // INT64 / UINT64: read the two halves, saturate to int32 without BigInt.
        const unsigned = dataType === 13;
        for (let i = 0; i < n; i++) {
          const lo = view.getUint32(i * 8, true);
          const hi = view.getInt32(i * 8 + 4, true);
          out[i] = toInt32((unsigned ? hi >>> 0 : hi) * 4294967296 + lo);
        }
      }
    }
    return { dtype: 'int32', shape: dims, data: out };
  }
  // Typed fields: FLOAT -> float_data, DOUBLE -> double_data, INT64 -> int64_data,
  // UINT32/UINT64 -> uint64_data, the small types (and FLOAT16 bits) -> int32_data.
  let src: ArrayLike<number | LongLike> | null | undefined;
  let field: string;
  if (dataType === 1) [src, field] = [t.floatData, 'float_data'];
  else if (dataType === 11) [src, field] = [t.doubleData, 'double_data'];
  else if (dataType === 7) [src, field] = [t.int64Data, 'int64_data'];
  else if (dataType === 12 || dataType === 13) [src, field] = [t.uint64Data, 'uint64_data'];
  else [src, field] = [t.int32Data, 'int32_data'];
  const len = src?.length ?? 0;
  if (len !== n)
    throw new ModelError(`${what}: ${field} has ${len} values but shape [${dims.join(',')}] needs ${n}`);
  if (isFloat) {
    const out = new Float32Array(n);
    if (dataType === 10) for (let i = 0; i < n; i++) out[i] = half(toNumber(src?.[i] as LongLike));
    else if (dataType === 16) for (let i = 0; i < n; i++) out[i] = bfloat16(toNumber(src?.[i] as LongLike));
    else for (let i = 0; i < n; i++) out[i] = src?.[i] as number;
    return { dtype: 'float32', shape: dims, data: out };
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = toInt32(toNumber(src?.[i] as LongLike));
  return { dtype: 'int32', shape: dims, data: out };
}
