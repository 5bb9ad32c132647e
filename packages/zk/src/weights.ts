// The weight commitment of private-weights mode: what a model owner publishes so that a proof made
// with compile(model, { weights: 'private' }) says "output = model_W(input) for THIS W". The circuit
// computes the same value in-circuit (compile.ts) from range-checked weight bits; this file computes
// it natively from a QuantModel, so that anyone holding the weights can recompute it.
//
// Scheme (version 1), over the weighted nodes (kernels `linear` and `conv`) in model.nodes order:
//   1. Weight bytes: every int8 weight of every weighted node, in the node's stored order
//      (params.weight: linear [N, K] row-major, conv [O, C/group, kh, kw] row-major), as the byte
//      u = w + 128 in [0, 255].
//   2. Packing: u_0 … u_{n−1} in groups of WEIGHTS_PER_ELEMENT = 31 (248 bits < 254, so a group
//      never wraps the field): P_j = Σ_{i<31} u_{31j+i} · 256^i (the first weight in the lowest
//      byte; the last group may be shorter).
//   3. Biases: every int32 bias of every weighted node (params.bias, node order then element order)
//      as one field element each (negative b is r + b).
//   4. The commitment is commitInputs([P_0 … P_{m−1}, bias_0 … bias_{k−1}]): the Poseidon
//      chunk-of-16 / chain scheme of poseidon.ts (the element count m + k starts the chain).
// Rescale multipliers and shifts are NOT committed: they remain circuit constants and are part of
// the published circuit (and therefore of its verification key), not a secret.
// Browser-safe: no node: imports.
import { ModelError, type QuantModel, type QuantNode } from '@aivm/runtime/core';
import { commitInputs } from './poseidon.ts';
import { fmod } from './r1cs.ts';

/** Weights packed into one field element of the commitment (31 bytes = 248 bits < 254). */
export const WEIGHTS_PER_ELEMENT = 31;

/** Kernels whose weights and biases are private witness values in private-weights mode. */
export const WEIGHTED_KERNELS: ReadonlySet<string> = new Set(['linear', 'conv']);

/** A weighted node's int8 weights and int32 biases, validated. */
export function nodeWeights(node: QuantNode): { weight: Int8Array; bias: Int32Array } {
  const where = { node: node.name, op: node.op };
  const weight = node.params.weight;
  const bias = node.params.bias;
  if (!(weight instanceof Int8Array))
    throw new ModelError('parameter weight must be an int8 array for the circuit', where);
  if (!(bias instanceof Int32Array))
    throw new ModelError('parameter bias must be an int32 array for the circuit', where);
  return { weight, bias };
}

/** The weighted nodes in commitment order, with their weight and bias counts. */
export function committedWeightLayout(
  model: QuantModel,
): { node: string; weights: number; biases: number }[] {
  return model.nodes
    .filter((n) => WEIGHTED_KERNELS.has(n.kernel))
    .map((n) => {
      const { weight, bias } = nodeWeights(n);
      return { node: n.name, weights: weight.length, biases: bias.length };
    });
}

/** The field elements the weight commitment hashes (steps 1-3 of the scheme above). */
export function weightCommitmentElements(model: QuantModel): bigint[] {
  const packs: bigint[] = [];
  const biases: bigint[] = [];
  let acc = 0n;
  let filled = 0;
  for (const node of model.nodes) {
    if (!WEIGHTED_KERNELS.has(node.kernel)) continue;
    const { weight, bias } = nodeWeights(node);
    for (let k = 0; k < weight.length; k++) {
      acc |= BigInt(weight[k] + 128) << BigInt(8 * filled);
      if (++filled === WEIGHTS_PER_ELEMENT) {
        packs.push(acc);
        acc = 0n;
        filled = 0;
      }
    }
    for (let k = 0; k < bias.length; k++) biases.push(fmod(BigInt(bias[k])));
  }
  if (filled > 0) packs.push(acc);
  if (packs.length + biases.length === 0)
    throw new ModelError('the model has no weighted (linear or conv) node to commit to');
  return [...packs, ...biases];
}

/**
 * The Poseidon commitment to a model's weights and biases (scheme at the top of this file): the
 * last public signal of every proof of compile(model, { weights: 'private' }).
 */
export function weightCommitment(model: QuantModel): bigint {
  return commitInputs(weightCommitmentElements(model));
}
