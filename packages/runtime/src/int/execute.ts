// The integer executor: runs a QuantModel with the kernels of kernels.ts. Everything between the
// input boundary (float inputs are quantized by quant/boundary.ts, §4 of the spec) and the
// outputs is integer arithmetic on typed arrays, identical on every platform. With `trace`, every
// integer tensor (inputs and node outputs) is returned: the witness of a ZK proof and the
// per-layer commitments of a fraud-proof dispute are built from it.
// Browser-safe: no node: imports.
import { type FloatTensor, type IntTensor, ModelError, type Tensor } from '../graph.ts';
import { quantizeTensor } from '../quant/boundary.ts';
import type { IntArray, QuantModel, QuantNode, QuantTensor, QuantValue } from '../quant/model.ts';
import { broadcastShapes, formatShape, inferNodeShapes, windowOutSize } from '../shape.ts';
import {
  addScaled,
  argMax,
  avgPool,
  BufferPool,
  broadcastPlan,
  clip,
  concat,
  conv2d,
  divScaled,
  gather,
  layerNorm,
  linear,
  logSoftmax,
  lookup,
  matmul,
  maxPool,
  mulScaled,
  reduceMean,
  relu,
  sizeOf,
  softmax,
  transpose,
  transpose2d,
  withPool,
} from './kernels.ts';
import { validateQuantModel } from './validate.ts';

export type RunIntInput = FloatTensor | IntTensor | QuantTensor;
export type RunIntOptions = { trace?: boolean };
export type RunIntResult = { outputs: Record<string, QuantTensor>; trace?: Map<string, QuantTensor> };

type Where = { node: string; op: string };

function fail(where: Where, msg: string): never {
  throw new ModelError(msg, where);
}

function p<T>(node: QuantNode, key: string): T {
  const v = node.params[key];
  if (v === undefined) throw new ModelError(`parameter ${key} is missing`, { node: node.name, op: node.op });
  return v as T;
}

function attrInts(node: QuantNode, key: string): number[] {
  const v = node.attrs[key];
  if (!Array.isArray(v))
    throw new ModelError(`attribute ${key} is missing`, { node: node.name, op: node.op });
  return v;
}

function attrNum(node: QuantNode, key: string): number {
  const v = node.attrs[key];
  if (typeof v !== 'number')
    throw new ModelError(`attribute ${key} is missing`, { node: node.name, op: node.op });
  return v;
}

/** Prepared lookups of a model, cached per model object (models are treated as immutable). */
type Prepared = {
  values: Map<string, QuantValue>;
  constants: Map<string, QuantTensor>;
  /** Index of the last node reading each value (graph outputs: never released). */
  lastUse: Map<string, number>;
  outputs: Set<string>;
  pool: BufferPool;
};
const prepared = new WeakMap<QuantModel, Prepared>();

function prepare(model: QuantModel): Prepared {
  let pr = prepared.get(model);
  if (!pr) {
    validateQuantModel(model);
    const values = new Map<string, QuantValue>();
    for (const v of model.values) values.set(v.name, v);
    const constants = new Map<string, QuantTensor>();
    for (const c of model.constants)
      constants.set(c.name, { dtype: c.dtype, shape: c.shape, data: c.data, scale: c.scale });
    const lastUse = new Map<string, number>();
    model.nodes.forEach((n, i) => {
      for (const v of n.inputs) if (v !== '') lastUse.set(v, i);
    });
    pr = { values, constants, lastUse, outputs: new Set(model.outputs), pool: new BufferPool() };
    prepared.set(model, pr);
  }
  return pr;
}

/** Converts one graph input to the model's integer type (quantizing floats at the boundary). */
function bindInput(v: QuantValue, t: RunIntInput, bound: Map<string, number>): QuantTensor {
  const name = v.name;
  let n = 1;
  for (const d of t.shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new ModelError(`input "${name}" has an invalid shape ${formatShape(t.shape)}`);
    n *= d;
  }
  if (n !== t.data.length)
    throw new ModelError(
      `input "${name}" has ${t.data.length} values but shape ${formatShape(t.shape)} needs ${n}`,
    );
  if (t.shape.length !== v.shape.length)
    throw new ModelError(
      `input "${name}" has shape ${formatShape(t.shape)}, the model expects ${formatShape(v.shape)}`,
    );
  v.shape.forEach((d, i) => {
    const actual = t.shape[i];
    if (typeof d === 'number') {
      if (d !== actual)
        throw new ModelError(
          `input "${name}" has shape ${formatShape(t.shape)}, the model expects ${formatShape(v.shape)}`,
        );
    } else {
      const prev = bound.get(d);
      if (prev !== undefined && prev !== actual)
        throw new ModelError(`input "${name}" dim ${i} is ${actual} but "${d}" is already bound to ${prev}`);
      bound.set(d, actual);
    }
  });
  if (v.kind === 'index') {
    if (t.dtype !== 'int32' || !(t.data instanceof Int32Array))
      throw new ModelError(`input "${name}" must be an int32 index tensor`);
    return { dtype: 'int32', shape: [...t.shape], data: t.data as Int32Array, scale: 1 };
  }
  if (t.dtype === 'float32') return quantizeTensor(t as FloatTensor, v.scale, 'int8');
  if (t.dtype !== 'int8' || !(t.data instanceof Int8Array))
    throw new ModelError(`input "${name}" must be float32 or an int8 quantized tensor`);
  if ('scale' in t && t.scale !== v.scale)
    throw new ModelError(
      `input "${name}" is quantized with scale ${t.scale}, the model's input scale is ${v.scale}`,
    );
  const d = t.data;
  for (let i = 0; i < d.length; i++)
    if (d[i] === -128)
      throw new ModelError(`input "${name}" holds -128 at ${i}: quantized values lie in [-127, 127]`);
  return { dtype: 'int8', shape: [...t.shape], data: d, scale: v.scale };
}

/**
 * Runs the integer model. Float inputs are quantized with the input's scale (round half away
 * from zero, saturating); int8 inputs are taken as already quantized; index inputs are int32.
 */
export function runInt(
  model: QuantModel,
  inputs: Record<string, RunIntInput>,
  opts: RunIntOptions = {},
): RunIntResult {
  const pr = prepare(model);
  const env = new Map<string, QuantTensor>(pr.constants);
  const trace = opts.trace ? new Map<string, QuantTensor>() : undefined;
  const bound = new Map<string, number>();
  for (const name of model.inputs) {
    const v = pr.values.get(name);
    const t = inputs[name];
    if (!v) throw new ModelError(`model input "${name}" has no value description`);
    if (!t) throw new ModelError(`input "${name}" is missing`);
    const q = bindInput(v, t, bound);
    env.set(name, q);
    trace?.set(name, q);
  }
  // Without a trace, node outputs go back to the model's buffer pool after their last use.
  // Buffers the caller or the model owns (inputs, constants) are never pooled; reshape outputs
  // share their input's buffer, hence the reference counts.
  const refs = trace ? undefined : new Map<IntArray, number>();
  const foreign = new Set<IntArray>();
  if (refs) for (const t of env.values()) foreign.add(t.data);
  withPool(refs ? pr.pool : undefined, () => {
    model.nodes.forEach((node, i) => {
      const ins = node.inputs.map((name) => {
        if (name === '') return undefined;
        const t = env.get(name);
        if (!t)
          throw new ModelError(`input "${name}" has not been computed`, { node: node.name, op: node.op });
        return t;
      });
      const name = node.outputs[0];
      const out = runNode(node, ins, pr);
      env.set(name, out);
      trace?.set(name, out);
      if (!refs) return;
      if (!foreign.has(out.data))
        refs.set(out.data, (refs.get(out.data) ?? 0) + (pr.outputs.has(name) ? 2 ** 30 : 1));
      for (let k = 0; k < node.inputs.length; k++) {
        const v = node.inputs[k];
        if (v === '' || pr.lastUse.get(v) !== i || node.inputs.indexOf(v) !== k) continue;
        const data = (env.get(v) as QuantTensor).data;
        const c = refs.get(data);
        if (c === undefined) continue;
        if (c > 1) refs.set(data, c - 1);
        else {
          refs.delete(data);
          if (data instanceof Int8Array) pr.pool.give(data);
        }
      }
    });
  });
  const outputs: Record<string, QuantTensor> = {};
  for (const name of model.outputs) {
    const t = env.get(name);
    if (!t) throw new ModelError(`graph output "${name}" was not computed`);
    outputs[name] = t;
  }
  return trace ? { outputs, trace } : { outputs };
}

function int8(t: QuantTensor | undefined, where: Where, what: string): Int8Array {
  if (!t) fail(where, `${what} is missing`);
  if (!(t.data instanceof Int8Array)) fail(where, `${what} must be int8, got ${t.dtype}`);
  return t.data;
}

const ARRAY_OF = { int8: Int8Array, int16: Int16Array, int32: Int32Array } as const;

function make(node: QuantNode, pr: Prepared, shape: number[], data: IntArray): QuantTensor {
  const where = { node: node.name, op: node.op };
  const v = pr.values.get(node.outputs[0]);
  if (!v) fail(where, `output "${node.outputs[0]}" has no value description`);
  if (!(data instanceof ARRAY_OF[v.dtype]))
    fail(where, `output "${v.name}" is declared ${v.dtype} but computed as ${data.constructor.name}`);
  return { dtype: v.dtype, shape, data, scale: v.scale };
}

/** Output shape of a data-movement/pooling/reduction node by the shared shape rules. */
function shapeRule(node: QuantNode, ins: (QuantTensor | undefined)[], pr: Prepared): number[] {
  const asTensor = (name: string): Tensor | undefined => {
    const c = pr.constants.get(name);
    return c && c.data instanceof Int32Array ? { dtype: 'int32', shape: c.shape, data: c.data } : undefined;
  };
  return inferNodeShapes(
    node,
    ins.map((t) => t?.shape),
    asTensor,
  )[0] as number[];
}

function runNode(node: QuantNode, ins: (QuantTensor | undefined)[], pr: Prepared): QuantTensor {
  const where = { node: node.name, op: node.op };
  const x = ins[0];
  if (!x) fail(where, 'first input is missing');
  switch (node.kernel) {
    case 'linear': {
      const K = p<number>(node, 'K');
      const N = p<number>(node, 'N');
      let A = int8(x, where, 'input');
      let shape = x.shape;
      if (node.attrs.transA) {
        if (shape.length !== 2) fail(where, `input must be 2-D, got ${formatShape(shape)}`);
        A = transpose2d(A, 0, shape[0], shape[1]) as Int8Array;
        shape = [shape[1], shape[0]];
      }
      if (shape[shape.length - 1] !== K) fail(where, `input ${formatShape(shape)} does not end in K = ${K}`);
      const rows = K === 0 ? 0 : A.length / K;
      const data = linear(
        A,
        rows,
        K,
        p(node, 'weight'),
        N,
        p(node, 'bias'),
        p(node, 'mult'),
        p(node, 'shift'),
      );
      return make(node, pr, [...shape.slice(0, -1), N], data);
    }
    case 'matmul': {
      const y = ins[1];
      const A = int8(x, where, 'A');
      const B = int8(y, where, 'B');
      const as = x.shape.length === 1 ? [1, x.shape[0]] : x.shape;
      const bs =
        (y as QuantTensor).shape.length === 1 ? [(y as QuantTensor).shape[0], 1] : (y as QuantTensor).shape;
      if (as[as.length - 1] !== bs[bs.length - 2])
        fail(where, `inner dimensions differ: ${formatShape(as)} x ${formatShape(bs)}`);
      if (as[as.length - 1] * 127 * 127 > 2147483647)
        fail(where, `inner dimension ${as[as.length - 1]} exceeds the int32 accumulator bound`);
      const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2)) as number[] | undefined;
      if (!batch) fail(where, `cannot broadcast ${formatShape(as)} with ${formatShape(bs)}`);
      const data = matmul(A, as, B, bs, batch, p(node, 'mult'), p(node, 'shift'));
      const shape = [...batch];
      if (x.shape.length !== 1) shape.push(as[as.length - 2]);
      if ((y as QuantTensor).shape.length !== 1) shape.push(bs[bs.length - 1]);
      return make(node, pr, shape, data);
    }
    case 'conv': {
      const X = int8(x, where, 'X');
      const W = p<Int8Array>(node, 'weight');
      const bias = p<Int32Array>(node, 'bias');
      const [kh, kw] = attrInts(node, 'kernel_shape');
      const [sh, sw] = attrInts(node, 'strides');
      const [pt, pl, pb, pr2] = attrInts(node, 'pads');
      const [dh, dw] = attrInts(node, 'dilations');
      const group = attrNum(node, 'group');
      const O = bias.length;
      if (x.shape.length !== 4) fail(where, `input must be NCHW, got ${formatShape(x.shape)}`);
      const [, C, H, Wd] = x.shape;
      if (C !== (W.length / (O * kh * kw)) * group)
        fail(where, `input has ${C} channels, the weights expect ${(W.length / (O * kh * kw)) * group}`);
      const OH = windowOutSize(H, kh, sh, pt, pb, dh, false);
      const OW = windowOutSize(Wd, kw, sw, pl, pr2, dw, false);
      if (OH < 1 || OW < 1) fail(where, `kernel ${kh}x${kw} does not fit input ${H}x${Wd}`);
      const data = conv2d(
        X,
        x.shape,
        W,
        O,
        bias,
        p(node, 'mult'),
        p(node, 'shift'),
        {
          kernel: [kh, kw],
          strides: [sh, sw],
          pads: [pt, pl, pb, pr2],
          dilations: [dh, dw],
          group,
        },
        OH,
        OW,
      );
      return make(node, pr, [x.shape[0], O, OH, OW], data);
    }
    case 'add':
    case 'mul':
    case 'div': {
      const y = ins[1];
      if (!y) fail(where, 'second input is missing');
      const shape = broadcastShapes(x.shape, y.shape) as number[] | undefined;
      if (!shape) fail(where, `cannot broadcast ${formatShape(x.shape)} with ${formatShape(y.shape)}`);
      const plan = broadcastPlan(x.shape, y.shape, shape);
      let data: Int8Array;
      if (node.kernel === 'add')
        data = addScaled(x.data, y.data, plan, p(node, 'multA'), p(node, 'multB'), p(node, 'shift'));
      else if (node.kernel === 'mul')
        data = mulScaled(x.data, y.data, plan, p(node, 'mult'), p(node, 'shift'));
      else
        data = divScaled(
          x.data,
          int8(y, where, 'divisor'),
          plan,
          p(node, 'recip'),
          p(node, 'mult'),
          p(node, 'shift'),
        );
      return make(node, pr, shape, data);
    }
    case 'table':
      return make(node, pr, x.shape, lookup(int8(x, where, 'input'), p(node, 'table')));
    case 'relu':
      return make(node, pr, x.shape, relu(int8(x, where, 'input')));
    case 'clip':
      return make(node, pr, x.shape, clip(int8(x, where, 'input'), p(node, 'min'), p(node, 'max')));
    case 'maxpool':
    case 'avgpool': {
      const X = int8(x, where, 'X');
      const shape = shapeRule(node, ins, pr);
      const [kh, kw] = attrInts(node, 'kernel_shape');
      const [sh, sw] = attrInts(node, 'strides');
      const [pt, pl, pb, pr2] = attrInts(node, 'pads');
      const [dh, dw] = node.kernel === 'maxpool' ? attrInts(node, 'dilations') : [1, 1];
      const a = {
        kernel: [kh, kw] as [number, number],
        strides: [sh, sw] as [number, number],
        pads: [pt, pl, pb, pr2] as [number, number, number, number],
        dilations: [dh, dw] as [number, number],
      };
      const data =
        node.kernel === 'maxpool'
          ? maxPool(X, x.shape, a, shape[2], shape[3])
          : avgPool(
              X,
              x.shape,
              a,
              attrNum(node, 'count_include_pad') !== 0,
              p(node, 'mult'),
              p(node, 'shift'),
              shape[2],
              shape[3],
            );
      return make(node, pr, shape, data);
    }
    case 'reduce-mean': {
      const axes = attrInts(node, 'axes');
      const keep = attrNum(node, 'keepdims') !== 0;
      let count = 1;
      for (const a of axes) {
        if (!(a >= 0 && a < x.shape.length))
          fail(where, `axis ${a} is out of range for rank ${x.shape.length}`);
        count *= x.shape[a];
      }
      if (count > 2 ** 24) fail(where, `reducing ${count} elements exceeds 2^24`);
      const shape = keep
        ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
        : x.shape.filter((_, i) => !axes.includes(i));
      return make(
        node,
        pr,
        shape,
        reduceMean(int8(x, where, 'input'), x.shape, axes, p(node, 'mult'), p(node, 'shift')),
      );
    }
    case 'softmax':
      return make(
        node,
        pr,
        x.shape,
        softmax(int8(x, where, 'input'), x.shape, attrNum(node, 'axis'), p(node, 'exp'), p(node, 'P')),
      );
    case 'log-softmax':
      return make(
        node,
        pr,
        x.shape,
        logSoftmax(
          int8(x, where, 'input'),
          x.shape,
          attrNum(node, 'axis'),
          p(node, 'exp'),
          p(node, 'log'),
          p(node, 'multD'),
          p(node, 'multL'),
          p(node, 'shift'),
        ),
      );
    case 'layer-norm': {
      const n = p<number>(node, 'n');
      const axis = attrNum(node, 'axis');
      if (sizeOf(x.shape.slice(axis)) !== n)
        fail(where, `input ${formatShape(x.shape)} does not normalize ${n} elements from axis ${axis}`);
      return make(
        node,
        pr,
        x.shape,
        layerNorm(
          int8(x, where, 'X'),
          n,
          p(node, 'gamma'),
          p(node, 'beta'),
          p(node, 'eps'),
          p(node, 'gammaShift'),
        ),
      );
    }
    case 'reshape':
      return make(node, pr, shapeRule(node, ins, pr), x.data);
    case 'transpose': {
      const shape = shapeRule(node, ins, pr);
      return make(node, pr, shape, transpose(x.data, x.shape, attrInts(node, 'perm')));
    }
    case 'concat': {
      const parts = ins.filter((t): t is QuantTensor => t !== undefined);
      const shape = shapeRule(node, ins, pr);
      const v = pr.values.get(node.outputs[0]);
      const n = sizeOf(shape);
      const outArr: IntArray = v?.dtype === 'int32' ? new Int32Array(n) : new Int8Array(n);
      for (const t of parts)
        if (t.data.constructor !== outArr.constructor) fail(where, 'inputs must share the output type');
      const mult = node.params.mult as Int32Array | undefined;
      const shift = node.params.shift as Int32Array | undefined;
      const data = concat(
        parts.map((t) => t.data),
        parts.map((t) => t.shape),
        attrNum(node, 'axis'),
        shape,
        outArr,
        mult,
        shift,
      );
      return make(node, pr, shape, data);
    }
    case 'gather': {
      const idx = ins[1];
      if (!idx || !(idx.data instanceof Int32Array)) fail(where, 'indices must be int32');
      const shape = shapeRule(node, ins, pr);
      return make(node, pr, shape, gather(x.data, x.shape, idx.data, attrNum(node, 'axis'), where));
    }
    case 'argmax': {
      const shape = shapeRule(node, ins, pr);
      return make(
        node,
        pr,
        shape,
        argMax(
          int8(x, where, 'input'),
          x.shape,
          attrNum(node, 'axis'),
          attrNum(node, 'select_last_index') !== 0,
        ),
      );
    }
    default:
      fail(where, `kernel ${String(node.kernel)} is not supported`);
  }
}

/**
 * Runs node `index` of the model alone, on the given values of its non-constant inputs (by value
 * name; constants come from the model). The re-execution step of an optimistic-tier dispute:
 * bit-identical to the same node inside runInt. Each given tensor takes the scale the model
 * declares for its value, and must have the declared integer type.
 */
export function runIntNode(
  model: QuantModel,
  index: number,
  values: Record<string, QuantTensor>,
): QuantTensor {
  const pr = prepare(model);
  const node = model.nodes[index];
  if (!node) throw new ModelError(`the model has no node ${index} (it has ${model.nodes.length})`);
  const ins = node.inputs.map((name) => {
    if (name === '') return undefined;
    const c = pr.constants.get(name);
    if (c) return c;
    const t = values[name];
    const v = pr.values.get(name);
    if (!t) throw new ModelError(`input "${name}" is not given`, { node: node.name, op: node.op });
    if (!v) throw new ModelError(`value "${name}" has no description`, { node: node.name, op: node.op });
    if (t.dtype !== v.dtype || !(t.data instanceof ARRAY_OF[v.dtype]))
      throw new ModelError(`input "${name}" must be ${v.dtype}, got ${t.dtype}`, {
        node: node.name,
        op: node.op,
      });
    let n = 1;
    for (const d of t.shape) n *= d;
    if (n !== t.data.length || t.shape.length !== v.shape.length)
      throw new ModelError(`input "${name}" has shape ${formatShape(t.shape)} for ${t.data.length} values`, {
        node: node.name,
        op: node.op,
      });
    return { ...t, scale: v.scale };
  });
  return runNode(node, ins, pr);
}
