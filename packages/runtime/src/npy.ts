// Reads NumPy .npy files (the common way to hand a model its input) into float tensors.
// Hand-written because the format is a 10-line header plus raw data, and the npm readers we found
// neither validate the header nor bound what a hostile file may declare. Browser-safe.

import type { FloatTensor } from './graph.ts';
import { elementCount, ModelError } from './graph.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const DESCRS: Record<string, { bytes: number; read: (v: DataView, o: number) => number }> = {
  '<f4': { bytes: 4, read: (v, o) => v.getFloat32(o, true) },
  '<f8': { bytes: 8, read: (v, o) => v.getFloat64(o, true) },
  '|u1': { bytes: 1, read: (v, o) => v.getUint8(o) },
  '|i1': { bytes: 1, read: (v, o) => v.getInt8(o) },
  '<i4': { bytes: 4, read: (v, o) => v.getInt32(o, true) },
  '<i8': { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
};

export function readNpy(bytes: Uint8Array, maxElements = 16 * 1024 * 1024): FloatTensor {
  const bad = (why: string): never => {
    throw new ModelError(`invalid .npy file: ${why}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) bad('missing \\x93NUMPY magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  // Versions 2 and 3 carry a 4-byte header length: a 10- or 11-byte file must not reach getUint32.
  if (major !== 1 && bytes.length < 12) bad('truncated header');
  const headerLen =
    major === 1
      ? view.getUint16(8, true)
      : major === 2 || major === 3
        ? view.getUint32(8, true)
        : bad(`version ${major}`);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length || headerLen > 65_536) bad('header length out of range');
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? bad('no descr');
  const dtype =
    DESCRS[descr] ??
    bad(`dtype ${descr} is not supported (use float32, float64, uint8, int8, int32 or int64)`);
  if (!/'fortran_order':\s*False/.test(header)) bad('Fortran order is not supported');
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? bad('no shape');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length)
    .map((s) => (/^[0-9]{1,10}$/.test(s) ? Number(s) : bad(`shape entry "${s}"`)));
  const count = elementCount(shape);
  if (count > maxElements) bad(`${count} elements, limit ${maxElements}`);
  const dataStart = start + headerLen;
  if (bytes.length - dataStart !== count * dtype.bytes)
    bad(`expected ${count * dtype.bytes} data bytes, found ${bytes.length - dataStart}`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    data[i] = dtype.read(view, dataStart + i * dtype.bytes);
    // NaN or ±Infinity (or a float64 beyond float32's range) would quantize to a meaningless
    // integer and a paid inference would return a meaningless class: refuse it, as JSON inputs are.
    if (!Number.isFinite(data[i]!))
      bad(`element ${i} (flat index) is ${data[i]}; inputs must be finite numbers`);
  }
  return { dtype: 'float32', shape, data };
}
