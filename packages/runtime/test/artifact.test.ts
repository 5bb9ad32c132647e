import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ARTIFACT_MAGIC,
  buildOnnxModel,
  decodeArtifact,
  encodeArtifact,
  importOnnx,
  ModelError,
  modelId,
  type QuantModel,
  quantize,
} from '../src/index.ts';

/** A real quantized model: Conv -> Relu -> Flatten -> Gemm -> Softmax, quantized on fixed inputs. */
function sampleModel(): QuantModel {
  const det = (n: number, seed: number) => {
    const out = new Float32Array(n);
    let s = seed;
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      out[i] = (s >>> 8) / 2 ** 24 - 0.5;
    }
    return out;
  };
  const graph = importOnnx(
    buildOnnxModel({
      name: 'tiny',
      opset: 13,
      inputs: [{ name: 'x', shape: ['N', 1, 4, 4] }],
      outputs: [{ name: 'y', shape: ['N', 3] }],
      initializers: {
        k: { dtype: 'float32', shape: [2, 1, 3, 3], data: det(18, 1) },
        kb: { dtype: 'float32', shape: [2], data: det(2, 2) },
        w: { dtype: 'float32', shape: [3, 32], data: det(96, 3) },
      },
      nodes: [
        { op: 'Conv', inputs: ['x', 'k', 'kb'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'Relu', inputs: ['c'], outputs: ['r'] },
        { op: 'Flatten', inputs: ['r'], outputs: ['f'] },
        { op: 'Gemm', inputs: ['f', 'w'], outputs: ['g'], attrs: { transB: 1 } },
        { op: 'Softmax', inputs: ['g'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    }),
  );
  return quantize(graph, [{ x: { dtype: 'float32', shape: [8, 1, 4, 4], data: det(128, 4) } }]);
}

function reversed<V>(record: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(record).reverse());
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
    for (const node of b.nodes) {
      node.attrs = reversed(node.attrs);
      node.params = reversed(node.params);
    }
    assert.ok(
      b.nodes.some((n) => Object.keys(n.params).length > 1),
      'the sample has multi-parameter nodes',
    );
    assert.deepEqual(encodeArtifact(a), encodeArtifact(b));
    assert.equal(modelId(encodeArtifact(a)), modelId(encodeArtifact(b)));
  });

  it('the id is a CIDv1 (raw, sha2-256) that changes with any weight', () => {
    const bytes = encodeArtifact(sampleModel());
    const id = modelId(bytes);
    assert.match(id, /^bafkrei[a-z2-7]{52}$/);
    const changed = sampleModel();
    const weights = Object.values(changed.nodes[0]!.params).find((p) => p instanceof Int8Array) as Int8Array;
    weights[0] = weights[0] === 1 ? 2 : 1;
    assert.notEqual(modelId(encodeArtifact(changed)), id);
  });

  it('refuses a well-formed artifact that describes an impossible model', () => {
    const m = sampleModel();
    const node = m.nodes.find((n) => Object.values(n.params).some((p) => p instanceof Int8Array))!;
    const [key] = Object.entries(node.params).find(([, p]) => p instanceof Int8Array)!;
    node.params[key] = Int8Array.of(1, 2, 3);
    assert.throws(() => decodeArtifact(encodeArtifact(m)), ModelError);
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
