import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelError, readNpy } from '../src/index.ts';

/** A .npy file as numpy.save writes it (version 1.0, header padded to 64 bytes). */
function npy(descr: string, shape: number[], body: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

describe('.npy reader', () => {
  it('reads float32, float64 and uint8 arrays with their shapes', () => {
    const f32 = Float32Array.of(0.5, -1.25, 3, 4, 5, 6);
    const t = readNpy(npy('<f4', [2, 3], new Uint8Array(f32.buffer)));
    assert.deepEqual(t.shape, [2, 3]);
    assert.deepEqual(Array.from(t.data), [0.5, -1.25, 3, 4, 5, 6]);
    const f64 = Float64Array.of(0.1, 2);
    assert.deepEqual(Array.from(readNpy(npy('<f8', [2], new Uint8Array(f64.buffer))).data), [
      Math.fround(0.1),
      2,
    ]);
    assert.deepEqual(Array.from(readNpy(npy('|u1', [3], Uint8Array.of(0, 128, 255))).data), [0, 128, 255]);
  });

  it('refuses bad magic, unsupported types, Fortran order and size mismatches', () => {
    assert.throws(() => readNpy(new Uint8Array(20)), /magic/);
    assert.throws(() => readNpy(npy('<c8', [1], new Uint8Array(8))), /not supported/);
    const fortran = npy('<f4', [1], new Uint8Array(4));
    const text = new TextDecoder().decode(fortran).replace('False', 'True ');
    assert.throws(
      () =>
        readNpy(new Uint8Array([...fortran.subarray(0, 10), ...new TextEncoder().encode(text.slice(10))])),
      /Fortran/,
    );
    assert.throws(() => readNpy(npy('<f4', [2, 2], new Uint8Array(12))), /expected 16 data bytes/);
    assert.throws(() => readNpy(npy('<f4', [100000, 100000], new Uint8Array(0))), ModelError);
  });

  it('refuses NaN and ±Infinity, naming the first bad element, as JSON inputs are refused', () => {
    const f32 = Float32Array.of(1, 2, Number.NaN, Number.POSITIVE_INFINITY);
    assert.throws(
      () => readNpy(npy('<f4', [2, 2], new Uint8Array(f32.buffer))),
      (e: unknown) => e instanceof ModelError && /element 2 \(flat index\) is NaN/.test(e.message),
    );
    const inf = Float64Array.of(0, Number.NEGATIVE_INFINITY);
    assert.throws(() => readNpy(npy('<f8', [2], new Uint8Array(inf.buffer))), /element 1 .* is -Infinity/);
    // A float64 beyond float32's range becomes Infinity when read: refused too.
    const big = Float64Array.of(1e300);
    assert.throws(() => readNpy(npy('<f8', [1], new Uint8Array(big.buffer))), /element 0 .* is Infinity/);
  });
});
