import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ARTIFACT_MAGIC,
  decodeArtifact,
  encodeArtifact,
  ModelError,
  modelId,
  type QuantModel,
} from '../src/index.ts';

function sampleModel(): QuantModel {
  return {
    format: 'aivm-quant/1',
    name: 'tiny',
    opset: 13,
    inputs: ['x'],
    outputs: ['y'],
    values: [
      { name: 'x', kind: 'quant', dtype: 'int8', scale: 0.0078125, shape: ['N', 4] },
      { name: 'y', kind: 'quant', dtype: 'int8', scale: 0.1, shape: ['N', 2] },
    ],
    constants: [
      { name: 'c', kind: 'index', dtype: 'int32', scale: 1, shape: [2], data: Int32Array.of(-1, 70000) },
    ],
    nodes: [
      {
        name: 'fc',
        op: 'Gemm',
        kernel: 'linear',
        inputs: ['x'],
        outputs: ['y'],
        attrs: { zeta: 1, axis: -1, pads: [0, 1, -2] },
        params: {
          weight: Int8Array.of(1, -2, 3, -4, 5, -6, 7, -127),
          bias: Int32Array.of(-5, 123456),
          shift: 20,
          table: Int16Array.of(-32767, 0, 32767),
        },
      },
    ],
    calibration: { method: 'maxabs', percentile: 99.99, samples: 200 },
  };
}

describe('model artifact', () => {
  it('round-trips every field exactly', () => {
    const m = sampleModel();
    const bytes = encodeArtifact(m);
    const back = decodeArtifact(bytes);
    assert.deepEqual(back, m);
    assert.deepEqual(encodeArtifact(back), bytes);
  });

  it('is canonical: attribute order in memory does not change the bytes or the id', () => {
    const a = sampleModel();
    const b = sampleModel();
    b.nodes[0]!.attrs = { pads: [0, 1, -2], axis: -1, zeta: 1 };
    b.nodes[0]!.params = {
      table: Int16Array.of(-32767, 0, 32767),
      shift: 20,
      bias: Int32Array.of(-5, 123456),
      weight: Int8Array.of(1, -2, 3, -4, 5, -6, 7, -127),
    };
    assert.deepEqual(encodeArtifact(a), encodeArtifact(b));
    assert.equal(modelId(encodeArtifact(a)), modelId(encodeArtifact(b)));
  });

  it('the id is a CIDv1 (raw, sha2-256) that changes with any weight', () => {
    const bytes = encodeArtifact(sampleModel());
    const id = modelId(bytes);
    assert.match(id, /^bafkrei[a-z2-7]{52}$/);
    const changed = sampleModel();
    (changed.nodes[0]!.params.weight as Int8Array)[0] = 2;
    assert.notEqual(modelId(encodeArtifact(changed)), id);
  });

  it('refuses foreign, truncated, non-canonical and malformed bytes with a ModelError', () => {
    const bytes = encodeArtifact(sampleModel());
    assert.throws(() => decodeArtifact(bytes.subarray(0, bytes.length - 3)), ModelError);
    assert.throws(() => decodeArtifact(new TextEncoder().encode(ARTIFACT_MAGIC)), ModelError);
    const wrongMagic = bytes.slice();
    const at = wrongMagic.indexOf(0x61); // first 'a' of the magic
    wrongMagic[at] = 0x62;
    assert.throws(() => decodeArtifact(wrongMagic), /not an AIVM model artifact/);
    let seed = 99;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 8;
    };
    for (let i = 0; i < 3_000; i++) {
      const mutated = bytes.slice();
      mutated[rand() % mutated.length] = rand() & 0xff;
      try {
        assert.deepEqual(encodeArtifact(decodeArtifact(mutated)), mutated);
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        assert.ok(err instanceof ModelError, `${(err as Error).name}: ${(err as Error).message}`);
      }
    }
  });
});
