// Seeded fuzzing of every runtime decoder of untrusted bytes (model artifacts, canonical tensors,
// stored outputs, .npy files): each failure is a ModelError, never a RangeError or TypeError, and
// a 100,000-deep artifact is refused as the codec's 'too-deep' under any stack size.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodecError, codecErrorReason, decodeRlp, encodeRlp } from '@aivm/codec';
import { mutate, nestedRlp, runWithStack, SeededRng } from '../../../test-support/fuzz.ts';
import {
  ARTIFACT_DEPTH,
  buildOnnxModel,
  decodeArtifact,
  decodeOutput,
  decodeTensor,
  encodeArtifact,
  encodeTensor,
  importOnnx,
  ModelError,
  type QuantModel,
  quantize,
  readNpy,
} from '../src/index.ts';

const RUNTIME = new URL('../src/index.ts', import.meta.url).href;
const CODEC = import.meta.resolve('@aivm/codec');

/** Which error class (and codec reason, if any) a decoder threw; rethrows anything untyped. */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'accepted';
  } catch (err) {
    if (err instanceof ModelError) return `ModelError:${codecErrorReason(err) ?? ''}`;
    throw err;
  }
}

function tinyModel(): QuantModel {
  const det = (n: number, seed: number) => {
    const rng = new SeededRng(seed);
    return Float32Array.from({ length: n }, () => rng.next() / 2 ** 32 - 0.5);
  };
  const graph = importOnnx(
    buildOnnxModel({
      name: 'tiny',
      opset: 13,
      inputs: [{ name: 'x', shape: ['N', 1, 4, 4] }],
      outputs: [{ name: 'y', shape: ['N', 3] }],
      initializers: {
        k: { dtype: 'float32', shape: [2, 1, 3, 3], data: det(18, 1) },
        w: { dtype: 'float32', shape: [3, 32], data: det(96, 3) },
      },
      nodes: [
        { op: 'Conv', inputs: ['x', 'k'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'Relu', inputs: ['c'], outputs: ['r'] },
        { op: 'Flatten', inputs: ['r'], outputs: ['f'] },
        { op: 'Gemm', inputs: ['f', 'w'], outputs: ['g'], attrs: { transB: 1 } },
        { op: 'Softmax', inputs: ['g'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    }),
  );
  return quantize(graph, [{ x: { dtype: 'float32', shape: [4, 1, 4, 4], data: det(64, 4) } }]);
}

/** The RLP list of already-encoded items (to splice a hand-built item into a valid artifact). */
function listOf(parts: Uint8Array[]): Uint8Array {
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  const len = body.length;
  const be: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) be.unshift(v % 256);
  const h = len < 56 ? [0xc0 + len] : [0xf7 + be.length, ...be];
  const out = new Uint8Array(h.length + len);
  out.set(h);
  out.set(body, h.length);
  return out;
}

describe('model artifact decoding is bounded', () => {
  const artifact = encodeArtifact(tinyModel());
  const fields = (decodeRlp(artifact) as Uint8Array[]).map((f) => encodeRlp(f));

  it('accepts the deepest legitimate nesting and refuses one more level as too-deep', () => {
    assert.equal(ARTIFACT_DEPTH, 7);
    // A Conv node's pads attribute is a number list: the artifact reaches its full depth.
    assert.ok(decodeArtifact(artifact).nodes.some((n) => Array.isArray(n.attrs.pads)));
    const deeper = listOf(fields.map((f, i) => (i === 8 ? encodeRlp([[[[[[[]]]]]]]) : f)));
    assert.equal(
      outcome(() => decodeArtifact(deeper)),
      'ModelError:too-deep',
    );
  });

  it('refuses 100,000 levels as too-deep, at the top and inside a field, under --stack-size=100 too', () => {
    const deep = nestedRlp(100_000);
    const inside = listOf(fields.map((f, i) => (i === 8 ? nestedRlp(100_000) : f)));
    assert.equal(
      outcome(() => decodeArtifact(deep)),
      'ModelError:too-deep',
    );
    assert.equal(
      outcome(() => decodeArtifact(inside)),
      'ModelError:too-deep',
    );
    const err = (() => {
      try {
        decodeArtifact(deep);
      } catch (e) {
        return e as ModelError;
      }
    })();
    assert.ok(err?.cause instanceof CodecError);
    const out = runWithStack(`
      import { decodeArtifact } from '${RUNTIME}';
      import { codecErrorReason } from '${CODEC}';
      let len = 0; const hs = [];
      for (let i = 0; i < 100000; i++) {
        const be = [];
        for (let v = len; v > 0; v = Math.floor(v / 256)) be.unshift(v % 256);
        const h = len < 56 ? [0xc0 + len] : [0xf7 + be.length, ...be];
        hs.push(h); len += h.length;
      }
      const deep = new Uint8Array(len); let pos = 0;
      for (let i = hs.length - 1; i >= 0; i--) { deep.set(hs[i], pos); pos += hs[i].length; }
      try { decodeArtifact(deep); console.log('accepted'); }
      catch (e) { console.log(e.name + ':' + codecErrorReason(e)); }
    `);
    assert.equal(out, 'ModelError:too-deep');
  });

  it('fuzz: mutated artifacts fail only with ModelError', () => {
    const rng = new SeededRng(42);
    const seen = new Map<string, number>();
    for (let i = 0; i < 4_000; i++) {
      const { bytes } = mutate(artifact, rng);
      const r = outcome(() => decodeArtifact(bytes));
      seen.set(r, (seen.get(r) ?? 0) + 1);
    }
    // Both RLP-level and model-level refusals were reached, and no mutation was accepted silently
    // except ones that re-encode to the same bytes (checked by decodeArtifact itself).
    assert.ok((seen.get('ModelError:malformed') ?? 0) > 50, JSON.stringify([...seen]));
    assert.ok((seen.get('ModelError:') ?? 0) > 50, JSON.stringify([...seen]));
    for (const i of [0, 1, 2]) {
      const random = new SeededRng(100 + i).bytes(64 + 512 * i);
      assert.match(
        outcome(() => decodeArtifact(random)),
        /^ModelError:/,
      );
    }
  });
});

describe('tensor, output and .npy decoding is bounded', () => {
  it('fuzz: canonical tensors fail only with ModelError carrying the codec reason', () => {
    const rng = new SeededRng(9);
    const good = encodeTensor({ dtype: 'int16', shape: [2, 3], data: Int16Array.of(1, -2, 3, -4, 5, -6) });
    assert.deepEqual(Array.from(decodeTensor(good).data), [1, -2, 3, -4, 5, -6]);
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) seen.add(outcome(() => decodeTensor(mutate(good, rng).bytes)));
    assert.ok(seen.has('ModelError:malformed') && seen.has('ModelError:'), [...seen].join());
    assert.equal(
      outcome(() => decodeTensor(nestedRlp(100_000))),
      'ModelError:too-deep',
    );
    // Eight dimensions of 2^32-1 declare ~2^256 elements: refused before any allocation.
    const huge = encodeRlp([
      new TextEncoder().encode('int8'),
      Array(8).fill(Uint8Array.of(255, 255, 255, 255)),
      Uint8Array.of(1),
    ]);
    assert.match(
      outcome(() => decodeTensor(huge)),
      /^ModelError:/,
    );
  });

  it('fuzz: stored outputs and .npy files fail only with ModelError', () => {
    const rng = new SeededRng(11);
    for (let n = 0; n < 64; n++) {
      const r = outcome(() => decodeOutput(rng.bytes(n)));
      assert.equal(r, n % 4 === 0 ? 'accepted' : 'ModelError:');
    }
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const npy = new Uint8Array(10 + header.length + 1 + 24);
    npy.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length + 1, 0]);
    npy.set(new TextEncoder().encode(`${header}\n`), 10);
    assert.deepEqual(readNpy(npy).shape, [2, 3]);
    let accepted = 0;
    for (let i = 0; i < 5_000; i++) {
      if (outcome(() => readNpy(mutate(npy, rng).bytes)) === 'accepted') accepted++;
    }
    assert.ok(accepted < 5_000 / 2, `${accepted} accepted`);
    // Versions 2 and 3 with a file too short for their 4-byte header length.
    assert.equal(
      outcome(() => readNpy(Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 1, 0))),
      'ModelError:',
    );
  });
});
