// Layer commitments for disputes: canonical tensor bytes, leaves of a run, the chain-shape rule,
// and single-node re-execution equal to the same node inside a full run (MNIST MLP and CNN).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { keccak256 } from '@aivm/crypto';
import {
  argmaxOf,
  checkChainShaped,
  decodeOutput,
  decodeTensor,
  encodeOutput,
  encodeTensor,
  importOnnx,
  layerLeaves,
  ModelError,
  type QuantModel,
  quantize,
  runInt,
  runIntNode,
  saltedLeaf,
  tensorLeaf,
} from '../src/index.ts';

function mnist(
  name: string,
  shape: number[],
): { model: QuantModel; x: { dtype: 'float32'; shape: number[]; data: Float32Array } } {
  const graph = importOnnx(new Uint8Array(readFileSync(new URL(`../models/${name}.onnx`, import.meta.url))));
  const n = shape.reduce((a, b) => a * b, 1);
  // A deterministic pseudo-digit: a bright diagonal band on a dark background.
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = i % 29 < 4 ? 0.9 : 0.05;
  const x = { dtype: 'float32' as const, shape, data };
  return { model: quantize(graph, [{ [graph.inputs[0]!.name]: x }]), x };
}

const MODELS = [mnist('mnist-mlp', [1, 784]), mnist('mnist-cnn', [1, 1, 28, 28])];

describe('canonical tensors', () => {
  it('round-trip every integer type and refuse malformed bytes', () => {
    for (const data of [
      Int8Array.of(-127, 0, 5, 127),
      Int16Array.of(-300, 2, 3, 4),
      Int32Array.of(-1, 1 << 30, 0, 9),
    ]) {
      const x = {
        dtype: (['int8', 'int16', 'int8', 'int32'] as const)[data.BYTES_PER_ELEMENT - 1]!,
        shape: [2, 2],
        data,
      };
      const back = decodeTensor(encodeTensor(x));
      assert.deepEqual([...back.data], [...data]);
      assert.deepEqual(back.shape, [2, 2]);
      assert.equal(back.dtype, x.dtype);
    }
    const bytes = encodeTensor({ dtype: 'int8', shape: [3], data: Int8Array.of(1, 2, 3) });
    assert.throws(() => decodeTensor(bytes.subarray(0, bytes.length - 1)), ModelError);
    assert.throws(
      () => decodeTensor(encodeTensor({ dtype: 'int8', shape: [4], data: Int8Array.of(1, 2, 3) })),
      /needs 4 bytes/,
    );
    for (let seed = 1; seed < 300; seed++) {
      const junk = Uint8Array.from({ length: seed % 40 }, (_, i) => (seed * 31 + i * 17) & 255);
      try {
        decodeTensor(junk);
      } catch (err) {
        assert.ok(err instanceof ModelError, `seed ${seed}: ${(err as Error).message}`);
      }
    }
  });

  it('leaves differ when one element differs by one', () => {
    const a = tensorLeaf({ dtype: 'int8', shape: [2], data: Int8Array.of(1, 2) });
    const b = tensorLeaf({ dtype: 'int8', shape: [2], data: Int8Array.of(1, 3) });
    const c = tensorLeaf({ dtype: 'int8', shape: [1, 2], data: Int8Array.of(1, 2) });
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.equal(a.length, 32);
  });

  it('salted leaves: keccak256(salt || bytes), unsalted by default, different per salt', () => {
    const x = { dtype: 'int8' as const, shape: [2], data: Int8Array.of(1, 2) };
    const s1 = new Uint8Array(20).fill(0x11);
    const s2 = new Uint8Array(20).fill(0x22);
    const plain = tensorLeaf(x);
    assert.deepEqual(plain, keccak256(encodeTensor(x)));
    assert.deepEqual(tensorLeaf(x, new Uint8Array(0)), plain);
    const a = tensorLeaf(x, s1);
    assert.deepEqual(a, keccak256(Uint8Array.from([...s1, ...encodeTensor(x)])));
    assert.deepEqual(saltedLeaf(encodeTensor(x), s1), a);
    assert.notDeepEqual(a, plain);
    assert.notDeepEqual(a, tensorLeaf(x, s2));
  });
});

describe('layers of the MNIST models', () => {
  for (const { model, x } of MODELS) {
    it(`${model.name}: every node re-run alone reproduces its leaf`, () => {
      checkChainShaped(model);
      const run = runInt(model, { [model.inputs[0]!]: x }, { trace: true });
      const leaves = layerLeaves(model, run.trace!);
      assert.equal(leaves.length, model.nodes.length + 1);
      // Salted with a provider address, every leaf changes, and differs between providers.
      const salt1 = new Uint8Array(20).fill(0xab);
      const salt2 = new Uint8Array(20).fill(0xcd);
      const salted1 = layerLeaves(model, run.trace!, salt1);
      const salted2 = layerLeaves(model, run.trace!, salt2);
      salted1.forEach((leaf, i) => {
        assert.notDeepEqual(leaf, leaves[i]);
        assert.notDeepEqual(leaf, salted2[i]);
        assert.deepEqual(
          leaf,
          saltedLeaf(
            encodeTensor(run.trace!.get(i === 0 ? model.inputs[0]! : model.nodes[i - 1]!.outputs[0]!)!),
            salt1,
          ),
        );
      });
      let prev = run.trace!.get(model.inputs[0]!)!;
      model.nodes.forEach((node, i) => {
        const decoded = decodeTensor(encodeTensor(prev));
        const inputName = node.inputs.find((n) => !model.constants.some((c) => c.name === n))!;
        const out = runIntNode(model, i, { [inputName]: { ...decoded, scale: 0 } });
        assert.deepEqual(tensorLeaf(out), leaves[i + 1], `node ${i} (${node.op})`);
        prev = out;
      });
      const output = run.outputs[model.outputs[0]!]!;
      assert.deepEqual([...decodeOutput(encodeOutput(output))], [...output.data]);
      assert.equal(argmaxOf(decodeOutput(encodeOutput(output))), argmaxOf(output.data));
    });
  }

  it('a perturbed input changes the re-executed leaf', () => {
    const { model, x } = MODELS[0]!;
    const run = runInt(model, { [model.inputs[0]!]: x }, { trace: true });
    const input = run.trace!.get(model.inputs[0]!)!;
    const data = Int8Array.from(input.data);
    data[0] = data[0]! === 127 ? 126 : data[0]! + 1;
    const out = runIntNode(model, 0, { [model.inputs[0]!]: { ...input, data } });
    assert.notDeepEqual(tensorLeaf(out), layerLeaves(model, run.trace!)[1]);
  });

  it('refuses wrong types and unknown nodes, and models that are not chain-shaped', () => {
    const { model } = MODELS[0]!;
    assert.throws(() => runIntNode(model, 99, {}), /has no node 99/);
    assert.throws(
      () =>
        runIntNode(model, 0, {
          [model.inputs[0]!]: { dtype: 'int32', shape: [1, 784], data: new Int32Array(784), scale: 1 },
        }),
      /must be int8/,
    );
    const skip: QuantModel = {
      ...model,
      nodes: model.nodes.map((n, i) =>
        i === model.nodes.length - 1 ? { ...n, inputs: [model.inputs[0]!, ...n.inputs.slice(1)] } : n,
      ),
    };
    assert.throws(() => checkChainShaped(skip), /neither a constant nor the previous node's output/);
  });

  it('argmaxOf picks the first maximum', () => {
    assert.equal(argmaxOf([1, 5, 5, 2]), 1);
    assert.equal(argmaxOf([]), -1);
  });
});
