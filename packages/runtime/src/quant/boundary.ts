// The float/integer boundary: quantizing float inputs into a model's input type and turning
// integer outputs back into floats. This is the only place where runInt touches floats, and it
// happens before the first and after the last integer kernel (docs/runtime-semantics.md §4).
// Browser-safe: no node: imports.
import type { FloatTensor } from '../graph.ts';
import { type IntArray, type IntDtype, QMAX, type QuantTensor } from './model.ts';

function allocInt(dtype: IntDtype, n: number): IntArray {
  return dtype === 'int8' ? new Int8Array(n) : dtype === 'int16' ? new Int16Array(n) : new Int32Array(n);
}

/**
 * q = clamp(roundHalfAway(x / scale), -qmax, qmax) per element, where x is the float32 value
 * widened to a double and x / scale is one correctly rounded double division; NaN → 0.
 */
export function quantizeTensor(t: FloatTensor, scale: number, dtype: IntDtype = 'int8'): QuantTensor {
  const n = t.data.length;
  const data = allocInt(dtype, n);
  const qmax = QMAX[dtype];
  const x = t.data;
  // quantizeValue inlined: round half away from zero, saturate, NaN → 0.
  for (let i = 0; i < n; i++) {
    if (x[i] === 0) continue; // 0 / scale = 0 (data starts zeroed); common in images
    const v = x[i] / scale;
    const a = v < 0 ? -v : v;
    let r = Math.floor(a);
    if (a - r >= 0.5) r++;
    data[i] = Number.isNaN(a) ? 0 : r > qmax ? (v < 0 ? -qmax : qmax) : v < 0 ? -r : r;
  }
  return { dtype, shape: [...t.shape], data, scale };
}

/** x = q · scale, rounded to float32 (index tensors come back as their integer values). */
export function dequantize(t: QuantTensor): FloatTensor {
  const n = t.data.length;
  const data = new Float32Array(n);
  const s = t.scale;
  for (let i = 0; i < n; i++) data[i] = t.data[i] * s;
  return { dtype: 'float32', shape: [...t.shape], data };
}
