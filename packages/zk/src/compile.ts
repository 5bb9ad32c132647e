// The circuit compiler: a QuantModel becomes an R1CS whose satisfying assignments are exactly the runs of the
// integer semantics of docs/runtime-semantics.md, and the witness is the runtime's own trace
// (runInt with { trace: true }) plus auxiliary values (quotients, remainder bits, clamp flags)
// derived from it by the hints registered here. The layer arithmetic is never recomputed: a hint
// only derives the auxiliary values and the constraint check decides whether the trace is right.
//
// Weights: 'public' (default) makes weights and biases circuit constants (a multiply-accumulate is
// a free linear term). 'private' makes them private witness values: the packed weight elements of
// weights.ts (n weights of n outputs in L-bit slots of one field element) and one field element per
// bias. One constraint E·x multiplies n weights by the same input at once; the n accumulators are
// then split out of the sum's slots with L bit checks each, and the Poseidon commitment of
// weights.ts over the elements and biases is one public signal. The circuit then reads no weight
// value, so every W of an architecture (with the same rescale multipliers and shifts, which stay
// constants) has the same R1CS and the same keys.
// Browser-safe: no node: imports.
import { ModelError, type QuantModel, type QuantNode, type QuantTensor } from '@aivm/runtime/core';
import { commitGadget, lcSignal } from './poseidon.ts';
import {
  addTerm,
  BN254_R,
  constLC,
  evalLC,
  finalize,
  firstViolation,
  fmod,
  type LC,
  lcSum,
  ONE,
  type R1cs,
  R1csBuilder,
  sig,
  toSigned,
} from './r1cs.ts';
import {
  committedWeightLayout,
  nodeWeights,
  type PackLayout,
  packedElements,
  packLayout,
  privateBiases,
} from './weights.ts';

export type CompileOptions = {
  /** Value bound to symbolic (batch) dimensions; default 1. */
  batch?: number;
  /**
   * Range-check every public input to [-128, 127] inside the circuit (8 bits each; default true).
   * Without it the verifier must check the public inputs itself, or the proof says nothing.
   */
  rangeCheckInputs?: boolean;
  /**
   * 'public' (default): every input element is a public signal. 'committed': the input elements
   * are private wires (always range-checked to [-128, 127]) and the one public input signal is
   * commitInputs(all input elements, model.inputs order, row-major) — the Poseidon chunk/chain
   * scheme of poseidon.ts, recomputable off-chain with poseidon-lite.
   */
  inputs?: 'public' | 'committed';
  /**
   * 'public' (default): weights and biases are circuit constants. 'private': they are private
   * witness values (packed weight elements and biases, weights.ts) bound by one public signal, the
   * weightCommitment(model) of weights.ts, which follows every other public signal. Rescale
   * multipliers and shifts stay circuit constants (published with the circuit, not secret).
   */
  weights?: 'public' | 'private';
  /**
   * Fuse a linear or conv layer with a ReLU that alone reads its output (default true): the
   * rescale then clamps to [0, 127] and writes the ReLU's output, and the layer's own value is no
   * wire. false keeps both values as wires (one ReLU gadget per element more).
   */
  fuseRelu?: boolean;
  /**
   * Stop with CircuitTooLarge as soon as the circuit has more constraints than this (default: no
   * limit): a provider learns that a model is too large, or larger than its publisher declared,
   * for the memory and time of this many constraints.
   */
  maxConstraints?: number;
};

export type ValueLayout = { name: string; shape: number[] };

export type Circuit = {
  model: string;
  r1cs: R1cs;
  inputs: 'public' | 'committed';
  weights: 'public' | 'private';
  /**
   * Public signals in snarkjs order:
   *   1. every element of every graph output (model.outputs order, row-major);
   *   2. inputs 'public': every element of every graph input (model.inputs order, row-major);
   *      inputs 'committed': ONE signal, commitInputs(all input elements) (poseidon.ts);
   *   3. weights 'private' only: ONE signal, weightCommitment(model) (weights.ts).
   * Integers are field elements (negative v is r + v). So: public/public = outputs, inputs;
   * committed/public = outputs, input commitment; public/private = outputs, inputs, weight
   * commitment; committed/private = outputs, input commitment, weight commitment.
   */
  publicOutputs: ValueLayout[];
  publicInputs: ValueLayout[];
  /**
   * With inputs: 'committed': the inputs bound by the single public commitment signal (which then
   * follows the outputs, and publicInputs is empty).
   */
  committedInputs?: ValueLayout[];
  /** With weights: 'private': the weighted nodes in commitment order (weights.ts). */
  committedWeights?: { node: string; weights: number; biases: number }[];
  /** Constraints contributed by each node (and '<inputs>' for the input range checks). */
  constraintsByNode: { node: string; kernel: string; constraints: number }[];
  /** Builder-side data for witness generation. */
  builder: R1csBuilder;
  traceSignals: { value: string; ids: number[] }[];
};

/** The runtime kernels the circuit compiler turns into constraints; compile refuses any other. */
export const ZK_KERNELS: readonly string[] = [
  'linear',
  'conv',
  'relu',
  'maxpool',
  'reshape',
  'transpose',
  'argmax',
];
const SUPPORTED = new Set(ZK_KERNELS);

/** The nodes `compile` would refuse for their kernel (empty: every kernel has a circuit). */
export function zkUnsupportedNodes(
  model: Pick<QuantModel, 'nodes'>,
): { node: string; op: string; kernel: string }[] {
  return model.nodes
    .filter((n) => !SUPPORTED.has(n.kernel))
    .map((n) => ({ node: n.name, op: n.op, kernel: n.kernel }));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function bitLen(x: bigint): number {
  return x <= 0n ? 0 : x.toString(2).length;
}

/** bits boolean signals b_i and the constraint l = Σ 2^i·b_i: proves 0 ≤ l < 2^bits. */
function rangeCheck(b: R1csBuilder, l: LC, bits: number, label: string): void {
  const ids: number[] = [];
  for (let i = 0; i < bits; i++) {
    const id = b.signal(`${label}.b${i}`);
    ids.push(id);
    boolean(b, id, `${label}.b${i}`);
  }
  const sum = lcSum([1, l]);
  ids.forEach((id, i) => {
    addTerm(sum, id, -(1n << BigInt(i)));
  });
  b.zero(sum, `${label} = sum of its bits`);
  b.hint((w) => {
    // Bits of the value mod 2^bits: an out-of-range value then fails the sum constraint.
    const v = evalLC(l, w);
    for (let i = 0; i < bits; i++) w[ids[i]] = (v >> BigInt(i)) & 1n;
  });
}

function boolean(b: R1csBuilder, id: number, label: string): void {
  // One linear combination object for a, b and c: constraints are never mutated, and with private
  // weights there are ~8 bit constraints per weight (fewer objects, less garbage collection).
  const x = sig(id);
  b.constrain(x, x, x, `${label} is a bit`);
}

/**
 * y = clamp(rescale(acc, m, s), lb, 127) for an accumulator with |acc| ≤ maxAcc; lb is −127 (the
 * runtime's saturation) or 0 (saturation then a ReLU, fused: max(clamp(q, −127, 127), 0) equals
 * clamp(q, 0, 127)).
 *
 * Rescale: q is a signal and acc·m + 2^(s-1) − q·2^s is range-checked to [0, 2^s) (s bits).
 * Clamp (only when |q| can exceed 127): flags hi (q > 127), lo (q < lb), t1 = hi·(127 − q),
 * lo·(lb − q) = y − q − t1, and d_hi = 127 − q − hi − 2·t1 (= 127 − q, or q − 128 when hi),
 * d_lo = −lb − q − lo + 2·y − 2·t1 (= q − lb, or lb − 1 − q when lo) range-checked to B bits.
 * Both bound q, so q·2^s + r cannot wrap the field and q is the integer quotient. When |q| ≤ 127 is
 * provable from maxAcc: with lb = −127, y is q itself and y + 128 is range-checked to 8 bits; with
 * lb = 0, y = max(q, 0) by the ReLU gadget, whose range check also bounds q.
 */
function requant(
  b: R1csBuilder,
  acc: LC,
  m: number,
  s: number,
  maxAcc: bigint,
  y: number,
  label: string,
  lb: -127 | 0 = -127,
): void {
  const M = BigInt(m);
  const S = 1n << BigInt(s);
  const half = s > 0 ? 1n << BigInt(s - 1) : 0n;
  const maxQ = floorDiv(maxAcc * (M < 0n ? -M : M) + half, S) + 1n;
  const saturating = maxQ > 127n;
  const q = saturating || lb === 0 ? b.signal(`${label}.q`) : y;
  if (q !== y)
    b.hint((w) => {
      w[q] = fmod(floorDiv(toSigned(evalLC(acc, w)) * M + half, S));
    });
  const rem = lcSum([M, acc], [half, constLC(1)], [-S, sig(q)]);
  if (s === 0) b.zero(rem, `${label}: q = acc·m`);
  else rangeCheck(b, rem, s, `${label}.r`);
  if (!saturating) {
    if (lb === 0) reluGadget(b, q, y, label);
    else rangeCheck(b, lcSum([1, sig(y)], [128, constLC(1)]), 8, `${label}.y+128`);
    return;
  }
  const LB = BigInt(lb);
  const hi = b.signal(`${label}.hi`);
  const lo = b.signal(`${label}.lo`);
  const t1 = b.signal(`${label}.t1`);
  b.hint((w) => {
    const qv = toSigned(w[q] as bigint);
    const h = qv > 127n ? 1n : 0n;
    w[hi] = h;
    w[lo] = qv < LB ? 1n : 0n;
    w[t1] = fmod(h * (127n - qv));
  });
  boolean(b, hi, `${label}.hi`);
  boolean(b, lo, `${label}.lo`);
  const qs = sig(q);
  b.constrain(sig(hi), lcSum([127, constLC(1)], [-1, qs]), sig(t1), `${label}: t1 = hi·(127 − q)`);
  b.constrain(
    sig(lo),
    lcSum([LB, constLC(1)], [-1, qs]),
    lcSum([1, sig(y)], [-1, qs], [-1, sig(t1)]),
    `${label}: lo·(${lb} − q) = y − q − t1`,
  );
  const B = bitLen(maxQ + 255n);
  rangeCheck(b, lcSum([127, constLC(1)], [-1, qs], [-1, sig(hi)], [-2, sig(t1)]), B, `${label}.dhi`);
  rangeCheck(
    b,
    lcSum([-LB, constLC(1)], [-1, qs], [-1, sig(lo)], [2, sig(y)], [-2, sig(t1)]),
    B,
    `${label}.dlo`,
  );
}

/** y = max(x, 0) for x in [-128, 127]: y·(y − x) = 0 and 2y − x in [0, 256). */
function reluGadget(b: R1csBuilder, x: number, y: number, label: string): void {
  b.constrain(sig(y), lcSum([1, sig(y)], [-1, sig(x)]), new Map(), `${label}: y·(y − x) = 0`);
  rangeCheck(b, lcSum([2, sig(y)], [-1, sig(x)]), 8, `${label}.2y-x`);
}

/**
 * y = max(x_1 … x_k) of a pooling window (k ≥ 1 in-input positions): every y − x_i is
 * range-checked to [0, 2^8) (y ≥ each x_i), and y is one of them by the product chain
 * t_1 = (y − x_1)(y − x_2), t_j = t_{j−1}(y − x_{j+1}), t_{k−2}·(y − x_k) = 0 (k − 1 constraints,
 * no selector bits); for k = 1, y = x_1. The auxiliary t_j are derived from the trace by a hint.
 */
function maxGadget(b: R1csBuilder, xs: number[], y: number, label: string): void {
  const ys = sig(y);
  const diff = (x: number): LC => lcSum([1, ys], [-1, sig(x)]);
  if (xs.length === 1) {
    b.zero(diff(xs[0]), `${label}: y = x (window of one)`);
    return;
  }
  xs.forEach((x, i) => {
    rangeCheck(b, diff(x), 8, `${label}.y-x${i}`);
  });
  let prev = diff(xs[0]);
  for (let j = 1; j < xs.length; j++) {
    const d = diff(xs[j]);
    if (j === xs.length - 1) {
      b.constrain(prev, d, new Map(), `${label}: y is in the window (product of y − x_i = 0)`);
      break;
    }
    const t = b.signal(`${label}.t${j}`);
    const a = prev;
    b.hint((w) => {
      w[t] = fmod(evalLC(a, w) * evalLC(d, w));
    });
    b.constrain(a, d, sig(t), `${label}.t${j} = t${j - 1}·(y − x${j})`);
    prev = sig(t);
  }
}

/**
 * idx = argmax(x_0 … x_{L−1}) with the runtime's tie rule (the first index, or the last with
 * select_last_index). One-hot selector s_j (boolean, Σ s_j = 1, Σ j·s_j = idx), the maximum m
 * with s_j·(m − x_j) = 0, and m − x_j − p_j range-checked to [0, 2^8) where p_j = Σ_{i>j} s_i
 * (first index: every earlier element is strictly smaller) or Σ_{i<j} s_i (last index).
 */
function argmaxGadget(b: R1csBuilder, xs: number[], idx: number, selectLast: boolean, label: string): void {
  const L = xs.length;
  const s = xs.map((_, j) => b.signal(`${label}.s${j}`));
  const m = b.signal(`${label}.max`);
  b.hint((w) => {
    const k = Number(toSigned(w[idx] as bigint));
    s.forEach((id, j) => {
      w[id] = j === k ? 1n : 0n;
    });
    // Out-of-range index (a wrong trace): the selector is all zero and Σ s_j = 1 fails.
    w[m] = k >= 0 && k < L ? (w[xs[k]] as bigint) : 0n;
  });
  const sum = constLC(-1);
  const pos = lcSum([-1, sig(idx)]);
  s.forEach((id, j) => {
    boolean(b, id, `${label}.s${j}`);
    addTerm(sum, id, 1n);
    addTerm(pos, id, BigInt(j));
    b.constrain(
      sig(id),
      lcSum([1, sig(m)], [-1, sig(xs[j])]),
      new Map(),
      `${label}: s${j}·(max − x${j}) = 0`,
    );
  });
  b.zero(sum, `${label}: one selector bit is set`);
  b.zero(pos, `${label}: index = Σ j·s_j`);
  for (let j = 0; j < L; j++) {
    const l = lcSum([1, sig(m)], [-1, sig(xs[j])]);
    for (let i = 0; i < L; i++) if (selectLast ? i < j : i > j) addTerm(l, s[i], -1n);
    rangeCheck(b, l, 8, `${label}.max-x${j}`);
  }
}

function concreteShape(dims: (number | string)[], batch: number): number[] {
  return dims.map((d) => (typeof d === 'number' ? d : batch));
}

function count(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function param<T>(node: QuantNode, key: string): T {
  const v = node.params[key];
  if (v === undefined) throw new ModelError(`parameter ${key} is missing`, { node: node.name, op: node.op });
  return v as T;
}

function attrs(node: QuantNode, key: string): number[] {
  const v = node.attrs[key];
  if (!Array.isArray(v))
    throw new ModelError(`attribute ${key} is missing`, { node: node.name, op: node.op });
  return v as number[];
}

/** Compiles a quantized model into an R1CS for a fixed batch size (modes in CompileOptions). */
export function compile(model: QuantModel, opts: CompileOptions = {}): Circuit {
  const batch = opts.batch ?? 1;
  if (!Number.isSafeInteger(batch) || batch < 1)
    throw new RangeError(`batch must be a positive integer, got ${String(opts.batch)}`);
  if (opts.inputs !== undefined && opts.inputs !== 'public' && opts.inputs !== 'committed')
    throw new RangeError(`inputs must be 'public' or 'committed', got ${String(opts.inputs)}`);
  if (opts.weights !== undefined && opts.weights !== 'public' && opts.weights !== 'private')
    throw new RangeError(`weights must be 'public' or 'private', got ${String(opts.weights)}`);
  const max = opts.maxConstraints ?? Number.POSITIVE_INFINITY;
  if (!(max >= 0)) throw new RangeError(`maxConstraints must be a number >= 0, got ${String(max)}`);
  const committed = opts.inputs === 'committed';
  const privateW = opts.weights === 'private';
  const rangeInputs = committed || (opts.rangeCheckInputs ?? true);
  for (const node of model.nodes)
    if (!SUPPORTED.has(node.kernel))
      throw new ModelError(
        `kernel "${node.kernel}" (node "${node.name}", ${node.op}) is not supported by the circuit compiler; supported: ${[...SUPPORTED].join(', ')}`,
        { node: node.name, op: node.op },
      );
  const b = new R1csBuilder(max);
  const valueInfo = new Map(model.values.map((v) => [v.name, v]));
  const signals = new Map<string, { ids: number[]; shape: number[] }>();
  const traceSignals: { value: string; ids: number[] }[] = [];
  const byNode: Circuit['constraintsByNode'] = [];
  const shapeOf = (name: string): number[] => {
    const v = valueInfo.get(name);
    if (!v) throw new ModelError(`value "${name}" has no description`);
    return concreteShape(v.shape, batch);
  };
  const traced = (name: string, label: string): number[] => {
    const shape = shapeOf(name);
    const ids = Array.from({ length: count(shape) }, (_, i) => b.signal(`${label}[${i}]`));
    signals.set(name, { ids, shape });
    traceSignals.push({ value: name, ids });
    return ids;
  };

  // Private weights: the packed weight elements and the biases of every weighted node as private
  // signals (weights.ts), in commitment order, for the commitment at the end.
  const elementIds: number[] = [];
  const biasIds: number[] = [];
  /**
   * A weighted node's packed weight elements and biases as private signals. The hint reads the
   * model's values (the prover knows W); the constraints never do.
   */
  const privateParams = (node: QuantNode): { layout: PackLayout; elements: number[]; bias: number[] } => {
    const layout = packLayout(node);
    const bias = nodeWeights(node).bias;
    const elements = Array.from({ length: layout.packs.length * layout.K }, (_, i) =>
      b.signal(`${node.name}.e${i}`),
    );
    const biases = Array.from(bias, (_, i) => b.signal(`${node.name}.bias${i}`));
    b.hint((w) => {
      packedElements(node, layout).forEach((v, i) => {
        w[elements[i]] = v;
      });
      privateBiases(node, layout).forEach((v, i) => {
        w[biases[i]] = fmod(BigInt(v));
      });
    });
    // |bias| < 2^(L−1): with |Σ w·x| < 2^(L−1) it bounds every accumulator to 2^L (weights.ts).
    const half = 1n << BigInt(layout.slotBits - 1);
    biases.forEach((id, i) => {
      rangeCheck(
        b,
        lcSum([1, sig(id)], [half, constLC(1)]),
        layout.slotBits,
        `${node.name}.bias${i}+2^${layout.slotBits - 1}`,
      );
    });
    elementIds.push(...elements);
    biasIds.push(...biases);
    return { layout, elements, bias: biases };
  };
  /**
   * The accumulators of one pack of outputs at one position. S = Σ E_k·x_k over the (element,
   * input) pairs, one constraint per product, holds acc_i + 2^(L−1) in slot i of L bits (the
   * offset makes every slot non-negative: |acc_i − bias_i| < 2^(L−1)). Every slot is split into L
   * boolean bits with S + offsets = Σ_i 2^(L·i)·slot_i; as n·L ≤ 253 bits, S never wraps the field,
   * so the split, and with it every accumulator, is unique. Returns acc_i = slot_i − 2^(L−1) + bias_i.
   */
  const packedMacs = (
    L: number,
    pairs: [element: number, x: number][],
    bias: number[],
    label: string,
  ): LC[] => {
    const S: LC = new Map();
    pairs.forEach(([e, x], k) => {
      const t = b.signal(`${label}.p${k}`);
      b.hint((w) => {
        w[t] = fmod((w[e] as bigint) * (w[x] as bigint));
      });
      b.constrain(sig(e), sig(x), sig(t), `${label}.p${k} = E·x`);
      addTerm(S, t, 1n);
    });
    const half = 1n << BigInt(L - 1);
    const first: number[] = [];
    for (let i = 0; i < bias.length; i++) {
      addTerm(S, ONE, half << BigInt(L * i));
      first.push(b.signal(`${label}.s${i}.b0`));
      for (let j = 1; j < L; j++) b.signal(`${label}.s${i}.b${j}`);
    }
    const split = new Map(S);
    const accs = first.map((f, i) => {
      const acc: LC = new Map([
        [ONE, -half],
        [bias[i], 1n],
      ]);
      for (let j = 0; j < L; j++) {
        boolean(b, f + j, `${label}.s${i}.b${j}`);
        addTerm(acc, f + j, 1n << BigInt(j));
        addTerm(split, f + j, -(1n << BigInt(L * i + j)));
      }
      return acc;
    });
    b.zero(split, `${label}: products = slots`);
    b.hint((w) => {
      // The slots of S as an integer: a wrong trace gives bits that fail the split constraint.
      const v = evalLC(S, w);
      first.forEach((f, i) => {
        for (let j = 0; j < L; j++) w[f + j] = (v >> BigInt(L * i + j)) & 1n;
      });
    });
    return accs;
  };
  /** |acc| < 2^L for private weights: |bias| < 2^(L−1) and |Σ w·x| ≤ K·128·128 < 2^(L−1). */
  const privateMaxAcc = (layout: PackLayout): bigint => 1n << BigInt(layout.slotBits);

  const publicInputs: ValueLayout[] = [];
  for (const name of model.inputs) {
    const v = valueInfo.get(name);
    if (v?.kind !== 'quant' || v.dtype !== 'int8')
      throw new ModelError(`input "${name}" must be an int8 quantized tensor for the circuit`);
    const shape = shapeOf(name);
    const role = committed ? 'private' : 'input';
    const ids = Array.from({ length: count(shape) }, (_, i) => b.signal(`${name}[${i}]`, role));
    signals.set(name, { ids, shape });
    traceSignals.push({ value: name, ids });
    publicInputs.push({ name, shape });
  }
  if (rangeInputs) {
    const before = b.constraints.length;
    for (const name of model.inputs)
      for (const id of (signals.get(name) as { ids: number[] }).ids)
        rangeCheck(b, lcSum([1, sig(id)], [128, constLC(1)]), 8, `${b.labels[id]}+128`);
    byNode.push({ node: '<inputs>', kernel: 'range', constraints: b.constraints.length - before });
  }

  // A linear or conv whose output only a ReLU reads (and which is no graph output) is fused with
  // it: the rescale clamps to [0, 127] and writes the ReLU's output (requant, lb = 0), and the
  // unclamped-below value is no wire. That saves the ReLU gadget (or the 8-bit check) per element.
  const readers = new Map<string, QuantNode[]>();
  for (const n of model.nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  const fuse = opts.fuseRelu ?? true;
  const fusedRelus = new Set<QuantNode>();
  /** The layer's output wires and the rescale's lower bound, fusing a ReLU that alone reads it. */
  const layerOutput = (node: QuantNode): { y: number[]; lb: -127 | 0 } => {
    const out = node.outputs[0];
    const r = readers.get(out);
    const relu =
      fuse && r?.length === 1 && r[0].kernel === 'relu' && !model.outputs.includes(out) ? r[0] : undefined;
    if (!relu) return { y: traced(out, `${node.name}.y`), lb: -127 };
    fusedRelus.add(relu);
    const y = traced(relu.outputs[0], `${relu.name}.y`);
    if (y.length !== count(shapeOf(out)))
      throw new ModelError(`relu output does not fit the input`, { node: relu.name, op: relu.op });
    return { y, lb: 0 };
  };

  for (const node of model.nodes) {
    const before = b.constraints.length;
    const where = { node: node.name, op: node.op };
    if (fusedRelus.has(node)) {
      byNode.push({ node: node.name, kernel: node.kernel, constraints: 0 });
      continue;
    }
    const x = signals.get(node.inputs[0]);
    if (!x) throw new ModelError(`input "${node.inputs[0]}" is not computed`, where);
    const out = node.outputs[0];
    switch (node.kernel) {
      case 'reshape': {
        const shape = shapeOf(out);
        if (count(shape) !== x.ids.length)
          throw new ModelError(`reshape to ${shape} does not keep ${x.ids.length} elements`, where);
        signals.set(out, { ids: x.ids, shape });
        break;
      }
      case 'transpose': {
        const perm = node.attrs.perm as number[] | undefined;
        const r = x.shape.length;
        if (!Array.isArray(perm) || perm.length !== r)
          throw new ModelError('perm does not match the input rank', where);
        const shape = perm.map((p) => x.shape[p]);
        const inStrides = new Array<number>(r).fill(1);
        for (let d = r - 2; d >= 0; d--) inStrides[d] = inStrides[d + 1] * x.shape[d + 1];
        const ids = new Array<number>(x.ids.length);
        const idx = new Array<number>(r).fill(0);
        for (let o = 0; o < ids.length; o++) {
          let xo = 0;
          for (let d = 0; d < r; d++) xo += idx[d] * inStrides[perm[d]];
          ids[o] = x.ids[xo];
          for (let d = r - 1; d >= 0; d--) {
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
          }
        }
        signals.set(out, { ids, shape });
        break;
      }
      case 'conv': {
        const [kh, kw] = attrs(node, 'kernel_shape');
        const [sh, sw] = attrs(node, 'strides');
        const [pt, pl] = attrs(node, 'pads');
        const [dh, dw] = attrs(node, 'dilations');
        const G = node.attrs.group as number;
        const W = param<Int8Array>(node, 'weight');
        const bias = param<Int32Array>(node, 'bias');
        const mult = param<Int32Array>(node, 'mult');
        const shift = param<Int32Array>(node, 'shift');
        const O = bias.length;
        const priv = privateW ? privateParams(node) : undefined;
        if (x.shape.length !== 4) throw new ModelError(`input must be NCHW, got [${x.shape}]`, where);
        const [B, C, H, Wd] = x.shape;
        const Cg = C / G;
        const Kc = Cg * kh * kw;
        if (!Number.isInteger(Cg) || W.length !== O * Kc || O % G !== 0)
          throw new ModelError(`weights of ${W.length} do not fit ${O} outputs of ${C}/${G} channels`, where);
        const Og = O / G;
        const { y, lb } = layerOutput(node);
        const [, O2, OH, OW] = shapeOf(out);
        if (O2 !== O || y.length !== B * O * OH * OW)
          throw new ModelError(`output shape does not fit ${O} channels`, where);
        /** The in-image taps of output (oh, ow), batch bb, conv group g: [kernel index, input wire]. */
        const taps = (bb: number, g: number, oh: number, ow: number): [number, number][] => {
          const out: [number, number][] = [];
          for (let c = 0; c < Cg; c++)
            for (let i = 0; i < kh; i++) {
              const ih = oh * sh - pt + i * dh;
              if (ih < 0 || ih >= H) continue;
              for (let j = 0; j < kw; j++) {
                const iw = ow * sw - pl + j * dw;
                if (iw < 0 || iw >= Wd) continue;
                out.push([(c * kh + i) * kw + j, x.ids[((bb * C + g * Cg + c) * H + ih) * Wd + iw]]);
              }
            }
          return out;
        };
        if (priv) {
          const { layout } = priv;
          const maxAcc = privateMaxAcc(layout);
          for (let bb = 0; bb < B; bb++)
            for (let oh = 0; oh < OH; oh++)
              for (let ow = 0; ow < OW; ow++)
                layout.packs.forEach(({ first, count: n }, pk) => {
                  const pairs = taps(bb, Math.floor(first / Og), oh, ow).map(([kk, xi]): [number, number] => [
                    priv.elements[pk * Kc + kk],
                    xi,
                  ]);
                  const label = `${node.name}[${bb},${first}+${n},${oh},${ow}]`;
                  const accs = packedMacs(layout.slotBits, pairs, priv.bias.slice(first, first + n), label);
                  accs.forEach((acc, i) => {
                    const o = first + i;
                    const at = ((bb * O + o) * OH + oh) * OW + ow;
                    const lbl = `${node.name}[${bb},${o},${oh},${ow}]`;
                    requant(b, acc, mult[o], shift[o], maxAcc, y[at], lbl, lb);
                  });
                });
          break;
        }
        for (let bb = 0; bb < B; bb++)
          for (let o = 0; o < O; o++) {
            const g = Math.floor(o / Og);
            for (let oh = 0; oh < OH; oh++)
              for (let ow = 0; ow < OW; ow++) {
                const label = `${node.name}[${bb},${o},${oh},${ow}]`;
                const acc: LC = new Map();
                addTerm(acc, ONE, BigInt(bias[o]));
                let maxAcc = BigInt(Math.abs(bias[o]));
                for (const [kk, xi] of taps(bb, g, oh, ow)) {
                  const wv = W[o * Kc + kk];
                  if (wv === 0) continue;
                  addTerm(acc, xi, BigInt(wv));
                  maxAcc += BigInt(Math.abs(wv)) * 128n;
                }
                const at = ((bb * O + o) * OH + oh) * OW + ow;
                requant(b, acc, mult[o], shift[o], maxAcc, y[at], label, lb);
              }
          }
        break;
      }
      case 'maxpool': {
        const [kh, kw] = attrs(node, 'kernel_shape');
        const [sh, sw] = attrs(node, 'strides');
        const [pt, pl] = attrs(node, 'pads');
        const [dh, dw] = attrs(node, 'dilations');
        if (x.shape.length !== 4) throw new ModelError(`input must be NCHW, got [${x.shape}]`, where);
        const [B, C, H, Wd] = x.shape;
        const y = traced(out, `${node.name}.y`);
        const [, , OH, OW] = shapeOf(out);
        if (y.length !== B * C * OH * OW) throw new ModelError('output shape does not fit the input', where);
        for (let nc = 0; nc < B * C; nc++)
          for (let oh = 0; oh < OH; oh++)
            for (let ow = 0; ow < OW; ow++) {
              const win: number[] = [];
              for (let i = 0; i < kh; i++) {
                const ih = oh * sh - pt + i * dh;
                if (ih < 0 || ih >= H) continue;
                for (let j = 0; j < kw; j++) {
                  const iw = ow * sw - pl + j * dw;
                  if (iw >= 0 && iw < Wd) win.push(x.ids[(nc * H + ih) * Wd + iw]);
                }
              }
              const at = (nc * OH + oh) * OW + ow;
              const label = `${node.name}[${nc},${oh},${ow}]`;
              if (win.length === 0) b.zero(sig(y[at]), `${label}: empty window gives 0`);
              else maxGadget(b, win, y[at], label);
            }
        break;
      }
      case 'argmax': {
        const r = x.shape.length;
        let axis = node.attrs.axis as number;
        if (axis < 0) axis += r;
        if (!(axis >= 0 && axis < r))
          throw new ModelError(`axis ${node.attrs.axis} is outside rank ${r}`, where);
        const len = x.shape[axis];
        const inner = x.shape.slice(axis + 1).reduce((a, c) => a * c, 1);
        const outer = x.ids.length / (len * inner);
        const y = traced(out, `${node.name}.y`);
        if (y.length !== outer * inner) throw new ModelError('output shape does not fit the input', where);
        const last = (node.attrs.select_last_index ?? 0) !== 0;
        for (let o = 0; o < outer; o++)
          for (let i = 0; i < inner; i++) {
            const xs = Array.from({ length: len }, (_, k) => x.ids[(o * len + k) * inner + i]);
            argmaxGadget(b, xs, y[o * inner + i], last, `${node.name}[${o},${i}]`);
          }
        break;
      }
      case 'relu': {
        const y = traced(out, `${node.name}.y`);
        x.ids.forEach((xi, i) => {
          reluGadget(b, xi, y[i], `${node.name}[${i}]`);
        });
        break;
      }
      case 'linear': {
        const K = param<number>(node, 'K');
        const N = param<number>(node, 'N');
        const W = param<Int8Array>(node, 'weight');
        const bias = param<Int32Array>(node, 'bias');
        const mult = param<Int32Array>(node, 'mult');
        const shift = param<Int32Array>(node, 'shift');
        if (W.length !== N * K || bias.length !== N)
          throw new ModelError(
            `weights of ${W.length} and biases of ${bias.length} do not fit ${N}×${K}`,
            where,
          );
        const priv = privateW ? privateParams(node) : undefined;
        let xs = x.ids;
        let shape = x.shape;
        if (node.attrs.transA) {
          if (shape.length !== 2) throw new ModelError('transA needs a 2-D input', where);
          const [r0, c0] = shape;
          xs = Array.from({ length: r0 * c0 }, (_, i) => x.ids[(i % r0) * c0 + Math.floor(i / r0)]);
          shape = [c0, r0];
        }
        if (shape[shape.length - 1] !== K)
          throw new ModelError(`input shape ${shape} does not end in K = ${K}`, where);
        const rows = xs.length / K;
        const { y, lb } = layerOutput(node);
        if (y.length !== rows * N)
          throw new ModelError(`output has ${y.length} elements, expected ${rows * N}`, where);
        for (let r = 0; r < rows; r++) {
          if (priv) {
            const { layout } = priv;
            layout.packs.forEach(({ first, count: n }, pk) => {
              const pairs = Array.from({ length: K }, (_, k): [number, number] => [
                priv.elements[pk * K + k],
                xs[r * K + k],
              ]);
              const label = `${node.name}[${r},${first}+${n}]`;
              const accs = packedMacs(layout.slotBits, pairs, priv.bias.slice(first, first + n), label);
              const maxAcc = privateMaxAcc(layout);
              accs.forEach((acc, i) => {
                const o = first + i;
                requant(b, acc, mult[o], shift[o], maxAcc, y[r * N + o], `${node.name}[${r},${o}]`, lb);
              });
            });
            continue;
          }
          for (let n = 0; n < N; n++) {
            const label = `${node.name}[${r},${n}]`;
            const acc: LC = new Map();
            addTerm(acc, ONE, BigInt(bias[n]));
            let maxAcc = BigInt(Math.abs(bias[n]));
            for (let k = 0; k < K; k++) {
              const wv = W[n * K + k];
              if (wv === 0) continue;
              addTerm(acc, xs[r * K + k], BigInt(wv));
              maxAcc += BigInt(Math.abs(wv)) * 128n;
            }
            requant(b, acc, mult[n], shift[n], maxAcc, y[r * N + n], label, lb);
          }
        }
        break;
      }
    }
    byNode.push({ node: node.name, kernel: node.kernel, constraints: b.constraints.length - before });
  }

  const publicOutputs: ValueLayout[] = [];
  for (const name of model.outputs) {
    const v = signals.get(name);
    if (!v) throw new ModelError(`graph output "${name}" is not computed`);
    const ids = v.ids.map((id, i) => {
      if (b.roles[id] === 'private') {
        b.roles[id] = 'output';
        return id;
      }
      // Already public (an input, or another output): a fresh public copy.
      const c = b.signal(`${name}[${i}]`, 'output');
      b.zero(lcSum([1, sig(c)], [-1, sig(id)]), `${name}[${i}] copy`);
      b.hint((w) => {
        w[c] = w[id];
      });
      return c;
    });
    signals.set(name, { ids, shape: v.shape });
    publicOutputs.push({ name, shape: v.shape });
  }
  if (committed) {
    const before = b.constraints.length;
    const ids = model.inputs.flatMap((name) => (signals.get(name) as { ids: number[] }).ids);
    lcSignal(
      b,
      commitGadget(
        b,
        ids.map((id) => sig(id)),
        'inputCommitment',
      ),
      'inputCommitment',
      'input',
    );
    byNode.push({
      node: '<input commitment>',
      kernel: 'poseidon',
      constraints: b.constraints.length - before,
    });
  }
  if (privateW) {
    // After the input signals and the input commitment, so it is the last public signal.
    const before = b.constraints.length;
    const elements = [...elementIds, ...biasIds].map((id) => sig(id));
    if (elementIds.length === 0)
      throw new ModelError('weights: private needs a weighted (linear or conv) node to commit to');
    lcSignal(b, commitGadget(b, elements, 'weightCommitment'), 'weightCommitment', 'input');
    byNode.push({
      node: '<weight commitment>',
      kernel: 'poseidon',
      constraints: b.constraints.length - before,
    });
  }
  return {
    model: model.name,
    r1cs: finalize(b),
    inputs: committed ? 'committed' : 'public',
    weights: privateW ? 'private' : 'public',
    publicOutputs,
    publicInputs: committed ? [] : publicInputs,
    ...(committed ? { committedInputs: publicInputs } : {}),
    ...(privateW ? { committedWeights: committedWeightLayout(model) } : {}),
    constraintsByNode: byNode,
    builder: b,
    traceSignals,
  };
}

export type Witness = {
  /** All wires in snarkjs order (wire 0 = 1). */
  wires: bigint[];
  /** wires[1 .. nOutputs + nPubInputs]: what the verifier sees. */
  publicSignals: bigint[];
};

/**
 * The witness of one run from the runtime's trace (runInt(model, inputs, { trace: true }).trace).
 * Throws when the trace does not satisfy the circuit, naming the first violated constraint.
 */
export function witnessFromTrace(circuit: Circuit, trace: Map<string, QuantTensor>): Witness {
  const b = circuit.builder;
  const w: (bigint | undefined)[] = new Array(b.labels.length);
  w[ONE] = 1n;
  for (const { value, ids } of circuit.traceSignals) {
    const t = trace.get(value);
    if (!t) throw new Error(`the trace has no value "${value}"`);
    if (t.data.length !== ids.length)
      throw new Error(`trace value "${value}" has ${t.data.length} elements, the circuit ${ids.length}`);
    for (let i = 0; i < ids.length; i++) w[ids[i]] = fmod(BigInt(t.data[i]));
  }
  for (const h of b.hints) h(w);
  const r = circuit.r1cs;
  const wires: bigint[] = new Array(r.nWires);
  for (let id = 0; id < w.length; id++) {
    const v = w[id];
    if (v === undefined) throw new Error(`signal ${b.labels[id]} has no witness value`);
    wires[r.wireOf[id]] = v;
  }
  const bad = firstViolation(r, wires);
  if (bad >= 0) throw new Error(`the trace violates constraint ${bad}: ${r.constraints[bad].label}`);
  return { wires, publicSignals: wires.slice(1, 1 + r.nOutputs + r.nPubInputs) };
}

/** Public signals as decimal strings (snarkjs' publicSignals form). */
export function publicSignalStrings(w: Witness): string[] {
  return w.publicSignals.map((v) => v.toString());
}

export { BN254_R };
