// Commitments to a run's layers, for the optimistic tier's fraud proofs: the canonical bytes of an
// integer tensor, its leaf hash, the leaves of a whole run (input, then each node's output), the
// shape rule a model must follow to be disputed one layer at a time, and the int32 form of a
// model output as it is stored on chain. Browser-safe.

import { decode, encode, t } from '@aivm/codec';
import { keccak256 } from '@aivm/crypto';
import { ModelError } from './graph.ts';
import type { IntArray, IntDtype, QuantModel, QuantTensor } from './quant/model.ts';

/** Largest tensor the canonical encoding accepts (elements x width). */
export const MAX_TENSOR_BYTES = 16 * 1024 * 1024;

const TensorSchema = t.struct('Tensor', {
  dtype: t.string(8),
  shape: t.array(t.uint32, 8),
  data: t.bytes(MAX_TENSOR_BYTES),
});

const WIDTH: Record<IntDtype, number> = { int8: 1, int16: 2, int32: 4 };

function littleEndian(a: IntArray): Uint8Array {
  const out = new Uint8Array(a.length * a.BYTES_PER_ELEMENT);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a.BYTES_PER_ELEMENT === 1) view.setInt8(i, a[i]!);
    else if (a.BYTES_PER_ELEMENT === 2) view.setInt16(i * 2, a[i]!, true);
    else view.setInt32(i * 4, a[i]!, true);
  }
  return out;
}

/** Canonical bytes of an integer tensor: dtype, shape and little-endian data (the scale is not part). */
export function encodeTensor(x: Pick<QuantTensor, 'dtype' | 'shape' | 'data'>): Uint8Array {
  return encode(TensorSchema, { dtype: x.dtype, shape: x.shape, data: littleEndian(x.data) });
}

export type DecodedTensor = { dtype: IntDtype; shape: number[]; data: IntArray };

/** Strict inverse of encodeTensor; throws ModelError on anything else. */
export function decodeTensor(bytes: Uint8Array): DecodedTensor {
  let raw: { dtype: string; shape: number[]; data: Uint8Array };
  try {
    raw = decode(TensorSchema, bytes);
  } catch (err) {
    throw new ModelError(`invalid tensor encoding: ${(err as Error).message}`, { cause: err });
  }
  const dtype = raw.dtype as IntDtype;
  const width = WIDTH[dtype];
  if (!width) throw new ModelError(`invalid tensor encoding: unknown dtype ${raw.dtype}`);
  // The data's length (at most MAX_TENSOR_BYTES, already in hand) must match the shape before
  // anything is allocated: a product of up to eight uint32 dimensions is exact enough in a double
  // to be refused, and never allocated, when it is huge.
  let n = 1;
  for (const d of raw.shape) n *= d;
  if (n * width !== raw.data.length)
    throw new ModelError(
      `invalid tensor encoding: shape [${raw.shape}] needs ${n * width} bytes, got ${raw.data.length}`,
    );
  const view = new DataView(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  const data =
    dtype === 'int8' ? new Int8Array(n) : dtype === 'int16' ? new Int16Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++)
    data[i] =
      width === 1 ? view.getInt8(i) : width === 2 ? view.getInt16(i * 2, true) : view.getInt32(i * 4, true);
  return { dtype, shape: raw.shape, data };
}

/**
 * One leaf of a layer commitment: keccak256(salt || canonical tensor bytes). The chain salts a
 * slot's leaves with its provider's 20-byte address, so a result cannot be copied from another
 * slot without every intermediate tensor. Without a salt: keccak256 of the canonical bytes.
 */
export function tensorLeaf(x: Pick<QuantTensor, 'dtype' | 'shape' | 'data'>, salt?: Uint8Array): Uint8Array {
  return saltedLeaf(encodeTensor(x), salt);
}

/** keccak256(salt || bytes) for canonical tensor bytes already encoded (no salt: keccak256(bytes)). */
export function saltedLeaf(encoded: Uint8Array, salt?: Uint8Array): Uint8Array {
  if (!salt || salt.length === 0) return keccak256(encoded);
  const buf = new Uint8Array(salt.length + encoded.length);
  buf.set(salt, 0);
  buf.set(encoded, salt.length);
  return keccak256(buf);
}

/**
 * Throws unless every node has one output and reads only constants plus the output of the node
 * before it (the first node: the graph's single input). Then the layer leaves describe the whole
 * state between two nodes, so a dispute can be settled by re-running one node.
 */
export function checkChainShaped(model: QuantModel): void {
  if (model.inputs.length !== 1) throw new ModelError('a layer-disputable model has exactly one input');
  if (model.nodes.length === 0) throw new ModelError('a layer-disputable model has at least one node');
  const constants = new Set(model.constants.map((c) => c.name));
  let previous = model.inputs[0]!;
  for (const node of model.nodes) {
    if (node.outputs.length !== 1)
      throw new ModelError(`node ${node.name} has ${node.outputs.length} outputs; layer disputes need one`);
    for (const name of node.inputs) {
      if (name === '' || constants.has(name) || name === previous) continue;
      throw new ModelError(
        `node ${node.name} reads "${name}", which is neither a constant nor the previous node's output`,
      );
    }
    previous = node.outputs[0]!;
  }
  if (model.outputs.length !== 1 || model.outputs[0] !== previous)
    throw new ModelError("a layer-disputable model's single output is its last node's output");
}

/**
 * Leaves of a traced run: leaf 0 is the input, leaf i the output of node i - 1, each
 * tensorLeaf(x, salt) (the chain's salt: the slot provider's address bytes).
 */
export function layerLeaves(
  model: QuantModel,
  trace: Map<string, QuantTensor>,
  salt?: Uint8Array,
): Uint8Array[] {
  checkChainShaped(model);
  const names = [model.inputs[0]!, ...model.nodes.map((n) => n.outputs[0]!)];
  return names.map((name) => {
    const x = trace.get(name);
    if (!x) throw new ModelError(`the trace has no value "${name}"`);
    return tensorLeaf(x, salt);
  });
}

/** A model output as stored on chain: every element as int32 little-endian. */
export function encodeOutput(x: Pick<QuantTensor, 'data'>): Uint8Array {
  return littleEndian(Int32Array.from(x.data));
}

export function decodeOutput(bytes: Uint8Array): Int32Array {
  if (bytes.length % 4 !== 0) throw new ModelError(`an output is int32 values; ${bytes.length} bytes is not`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(i * 4, true);
  return out;
}

/** Index of the first maximum (the predicted class); -1 for an empty output. */
export function argmaxOf(values: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) if (best < 0 || values[i]! > values[best]!) best = i;
  return best;
}
