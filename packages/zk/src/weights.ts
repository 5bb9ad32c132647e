// The weight commitment of private-weights mode: what a model owner publishes so that a proof made
// with compile(model, { weights: 'private' }) says "output = model_W(input) for THIS W". The circuit
// multiplies the committed elements themselves (compile.ts); this file computes them natively
// from a QuantModel, so that anyone holding the weights can recompute the commitment.
//
// Scheme (version 2), over the weighted nodes (kernels `linear` and `conv`) in model.nodes order.
// Each node's int8 weights are a matrix W[o][k] of O outputs by K products per output: linear
// [N, K] row-major; conv [O, C/group · kh · kw] (its stored [O, C/group, kh, kw] row-major).
//   1. Slots: L = bitLength(K · 2^14) + 1 bits (|Σ_k w·x| ≤ K·128·128 < 2^(L−1), so an offset
//      accumulator fits L bits), and n = ⌊253 / L⌋ slots per field element (n·L ≤ 253 bits < r).
//   2. Packs: the outputs in order, in runs of at most n — for conv, runs never cross a conv group
//      (group g owns outputs [g·O/G, (g+1)·O/G)); so a pack's outputs share their inputs.
//   3. Elements: for each pack (in order), for each k < K: E = Σ_i W[o_0 + i][k] · 2^(L·i), the
//      pack's i-th output in slot i, a SIGNED integer taken mod r. One multiplication E·x_k in the
//      circuit then accumulates x_k's product with n weights at once.
//   4. Biases: every int32 bias (node order, then output order) as one field element (b mod r).
//   5. The commitment is commitInputs([elements of every node …, biases …]) — the Poseidon
//      chain of poseidon.ts (the element count starts the chain).
// No range check of the weights is needed in the circuit: the proof binds the elements
// themselves, and the extraction of each accumulator from its slot is unique (compile.ts).
// Rescale multipliers and shifts are NOT committed: they remain circuit constants and are part of
// the published circuit (and therefore of its verification key), not a secret.
// Browser-safe: no node: imports.
import { ModelError, type QuantModel, type QuantNode } from '@aivm/runtime/core';
import { commitInputs } from './poseidon.ts';
import { fmod } from './r1cs.ts';

/** Kernels whose weights and biases are private witness values in private-weights mode. */
export const WEIGHTED_KERNELS: ReadonlySet<string> = new Set(['linear', 'conv']);

/** Bits of the field that a packed element may fill (2^253 < r). */
const FIELD_BITS = 253;

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

/** How a weighted node's weights are packed (steps 1-2): it depends on the shapes only. */
export type PackLayout = {
  node: string;
  /** Outputs (linear N, conv O) and products per output (linear K, conv C/group·kh·kw). */
  outputs: number;
  K: number;
  /** Slot width L and slots per element n. */
  slotBits: number;
  slots: number;
  /** Each pack's first output and output count. */
  packs: { first: number; count: number }[];
};

/** Slot width for K products of two int8 values: K·2^14 < 2^(L−1). */
export function slotBits(K: number): number {
  return (K * 2 ** 14).toString(2).length + 1;
}

/** The pack layout of a weighted node (scheme steps 1-2). */
export function packLayout(node: QuantNode): PackLayout {
  const where = { node: node.name, op: node.op };
  const { weight, bias } = nodeWeights(node);
  const outputs = bias.length;
  const groups = node.kernel === 'conv' ? (node.attrs.group as number) : 1;
  if (outputs === 0 || weight.length % outputs !== 0 || !Number.isInteger(groups) || outputs % groups !== 0)
    throw new ModelError(`weights of ${weight.length} do not fit ${outputs} outputs`, where);
  const K = weight.length / outputs;
  const L = slotBits(K);
  const slots = Math.floor(FIELD_BITS / L);
  if (slots < 1) throw new ModelError(`${K} products per output are too many to pack`, where);
  const perGroup = outputs / groups;
  const packs: PackLayout['packs'] = [];
  for (let g = 0; g < groups; g++)
    for (let o = 0; o < perGroup; o += slots)
      packs.push({ first: g * perGroup + o, count: Math.min(slots, perGroup - o) });
  return { node: node.name, outputs, K, slotBits: L, slots, packs };
}

/** A node's packed elements (step 3), pack-major then k, as field elements. */
export function packedElements(node: QuantNode, layout: PackLayout = packLayout(node)): bigint[] {
  const { weight } = nodeWeights(node);
  const { K, slotBits: L } = layout;
  const out: bigint[] = [];
  for (const { first, count } of layout.packs)
    for (let k = 0; k < K; k++) {
      let e = 0n;
      for (let i = count - 1; i >= 0; i--) e = (e << BigInt(L)) + BigInt(weight[(first + i) * K + k]);
      out.push(fmod(e));
    }
  return out;
}

/** The weighted nodes in commitment order, with their weight, bias and element counts. */
export function committedWeightLayout(
  model: QuantModel,
): { node: string; weights: number; biases: number; elements: number }[] {
  return model.nodes
    .filter((n) => WEIGHTED_KERNELS.has(n.kernel))
    .map((n) => {
      const { weight, bias } = nodeWeights(n);
      const l = packLayout(n);
      return { node: n.name, weights: weight.length, biases: bias.length, elements: l.packs.length * l.K };
    });
}

/** A weighted node's biases, checked against the private-weights bound |bias| < 2^(L−1) (step 4). */
export function privateBiases(node: QuantNode, layout: PackLayout = packLayout(node)): Int32Array {
  const { bias } = nodeWeights(node);
  const bound = 2 ** (layout.slotBits - 1);
  bias.forEach((b, o) => {
    if (b >= bound || b < -bound)
      throw new ModelError(
        `bias ${b} of output ${o} is outside ±2^${layout.slotBits - 1}, the largest a private-weights proof of this layer (${layout.K} products per output) supports`,
        { node: node.name, op: node.op },
      );
  });
  return bias;
}

/** The field elements the weight commitment hashes (steps 3-4 of the scheme above). */
export function weightCommitmentElements(model: QuantModel): bigint[] {
  const packs: bigint[] = [];
  const biases: bigint[] = [];
  for (const node of model.nodes) {
    if (!WEIGHTED_KERNELS.has(node.kernel)) continue;
    for (const e of packedElements(node)) packs.push(e);
    for (const b of privateBiases(node)) biases.push(fmod(BigInt(b)));
  }
  if (packs.length === 0)
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
