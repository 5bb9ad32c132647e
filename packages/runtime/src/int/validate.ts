// Structural and numeric checks of a QuantModel before it runs (docs/runtime-semantics.md §5):
// every parameter has the type, length and range the spec assumes, so that the exactness bounds
// (|accumulator| < 2^31, every intermediate < 2^53) hold for any input. A model that came from
// the quantizer always passes; a hand-made or corrupted one is refused with a ModelError naming
// the node, instead of computing something platform-dependent.
// Browser-safe: no node: imports.
import { ModelError } from '../graph.ts';
import { QMAX, QUANT_FORMAT, type QuantModel, type QuantNode } from '../quant/model.ts';
import { MAX_SHIFT } from './arith.ts';

const ACC_LIMIT = 2147483647;
const MULT_MAX = 32767;

type Where = { node: string; op: string };

function fail(where: Where | undefined, msg: string): never {
  throw new ModelError(msg, where);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function intIn(where: Where, node: QuantNode, key: string, lo: number, hi: number): number {
  const v = node.params[key];
  if (!isInt(v) || v < lo || v > hi) fail(where, `parameter ${key} must be an integer in [${lo}, ${hi}]`);
  return v;
}

function arr<T extends Int8Array | Int32Array>(
  where: Where,
  node: QuantNode,
  key: string,
  type: new (n: number) => T,
  length: number,
  lo: number,
  hi: number,
): T {
  const v = node.params[key];
  if (!(v instanceof type)) fail(where, `parameter ${key} must be a ${type.name}`);
  if (v.length !== length) fail(where, `parameter ${key} must have ${length} entries, has ${v.length}`);
  for (let i = 0; i < v.length; i++)
    if (v[i] < lo || v[i] > hi) fail(where, `parameter ${key}[${i}] = ${v[i]} is outside [${lo}, ${hi}]`);
  return v as T;
}

function ints(where: Where, node: QuantNode, key: string, length: number, lo: number): number[] {
  const v = node.attrs[key];
  if (!Array.isArray(v) || v.length !== length || v.some((x) => !isInt(x) || x < lo))
    fail(where, `attribute ${key} must be ${length} integers ≥ ${lo}`);
  return v;
}

/** The per-channel parameters of linear and conv: weights in ±127, bias within the accumulator bound. */
function dotParams(where: Where, node: QuantNode, N: number, K: number): void {
  if (K * 127 * 127 > ACC_LIMIT) fail(where, `inner dimension ${K} exceeds the int32 accumulator bound`);
  arr(where, node, 'weight', Int8Array, N * K, -127, 127);
  const cap = ACC_LIMIT - K * 127 * 127;
  arr(where, node, 'bias', Int32Array, N, -cap, cap);
  arr(where, node, 'mult', Int32Array, N, -MULT_MAX, MULT_MAX);
  arr(where, node, 'shift', Int32Array, N, 0, MAX_SHIFT);
}

/** Throws a ModelError for anything the integer runtime would not compute exactly as specified. */
export function validateQuantModel(model: QuantModel): void {
  if (model.format !== QUANT_FORMAT) fail(undefined, `unknown model format "${String(model.format)}"`);
  const known = new Set<string>();
  const kinds = new Map<string, string>();
  for (const v of model.values) {
    if (kinds.has(v.name)) fail(undefined, `value "${v.name}" is declared twice`);
    if (v.kind === 'index' ? v.dtype !== 'int32' : v.dtype === 'int32')
      fail(undefined, `value "${v.name}" has kind ${v.kind} with type ${v.dtype}`);
    if (!(v.scale > 0) || !Number.isFinite(v.scale))
      fail(undefined, `value "${v.name}" has an invalid scale`);
    kinds.set(v.name, v.dtype);
  }
  for (const name of model.inputs) {
    if (!kinds.has(name)) fail(undefined, `input "${name}" is not declared`);
    known.add(name);
  }
  for (const c of model.constants) {
    if (kinds.get(c.name) !== c.dtype)
      fail(undefined, `constant "${c.name}" does not match its value declaration`);
    const expect = c.dtype === 'int8' ? Int8Array : c.dtype === 'int16' ? Int16Array : Int32Array;
    if (!(c.data instanceof expect)) fail(undefined, `constant "${c.name}" must be stored as ${expect.name}`);
    let n = 1;
    for (const d of c.shape) {
      if (!isInt(d) || d < 0) fail(undefined, `constant "${c.name}" has an invalid shape`);
      n *= d;
    }
    if (n !== c.data.length)
      fail(undefined, `constant "${c.name}" has ${c.data.length} values for ${n} elements`);
    if (c.kind === 'quant') {
      const q = QMAX[c.dtype];
      for (let i = 0; i < c.data.length; i++)
        if (c.data[i] < -q || c.data[i] > q)
          fail(undefined, `constant "${c.name}" holds ${c.data[i]}, outside ±${q}`);
    }
    known.add(c.name);
  }
  for (const node of model.nodes) {
    const where = { node: node.name, op: node.op };
    for (const v of node.inputs)
      if (v !== '' && !known.has(v)) fail(where, `input "${v}" is not computed before this node`);
    if (node.outputs.length !== 1 || !kinds.has(node.outputs[0]))
      fail(where, 'a node has exactly one declared output');
    if (known.has(node.outputs[0])) fail(where, `output "${node.outputs[0]}" is computed twice`);
    const outType = kinds.get(node.outputs[0]);
    const copies =
      node.kernel === 'reshape' ||
      node.kernel === 'transpose' ||
      node.kernel === 'gather' ||
      node.kernel === 'concat';
    const expected = node.kernel === 'argmax' ? 'int32' : copies ? undefined : 'int8';
    if (expected && outType !== expected)
      fail(where, `output type ${outType} does not fit kernel ${node.kernel}`);
    validateNode(where, node);
    known.add(node.outputs[0]);
  }
  for (const name of model.outputs)
    if (!known.has(name)) fail(undefined, `output "${name}" is never computed`);
}

function validateNode(where: Where, node: QuantNode): void {
  const p = node.params;
  switch (node.kernel) {
    case 'linear': {
      const K = intIn(where, node, 'K', 1, ACC_LIMIT);
      const N = intIn(where, node, 'N', 1, ACC_LIMIT);
      dotParams(where, node, N, K);
      return;
    }
    case 'conv': {
      const [kh, kw] = ints(where, node, 'kernel_shape', 2, 1);
      ints(where, node, 'strides', 2, 1);
      ints(where, node, 'pads', 4, 0);
      ints(where, node, 'dilations', 2, 1);
      const group = node.attrs.group;
      const bias = p.bias;
      if (!(bias instanceof Int32Array) || bias.length === 0)
        fail(where, 'parameter bias must be a non-empty Int32Array');
      const O = bias.length;
      if (!isInt(group) || group < 1 || O % group !== 0)
        fail(where, 'attribute group must divide the output channels');
      const w = p.weight;
      if (!(w instanceof Int8Array) || w.length % (O * kh * kw) !== 0)
        fail(where, 'weight size does not match the kernel');
      dotParams(where, node, O, w.length / O);
      return;
    }
    case 'matmul':
    case 'mul':
    case 'reduce-mean':
      intIn(where, node, 'mult', -MULT_MAX, MULT_MAX);
      intIn(where, node, 'shift', 0, MAX_SHIFT);
      return;
    case 'add':
      intIn(where, node, 'multA', -MULT_MAX, MULT_MAX);
      intIn(where, node, 'multB', -MULT_MAX, MULT_MAX);
      intIn(where, node, 'shift', 0, MAX_SHIFT);
      return;
    case 'div':
      arr(where, node, 'recip', Int32Array, 256, -32768, 32768);
      intIn(where, node, 'mult', -MULT_MAX, MULT_MAX);
      intIn(where, node, 'shift', 0, MAX_SHIFT);
      return;
    case 'table':
      arr(where, node, 'table', Int8Array, 256, -127, 127);
      return;
    case 'clip': {
      const lo = intIn(where, node, 'min', -127, 127);
      intIn(where, node, 'max', lo, 127);
      return;
    }
    case 'avgpool': {
      const [kh, kw] = ints(where, node, 'kernel_shape', 2, 1);
      ints(where, node, 'strides', 2, 1);
      ints(where, node, 'pads', 4, 0);
      arr(where, node, 'mult', Int32Array, kh * kw + 1, -MULT_MAX, MULT_MAX);
      arr(where, node, 'shift', Int32Array, kh * kw + 1, 0, MAX_SHIFT);
      return;
    }
    case 'maxpool':
      ints(where, node, 'kernel_shape', 2, 1);
      ints(where, node, 'strides', 2, 1);
      ints(where, node, 'pads', 4, 0);
      ints(where, node, 'dilations', 2, 1);
      return;
    case 'softmax': {
      const e = arr(where, node, 'exp', Int32Array, 256, 0, 32768);
      if (e[0] !== 32768) fail(where, 'exp[0] must be 2^15');
      intIn(where, node, 'P', 1, MULT_MAX);
      return;
    }
    case 'log-softmax': {
      const e = arr(where, node, 'exp', Int32Array, 256, 0, 32768);
      if (e[0] !== 32768) fail(where, 'exp[0] must be 2^15');
      arr(where, node, 'log', Int32Array, 256, 0, 65536);
      intIn(where, node, 'multD', -MULT_MAX, MULT_MAX);
      intIn(where, node, 'multL', -MULT_MAX, MULT_MAX);
      intIn(where, node, 'shift', 0, MAX_SHIFT);
      return;
    }
    case 'layer-norm': {
      const n = intIn(where, node, 'n', 1, 2048);
      arr(where, node, 'gamma', Int32Array, n, -MULT_MAX, MULT_MAX);
      arr(where, node, 'beta', Int32Array, n, -(2 ** 40), 2 ** 40);
      intIn(where, node, 'eps', 0, 2 ** 49);
      intIn(where, node, 'gammaShift', 0, 24);
      return;
    }
    case 'concat': {
      const m = p.mult;
      const s = p.shift;
      if (m === undefined && s === undefined) return;
      const n = node.inputs.filter((v) => v !== '').length;
      arr(where, node, 'mult', Int32Array, n, -MULT_MAX, MULT_MAX);
      arr(where, node, 'shift', Int32Array, n, 0, MAX_SHIFT);
      return;
    }
    case 'reshape':
    case 'transpose':
    case 'gather':
    case 'argmax':
    case 'relu':
      return;
    default:
      fail(where, `unknown kernel "${String(node.kernel)}"`);
  }
}
