// Float graph -> integer model (docs/runtime-semantics.md §3): calibrates activation ranges on
// sample inputs with the float executor, assigns every value a symmetric scale, quantizes weights
// per output channel and other constants per tensor, and derives each node's integer parameters
// (biases at the accumulator scale, multipliers and shifts, lookup tables). Deterministic: the
// same graph and calibration samples give a deep-equal QuantModel, and all table functions are
// the platform-independent ones of det-math.ts.
// Browser-safe: no node: imports.
import { runNode } from '../float/execute.ts';
import {
  type Dim,
  type FloatTensor,
  type Graph,
  type GraphNode,
  type IntTensor,
  ModelError,
  type Tensor,
} from '../graph.ts';
import { LAYER_NORM_H } from '../int/kernels.ts';
import { calibrateRanges } from './calibrate.ts';
import { detErf, detExp, detGelu, detLog, detPow, detSigmoid, detTanh, pow2 } from './det-math.ts';
import {
  floorLog2,
  quantizeMultiplier,
  quantizeMultipliers,
  quantizeValue,
  roundHalfAway,
} from './fixed-point.ts';
import {
  type CalibrationMethod,
  type IntDtype,
  QMAX,
  QUANT_FORMAT,
  type QuantConstant,
  type QuantModel,
  type QuantNode,
  type QuantValue,
} from './model.ts';

export type QuantizeOptions = {
  /** Activation range statistic: the largest |x| seen (default), or a percentile of |x|. */
  method?: CalibrationMethod;
  /** Used with method 'percentile' (default 99.99). */
  percentile?: number;
};

type Sample = Record<string, FloatTensor | IntTensor>;
type Where = { node: string; op: string };

/** Largest |accumulator| the int32 dot products may reach (bias included). */
export const ACC_LIMIT = 2147483647;
/** Largest normalized size of a LayerNormalization (keeps Σc² below 2^49). */
export const LAYER_NORM_MAX = 2048;
const EPS_TERM_MAX = 2 ** 49;
const BETA_MAX = 2 ** 40;
const GAMMA_SHIFT_MAX = 24;

class Builder {
  readonly graph: Graph;
  /** Float and int constants: initializers plus values folded from constant-only nodes. */
  readonly consts = new Map<string, Tensor>();
  readonly values = new Map<string, QuantValue>();
  readonly inputValues: QuantValue[] = [];
  readonly constValues: QuantValue[] = [];
  readonly nodeValues: QuantValue[] = [];
  readonly constants: QuantConstant[] = [];
  readonly nodes: QuantNode[] = [];
  ranges = new Map<string, number>();

  constructor(graph: Graph) {
    this.graph = graph;
    for (const [name, t] of graph.initializers) this.consts.set(name, t);
  }

  shape(name: string): Dim[] {
    const s = this.graph.shapes.get(name);
    if (!s) throw new ModelError(`value "${name}" has no shape`);
    return s;
  }

  scaleOf(name: string, where?: Where): number {
    const r = this.ranges.get(name);
    if (r === undefined) throw new ModelError(`value "${name}" was not calibrated`, where);
    if (!Number.isFinite(r))
      throw new ModelError(`value "${name}" has an infinite range in calibration`, where);
    return (r > 0 ? r : 1) / QMAX.int8;
  }

  addNodeValue(v: QuantValue): QuantValue {
    this.values.set(v.name, v);
    this.nodeValues.push(v);
    return v;
  }

  /** A quantized activation output with its calibrated scale. */
  activation(name: string, where: Where, scale = this.scaleOf(name, where)): QuantValue {
    return this.addNodeValue({ name, kind: 'quant', dtype: 'int8', scale, shape: this.shape(name) });
  }

  /** A float constant quantized per tensor (symmetric, maxabs), stored once per dtype. */
  constant(name: string, dtype: IntDtype, where: Where): QuantValue {
    const key = dtype === 'int8' ? name : `${name}:${dtype}`;
    const known = this.values.get(key);
    if (known) return known;
    const t = this.consts.get(name);
    if (!t) throw new ModelError(`constant "${name}" is missing`, where);
    if (t.dtype === 'int32') return this.indexConstant(name, where);
    return this.storeFloatConstant(key, t.shape, t.data, dtype);
  }

  storeFloatConstant(key: string, shape: number[], x: ArrayLike<number>, dtype: IntDtype): QuantValue {
    const qmax = QMAX[dtype];
    let m = 0;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
    const scale = (m > 0 ? m : 1) / qmax;
    const data =
      dtype === 'int8'
        ? new Int8Array(x.length)
        : dtype === 'int16'
          ? new Int16Array(x.length)
          : new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) data[i] = quantizeValue(x[i] / scale, qmax);
    const v: QuantValue = { name: key, kind: 'quant', dtype, scale, shape: [...shape] };
    this.constants.push({ name: key, kind: 'quant', dtype, scale, shape: [...shape], data });
    this.values.set(key, v);
    this.constValues.push(v);
    return v;
  }

  indexConstant(name: string, where: Where): QuantValue {
    const known = this.values.get(name);
    if (known) return known;
    const t = this.consts.get(name);
    if (t?.dtype !== 'int32') throw new ModelError(`constant "${name}" must be an integer tensor`, where);
    const v: QuantValue = { name, kind: 'index', dtype: 'int32', scale: 1, shape: [...t.shape] };
    this.constants.push({
      name,
      kind: 'index',
      dtype: 'int32',
      scale: 1,
      shape: [...t.shape],
      data: Int32Array.from(t.data),
    });
    this.values.set(name, v);
    this.constValues.push(v);
    return v;
  }

  /** Input `i` of a node as a quantized value (activations as they are, constants per tensor). */
  quantInput(node: GraphNode, i: number, constDtype: IntDtype): QuantValue {
    const where = { node: node.name, op: node.op };
    const name = node.inputs[i];
    if (name === undefined || name === '') throw new ModelError(`input ${i} is missing`, where);
    const v = this.consts.has(name) ? this.constant(name, constDtype, where) : this.values.get(name);
    if (!v) throw new ModelError(`input "${name}" is not available`, where);
    if (v.kind !== 'quant')
      throw new ModelError(`input "${name}" is an integer index tensor, expected a real value`, where);
    return v;
  }

  /** Input `i` as an int8 activation (the only type unary, pooling and normalisation kernels take). */
  int8Input(node: GraphNode, i: number): QuantValue {
    const v = this.quantInput(node, i, 'int8');
    if (v.dtype !== 'int8')
      throw new ModelError(`input "${v.name}" must be int8`, { node: node.name, op: node.op });
    return v;
  }

  floatConst(node: GraphNode, i: number, what: string): FloatTensor {
    const t = this.consts.get(node.inputs[i] ?? '');
    if (!t) throw new ModelError(`${what} must be a constant`, { node: node.name, op: node.op });
    if (t.dtype !== 'float32')
      throw new ModelError(`${what} must be a float tensor`, { node: node.name, op: node.op });
    return t;
  }
}

function num(node: GraphNode, key: string, dflt: number): number {
  const v = node.attrs[key];
  return typeof v === 'number' ? v : dflt;
}

function ints(node: GraphNode, key: string): number[] {
  const v = node.attrs[key];
  if (!Array.isArray(v))
    throw new ModelError(`attribute ${key} is missing`, { node: node.name, op: node.op });
  return [...v];
}

function normAxis(axis: number, rank: number, where: Where): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw new ModelError(`axis ${axis} out of range for rank ${rank}`, where);
  return a;
}

function staticNum(d: Dim, what: string, where: Where): number {
  if (typeof d !== 'number') throw new ModelError(`${what} must be static, got "${d}"`, where);
  return d;
}

/** Per-output-channel int8 weights: w(n, k) for n < N, k < K, stored [N, K] row-major. */
function perChannel(
  N: number,
  K: number,
  w: (n: number, k: number) => number,
): { q: Int8Array; scales: number[] } {
  const q = new Int8Array(N * K);
  const scales: number[] = new Array(N);
  let anyMax = 0;
  const maxes: number[] = new Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(w(n, k)));
    maxes[n] = m;
    anyMax = Math.max(anyMax, m);
  }
  for (let n = 0; n < N; n++) {
    // An all-zero channel takes the largest channel's scale (its weights are 0 either way).
    const s = (maxes[n] > 0 ? maxes[n] : anyMax > 0 ? anyMax : 1) / 127;
    scales[n] = s;
    for (let k = 0; k < K; k++) q[n * K + k] = quantizeValue(w(n, k) / s, 127);
  }
  return { q, scales };
}

/**
 * Bias at the accumulator scale (round(b / (S_a·S_w[n])), saturated so that |acc| ≤ ACC_LIMIT),
 * and each channel's multiplier/shift for S_a·S_w[n] / S_out.
 */
function linearParams(
  bias: number[] | undefined,
  sA: number,
  sW: number[],
  sOut: number,
  K: number,
  where: Where,
): { bias: Int32Array; mult: Int32Array; shift: Int32Array } {
  const N = sW.length;
  const dotMax = K * 127 * 127;
  if (dotMax > ACC_LIMIT)
    throw new ModelError(
      `inner dimension ${K} is too large for int32 accumulation (max ${Math.floor(ACC_LIMIT / 16129)})`,
      where,
    );
  const cap = ACC_LIMIT - dotMax;
  const qb = new Int32Array(N);
  const mult = new Int32Array(N);
  const shift = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    if (bias) qb[n] = quantizeValue(bias[n] / (sA * sW[n]), cap);
    const { mult: m, shift: s } = quantizeMultiplier((sA * sW[n]) / sOut, ACC_LIMIT, where);
    mult[n] = m;
    shift[n] = s;
  }
  return { bias: qb, mult, shift };
}

/** A 256-entry int8 table: T[i] = clamp127(roundHalfAway(f((i - 128)·S_in) / S_out)), NaN → 0. */
function buildTable(f: (x: number) => number, sIn: number, sOut: number): Int8Array {
  const t = new Int8Array(256);
  for (let i = 0; i < 256; i++) t[i] = quantizeValue(f((i - 128) * sIn) / sOut, 127);
  return t;
}

/** E[j] = roundHalfAway(2^15 · exp(-j · S_in)) for j in [0, 255]. */
function expTable(sIn: number): Int32Array {
  const t = new Int32Array(256);
  for (let j = 0; j < 256; j++) t[j] = roundHalfAway(32768 * detExp(-j * sIn));
  return t;
}

/** L[i] = roundHalfAway(2^16 · ln(1 + (i + 0.5) / 256)) for i in [0, 255]. */
function logTable(): Int32Array {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) t[i] = roundHalfAway(65536 * detLog(1 + (i + 0.5) / 256));
  return t;
}

/** Values consumed only by Relu nodes (and not graph outputs): their negative range is never needed. */
function reluOnlyValues(graph: Graph): Set<string> {
  const consumers = new Map<string, string[]>();
  for (const n of graph.nodes)
    for (const v of n.inputs) if (v !== '') consumers.set(v, [...(consumers.get(v) ?? []), n.op]);
  const outs = new Set(graph.outputs.map((o) => o.name));
  const s = new Set<string>();
  for (const [v, ops] of consumers) if (!outs.has(v) && ops.every((op) => op === 'Relu')) s.add(v);
  return s;
}

/**
 * Quantizes a float graph into an integer model, calibrating activation scales on `calibration`
 * (each element one set of inputs, like a runFloat call; batches are fine).
 */
export function quantize(
  graph: Graph,
  calibration: readonly Sample[],
  opts: QuantizeOptions = {},
): QuantModel {
  const method = opts.method ?? 'maxabs';
  const percentile = opts.percentile ?? 99.99;
  const b = new Builder(graph);

  // Fold nodes whose inputs are all constants (the importer usually has already).
  const live: GraphNode[] = [];
  for (const node of graph.nodes) {
    const ins = node.inputs.filter((n) => n !== '');
    if (ins.length > 0 && ins.every((n) => b.consts.has(n))) {
      const outs = runNode(
        node,
        node.inputs.map((n) => (n === '' ? undefined : b.consts.get(n))),
        (n) => b.consts.get(n),
      );
      node.outputs.forEach((n, k) => {
        if (n !== '' && outs[k]) b.consts.set(n, outs[k]);
      });
    } else live.push(node);
  }

  const positiveOnly = reluOnlyValues(graph);
  b.ranges = calibrateRanges(graph, calibration, { method, percentile, positiveOnly });

  for (const vi of graph.inputs) {
    const sample = calibration[0][vi.name];
    if (!sample) throw new ModelError(`calibration sample lacks input "${vi.name}"`);
    const v: QuantValue =
      sample.dtype === 'int32'
        ? { name: vi.name, kind: 'index', dtype: 'int32', scale: 1, shape: [...vi.shape] }
        : { name: vi.name, kind: 'quant', dtype: 'int8', scale: b.scaleOf(vi.name), shape: [...vi.shape] };
    b.values.set(v.name, v);
    b.inputValues.push(v);
  }

  for (const node of live) b.nodes.push(quantizeNode(b, node));

  for (const o of graph.outputs)
    if (!b.values.has(o.name)) throw new ModelError(`graph output "${o.name}" is not computed by any node`);

  return {
    format: QUANT_FORMAT,
    name: graph.name,
    opset: graph.opset,
    inputs: graph.inputs.map((v) => v.name),
    outputs: graph.outputs.map((v) => v.name),
    values: [...b.inputValues, ...b.constValues, ...b.nodeValues],
    constants: b.constants,
    nodes: b.nodes,
    calibration: {
      method,
      percentile: method === 'percentile' ? percentile : 100,
      samples: calibration.length,
    },
  };
}

function quantizeNode(b: Builder, node: GraphNode): QuantNode {
  const where = { node: node.name, op: node.op };
  node.outputs.forEach((o, k) => {
    if (k > 0 && o !== '') throw new ModelError(`output ${k} ("${o}") is not supported`, where);
  });
  const out = node.outputs[0];
  const base = { name: node.name, op: node.op, outputs: [out] };
  const rankOf = (name: string) => b.shape(name).length;

  switch (node.op) {
    case 'Gemm':
      return quantizeGemm(b, node);
    case 'MatMul':
      return quantizeMatMul(b, node);
    case 'Conv':
      return quantizeConv(b, node);

    case 'Add':
    case 'Sub': {
      const x = b.quantInput(node, 0, 'int16');
      const y = b.quantInput(node, 1, 'int16');
      const o = b.activation(out, where);
      const sign = node.op === 'Sub' ? -1 : 1;
      const { mults, shift } = quantizeMultipliers(
        [x.scale / o.scale, (sign * y.scale) / o.scale],
        [QMAX[x.dtype], QMAX[y.dtype]],
        where,
      );
      return {
        ...base,
        kernel: 'add',
        inputs: [x.name, y.name],
        attrs: {},
        params: { multA: mults[0], multB: mults[1], shift },
      };
    }
    case 'Mul': {
      const x = b.quantInput(node, 0, 'int16');
      const y = b.quantInput(node, 1, 'int16');
      const o = b.activation(out, where);
      const { mult, shift } = quantizeMultiplier(
        (x.scale * y.scale) / o.scale,
        QMAX[x.dtype] * QMAX[y.dtype],
        where,
      );
      return { ...base, kernel: 'mul', inputs: [x.name, y.name], attrs: {}, params: { mult, shift } };
    }
    case 'Div': {
      const x = b.quantInput(node, 0, 'int16');
      const dName = node.inputs[1];
      if (b.consts.has(dName)) {
        // Division by a constant is multiplication by its reciprocal, stored as an int16 constant.
        const d = b.floatConst(node, 1, 'divisor');
        const rec = new Float64Array(d.data.length);
        for (let i = 0; i < rec.length; i++) {
          if (d.data[i] === 0) throw new ModelError('division by a constant containing 0', where);
          rec[i] = 1 / d.data[i];
        }
        const key = `${dName}:reciprocal`;
        const y = b.values.get(key) ?? b.storeFloatConstant(key, d.shape, rec, 'int16');
        const o = b.activation(out, where);
        const { mult, shift } = quantizeMultiplier(
          (x.scale * y.scale) / o.scale,
          QMAX[x.dtype] * QMAX.int16,
          where,
        );
        return { ...base, kernel: 'mul', inputs: [x.name, y.name], attrs: {}, params: { mult, shift } };
      }
      const y = b.int8Input(node, 1);
      const o = b.activation(out, where);
      const recip = new Int32Array(256);
      for (let i = 0; i < 256; i++) recip[i] = i === 128 ? 0 : roundHalfAway(32768 / (i - 128));
      const { mult, shift } = quantizeMultiplier(
        x.scale / (y.scale * o.scale * 32768),
        QMAX[x.dtype] * 32768,
        where,
      );
      return { ...base, kernel: 'div', inputs: [x.name, y.name], attrs: {}, params: { recip, mult, shift } };
    }

    case 'Relu': {
      const x = b.int8Input(node, 0);
      b.activation(out, where, x.scale);
      return { ...base, kernel: 'relu', inputs: [x.name], attrs: {}, params: {} };
    }
    case 'Clip': {
      const x = b.int8Input(node, 0);
      b.activation(out, where, x.scale);
      const bound = (i: number, key: string, dflt: number) => {
        const name = node.inputs[i];
        if (name) {
          const t = b.floatConst(node, i, key);
          return t.data[0];
        }
        return num(node, key, dflt);
      };
      const lo = bound(1, 'min', Number.NEGATIVE_INFINITY);
      const hi = bound(2, 'max', Number.POSITIVE_INFINITY);
      return {
        ...base,
        kernel: 'clip',
        inputs: [x.name],
        attrs: {},
        params: { min: quantizeValue(lo / x.scale, 127), max: quantizeValue(hi / x.scale, 127) },
      };
    }
    case 'LeakyRelu':
    case 'Sigmoid':
    case 'Tanh':
    case 'Sqrt':
    case 'Erf':
    case 'Gelu':
    case 'Pow': {
      const x = b.int8Input(node, 0);
      const o = b.activation(out, where);
      let f: (v: number) => number;
      switch (node.op) {
        case 'LeakyRelu': {
          const alpha = num(node, 'alpha', 0.01);
          f = (v) => (v >= 0 ? v : alpha * v);
          break;
        }
        case 'Sigmoid':
          f = detSigmoid;
          break;
        case 'Tanh':
          f = detTanh;
          break;
        case 'Sqrt':
          f = Math.sqrt; // correctly rounded (IEEE 754); NaN for v < 0 becomes 0
          break;
        case 'Erf':
          f = detErf;
          break;
        case 'Gelu': {
          const approx = typeof node.attrs.approximate === 'string' ? node.attrs.approximate : 'none';
          if (approx !== 'none' && approx !== 'tanh')
            throw new ModelError(`approximate="${approx}" is not supported`, where);
          f = (v) => detGelu(v, approx);
          break;
        }
        default: {
          const e = b.floatConst(node, 1, 'exponent');
          const p = e.data[0];
          for (let i = 1; i < e.data.length; i++)
            if (e.data[i] !== p) throw new ModelError('exponent must be one constant value', where);
          f = (v) => detPow(v, p);
        }
      }
      return {
        ...base,
        kernel: 'table',
        inputs: [x.name],
        attrs: {},
        params: { table: buildTable(f, x.scale, o.scale) },
      };
    }

    case 'Softmax': {
      const x = b.int8Input(node, 0);
      const axis = normAxis(num(node, 'axis', -1), rankOf(x.name), where);
      const r = b.ranges.get(out) ?? 1;
      const P = Math.min(32767, Math.max(127, Math.floor(127 / (r > 0 ? r : 1))));
      b.activation(out, where, 1 / P);
      return {
        ...base,
        kernel: 'softmax',
        inputs: [x.name],
        attrs: { axis },
        params: { exp: expTable(x.scale), P },
      };
    }
    case 'LogSoftmax': {
      const x = b.int8Input(node, 0);
      const axis = normAxis(num(node, 'axis', -1), rankOf(x.name), where);
      const len = b.shape(x.name)[axis];
      if (typeof len === 'number' && len > 2 ** 20)
        throw new ModelError(`axis length ${len} exceeds 2^20`, where);
      const o = b.activation(out, where);
      const { mults, shift } = quantizeMultipliers(
        [x.scale / o.scale, 1 / (65536 * o.scale)],
        [255, 2 ** 21],
        where,
      );
      return {
        ...base,
        kernel: 'log-softmax',
        inputs: [x.name],
        attrs: { axis },
        params: { exp: expTable(x.scale), log: logTable(), multD: mults[0], multL: mults[1], shift },
      };
    }
    case 'LayerNormalization':
      return quantizeLayerNorm(b, node);

    case 'MaxPool': {
      const x = b.int8Input(node, 0);
      b.activation(out, where, x.scale);
      const attrs = {
        kernel_shape: ints(node, 'kernel_shape'),
        strides: ints(node, 'strides'),
        pads: ints(node, 'pads'),
        dilations: Array.isArray(node.attrs.dilations) ? [...(node.attrs.dilations as number[])] : [1, 1],
        ceil_mode: num(node, 'ceil_mode', 0),
      };
      if (attrs.kernel_shape.length !== 2) throw new ModelError('only 2-D pooling is supported', where);
      return { ...base, kernel: 'maxpool', inputs: [x.name], attrs, params: {} };
    }
    case 'AveragePool': {
      const x = b.int8Input(node, 0);
      const o = b.activation(out, where);
      const attrs = {
        kernel_shape: ints(node, 'kernel_shape'),
        strides: ints(node, 'strides'),
        pads: ints(node, 'pads'),
        ceil_mode: num(node, 'ceil_mode', 0),
        count_include_pad: num(node, 'count_include_pad', 0),
      };
      if (attrs.kernel_shape.length !== 2) throw new ModelError('only 2-D pooling is supported', where);
      const window = attrs.kernel_shape[0] * attrs.kernel_shape[1];
      const mult = new Int32Array(window + 1);
      const shift = new Int32Array(window + 1);
      for (let c = 1; c <= window; c++) {
        const q = quantizeMultiplier(x.scale / (c * o.scale), 127 * c, where);
        mult[c] = q.mult;
        shift[c] = q.shift;
      }
      return { ...base, kernel: 'avgpool', inputs: [x.name], attrs, params: { mult, shift } };
    }
    case 'GlobalAveragePool':
    case 'ReduceMean': {
      const x = b.int8Input(node, 0);
      const shape = b.shape(x.name);
      const axes =
        node.op === 'GlobalAveragePool'
          ? shape.slice(2).map((_, i) => i + 2)
          : ints(node, 'axes').map((a) => normAxis(a, shape.length, where));
      const keepdims = node.op === 'GlobalAveragePool' ? 1 : num(node, 'keepdims', 1);
      let count = 1;
      for (const a of axes) count *= staticNum(shape[a], `reduced dimension ${a}`, where);
      if (count > 2 ** 24) throw new ModelError(`reducing ${count} elements exceeds 2^24`, where);
      const o = b.activation(out, where);
      const { mult, shift } = quantizeMultiplier(x.scale / (count * o.scale), 127 * count, where);
      return {
        ...base,
        kernel: 'reduce-mean',
        inputs: [x.name],
        attrs: { axes, keepdims },
        params: { mult, shift },
      };
    }

    case 'Flatten':
    case 'Reshape':
    case 'Squeeze':
    case 'Unsqueeze':
    case 'Transpose': {
      const x = passThroughInput(b, node, 0);
      b.addNodeValue({ ...x, name: out, shape: b.shape(out) });
      const inputs = [x.name];
      const attrs: Record<string, number | number[]> = {};
      if (node.op === 'Flatten') attrs.axis = num(node, 'axis', 1);
      if (node.op === 'Reshape') {
        inputs.push(b.indexConstant(node.inputs[1], where).name);
        attrs.allowzero = num(node, 'allowzero', 0);
      }
      if (node.op === 'Squeeze' || node.op === 'Unsqueeze') attrs.axes = ints(node, 'axes');
      if (node.op === 'Transpose') attrs.perm = ints(node, 'perm');
      return {
        ...base,
        kernel: node.op === 'Transpose' ? 'transpose' : 'reshape',
        inputs,
        attrs,
        params: {},
      };
    }
    case 'Concat': {
      const ins = node.inputs.filter((n) => n !== '').map((_, i) => passThroughInput(b, node, i));
      const axis = normAxis(num(node, 'axis', 0), rankOf(out), where);
      if (ins.every((v) => v.kind === 'index')) {
        b.addNodeValue({ name: out, kind: 'index', dtype: 'int32', scale: 1, shape: b.shape(out) });
        return { ...base, kernel: 'concat', inputs: ins.map((v) => v.name), attrs: { axis }, params: {} };
      }
      if (ins.some((v) => v.kind !== 'quant' || v.dtype !== 'int8'))
        throw new ModelError('cannot concatenate real values with integer index tensors', where);
      const o = b.activation(out, where);
      const mult = new Int32Array(ins.length);
      const shift = new Int32Array(ins.length);
      ins.forEach((v, k) => {
        if (v.scale === o.scale) {
          mult[k] = 1;
          shift[k] = 0;
        } else {
          const q = quantizeMultiplier(v.scale / o.scale, 127, where);
          mult[k] = q.mult;
          shift[k] = q.shift;
        }
      });
      return {
        ...base,
        kernel: 'concat',
        inputs: ins.map((v) => v.name),
        attrs: { axis },
        params: { mult, shift },
      };
    }
    case 'Gather': {
      const data = passThroughInput(b, node, 0);
      const idxName = node.inputs[1];
      const idx = b.consts.has(idxName) ? b.indexConstant(idxName, where) : b.values.get(idxName);
      if (idx?.kind !== 'index') throw new ModelError('indices must be an integer tensor', where);
      const axis = normAxis(num(node, 'axis', 0), rankOf(data.name), where);
      b.addNodeValue({ ...data, name: out, shape: b.shape(out) });
      return { ...base, kernel: 'gather', inputs: [data.name, idx.name], attrs: { axis }, params: {} };
    }
    case 'ArgMax': {
      const x = b.int8Input(node, 0);
      const axis = normAxis(num(node, 'axis', 0), rankOf(x.name), where);
      b.addNodeValue({ name: out, kind: 'index', dtype: 'int32', scale: 1, shape: b.shape(out) });
      return {
        ...base,
        kernel: 'argmax',
        inputs: [x.name],
        attrs: {
          axis,
          keepdims: num(node, 'keepdims', 1),
          select_last_index: num(node, 'select_last_index', 0),
        },
        params: {},
      };
    }
    default:
      throw new ModelError(`operator ${node.op} cannot be quantized`, where);
  }
}

/** Input of a data-movement op: any value (real or index); float constants become int8. */
function passThroughInput(b: Builder, node: GraphNode, i: number): QuantValue {
  const name = node.inputs[i];
  const where = { node: node.name, op: node.op };
  if (b.consts.has(name)) return b.constant(name, 'int8', where);
  const v = b.values.get(name);
  if (!v) throw new ModelError(`input "${name}" is not available`, where);
  return v;
}

function quantizeGemm(b: Builder, node: GraphNode): QuantNode {
  const where = { node: node.name, op: node.op };
  const out = node.outputs[0];
  if (!b.consts.has(node.inputs[1]))
    throw new ModelError('Gemm needs a constant B (use MatMul for two activations)', where);
  const a = b.int8Input(node, 0);
  const B = b.floatConst(node, 1, 'B');
  const transA = num(node, 'transA', 0) !== 0 ? 1 : 0;
  const transB = num(node, 'transB', 0) !== 0;
  const alpha = num(node, 'alpha', 1);
  const beta = num(node, 'beta', 1);
  const [r0, r1] = B.shape;
  const K = transB ? r1 : r0;
  const N = transB ? r0 : r1;
  const { q, scales } = perChannel(N, K, (n, k) => alpha * B.data[transB ? n * K + k : k * N + n]);
  let bias: number[] | undefined;
  if (node.inputs[2]) {
    const C = b.floatConst(node, 2, 'C');
    const n = C.data.length;
    const rowVector = n === N && (C.shape.length === 1 || (C.shape.length === 2 && C.shape[0] === 1));
    if (n !== 1 && !rowVector)
      throw new ModelError(`C of shape [${C.shape}] is not supported (only [N] or a scalar)`, where);
    bias = Array.from({ length: N }, (_, j) => beta * C.data[n === 1 ? 0 : j]);
  }
  const o = b.activation(out, where);
  const p = linearParams(bias, a.scale, scales, o.scale, K, where);
  return {
    name: node.name,
    op: node.op,
    kernel: 'linear',
    inputs: [a.name],
    outputs: [out],
    attrs: { transA },
    params: { K, N, weight: q, ...p },
  };
}

function quantizeMatMul(b: Builder, node: GraphNode): QuantNode {
  const where = { node: node.name, op: node.op };
  const out = node.outputs[0];
  const bName = node.inputs[1];
  const Bc = b.consts.get(bName);
  if (Bc && Bc.dtype === 'float32' && Bc.shape.length === 2 && !b.consts.has(node.inputs[0])) {
    const a = b.int8Input(node, 0);
    const [K, N] = Bc.shape;
    const { q, scales } = perChannel(N, K, (n, k) => Bc.data[k * N + n]);
    const o = b.activation(out, where);
    const p = linearParams(undefined, a.scale, scales, o.scale, K, where);
    return {
      name: node.name,
      op: node.op,
      kernel: 'linear',
      inputs: [a.name],
      outputs: [out],
      attrs: { transA: 0 },
      params: { K, N, weight: q, ...p },
    };
  }
  const x = b.int8Input(node, 0);
  const y = b.int8Input(node, 1);
  const xs = b.shape(x.name);
  const K = staticNum(xs[xs.length - 1], 'inner dimension', where);
  if (K * 127 * 127 > ACC_LIMIT)
    throw new ModelError(`inner dimension ${K} is too large for int32 accumulation`, where);
  const o = b.activation(out, where);
  const { mult, shift } = quantizeMultiplier((x.scale * y.scale) / o.scale, ACC_LIMIT, where);
  return {
    name: node.name,
    op: node.op,
    kernel: 'matmul',
    inputs: [x.name, y.name],
    outputs: [out],
    attrs: {},
    params: { mult, shift },
  };
}

function quantizeConv(b: Builder, node: GraphNode): QuantNode {
  const where = { node: node.name, op: node.op };
  const out = node.outputs[0];
  const x = b.int8Input(node, 0);
  const W = b.floatConst(node, 1, 'W');
  if (W.shape.length !== 4 || b.shape(x.name).length !== 4)
    throw new ModelError('only 2-D convolution is supported', where);
  const [O, Cg, kh, kw] = W.shape;
  const K = Cg * kh * kw;
  const { q, scales } = perChannel(O, K, (n, k) => W.data[n * K + k]);
  let bias: number[] | undefined;
  if (node.inputs[2]) {
    const B = b.floatConst(node, 2, 'B');
    bias = Array.from(B.data);
  }
  const o = b.activation(out, where);
  const p = linearParams(bias, x.scale, scales, o.scale, K, where);
  const attrs = {
    kernel_shape: [kh, kw],
    strides: ints(node, 'strides'),
    pads: ints(node, 'pads'),
    dilations: Array.isArray(node.attrs.dilations) ? [...(node.attrs.dilations as number[])] : [1, 1],
    group: num(node, 'group', 1),
  };
  return {
    name: node.name,
    op: node.op,
    kernel: 'conv',
    inputs: [x.name],
    outputs: [out],
    attrs,
    params: { weight: q, ...p },
  };
}

function quantizeLayerNorm(b: Builder, node: GraphNode): QuantNode {
  const where = { node: node.name, op: node.op };
  const out = node.outputs[0];
  const x = b.int8Input(node, 0);
  const shape = b.shape(x.name);
  const axis = normAxis(num(node, 'axis', -1), shape.length, where);
  const normShape = shape.slice(axis).map((d) => staticNum(d, 'normalized dimension', where));
  let n = 1;
  for (const d of normShape) n *= d;
  if (n > LAYER_NORM_MAX) throw new ModelError(`normalized size ${n} exceeds ${LAYER_NORM_MAX}`, where);
  const expand = (t: FloatTensor): number[] => {
    // Broadcast a scale/bias tensor to the normalized shape.
    const out: number[] = new Array(n);
    const r = normShape.length;
    const ts = t.shape;
    for (let i = 0; i < n; i++) {
      let rem = i;
      let off = 0;
      let stride = 1;
      for (let d = r - 1; d >= 0; d--) {
        const idx = rem % normShape[d];
        rem = Math.floor(rem / normShape[d]);
        const td = d - (r - ts.length);
        if (td >= 0) {
          if (ts[td] !== 1) off += idx * stride;
          stride *= ts[td];
        }
      }
      out[i] = t.data[off];
    }
    return out;
  };
  const gammaF = expand(b.floatConst(node, 1, 'Scale'));
  const betaF = node.inputs[2] ? expand(b.floatConst(node, 2, 'B')) : new Array<number>(n).fill(0);
  const eps = num(node, 'epsilon', 1e-5);
  const o = b.activation(out, where);
  const sqrtN = Math.sqrt(n);
  const coef = gammaF.map((gm) => (gm * sqrtN) / o.scale);
  let amax = 0;
  for (const c of coef) amax = Math.max(amax, Math.abs(c));
  const g = amax > 0 ? Math.min(GAMMA_SHIFT_MAX, Math.max(0, 14 - floorLog2(amax))) : 0;
  const gamma = new Int32Array(n);
  const beta = new Int32Array(n);
  const f = pow2(g);
  const fb = pow2(LAYER_NORM_H);
  for (let i = 0; i < n; i++) {
    gamma[i] = quantizeValue(coef[i] * f, 32767);
    beta[i] = quantizeValue((betaF[i] / o.scale) * fb, BETA_MAX);
  }
  const epsTerm = Math.min(EPS_TERM_MAX, roundHalfAway((eps * n * n * n) / (x.scale * x.scale)));
  return {
    name: node.name,
    op: node.op,
    kernel: 'layer-norm',
    inputs: [x.name],
    outputs: [out],
    attrs: { axis },
    params: { n, gamma, beta, eps: epsTerm, gammaShift: g },
  };
}
