// Shape inference for the normalised graph. The same rules run at import (with symbolic dims such
// as the batch) and in the executors (with concrete dims), so a model that imports cleanly is
// checked by exactly the code that later sizes its buffers.
//
// A symbolic dim is a string: a product of an optional integer coefficient and symbol names,
// written canonically as `12*N` or `N*S` (symbols sorted). Plain dim_param names (`batch`) are
// the common case; products appear after Flatten/Reshape of a batched tensor.
// Browser-safe: no node: imports.
import { type Dim, type Graph, type GraphNode, ModelError, type Tensor } from './graph.ts';

type Monomial = { coef: number; syms: string[] };

function toMonomial(d: Dim): Monomial {
  if (typeof d === 'number') return { coef: d, syms: [] };
  let coef = 1;
  const syms: string[] = [];
  for (const part of d.split('*')) {
    const p = part.trim();
    if (/^\d+$/.test(p)) coef *= Number(p);
    else syms.push(p);
  }
  syms.sort();
  return { coef, syms };
}

function fromMonomial(m: Monomial): Dim {
  if (m.syms.length === 0 || m.coef === 0) return m.coef;
  return (m.coef === 1 ? m.syms : [String(m.coef), ...m.syms]).join('*');
}

export function isSymbolic(d: Dim): d is string {
  return typeof d === 'string';
}

export function isStaticShape(shape: readonly Dim[]): shape is number[] {
  return shape.every((d) => typeof d === 'number');
}

export function dimEq(a: Dim, b: Dim): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  return fromMonomial(toMonomial(a)) === fromMonomial(toMonomial(b));
}

export function dimMul(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  const x = toMonomial(a);
  const y = toMonomial(b);
  return fromMonomial({ coef: x.coef * y.coef, syms: [...x.syms, ...y.syms].sort() });
}

/** Exact quotient, or undefined when `b` does not divide `a` symbolically. */
export function dimDiv(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === 'number' && typeof b === 'number') return b !== 0 && a % b === 0 ? a / b : undefined;
  const x = toMonomial(a);
  const y = toMonomial(b);
  if (y.coef === 0 || x.coef % y.coef !== 0) return undefined;
  const rest = [...x.syms];
  for (const s of y.syms) {
    const i = rest.indexOf(s);
    if (i < 0) return undefined;
    rest.splice(i, 1);
  }
  return fromMonomial({ coef: x.coef / y.coef, syms: rest });
}

/** Sum, or undefined when it is not a single monomial (N + 3). */
export function dimAdd(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  const x = toMonomial(a);
  const y = toMonomial(b);
  if (x.coef === 0) return b;
  if (y.coef === 0) return a;
  if (x.syms.join('*') !== y.syms.join('*')) return undefined;
  return fromMonomial({ coef: x.coef + y.coef, syms: x.syms });
}

export function dimProduct(dims: readonly Dim[]): Dim {
  let p: Dim = 1;
  for (const d of dims) p = dimMul(p, d);
  return p;
}

/** Element count with every symbol taken as 1 (the smallest batch): used for limit checks. */
export function staticSize(shape: readonly Dim[]): number {
  let n = 1;
  for (const d of shape) n *= typeof d === 'number' ? d : toMonomial(d).coef;
  return n;
}

/** Replaces symbols by their bound values; throws for an unbound symbol. */
export function bindShape(shape: readonly Dim[], bindings: ReadonlyMap<string, number>): number[] {
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    const m = toMonomial(d);
    let v = m.coef;
    for (const s of m.syms) {
      const b = bindings.get(s);
      if (b === undefined) throw new ModelError(`dimension "${s}" is not bound`);
      v *= b;
    }
    return v;
  });
}

export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.join(',')}]`;
}

/** Numpy broadcasting of two shapes; a symbol against n > 1 becomes n (checked at run time). */
export function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = new Array(r);
  for (let i = 0; i < r; i++) {
    const x = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
    const y = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
    if (dimEq(x, y)) out[i] = x;
    else if (x === 1) out[i] = y;
    else if (y === 1) out[i] = x;
    else if (typeof x === 'string' && typeof y === 'number') out[i] = y;
    else if (typeof y === 'string' && typeof x === 'number') out[i] = x;
    else if (typeof x === 'string' && typeof y === 'string') out[i] = x;
    else return undefined;
  }
  return out;
}

/** Normalises a possibly negative axis into [0, rank); throws if out of range. */
export function normAxis(axis: number, rank: number, node?: { name: string; op: string }): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw new ModelError(
      `axis ${axis} is out of range for rank ${rank}`,
      node && { node: node.name, op: node.op },
    );
  return a;
}

type NodeLike = { name: string; op: string; inputs: string[]; attrs: GraphNode['attrs'] };

function fail(node: NodeLike, msg: string): never {
  throw new ModelError(msg, { node: node.name, op: node.op });
}

function intsAttr(node: NodeLike, key: string): number[] {
  const v = node.attrs[key];
  if (!Array.isArray(v)) fail(node, `attribute ${key} is missing`);
  return v;
}

function numAttr(node: NodeLike, key: string, dflt?: number): number {
  const v = node.attrs[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number') fail(node, `attribute ${key} is missing`);
  return v;
}

function needRank(node: NodeLike, shape: readonly Dim[], rank: number, what: string): void {
  if (shape.length !== rank) fail(node, `${what} must have rank ${rank}, got shape ${formatShape(shape)}`);
}

function mustMatch(node: NodeLike, a: Dim, b: Dim, what: string): void {
  if (typeof a === 'number' && typeof b === 'number' && a !== b)
    fail(node, `shape mismatch: ${what} (${a} vs ${b})`);
}

function staticDim(node: NodeLike, d: Dim, what: string): number {
  if (typeof d !== 'number') fail(node, `${what} must be static, got "${d}"`);
  return d;
}

/** Output size of one spatial axis of a convolution or pooling window. */
export function windowOutSize(
  inSize: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  ceilMode: boolean,
): number {
  const span = inSize + padBegin + padEnd - dilation * (kernel - 1) - 1;
  if (span < 0) return 0;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // ceil_mode: the last window must start inside the input or the leading padding.
  if (ceilMode && (out - 1) * stride >= inSize + padBegin) out--;
  return out;
}

/**
 * Output shapes of one normalised node from its input shapes. `constant` returns the value of an
 * input that is a constant (Reshape targets); throws ModelError naming the node on any mismatch.
 */
export function inferNodeShapes(
  node: NodeLike,
  inputs: readonly (readonly Dim[] | undefined)[],
  constant: (name: string) => Tensor | undefined,
): Dim[][] {
  const x = inputs[0];
  if (!x) fail(node, 'first input is missing');
  const rank = x.length;
  switch (node.op) {
    case 'Relu':
    case 'LeakyRelu':
    case 'Sigmoid':
    case 'Tanh':
    case 'Sqrt':
    case 'Erf':
    case 'Gelu':
    case 'Clip':
      return [[...x]];
    case 'Softmax':
    case 'LogSoftmax':
      normAxis(numAttr(node, 'axis'), rank, node);
      return [[...x]];
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Pow': {
      const y = inputs[1];
      if (!y) fail(node, 'second input is missing');
      const out = broadcastShapes(x, y);
      if (!out) fail(node, `shape mismatch: cannot broadcast ${formatShape(x)} with ${formatShape(y)}`);
      return [out];
    }
    case 'Gemm': {
      const b = inputs[1];
      if (!b) fail(node, 'input B is missing');
      needRank(node, x, 2, 'input A');
      needRank(node, b, 2, 'input B');
      const transA = numAttr(node, 'transA', 0) !== 0;
      const transB = numAttr(node, 'transB', 0) !== 0;
      const m = transA ? x[1] : x[0];
      const ka = transA ? x[0] : x[1];
      const kb = transB ? b[1] : b[0];
      const n = transB ? b[0] : b[1];
      mustMatch(node, ka, kb, `inner dimensions of A ${formatShape(x)} and B ${formatShape(b)}`);
      const c = inputs[2];
      if (c) {
        const out = broadcastShapes([m, n], c);
        if (out?.length !== 2 || !dimEq(out[0], m) || !dimEq(out[1], n))
          fail(node, `shape mismatch: C ${formatShape(c)} does not broadcast to ${formatShape([m, n])}`);
      }
      return [[m, n]];
    }
    case 'MatMul': {
      const b = inputs[1];
      if (!b) fail(node, 'input B is missing');
      if (rank < 1 || b.length < 1) fail(node, 'MatMul inputs must have rank >= 1');
      const a2 = rank === 1 ? [1, x[0]] : x;
      const b2 = b.length === 1 ? [b[0], 1] : b;
      mustMatch(
        node,
        a2[a2.length - 1],
        b2[b2.length - 2],
        `inner dimensions of ${formatShape(x)} and ${formatShape(b)}`,
      );
      const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2));
      if (!batch)
        fail(node, `shape mismatch: cannot broadcast batch dims of ${formatShape(x)} and ${formatShape(b)}`);
      const out = [...batch];
      if (rank !== 1) out.push(a2[a2.length - 2]);
      if (b.length !== 1) out.push(b2[b2.length - 1]);
      return [out];
    }
    case 'Conv': {
      const w = inputs[1];
      if (!w) fail(node, 'input W is missing');
      needRank(node, x, 4, 'input X');
      needRank(node, w, 4, 'weight W');
      const group = numAttr(node, 'group', 1);
      const [kh, kw] = intsAttr(node, 'kernel_shape');
      const [sh, sw] = intsAttr(node, 'strides');
      const [pt, pl, pb, pr] = intsAttr(node, 'pads');
      const [dh, dw] = intsAttr(node, 'dilations');
      const c = x[1];
      const m = staticDim(node, w[0], 'output channels');
      if (m % group !== 0) fail(node, `output channels ${m} not divisible by group ${group}`);
      mustMatch(node, c, dimMul(w[1], group), `input channels vs W channels * group`);
      mustMatch(node, w[2], kh, 'kernel height');
      mustMatch(node, w[3], kw, 'kernel width');
      const bias = inputs[2];
      if (bias && (bias.length !== 1 || !dimEq(bias[0], m)))
        fail(node, `shape mismatch: bias ${formatShape(bias)} must be [${m}]`);
      const h = staticDim(node, x[2], 'input height');
      const wd = staticDim(node, x[3], 'input width');
      const oh = windowOutSize(h, kh, sh, pt, pb, dh, false);
      const ow = windowOutSize(wd, kw, sw, pl, pr, dw, false);
      if (oh < 1 || ow < 1) fail(node, `kernel ${kh}x${kw} does not fit input ${h}x${wd}`);
      return [[x[0], m, oh, ow]];
    }
    case 'MaxPool':
    case 'AveragePool': {
      needRank(node, x, 4, 'input X');
      const [kh, kw] = intsAttr(node, 'kernel_shape');
      const [sh, sw] = intsAttr(node, 'strides');
      const [pt, pl, pb, pr] = intsAttr(node, 'pads');
      const [dh, dw] = node.op === 'MaxPool' ? intsAttr(node, 'dilations') : [1, 1];
      const ceil = numAttr(node, 'ceil_mode', 0) !== 0;
      const h = staticDim(node, x[2], 'input height');
      const wd = staticDim(node, x[3], 'input width');
      const oh = windowOutSize(h, kh, sh, pt, pb, dh, ceil);
      const ow = windowOutSize(wd, kw, sw, pl, pr, dw, ceil);
      if (oh < 1 || ow < 1) fail(node, `window ${kh}x${kw} does not fit input ${h}x${wd}`);
      return [[x[0], x[1], oh, ow]];
    }
    case 'GlobalAveragePool':
      if (rank < 3) fail(node, `input must have rank >= 3, got ${formatShape(x)}`);
      return [[x[0], x[1], ...x.slice(2).map(() => 1)]];
    case 'Flatten': {
      const axis = numAttr(node, 'axis');
      if (axis < 0 || axis > rank) fail(node, `axis ${axis} out of range for rank ${rank}`);
      return [[dimProduct(x.slice(0, axis)), dimProduct(x.slice(axis))]];
    }
    case 'Reshape': {
      const target = constant(node.inputs[1]);
      if (!target) fail(node, 'shape input must be a constant');
      if (target.shape.length !== 1) fail(node, 'shape input must be 1-D');
      const allowZero = numAttr(node, 'allowzero', 0) !== 0;
      const out: Dim[] = [];
      let inferAt = -1;
      for (let i = 0; i < target.data.length; i++) {
        const t = target.data[i];
        if (t === -1) {
          if (inferAt >= 0) fail(node, 'shape has more than one -1');
          inferAt = i;
          out.push(1);
        } else if (t === 0 && !allowZero) {
          if (i >= rank)
            fail(node, `shape[${i}] = 0 copies a dimension the input (rank ${rank}) does not have`);
          out.push(x[i]);
        } else if (t < 0) fail(node, `shape[${i}] = ${t} is invalid`);
        else out.push(t);
      }
      const total = dimProduct(x);
      if (inferAt >= 0) {
        const rest = dimProduct(out);
        const q = dimDiv(total, rest);
        if (q === undefined)
          fail(
            node,
            `shape mismatch: cannot reshape ${formatShape(x)} to [${Array.from(target.data).join(',')}]`,
          );
        out[inferAt] = q;
      } else if (typeof total === 'number') {
        const p = dimProduct(out);
        if (typeof p === 'number' && p !== total)
          fail(
            node,
            `shape mismatch: cannot reshape ${formatShape(x)} (${total} elements) to ${formatShape(out)}`,
          );
      }
      return [out];
    }
    case 'Transpose': {
      const perm = intsAttr(node, 'perm');
      if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i))
        fail(node, `perm [${perm.join(',')}] is not a permutation of rank ${rank}`);
      return [perm.map((p) => x[p])];
    }
    case 'Squeeze': {
      const axes = intsAttr(node, 'axes').map((a) => normAxis(a, rank, node));
      for (const a of axes) {
        if (x[a] !== 1) fail(node, `cannot squeeze axis ${a} of size ${x[a]}`);
      }
      return [x.filter((_, i) => !axes.includes(i))];
    }
    case 'Unsqueeze': {
      const outRank = rank + intsAttr(node, 'axes').length;
      const axes = intsAttr(node, 'axes').map((a) => normAxis(a, outRank, node));
      if (new Set(axes).size !== axes.length) fail(node, 'axes contain duplicates');
      const out: Dim[] = [];
      let j = 0;
      for (let i = 0; i < outRank; i++) out.push(axes.includes(i) ? 1 : x[j++]);
      return [out];
    }
    case 'Concat': {
      const axis = normAxis(numAttr(node, 'axis'), rank, node);
      const out = [...x];
      for (let k = 1; k < inputs.length; k++) {
        const s = inputs[k];
        if (!s) fail(node, `input ${k} is missing`);
        if (s.length !== rank) fail(node, `shape mismatch: input ranks differ (${rank} vs ${s.length})`);
        for (let i = 0; i < rank; i++) {
          if (i === axis) {
            const sum = dimAdd(out[i], s[i]);
            if (sum === undefined) fail(node, `cannot concatenate dynamic dimensions ${out[i]} and ${s[i]}`);
            out[i] = sum;
          } else mustMatch(node, out[i], s[i], `input ${k} dim ${i}`);
        }
      }
      return [out];
    }
    case 'Gather': {
      const idx = inputs[1];
      if (!idx) fail(node, 'indices input is missing');
      const axis = normAxis(numAttr(node, 'axis'), rank, node);
      return [[...x.slice(0, axis), ...idx, ...x.slice(axis + 1)]];
    }
    case 'ArgMax': {
      const axis = normAxis(numAttr(node, 'axis'), rank, node);
      const keep = numAttr(node, 'keepdims') !== 0;
      return [keep ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis)];
    }
    case 'ReduceMean': {
      const axes = intsAttr(node, 'axes').map((a) => normAxis(a, rank, node));
      const keep = numAttr(node, 'keepdims') !== 0;
      return [keep ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i))];
    }
    case 'LayerNormalization': {
      const axis = normAxis(numAttr(node, 'axis'), rank, node);
      const norm = x.slice(axis);
      for (const k of [1, 2]) {
        const s = inputs[k];
        if (!s) continue;
        const b = broadcastShapes(norm, s);
        if (!b || b.length !== norm.length || b.some((d, i) => !dimEq(d, norm[i])))
          fail(
            node,
            `shape mismatch: ${k === 1 ? 'scale' : 'bias'} ${formatShape(s)} vs ${formatShape(norm)}`,
          );
      }
      return [[...x]];
    }
    default:
      fail(node, `operator ${node.op} has no shape rule`);
  }
}

/**
 * Infers the shape of every value of a graph, optionally for other input shapes (a concrete
 * batch for the cost model). Checks each value against `maxTensorElements` when given.
 */
export function inferShapes(
  graph: Graph,
  inputShapes?: Record<string, Dim[]>,
  maxTensorElements = Number.POSITIVE_INFINITY,
): Map<string, Dim[]> {
  const shapes = new Map<string, Dim[]>();
  for (const v of graph.inputs) shapes.set(v.name, inputShapes?.[v.name] ?? v.shape);
  for (const [name, t] of graph.initializers) shapes.set(name, t.shape);
  const constant = (name: string) => graph.initializers.get(name);
  for (const node of graph.nodes) {
    const ins = node.inputs.map((n) => (n === '' ? undefined : shapes.get(n)));
    node.inputs.forEach((n, i) => {
      if (n !== '' && !ins[i])
        throw new ModelError(`input "${n}" has no known shape`, { node: node.name, op: node.op });
    });
    const outs = inferNodeShapes(node, ins, constant);
    node.outputs.forEach((n, i) => {
      const s = outs[i];
      if (!s) return;
      if (staticSize(s) > maxTensorElements)
        throw new ModelError(`output ${formatShape(s)} exceeds the limit of ${maxTensorElements} elements`, {
          node: node.name,
          op: node.op,
        });
      shapes.set(n, s);
    });
  }
  return shapes;
}
