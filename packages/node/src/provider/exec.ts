// Running a model on a request's input the way the inference module defines it: the input is the
// single input tensor at batch 1 as raw int8 bytes, the output int32 little-endian, the layer
// leaves (optimistic tier) the tensor leaves of the input and of every node's output. Shared by
// the provider, the CLI (local checks) and the tests. Browser-safe.

import { merkleProof, merkleRoot } from '@aivm/chain';
import { addressToBytes } from '@aivm/crypto';
import {
  argmaxOf,
  checkChainShaped,
  encodeOutput,
  inputTensor,
  type QuantModel,
  type QuantTensor,
  runInt,
  runIntNode,
  tensorLeaf,
} from '@aivm/runtime';

// The request boundary (input shape and scale, quantizing a float input, the input tensor) lives in
// the runtime core so the browser-safe SDK quantizes exactly as the provider reads.
export { inputScale, inputShape, inputTensor, outputShape, quantizeInput } from '@aivm/runtime';

export type Execution = {
  /** int32 little-endian output bytes (what a result carries). */
  output: Uint8Array;
  values: Int32Array;
  /** Predicted class: argmax (first maximum). */
  cls: number;
  /** Every value of the run (runInt trace), for a zk witness. */
  trace: Map<string, QuantTensor>;
};

/** Runs the model on a request input with a trace. */
export function execute(model: QuantModel, input: Uint8Array): Execution {
  const run = runInt(model, { [model.inputs[0]!]: inputTensor(model, input) }, { trace: true });
  const out = run.outputs[model.outputs[0]!]!;
  const values = Int32Array.from(out.data);
  return { output: encodeOutput(out), values, cls: argmaxOf(values), trace: run.trace! };
}

export type LayerRun = {
  /** Tensor i: the input (i = 0) or the output of node i - 1. */
  tensors: QuantTensor[];
  /** tensorLeaf(tensor, salt), salted with the slot provider's address. */
  leaves: Uint8Array[];
  /** The slot provider whose address salts the leaves. */
  provider: string;
  root: Uint8Array;
  output: Uint8Array;
  values: Int32Array;
  cls: number;
};

/**
 * Salt of a slot's layer leaves: its provider's address as 20 bytes (the chain's rule). A provider
 * salts with its own address; a watcher or challenger with the CHALLENGED provider's.
 */
export function leafSalt(provider: string): Uint8Array {
  return addressToBytes(provider);
}

/**
 * Runs a chain-shaped model node by node and commits to its layers, each leaf salted with the
 * slot provider's address (`provider`). `perturb` (tests of a faulty provider) changes the output
 * of that node, and every later node computes from the changed value, so the run is consistent
 * everywhere but at that one step.
 */
export function layerRun(model: QuantModel, input: Uint8Array, provider: string, perturb?: number): LayerRun {
  checkChainShaped(model);
  const tensors: QuantTensor[] = [inputTensor(model, input)];
  model.nodes.forEach((node, i) => {
    const prev = tensors[i]!;
    const prevName = i === 0 ? model.inputs[0]! : model.nodes[i - 1]!.outputs[0]!;
    const values: Record<string, QuantTensor> = {};
    for (const name of node.inputs) if (name === prevName) values[name] = prev;
    let out = runIntNode(model, i, values);
    if (perturb === i) out = perturbTensor(out);
    tensors.push(out);
  });
  const last = tensors[tensors.length - 1]!;
  const values = Int32Array.from(last.data);
  const salt = leafSalt(provider);
  const leaves = tensors.map((t) => tensorLeaf(t, salt));
  return {
    tensors,
    leaves,
    provider,
    root: merkleRoot(leaves),
    output: encodeOutput(last),
    values,
    cls: argmaxOf(values),
  };
}

/** Proofs of leaf 0 and leaf n of a layer run (its leaves are already salted for the slot provider). */
export function endProofs(run: Pick<LayerRun, 'leaves'>): {
  inputProof: Uint8Array[];
  outputProof: Uint8Array[];
} {
  return {
    inputProof: merkleProof(run.leaves, 0),
    outputProof: merkleProof(run.leaves, run.leaves.length - 1),
  };
}

/** A copy of `t` with a different argmax (the old maximum lowered, the next element raised). */
function perturbTensor(t: QuantTensor): QuantTensor {
  const data = t.data.slice();
  const max = t.dtype === 'int8' ? 127 : t.dtype === 'int16' ? 32767 : 2 ** 31 - 1;
  const best = argmaxOf(data);
  const other = data.length > 1 ? (best + 1) % data.length : 0;
  if (data.length > 1) {
    data[other] = Math.min(max, data[best]! + 1);
    data[best] = Math.max(-max, data[best]! - 1);
    if (data[other] === data[best]) data[best] = data[best]! - 1;
  } else data[0] = data[0]! === max ? max - 1 : data[0]! + 1;
  return { ...t, data };
}

/** A 0x-hex or Uint8Array value as bytes. */
export function asBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(v)) {
    const out = new Uint8Array((v.length - 2) / 2);
    for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(v.slice(2 + 2 * i, 4 + 2 * i), 16);
    return out;
  }
  if (v === undefined || v === null || v === '') return new Uint8Array(0);
  throw new Error(`expected bytes, got ${typeof v}`);
}

/** A bigint, decimal string or number as bigint. */
export function asBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) return BigInt(v);
  if (v === undefined || v === null) return 0n;
  throw new Error(`expected an integer, got ${JSON.stringify(v)}`);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
