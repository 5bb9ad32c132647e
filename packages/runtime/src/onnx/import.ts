// ONNX importer: untrusted model bytes -> the normalised float Graph (src/graph.ts).
//
// Accepts opsets 7 to 21 as written by PyTorch, tf2onnx and Keras: initializers as raw_data or
// typed fields, Constant nodes, initializers repeated as graph inputs (IR < 4), dynamic dims
// (dim_param, or a missing/non-positive dim_value, become symbols), and the small shape
// computations exporters emit around Reshape (Shape/Gather/Unsqueeze/Concat/Slice/Cast).
//
// NORMALISED FORMS (the only forms that reach the Graph; every attribute listed is present):
//   Gemm               inputs [A, B] or [A, B, C]; attrs alpha, beta, transA, transB.
//   MatMul             inputs [A, B] (numpy broadcasting, 1-D operands as in ONNX).
//   Add Sub Mul Div    inputs [A, B], numpy broadcasting, float32.
//   Pow                inputs [X, Y], Y a constant float32 SCALAR initializer (shape []).
//   Relu Sigmoid Tanh Sqrt Erf   one input, no attrs.   LeakyRelu: attr alpha.
//   Softmax LogSoftmax attr axis >= 0 with opset-13 semantics (one axis). Opset < 13 models with
//                      a non-last axis over several trailing dims get Reshape/Softmax/Reshape.
//   Conv               2-D only, inputs [X, W] or [X, W, B]; attrs kernel_shape[2], strides[2],
//                      pads[4] (top, left, bottom, right), dilations[2], group. auto_pad SAME_*
//                      and VALID are resolved to explicit pads at import.
//   MaxPool            2-D; attrs kernel_shape, strides, pads[4], dilations, ceil_mode.
//   AveragePool        2-D; attrs kernel_shape, strides, pads[4], ceil_mode, count_include_pad.
//   GlobalAveragePool  no attrs.
//   Flatten            attr axis in [0, rank].
//   Reshape            inputs [X, shape], shape a constant int32 1-D initializer (0 = copy the
//                      input dim, -1 = infer); attr allowzero only when 1. Shape computations on
//                      the dynamic batch become 0 or -1 entries.
//   Transpose          attr perm.
//   Squeeze Unsqueeze  ONE input, attr axes (non-negative, sorted; Unsqueeze axes index the
//                      output). Opset-13 axes inputs are read and turned into this attribute.
//   Concat             attr axis >= 0.      Gather: inputs [data, indices (int32)], attr axis >= 0.
//   Clip               ONE input, attrs min and max always present (+-FLT_MAX when absent);
//                      opset-11 min/max inputs must be constants and become these attributes.
//   ArgMax             attrs axis >= 0, keepdims, select_last_index; output int32.
//   ReduceMean         ONE input, attrs axes (non-negative, sorted, explicit even when "all"),
//                      keepdims. Opset-18 axes inputs become the attribute.
//   LayerNormalization inputs [X, Scale, B], Scale and B float32 initializers of exactly the
//                      normalised shape X.shape[axis:] (B zeros when absent); attrs axis >= 0,
//                      epsilon. Both the opset-17 operator and the ReduceMean/Sub/Pow/ReduceMean/
//                      Add/Sqrt/Div(/Mul/Add) pattern map here.
//   Gelu               attr approximate ('none' | 'tanh'); the opset-20 operator and the Erf
//                      pattern x*0.5*(1+erf(x/sqrt(2))) map here.
// Removed at import: Identity, Dropout (rewired), Constant (lifted to initializers), Cast and
// shape arithmetic on constants (folded), any operator whose inputs are all constants (folded with
// the float executor), BatchNormalization (folded into the weights of the Conv or Gemm before it, a
// 2-D MatMul with constant weights becoming a Gemm; otherwise lowered to Mul + Add with constant
// per-channel scale and shift shaped [C, 1, ..., 1]). Trailing absent optional
// inputs are dropped, so '' never appears. int64 constants are narrowed to int32 (saturating).
//
// Untrusted input: every size is checked against ModelLimits before allocation; any problem is
// a ModelError naming the node, the operator and what is wrong. Browser-safe: no node: imports.
import onnx from 'onnx-proto';
import { runNode } from '../float/execute.ts';
import {
  DEFAULT_LIMITS,
  type Dim,
  type Graph,
  type GraphNode,
  type IntTensor,
  ModelError,
  type ModelLimits,
  OPS,
  type OpType,
  type Tensor,
  type ValueInfo,
} from '../graph.ts';
import {
  broadcastShapes,
  dimDiv,
  dimEq,
  dimMul,
  dimProduct,
  formatShape,
  inferNodeShapes,
  inferShapes,
  isStaticShape,
  normAxis,
  staticSize,
} from '../shape.ts';
import {
  checkDeclaredShape,
  DTYPE_NAMES,
  isFloatType,
  tensorFromProto,
  toInt32,
  toNumber,
} from './tensor.ts';

type AttrProto = onnx.onnx.IAttributeProto;
type DType = 'float32' | 'int32';
/** A node during import: op may still be BatchNormalization until the folding pass. */
type INode = { name: string; op: string; inputs: string[]; outputs: string[]; attrs: GraphNode['attrs'] };
/** A small integer vector that may contain symbolic dims (shape arithmetic on the batch). */
type DimVec = { shape: number[]; dims: Dim[] };

const FLT_MAX = 3.4028234663852886e38;
const OP_SET = new Set<string>(OPS);
/** Folding heavier operators at import could take unbounded time; only small ones are folded. */
const MAX_FOLD_WORK = 1 << 24;

/** Attributes each operator may carry; anything else is rejected as unsupported. */
const ALLOWED_ATTRS: Record<string, readonly string[]> = {
  Gemm: ['alpha', 'beta', 'transA', 'transB', 'broadcast'],
  MatMul: [],
  Add: [],
  Sub: [],
  Mul: [],
  Div: [],
  Pow: [],
  Sqrt: [],
  Relu: [],
  LeakyRelu: ['alpha'],
  Sigmoid: [],
  Tanh: [],
  Softmax: ['axis'],
  LogSoftmax: ['axis'],
  Conv: ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'],
  MaxPool: ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides'],
  AveragePool: ['auto_pad', 'ceil_mode', 'count_include_pad', 'dilations', 'kernel_shape', 'pads', 'strides'],
  GlobalAveragePool: [],
  BatchNormalization: ['epsilon', 'momentum', 'spatial', 'training_mode', 'is_test', 'consumed_inputs'],
  Flatten: ['axis'],
  Reshape: ['allowzero', 'shape'],
  Transpose: ['perm'],
  Squeeze: ['axes'],
  Unsqueeze: ['axes'],
  Concat: ['axis'],
  Gather: ['axis'],
  Identity: [],
  Dropout: ['ratio', 'is_test', 'seed'],
  Constant: ['value', 'value_float', 'value_floats', 'value_int', 'value_ints'],
  Clip: ['min', 'max'],
  ArgMax: ['axis', 'keepdims', 'select_last_index'],
  ReduceMean: ['axes', 'keepdims', 'noop_with_empty_axes'],
  LayerNormalization: ['axis', 'epsilon', 'stash_type'],
  Gelu: ['approximate'],
  Erf: [],
  Cast: ['to', 'saturate', 'round_mode'],
  Shape: ['start', 'end'],
  Size: [],
  Slice: ['starts', 'ends', 'axes'],
  ConstantOfShape: ['value'],
};

class Importer {
  readonly limits: ModelLimits;
  opset = 0;
  readonly consts = new Map<string, Tensor>();
  readonly dimVecs = new Map<string, DimVec>();
  readonly shapes = new Map<string, Dim[]>();
  readonly dtypes = new Map<string, DType>();
  readonly alias = new Map<string, string>();
  readonly nodes: INode[] = [];
  readonly usedNames = new Set<string>();
  /** Every value name in the file and every name the importer made, for fresh names. */
  readonly valueNames = new Set<string>();
  /** Consumers of each raw value (node inputs and graph outputs), to check unused outputs. */
  readonly rawUses = new Map<string, number>();
  totalParams = 0;

  constructor(limits: ModelLimits) {
    this.limits = limits;
  }

  resolve(name: string): string {
    return this.alias.get(name) ?? name;
  }

  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.valueNames.has(name); i++) name = `${base}_${i}`;
    this.valueNames.add(name);
    return name;
  }

  addConst(name: string, t: Tensor, what: string): void {
    this.totalParams += t.data.length;
    if (this.totalParams > this.limits.maxTotalParameters)
      throw new ModelError(
        `${what} brings the model to ${this.totalParams} parameters, over the limit of ${this.limits.maxTotalParameters}`,
      );
    this.consts.set(name, t);
    this.shapes.set(name, t.shape);
    this.dtypes.set(name, t.dtype);
    this.valueNames.add(name);
  }

  newConst(base: string, t: Tensor): string {
    const name = this.fresh(base);
    this.addConst(name, t, `constant ${name}`);
    return name;
  }

  setShape(name: string, shape: Dim[], dtype: DType, where: { node: string; op: string }): void {
    if (shape.length > this.limits.maxRank)
      throw new ModelError(
        `output has rank ${shape.length}, over the limit of ${this.limits.maxRank}`,
        where,
      );
    const n = staticSize(shape);
    if (n > this.limits.maxTensorElements)
      throw new ModelError(
        `output ${formatShape(shape)} has ${n} elements, over the limit of ${this.limits.maxTensorElements}`,
        where,
      );
    this.shapes.set(name, shape);
    this.dtypes.set(name, dtype);
  }

  /** Adds a normalised node: infers its shapes, or folds it when every input is a constant. */
  emit(node: INode): void {
    const where = { node: node.name, op: node.op };
    while (node.inputs.length > 0 && node.inputs[node.inputs.length - 1] === '') node.inputs.pop();
    for (const n of node.inputs)
      if (this.dimVecs.has(n))
        throw new ModelError(
          `input "${n}" is a shape computed from dynamic dimensions, which ${node.op} cannot take`,
          where,
        );
    const inShapes = node.inputs.map((n) => {
      if (n === '') return undefined;
      const s = this.shapes.get(n);
      if (!s) throw new ModelError(`input "${n}" has no known shape`, where);
      return s;
    });
    const outShapes = inferNodeShapes(node, inShapes, (n) => this.consts.get(n));
    const outType: DType =
      node.op === 'ArgMax'
        ? 'int32'
        : ['Gather', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat'].includes(node.op)
          ? (this.dtypes.get(node.inputs[0]) ?? 'float32')
          : 'float32';
    node.outputs.forEach((o, i) => {
      if (outShapes[i]) this.setShape(o, outShapes[i], outType, where);
    });
    this.checkTypes(node);
    const allConst = node.inputs.every((n) => n === '' || this.consts.has(n));
    if (allConst && this.foldWork(node, inShapes, outShapes[0]) <= MAX_FOLD_WORK) {
      const outs = runNode(
        node as GraphNode,
        node.inputs.map((n) => this.consts.get(n)),
        (n) => this.consts.get(n),
      );
      node.outputs.forEach((o, i) => {
        const t = outs[i];
        if (t)
          this.addConst(o, { ...t, data: t.data.slice() } as Tensor, `folded output of node "${node.name}"`);
      });
      return;
    }
    this.nodes.push(node);
  }

  foldWork(node: INode, ins: (readonly Dim[] | undefined)[], out: readonly Dim[]): number {
    const outN = staticSize(out);
    if (node.op === 'Gemm' || node.op === 'MatMul') {
      const a = ins[0] ?? [];
      return outN * staticSize(a.slice(-1));
    }
    if (node.op === 'Conv') return outN * staticSize((ins[1] ?? []).slice(1));
    if (node.op === 'MaxPool' || node.op === 'AveragePool') {
      const k = node.attrs.kernel_shape as number[];
      return outN * k[0] * k[1];
    }
    return outN + ins.reduce((s, x) => s + (x ? staticSize(x) : 0), 0);
  }

  /** Float operators take float inputs; integers appear only as indices and in folded shape arithmetic. */
  checkTypes(node: INode): void {
    const where = { node: node.name, op: node.op };
    const allConst = node.inputs.every((n) => n === '' || this.consts.has(n));
    const dataOps = ['Gather', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat'];
    node.inputs.forEach((n, i) => {
      if (n === '' || this.dtypes.get(n) !== 'int32') return;
      if ((node.op === 'Reshape' || node.op === 'Gather') && i === 1) return;
      if (dataOps.includes(node.op)) return;
      if (allConst && ['Add', 'Sub', 'Mul', 'Div'].includes(node.op)) return;
      throw new ModelError(`input "${n}" is an integer tensor; ${node.op} needs float32 here`, where);
    });
    if (node.op === 'Gather' && this.dtypes.get(node.inputs[1]) !== 'int32')
      throw new ModelError('indices must be an integer tensor', where);
  }
}

/** Decodes, validates and normalises an ONNX model. Throws ModelError for anything it cannot take. */
export function importOnnx(bytes: Uint8Array, limits: Partial<ModelLimits> = {}): Graph {
  const lim: ModelLimits = { ...DEFAULT_LIMITS, ...limits };
  if (!(bytes instanceof Uint8Array)) throw new ModelError('model bytes must be a Uint8Array');
  if (bytes.length > lim.maxFileBytes)
    throw new ModelError(`model file has ${bytes.length} bytes, over the limit of ${lim.maxFileBytes}`);
  if (bytes.length === 0) throw new ModelError('model file is empty');
  // Count nodes on the wire first, so an oversized graph fails before the full decode.
  const declaredNodes = countGraphNodes(bytes);
  if (declaredNodes > lim.maxNodes)
    throw new ModelError(`model has ${declaredNodes} nodes, over the limit of ${lim.maxNodes}`);
  let model: onnx.onnx.ModelProto;
  try {
    model = onnx.onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelError(`malformed ONNX protobuf: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return importModel(model, lim);
  } catch (e) {
    if (e instanceof ModelError) throw e;
    // A RangeError from a pathological structure (or a bug) must still surface as a model error.
    throw new ModelError(`cannot import model: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Number of NodeProto entries in ModelProto.graph (field 7) -> GraphProto.node (field 1), read
 * from the wire format without decoding them; -1 when the bytes are not well-formed (the full
 * decode then reports the problem).
 */
function countGraphNodes(bytes: Uint8Array): number {
  let count = 0;
  let ok = true;
  const scan = (start: number, end: number, onField: (field: number, from: number, to: number) => void) => {
    let pos = start;
    const varint = (): number => {
      let v = 0;
      let mul = 1;
      for (let i = 0; i < 10; i++) {
        if (pos >= end) {
          ok = false;
          return 0;
        }
        const b = bytes[pos++];
        v += (b & 0x7f) * mul;
        mul *= 128;
        if (b < 0x80) return v;
      }
      ok = false;
      return 0;
    };
    while (ok && pos < end) {
      const tag = varint();
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      if (!ok) return;
      if (wire === 0) varint();
      else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        const len = varint();
        if (!ok || pos + len > end) {
          ok = false;
          return;
        }
        onField(field, pos, pos + len);
        pos += len;
      } else {
        ok = false;
        return;
      }
    }
    if (pos > end) ok = false;
  };
  scan(0, bytes.length, (field, from, to) => {
    if (field === 7)
      scan(from, to, (f) => {
        if (f === 1) count++;
      });
  });
  return ok ? count : -1;
}

function importModel(model: onnx.onnx.ModelProto, limits: ModelLimits): Graph {
  const g = model.graph;
  if (!g) throw new ModelError('model has no graph');
  let opset = -1;
  for (const o of model.opsetImport ?? [])
    if (!o.domain || o.domain === 'ai.onnx') opset = Math.max(opset, toNumber(o.version));
  if (opset < 0) throw new ModelError('model imports no default-domain (ai.onnx) opset');
  if (opset < 7 || opset > 21) throw new ModelError(`opset ${opset} is not supported (7 to 21 are)`);
  const rawNodes = g.node ?? [];
  if (rawNodes.length > limits.maxNodes)
    throw new ModelError(`model has ${rawNodes.length} nodes, over the limit of ${limits.maxNodes}`);
  const im = new Importer(limits);
  im.opset = opset;

  // Initializers first: their sizes count against the parameter limit before anything else.
  const initNames = new Set<string>();
  let declaredParams = 0;
  for (const t of g.initializer ?? []) {
    const name = t.name ?? '';
    if (!name) throw new ModelError('an initializer has no name');
    if (initNames.has(name)) throw new ModelError(`initializer "${name}" is defined twice`);
    initNames.add(name);
    declaredParams += checkDeclaredShape(
      (t.dims ?? []).map((d) => toNumber(d)),
      limits,
      `initializer "${name}"`,
    );
    if (declaredParams > limits.maxTotalParameters)
      throw new ModelError(
        `initializers declare ${declaredParams} parameters, over the limit of ${limits.maxTotalParameters}`,
      );
  }
  if ((g.sparseInitializer ?? []).length > 0) throw new ModelError('sparse initializers are not supported');
  for (const t of g.initializer ?? []) {
    const name = t.name as string;
    im.addConst(name, tensorFromProto(t, limits, `initializer "${name}"`), `initializer "${name}"`);
  }

  // Graph inputs (minus initializers, which IR < 4 files also list as inputs).
  const inputs: ValueInfo[] = [];
  for (const vi of g.input ?? []) {
    const name = vi.name ?? '';
    if (!name) throw new ModelError('a graph input has no name');
    if (initNames.has(name)) continue;
    if (im.shapes.has(name)) throw new ModelError(`graph input "${name}" is declared twice`);
    const { shape, dtype } = parseValueInfo(vi, limits, `graph input "${name}"`);
    im.shapes.set(name, shape);
    im.dtypes.set(name, dtype);
    im.valueNames.add(name);
    inputs.push({ name, shape });
  }
  const outputNames = (g.output ?? []).map((o) => o.name ?? '');
  if (outputNames.length === 0) throw new ModelError('graph has no outputs');
  if (outputNames.some((n) => !n)) throw new ModelError('a graph output has no name');
  if (new Set(outputNames).size !== outputNames.length) throw new ModelError('graph outputs are not unique');

  const order = sortNodes(rawNodes, im, outputNames);
  for (const n of outputNames) im.rawUses.set(n, (im.rawUses.get(n) ?? 0) + 1);

  for (const i of order) normaliseNode(im, rawNodes[i], i);

  const nodes = im.nodes;
  foldBatchNorms(im, nodes, outputNames);
  fuseLayerNorms(im, nodes, outputNames);
  fuseGelus(im, nodes, outputNames);
  const finalNodes = finishOutputs(im, nodes, outputNames, new Set(inputs.map((v) => v.name)));
  const graph = assemble(im, g.name || 'model', inputs, finalNodes, outputNames, g.output ?? []);
  return graph;
}

function parseValueInfo(
  vi: onnx.onnx.IValueInfoProto,
  limits: ModelLimits,
  what: string,
): { shape: Dim[]; dtype: DType } {
  const tt = vi.type?.tensorType;
  if (!tt) throw new ModelError(`${what} is not a tensor`);
  const et = tt.elemType ?? 0;
  let dtype: DType;
  if (et === 1) dtype = 'float32';
  else if (et === 6 || et === 7) dtype = 'int32';
  else
    throw new ModelError(
      `${what} has element type ${DTYPE_NAMES[et] ?? et}; only FLOAT, INT32 and INT64 are supported`,
    );
  if (!tt.shape) throw new ModelError(`${what} has no shape (the rank must be known)`);
  const dims = tt.shape.dim ?? [];
  if (dims.length > limits.maxRank)
    throw new ModelError(`${what} has rank ${dims.length}, over the limit of ${limits.maxRank}`);
  const shape: Dim[] = dims.map((d, i) => {
    if (d.dimParam) return d.dimParam;
    if (d.dimValue !== undefined && d.dimValue !== null) {
      const v = toNumber(d.dimValue);
      if (v > 0) {
        if (!Number.isSafeInteger(v)) throw new ModelError(`${what} has an invalid dimension ${v}`);
        return v;
      }
    }
    return `${vi.name}_dim${i}`;
  });
  const n = staticSize(shape);
  if (n > limits.maxTensorElements)
    throw new ModelError(
      `${what} declares ${n} elements (shape ${formatShape(shape)}), over the limit of ${limits.maxTensorElements}`,
    );
  return { shape, dtype };
}

/** Checks names and definitions, counts uses, and orders nodes topologically (Kahn); reports cycles. */
function sortNodes(rawNodes: onnx.onnx.INodeProto[], im: Importer, outputNames: string[]): number[] {
  const producer = new Map<string, number>();
  rawNodes.forEach((n, i) => {
    for (const o of n.output ?? []) {
      if (!o) continue;
      if (producer.has(o) || im.shapes.has(o))
        throw new ModelError(`value "${o}" is produced more than once`, {
          node: nodeName(n, i),
          op: n.opType ?? '',
        });
      producer.set(o, i);
      im.valueNames.add(o);
    }
  });
  const indegree = new Array<number>(rawNodes.length).fill(0);
  const users = new Map<number, number[]>();
  rawNodes.forEach((n, i) => {
    const seen = new Set<number>();
    for (const v of n.input ?? []) {
      if (!v) continue;
      im.rawUses.set(v, (im.rawUses.get(v) ?? 0) + 1);
      const p = producer.get(v);
      if (p === undefined) {
        if (!im.shapes.has(v))
          throw new ModelError(`input "${v}" is not defined by any node, initializer or graph input`, {
            node: nodeName(n, i),
            op: n.opType ?? '',
          });
        continue;
      }
      if (seen.has(p)) continue;
      seen.add(p);
      indegree[i]++;
      const u = users.get(p);
      if (u) u.push(i);
      else users.set(p, [i]);
    }
  });
  for (const o of outputNames)
    if (!producer.has(o) && !im.shapes.has(o))
      throw new ModelError(`graph output "${o}" is not produced by any node`);
  const order: number[] = [];
  const ready: number[] = [];
  indegree.forEach((d, i) => {
    if (d === 0) ready.push(i);
  });
  // Process in file order among ready nodes for a stable result.
  ready.reverse();
  while (ready.length > 0) {
    const i = ready.pop() as number;
    order.push(i);
    const next: number[] = [];
    for (const u of users.get(i) ?? []) if (--indegree[u] === 0) next.push(u);
    next.sort((a, b) => b - a);
    for (const u of next) ready.push(u);
  }
  if (order.length !== rawNodes.length) {
    const stuck = indegree.findIndex((d) => d > 0);
    throw new ModelError(`graph has a cycle through node "${nodeName(rawNodes[stuck], stuck)}"`, {
      node: nodeName(rawNodes[stuck], stuck),
      op: rawNodes[stuck].opType ?? '',
    });
  }
  return order;
}

function nodeName(n: onnx.onnx.INodeProto, i: number): string {
  return n.name || `${n.opType || 'node'}_${i}`;
}

// ---- attribute access -------------------------------------------------------------------------

class Attrs {
  readonly map = new Map<string, AttrProto>();
  readonly where: { node: string; op: string };
  readonly limits: ModelLimits;

  constructor(node: onnx.onnx.INodeProto, where: { node: string; op: string }, limits: ModelLimits) {
    this.where = where;
    this.limits = limits;
    for (const a of node.attribute ?? []) {
      if (!a.name) throw new ModelError('an attribute has no name', where);
      if (a.refAttrName) throw new ModelError(`attribute ${a.name} refers to a function attribute`, where);
      this.map.set(a.name, a);
    }
  }

  has(k: string): boolean {
    return this.map.has(k);
  }

  int(k: string, dflt: number): number {
    const a = this.map.get(k);
    if (!a) return dflt;
    if (a.type !== undefined && a.type !== 0 && a.type !== 2) throw this.err(`attribute ${k} must be an int`);
    return toNumber(a.i);
  }

  float(k: string, dflt: number): number {
    const a = this.map.get(k);
    if (!a) return dflt;
    if (a.type === 2) return toNumber(a.i);
    if (a.type !== undefined && a.type !== 0 && a.type !== 1)
      throw this.err(`attribute ${k} must be a float`);
    return a.f ?? 0;
  }

  /** Lists of axes, pads, perms are bounded (shape rules loop over them); Constant values are not. */
  ints(k: string, max = 64): number[] | undefined {
    const a = this.map.get(k);
    if (!a) return undefined;
    if (a.type !== undefined && a.type !== 0 && a.type !== 7)
      throw this.err(`attribute ${k} must be a list of ints`);
    const v = a.ints ?? [];
    if (v.length > max) throw this.err(`attribute ${k} has ${v.length} values, more than ${max}`);
    return v.map((x) => toNumber(x));
  }

  floats(k: string): number[] | undefined {
    const a = this.map.get(k);
    if (!a) return undefined;
    if (a.type !== undefined && a.type !== 0 && a.type !== 6)
      throw this.err(`attribute ${k} must be a list of floats`);
    return [...(a.floats ?? [])];
  }

  string(k: string, dflt: string): string {
    const a = this.map.get(k);
    if (!a) return dflt;
    if (a.type !== undefined && a.type !== 0 && a.type !== 3)
      throw this.err(`attribute ${k} must be a string`);
    return new TextDecoder().decode(a.s ?? new Uint8Array(0));
  }

  tensor(k: string, what: string): Tensor | undefined {
    const a = this.map.get(k);
    if (!a) return undefined;
    if (!a.t) throw this.err(`attribute ${k} must be a tensor`);
    return tensorFromProto(a.t, this.limits, what);
  }

  err(msg: string): ModelError {
    return new ModelError(msg, this.where);
  }
}

// ---- per-node normalisation -------------------------------------------------------------------

function normaliseNode(im: Importer, raw: onnx.onnx.INodeProto, index: number): void {
  const op = raw.opType ?? '';
  let name = nodeName(raw, index);
  if (im.usedNames.has(name)) name = `${name}_${index}`;
  im.usedNames.add(name);
  const where = { node: name, op };
  const fail = (msg: string): never => {
    throw new ModelError(msg, where);
  };
  if (raw.domain && raw.domain !== 'ai.onnx')
    fail(`operator ${raw.domain}::${op} is not supported (only the default ONNX domain is)`);
  const allowed = ALLOWED_ATTRS[op];
  if (!allowed) fail(`operator ${op || '(empty)'} is not supported`);
  const attrs = new Attrs(raw, where, im.limits);
  for (const k of attrs.map.keys())
    if (!allowed.includes(k)) fail(`${op} with attribute ${k} is not supported`);
  const inputs = (raw.input ?? []).map((n) => (n ? im.resolve(n) : ''));
  const outputs = [...(raw.output ?? [])];
  if (outputs.length === 0 || !outputs[0]) fail('node has no output');
  const x = inputs[0] ?? '';
  const out = outputs[0];
  const needInputs = (n: number) => {
    if (inputs.length < n || inputs.slice(0, n).some((v) => v === '')) fail(`${op} needs ${n} inputs`);
  };
  const rankOf = (v: string) => (im.shapes.get(v) as Dim[]).length;
  const constOf = (v: string, what: string): Tensor => {
    const t = im.consts.get(v);
    if (!t) fail(`${what} must be a constant (an initializer or Constant node)`);
    return t as Tensor;
  };
  const unusedExtraOutputs = (what: string) => {
    for (const o of outputs.slice(1))
      if (o && (im.rawUses.get(o) ?? 0) > 0) fail(`${op} output ${o} (${what}) is not supported`);
  };
  const axesInput = (t: Tensor): number[] => {
    if (t.dtype !== 'int32' || t.shape.length > 1) fail('axes input must be a 1-D integer tensor');
    if (t.data.length > im.limits.maxRank)
      fail(`axes input has ${t.data.length} values, more than the rank limit`);
    return Array.from(t.data);
  };
  const emit = (nodeOp: OpType, ins: string[], a: GraphNode['attrs']) =>
    im.emit({ name, op: nodeOp, inputs: ins, outputs: [out], attrs: a });

  // Symbolic shape arithmetic (ops on the dynamic batch) is tracked as DimVecs, never emitted.
  if (handleShapeArithmetic(im, op, inputs, outputs, attrs, where)) return;

  switch (op) {
    case 'Constant': {
      let t: Tensor | undefined;
      if (attrs.has('value')) t = attrs.tensor('value', `Constant "${name}"`);
      else if (attrs.has('value_float'))
        t = { dtype: 'float32', shape: [], data: Float32Array.of(attrs.float('value_float', 0)) };
      else if (attrs.has('value_floats')) {
        const v = attrs.floats('value_floats') as number[];
        t = { dtype: 'float32', shape: [v.length], data: Float32Array.from(v) };
      } else if (attrs.has('value_int'))
        t = { dtype: 'int32', shape: [], data: Int32Array.of(toInt32(attrs.int('value_int', 0))) };
      else if (attrs.has('value_ints')) {
        const v = attrs.ints('value_ints', im.limits.maxTensorElements) as number[];
        t = { dtype: 'int32', shape: [v.length], data: Int32Array.from(v, toInt32) };
      }
      if (!t) fail('Constant needs one of value, value_float, value_floats, value_int, value_ints');
      im.addConst(out, t as Tensor, `Constant "${name}"`);
      return;
    }
    case 'Identity':
      needInputs(1);
      im.alias.set(out, x);
      return;
    case 'Dropout': {
      needInputs(1);
      unusedExtraOutputs('mask');
      const training = inputs[2];
      if (training) {
        const t = constOf(training, 'training_mode');
        if (t.data[0] !== 0) fail('Dropout with training_mode=true is not supported');
      }
      im.alias.set(out, x);
      return;
    }
    case 'Cast': {
      needInputs(1);
      const to = attrs.int('to', 0);
      const toFloat = isFloatType(to);
      const toInt = [2, 3, 4, 5, 6, 7, 9, 12, 13].includes(to);
      if (!toFloat && !toInt) fail(`Cast to ${DTYPE_NAMES[to] ?? to} is not supported`);
      const c = im.consts.get(x);
      if (c) {
        const data = toFloat
          ? Float32Array.from(c.data)
          : to === 9
            ? Int32Array.from(c.data, (v) => (v !== 0 ? 1 : 0))
            : Int32Array.from(c.data, (v) => toInt32(v));
        im.addConst(
          out,
          { dtype: toFloat ? 'float32' : 'int32', shape: c.shape, data } as Tensor,
          `Cast "${name}"`,
        );
        return;
      }
      const from = im.dtypes.get(x);
      if ((from === 'float32') !== toFloat)
        fail(
          `Cast from ${from === 'float32' ? 'float' : 'integer'} to ${DTYPE_NAMES[to]} on a non-constant value is not supported`,
        );
      im.alias.set(out, x);
      return;
    }
    case 'ConstantOfShape': {
      needInputs(1);
      const s = constOf(x, 'shape input');
      const dims = Array.from(s.data);
      checkDeclaredShape(dims, im.limits, `ConstantOfShape "${name}" output`);
      const v = attrs.tensor('value', `ConstantOfShape "${name}" value`) ?? {
        dtype: 'float32',
        shape: [1],
        data: Float32Array.of(0),
      };
      const n = dims.reduce((a, b) => a * b, 1);
      const data =
        v.dtype === 'float32'
          ? new Float32Array(n).fill(v.data[0] ?? 0)
          : new Int32Array(n).fill(v.data[0] ?? 0);
      im.addConst(out, { dtype: v.dtype, shape: dims, data } as Tensor, `ConstantOfShape "${name}"`);
      return;
    }
    case 'Shape':
    case 'Size':
    case 'Slice':
      // Reached only when handleShapeArithmetic could not take the node.
      fail(`${op} is only supported on shapes and integer constants`);
      return;
    case 'Gemm': {
      needInputs(2);
      if (attrs.int('broadcast', 1) === 0 && im.opset < 7) fail('Gemm with broadcast=0 is not supported');
      emit('Gemm', [x, inputs[1], inputs[2] ?? ''], {
        alpha: attrs.float('alpha', 1),
        beta: attrs.float('beta', 1),
        transA: attrs.int('transA', 0) ? 1 : 0,
        transB: attrs.int('transB', 0) ? 1 : 0,
      });
      return;
    }
    case 'MatMul':
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      needInputs(2);
      emit(op, [x, inputs[1]], {});
      return;
    case 'Pow': {
      needInputs(2);
      const e = constOf(inputs[1], 'Pow exponent');
      if (e.data.length === 0) fail('Pow exponent is empty');
      const v = e.data[0];
      for (let i = 1; i < e.data.length; i++)
        if (e.data[i] !== v) fail('Pow exponent must be a single constant value');
      const xs = im.shapes.get(x) as Dim[];
      const b = broadcastShapes(xs, e.shape);
      if (!b || b.length !== xs.length)
        fail(`Pow exponent of shape ${formatShape(e.shape)} would broadcast the input`);
      const exp = im.newConst(`${name}/exponent`, { dtype: 'float32', shape: [], data: Float32Array.of(v) });
      emit('Pow', [x, exp], {});
      return;
    }
    case 'Sqrt':
    case 'Relu':
    case 'Sigmoid':
    case 'Tanh':
    case 'Erf':
    case 'GlobalAveragePool':
      needInputs(1);
      emit(op, [x], {});
      return;
    case 'LeakyRelu':
      needInputs(1);
      emit('LeakyRelu', [x], { alpha: attrs.float('alpha', 0.01) });
      return;
    case 'Gelu': {
      needInputs(1);
      const approximate = attrs.string('approximate', 'none');
      if (approximate !== 'none' && approximate !== 'tanh')
        fail(`Gelu with approximate=${approximate} is not supported`);
      emit('Gelu', [x], { approximate });
      return;
    }
    case 'Softmax':
    case 'LogSoftmax': {
      needInputs(1);
      const xs = im.shapes.get(x) as Dim[];
      const rank = xs.length;
      const axis = normAxis(attrs.int('axis', im.opset >= 13 ? -1 : 1), rank, { name, op });
      const trailing = xs.slice(axis + 1);
      if (im.opset >= 13 || trailing.every((d) => d === 1)) {
        emit(op, [x], { axis });
        return;
      }
      // Opset < 13: softmax over the input coerced to 2-D at `axis`.
      if (!isStaticShape(xs.slice(axis))) fail(`${op} over dynamic trailing dimensions is not supported`);
      const inner = staticSize(xs.slice(axis));
      const flat = im.fresh(`${name}/flat`);
      const soft = im.fresh(`${name}/soft`);
      const s1 = im.newConst(`${name}/shape_in`, intVec([...new Array(axis).fill(0), inner]));
      const s2 = im.newConst(
        `${name}/shape_out`,
        intVec([...new Array(axis).fill(0), ...(xs.slice(axis) as number[])]),
      );
      im.emit({ name: `${name}/reshape_in`, op: 'Reshape', inputs: [x, s1], outputs: [flat], attrs: {} });
      im.emit({ name, op, inputs: [flat], outputs: [soft], attrs: { axis } });
      im.emit({ name: `${name}/reshape_out`, op: 'Reshape', inputs: [soft, s2], outputs: [out], attrs: {} });
      return;
    }
    case 'Conv':
    case 'MaxPool':
    case 'AveragePool': {
      needInputs(op === 'Conv' ? 2 : 1);
      if (op === 'MaxPool') unusedExtraOutputs('Indices');
      const xs = im.shapes.get(x) as Dim[];
      if (xs.length !== 4)
        fail(
          `${op} over ${xs.length - 2} spatial dimensions is not supported (2-D only, input ${formatShape(xs)})`,
        );
      let kernel = attrs.ints('kernel_shape');
      if (op === 'Conv') {
        const ws = im.shapes.get(inputs[1]) as Dim[];
        if (ws.length !== 4) fail(`weight must have rank 4, got ${formatShape(ws)}`);
        const wk = ws.slice(2);
        if (!isStaticShape(wk)) fail('kernel size must be static');
        if (kernel && (kernel[0] !== wk[0] || kernel[1] !== wk[1]))
          fail(`kernel_shape [${kernel.join(',')}] does not match the weight ${formatShape(ws)}`);
        kernel = wk as number[];
      }
      if (kernel?.length !== 2) fail('kernel_shape must have 2 values');
      const k = kernel as number[];
      const strides = attrs.ints('strides') ?? [1, 1];
      const dilations = attrs.ints('dilations') ?? [1, 1];
      let pads = attrs.ints('pads') ?? [0, 0, 0, 0];
      if (strides.length !== 2 || strides.some((s) => !(s >= 1)))
        fail(`strides [${strides.join(',')}] are invalid`);
      if (dilations.length !== 2 || dilations.some((s) => !(s >= 1)))
        fail(`dilations [${dilations.join(',')}] are invalid`);
      if (pads.length !== 4 || pads.some((p) => !(p >= 0))) fail(`pads [${pads.join(',')}] are invalid`);
      if (k.some((v) => !(v >= 1) || v > 1 << 16)) fail(`kernel_shape [${k.join(',')}] is invalid`);
      if (op === 'AveragePool' && dilations.some((d) => d !== 1))
        fail('AveragePool with dilations is not supported');
      const ceil = attrs.int('ceil_mode', 0) ? 1 : 0;
      const autoPad = attrs.string('auto_pad', 'NOTSET');
      if (autoPad === 'VALID') pads = [0, 0, 0, 0];
      else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
        const hw = xs.slice(2);
        if (!isStaticShape(hw)) fail(`${op} with auto_pad=${autoPad} needs static spatial dimensions`);
        const p: number[] = [0, 0, 0, 0];
        for (let i = 0; i < 2; i++) {
          const inSize = hw[i] as number;
          const outSize = Math.ceil(inSize / strides[i]);
          const total = Math.max(0, (outSize - 1) * strides[i] + (k[i] - 1) * dilations[i] + 1 - inSize);
          const small = Math.floor(total / 2);
          p[i] = autoPad === 'SAME_UPPER' ? small : total - small;
          p[i + 2] = total - p[i];
        }
        pads = p;
      } else if (autoPad !== 'NOTSET') fail(`${op} with auto_pad=${autoPad} is not supported`);
      if (op === 'Conv') {
        const group = attrs.int('group', 1);
        if (!(group >= 1)) fail(`group ${group} is invalid`);
        emit('Conv', [x, inputs[1], inputs[2] ?? ''], {
          kernel_shape: k,
          strides,
          pads,
          dilations,
          group,
        });
      } else if (op === 'MaxPool') {
        if (attrs.int('storage_order', 0) !== 0) fail('MaxPool with storage_order=1 is not supported');
        emit('MaxPool', [x], { kernel_shape: k, strides, pads, dilations, ceil_mode: ceil });
      } else {
        emit('AveragePool', [x], {
          kernel_shape: k,
          strides,
          pads,
          ceil_mode: ceil,
          count_include_pad: attrs.int('count_include_pad', 0) ? 1 : 0,
        });
      }
      return;
    }
    case 'BatchNormalization': {
      needInputs(5);
      unusedExtraOutputs('training statistics');
      if (attrs.int('training_mode', 0) !== 0)
        fail('BatchNormalization with training_mode=1 is not supported');
      if (attrs.int('spatial', 1) !== 1) fail('BatchNormalization with spatial=0 is not supported');
      const xs = im.shapes.get(x) as Dim[];
      if (xs.length < 2) fail(`input must have rank >= 2, got ${formatShape(xs)}`);
      const c = xs[1];
      if (typeof c !== 'number') fail('the channel dimension must be static');
      const params = [1, 2, 3, 4].map((i) => constOf(inputs[i], ['scale', 'B', 'mean', 'var'][i - 1]));
      for (const [i, p] of params.entries())
        if (p.data.length !== c || p.dtype !== 'float32')
          fail(`${['scale', 'B', 'mean', 'var'][i]} must be float32 [${c}], got ${formatShape(p.shape)}`);
      im.setShape(out, [...xs], 'float32', where);
      // Kept as an internal node until foldBatchNorms has seen the whole graph.
      im.nodes.push({
        name,
        op: 'BatchNormalization',
        inputs: inputs.slice(0, 5),
        outputs: [out],
        attrs: { epsilon: attrs.float('epsilon', 1e-5) },
      });
      return;
    }
    case 'Flatten': {
      needInputs(1);
      const rank = rankOf(x);
      let axis = attrs.int('axis', 1);
      if (axis < 0) axis += rank;
      if (axis < 0 || axis > rank) fail(`axis ${attrs.int('axis', 1)} is out of range for rank ${rank}`);
      emit('Flatten', [x], { axis });
      return;
    }
    case 'Reshape': {
      let target: string;
      if (attrs.has('shape')) target = im.newConst(`${name}/shape`, intVec(attrs.ints('shape') as number[]));
      else {
        needInputs(2);
        target = inputs[1];
      }
      const allowzero = attrs.int('allowzero', 0) ? 1 : 0;
      const c = im.consts.get(target);
      const dv = im.dimVecs.get(target);
      if (c) {
        if (c.dtype !== 'int32' || c.shape.length !== 1) fail('shape input must be a 1-D integer tensor');
        emit('Reshape', [x, target], allowzero && Array.from(c.data).includes(0) ? { allowzero: 1 } : {});
      } else if (dv) {
        emit(
          'Reshape',
          [x, im.newConst(`${name}/shape`, intVec(symbolicReshapeTarget(im, x, dv, fail)))],
          {},
        );
      } else fail('shape input must be a constant (or shape arithmetic on the input shape)');
      return;
    }
    case 'Transpose': {
      needInputs(1);
      const rank = rankOf(x);
      const perm = attrs.ints('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
      emit('Transpose', [x], { perm });
      return;
    }
    case 'Squeeze':
    case 'Unsqueeze': {
      needInputs(1);
      const xs = im.shapes.get(x) as Dim[];
      let axes = attrs.ints('axes');
      if (!axes && inputs[1]) axes = axesInput(constOf(inputs[1], 'axes input'));
      const outRank = op === 'Squeeze' ? xs.length : xs.length + (axes?.length ?? 0);
      if (!axes) {
        if (op === 'Unsqueeze') fail('Unsqueeze needs axes');
        if (xs.some((d) => typeof d === 'string'))
          fail('Squeeze without axes on a dynamic dimension is ambiguous');
        axes = xs.flatMap((d, i) => (d === 1 ? [i] : []));
      }
      const norm = [...new Set((axes as number[]).map((a) => normAxis(a, outRank, { name, op })))].sort(
        (a, b) => a - b,
      );
      if (norm.length !== (axes as number[]).length) fail('axes contain duplicates');
      emit(op, [x], { axes: norm });
      return;
    }
    case 'Concat': {
      if (inputs.length === 0 || inputs.some((v) => v === '')) fail('Concat needs its inputs');
      const rank = rankOf(x);
      if (!attrs.has('axis')) fail('Concat needs the axis attribute');
      emit('Concat', inputs, { axis: normAxis(attrs.int('axis', 0), rank, { name, op }) });
      return;
    }
    case 'Gather': {
      needInputs(2);
      emit('Gather', [x, inputs[1]], { axis: normAxis(attrs.int('axis', 0), rankOf(x), { name, op }) });
      return;
    }
    case 'Clip': {
      needInputs(1);
      let min = attrs.float('min', -FLT_MAX);
      let max = attrs.float('max', FLT_MAX);
      const scalar = (v: string, what: string) => {
        const t = constOf(v, `Clip ${what}`);
        if (t.data.length !== 1) fail(`Clip ${what} must be a scalar`);
        return t.data[0];
      };
      if (inputs[1]) min = scalar(inputs[1], 'min');
      if (inputs[2]) max = scalar(inputs[2], 'max');
      emit('Clip', [x], { min, max });
      return;
    }
    case 'ArgMax': {
      needInputs(1);
      emit('ArgMax', [x], {
        axis: normAxis(attrs.int('axis', 0), rankOf(x), { name, op }),
        keepdims: attrs.int('keepdims', 1) ? 1 : 0,
        select_last_index: attrs.int('select_last_index', 0) ? 1 : 0,
      });
      return;
    }
    case 'ReduceMean': {
      needInputs(1);
      const rank = rankOf(x);
      let axes = attrs.ints('axes');
      if (!axes && inputs[1]) axes = axesInput(constOf(inputs[1], 'axes input'));
      if (!axes || axes.length === 0) {
        if (attrs.int('noop_with_empty_axes', 0)) {
          im.alias.set(out, x);
          return;
        }
        axes = Array.from({ length: rank }, (_, i) => i);
      }
      const norm = [...new Set(axes.map((a) => normAxis(a, rank, { name, op })))].sort((a, b) => a - b);
      emit('ReduceMean', [x], { axes: norm, keepdims: attrs.int('keepdims', 1) ? 1 : 0 });
      return;
    }
    case 'LayerNormalization': {
      needInputs(2);
      unusedExtraOutputs('Mean/InvStdDev');
      if (attrs.int('stash_type', 1) !== 1)
        fail(`LayerNormalization with stash_type=${attrs.int('stash_type', 1)} is not supported`);
      const xs = im.shapes.get(x) as Dim[];
      const axis = normAxis(attrs.int('axis', -1), xs.length, { name, op });
      if (!isStaticShape(xs.slice(axis))) fail('the normalised dimensions must be static');
      const normShape = xs.slice(axis) as number[];
      const scale = expandConst(constOf(inputs[1], 'Scale'), normShape, 'Scale', fail);
      const bias = inputs[2]
        ? expandConst(constOf(inputs[2], 'B'), normShape, 'B', fail)
        : { dtype: 'float32' as const, shape: normShape, data: new Float32Array(staticSize(normShape)) };
      emit(
        'LayerNormalization',
        [x, im.newConst(`${name}/scale`, scale), im.newConst(`${name}/bias`, bias)],
        {
          axis,
          epsilon: attrs.float('epsilon', 1e-5),
        },
      );
      return;
    }
    default:
      fail(`operator ${op} is not supported`);
  }
}

function intVec(v: number[]): IntTensor {
  return { dtype: 'int32', shape: [v.length], data: Int32Array.from(v, toInt32) };
}

/** A float constant broadcast to exactly `shape` (LayerNormalization scale and bias). */
function expandConst(t: Tensor, shape: number[], what: string, fail: (m: string) => never): Tensor {
  if (t.dtype !== 'float32') fail(`${what} must be float32`);
  const b = broadcastShapes(shape, t.shape);
  if (!b || b.length !== shape.length || b.some((d, i) => d !== shape[i]))
    fail(`shape mismatch: ${what} ${formatShape(t.shape)} does not broadcast to ${formatShape(shape)}`);
  const n = staticSize(shape);
  if (t.data.length === n) return { dtype: 'float32', shape, data: t.data as Float32Array };
  const one = runNode(
    { name: 'expand', op: 'Mul', inputs: ['a', 'b'], outputs: ['y'], attrs: {} },
    [t, { dtype: 'float32', shape, data: new Float32Array(n).fill(1) }],
    () => undefined,
  )[0];
  return one;
}

// ---- shape arithmetic on the dynamic batch ----------------------------------------------------

function dimVecOf(im: Importer, v: string): DimVec | undefined {
  if (!v) return undefined;
  const d = im.dimVecs.get(v);
  if (d) return d;
  const c = im.consts.get(v);
  if (c && c.dtype === 'int32' && c.shape.length <= 1) return { shape: c.shape, dims: Array.from(c.data) };
  return undefined;
}

/** Records a shape-arithmetic result: a constant when fully known, a DimVec when symbolic. */
function setDimVec(im: Importer, name: string, v: DimVec, what: string): void {
  if (isStaticShape(v.dims)) {
    im.addConst(name, { dtype: 'int32', shape: v.shape, data: Int32Array.from(v.dims, toInt32) }, what);
    return;
  }
  im.dimVecs.set(name, v);
  im.shapes.set(name, v.shape);
  im.dtypes.set(name, 'int32');
}

/**
 * Shape, Size, and Gather/Unsqueeze/Squeeze/Concat/Slice/Cast/arithmetic on their results:
 * evaluated at import over symbolic dims. Returns false when the node is not shape arithmetic.
 */
function handleShapeArithmetic(
  im: Importer,
  op: string,
  inputs: string[],
  outputs: string[],
  attrs: Attrs,
  where: { node: string; op: string },
): boolean {
  const fail = (msg: string): never => {
    throw new ModelError(msg, where);
  };
  const out = outputs[0];
  const x = inputs[0] ?? '';
  const what = `node "${where.node}"`;
  if (op === 'Shape' || op === 'Size') {
    const s = im.shapes.get(x);
    if (!s) fail(`input "${x}" has no known shape`);
    const shape = s as Dim[];
    if (op === 'Size') {
      setDimVec(im, out, { shape: [], dims: [dimProduct(shape)] }, what);
      return true;
    }
    const r = shape.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const start = clamp(attrs.int('start', 0));
    const end = clamp(attrs.int('end', r));
    const dims = shape.slice(start, Math.max(start, end));
    setDimVec(im, out, { shape: [dims.length], dims }, what);
    return true;
  }
  const isSym = (v: string) => im.dimVecs.has(v);
  if (!inputs.some(isSym)) {
    // Slice on constants is folded here too (it is not a runtime operator).
    if (op !== 'Slice') return false;
    if (!im.consts.has(x)) return false;
  }
  switch (op) {
    case 'Cast':
    case 'Identity': {
      const to = attrs.int('to', 7);
      if (op === 'Cast' && isFloatType(to)) fail('Cast of a shape to float is not supported');
      im.alias.set(out, x);
      return true;
    }
    case 'Gather': {
      const d = dimVecOf(im, x) as DimVec;
      if (!d) fail('Gather with indices computed from dynamic dimensions is not supported');
      const idx = im.consts.get(inputs[1]);
      if (idx?.dtype !== 'int32') fail('Gather on a shape needs constant integer indices');
      if (d.shape.length !== 1) fail('Gather on a shape needs a 1-D shape');
      const len = d.dims.length;
      const dims = Array.from((idx as Tensor).data, (i) => {
        if (i < -len || i >= len) fail(`index ${i} is out of range for a shape of length ${len}`);
        return d.dims[i < 0 ? i + len : i];
      });
      setDimVec(im, out, { shape: (idx as Tensor).shape, dims }, what);
      return true;
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const d = dimVecOf(im, x) as DimVec;
      if (!d) fail(`${op} with axes computed from dynamic dimensions is not supported`);
      const shape =
        op === 'Unsqueeze'
          ? d.shape.length === 0
            ? [1]
            : [...d.shape, 1]
          : d.dims.length === 1
            ? []
            : d.shape;
      if (op === 'Unsqueeze' && d.shape.length > 0) {
        const axes =
          attrs.ints('axes') ?? (inputs[1] ? Array.from(im.consts.get(inputs[1])?.data ?? []) : []);
        if (axes.length !== 1 || ![0, -2].includes(axes[0]))
          fail('Unsqueeze of a 1-D shape is only supported on axis 0');
        setDimVec(im, out, { shape: [1, d.dims.length], dims: d.dims }, what);
        return true;
      }
      setDimVec(im, out, { shape, dims: d.dims }, what);
      return true;
    }
    case 'Concat': {
      const dims: Dim[] = [];
      for (const v of inputs) {
        const d = dimVecOf(im, v);
        if (d?.shape.length !== 1) fail(`Concat of shapes needs 1-D integer inputs ("${v}" is not)`);
        dims.push(...(d as DimVec).dims);
      }
      setDimVec(im, out, { shape: [dims.length], dims }, what);
      return true;
    }
    case 'Slice': {
      const d = dimVecOf(im, x);
      if (!d) return false;
      if (d.shape.length !== 1) fail('Slice of a shape needs a 1-D input');
      const vec = (k: number, attr: string): number[] | undefined => {
        const a = attrs.ints(attr);
        if (a) return a;
        const v = inputs[k];
        if (!v) return undefined;
        const c = im.consts.get(v);
        if (!c) fail(`Slice ${attr} must be constant`);
        return Array.from((c as Tensor).data);
      };
      const starts = vec(1, 'starts') ?? [0];
      const ends = vec(2, 'ends') ?? [d.dims.length];
      const axes = vec(3, 'axes') ?? [0];
      const steps = vec(4, 'steps') ?? [1];
      if (starts.length !== 1 || ends.length !== 1 || ![0, -1].includes(axes[0]) || steps[0] === 0)
        fail('Slice of a shape supports one axis');
      const len = d.dims.length;
      const step = steps[0];
      const norm = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + len : v, lo), hi);
      const dims: Dim[] = [];
      if (step > 0)
        for (let i = norm(starts[0], 0, len); i < norm(ends[0], 0, len); i += step) dims.push(d.dims[i]);
      else
        for (let i = norm(starts[0], -1, len - 1); i > norm(ends[0], -1, len - 1); i += step)
          dims.push(d.dims[i]);
      setDimVec(im, out, { shape: [dims.length], dims }, what);
      return true;
    }
    case 'Mul':
    case 'Div':
    case 'Add':
    case 'Sub': {
      const a = dimVecOf(im, x);
      const b = dimVecOf(im, inputs[1]);
      if (!a || !b) fail(`${op} mixes a shape with a non-constant tensor`);
      const A = a as DimVec;
      const B = b as DimVec;
      const n = Math.max(A.dims.length, B.dims.length);
      if ((A.dims.length !== n && A.dims.length !== 1) || (B.dims.length !== n && B.dims.length !== 1))
        fail('shape arithmetic on vectors of different lengths');
      const dims: Dim[] = [];
      for (let i = 0; i < n; i++) {
        const p = A.dims[A.dims.length === 1 ? 0 : i];
        const q = B.dims[B.dims.length === 1 ? 0 : i];
        let r: Dim | undefined;
        if (op === 'Mul') r = dimMul(p, q);
        else if (op === 'Div') r = dimDiv(p, q);
        else if (typeof p === 'number' && typeof q === 'number') r = op === 'Add' ? p + q : p - q;
        else if (op === 'Sub' && q === 0) r = p;
        else if (op === 'Add' && (q === 0 || p === 0)) r = q === 0 ? p : q;
        if (r === undefined) fail(`${op} of dimensions ${p} and ${q} cannot be expressed`);
        dims.push(r as Dim);
      }
      setDimVec(im, out, { shape: A.shape.length >= B.shape.length ? A.shape : B.shape, dims }, what);
      return true;
    }
    case 'Reshape':
      return false;
    default:
      fail(`${op} on a shape computed from the dynamic dimensions is not supported`);
      return true;
  }
}

/** Turns a target with symbolic entries into 0 (copy the input's dim) or -1 (infer). */
function symbolicReshapeTarget(im: Importer, x: string, dv: DimVec, fail: (m: string) => never): number[] {
  const xs = im.shapes.get(x) as Dim[];
  const hasMinusOne = dv.dims.includes(-1);
  let inferred = false;
  return dv.dims.map((d, i) => {
    if (typeof d === 'number') return d;
    if (i < xs.length && dimEq(xs[i], d)) return 0;
    if (hasMinusOne || inferred) fail(`Reshape target entry ${i} ("${d}") cannot be expressed with 0 or -1`);
    inferred = true;
    return -1;
  });
}

// ---- graph passes -----------------------------------------------------------------------------

function consumers(nodes: INode[]): Map<string, INode[]> {
  const m = new Map<string, INode[]>();
  for (const n of nodes)
    for (const v of new Set(n.inputs)) {
      if (!v) continue;
      const l = m.get(v);
      if (l) l.push(n);
      else m.set(v, [n]);
    }
  return m;
}

function producers(nodes: INode[]): Map<string, INode> {
  const m = new Map<string, INode>();
  for (const n of nodes) for (const o of n.outputs) m.set(o, n);
  return m;
}

/** True when `v` is read by exactly the given node and is not a graph output. */
function onlyUsedBy(uses: Map<string, INode[]>, outs: Set<string>, v: string, node: INode): boolean {
  const u = uses.get(v);
  return !outs.has(v) && u !== undefined && u.length === 1 && u[0] === node;
}

function floatConst(im: Importer, v: string): Float32Array | undefined {
  const t = im.consts.get(v);
  return t && t.dtype === 'float32' ? t.data : undefined;
}

/** Folds each BatchNormalization into the Conv/Gemm/MatMul before it, or lowers it to Mul + Add. */
function foldBatchNorms(im: Importer, nodes: INode[], outputNames: string[]): void {
  const outs = new Set(outputNames);
  for (let i = 0; i < nodes.length; i++) {
    const bn = nodes[i];
    if (bn.op !== 'BatchNormalization') continue;
    const [x, scaleName, biasName, meanName, varName] = bn.inputs;
    const gamma = floatConst(im, scaleName) as Float32Array;
    const beta = floatConst(im, biasName) as Float32Array;
    const mean = floatConst(im, meanName) as Float32Array;
    const variance = floatConst(im, varName) as Float32Array;
    const eps = bn.attrs.epsilon as number;
    const C = gamma.length;
    // y = s * x + t with s = gamma / sqrt(var + eps), t = beta - mean * s (computed in float64).
    const s = new Float64Array(C);
    const t = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      s[c] = gamma[c] / Math.sqrt(variance[c] + eps);
      t[c] = beta[c] - mean[c] * s[c];
    }
    const uses = consumers(nodes);
    const prod = producers(nodes).get(x);
    if (prod && onlyUsedBy(uses, outs, x, bn) && tryFold(im, prod, s, t, bn)) {
      prod.outputs = [bn.outputs[0]];
      nodes.splice(i, 1);
      i--;
      continue;
    }
    // Lower to Mul + Add with per-channel constants shaped [C, 1, ..., 1].
    const rank = (im.shapes.get(x) as Dim[]).length;
    const cshape = [C, ...new Array(rank - 2).fill(1)];
    const sName = im.newConst(`${bn.name}/scale`, {
      dtype: 'float32',
      shape: cshape,
      data: Float32Array.from(s),
    });
    const tName = im.newConst(`${bn.name}/shift`, {
      dtype: 'float32',
      shape: cshape,
      data: Float32Array.from(t),
    });
    const mid = im.fresh(`${bn.name}/scaled`);
    im.shapes.set(mid, im.shapes.get(x) as Dim[]);
    im.dtypes.set(mid, 'float32');
    nodes.splice(
      i,
      1,
      { name: `${bn.name}/mul`, op: 'Mul', inputs: [x, sName], outputs: [mid], attrs: {} },
      { name: `${bn.name}/add`, op: 'Add', inputs: [mid, tName], outputs: [bn.outputs[0]], attrs: {} },
    );
    i++;
  }
}

function tryFold(im: Importer, p: INode, s: Float64Array, t: Float64Array, bn: INode): boolean {
  const C = s.length;
  if (p.op === 'Conv') {
    const w = im.consts.get(p.inputs[1]);
    if (w?.dtype !== 'float32' || w.shape[0] !== C) return false;
    const b = p.inputs[2] ? floatConst(im, p.inputs[2]) : undefined;
    if (p.inputs[2] && !b) return false;
    const per = w.data.length / C;
    const nw = new Float32Array(w.data.length);
    for (let c = 0; c < C; c++) for (let k = 0; k < per; k++) nw[c * per + k] = w.data[c * per + k] * s[c];
    const nb = new Float32Array(C);
    for (let c = 0; c < C; c++) nb[c] = (b ? b[c] : 0) * s[c] + t[c];
    p.inputs = [
      p.inputs[0],
      im.newConst(`${bn.name}/folded_W`, { dtype: 'float32', shape: w.shape, data: nw }),
      im.newConst(`${bn.name}/folded_B`, { dtype: 'float32', shape: [C], data: nb }),
    ];
    return true;
  }
  if (p.op === 'Gemm' || p.op === 'MatMul') {
    const w = im.consts.get(p.inputs[1]);
    if (w?.dtype !== 'float32' || w.shape.length !== 2) return false;
    if (p.op === 'MatMul' && (im.shapes.get(p.inputs[0]) as Dim[]).length !== 2) return false;
    const transB = p.op === 'Gemm' && p.attrs.transB === 1;
    const [K, N] = transB ? [w.shape[1], w.shape[0]] : w.shape;
    if (N !== C) return false;
    const alpha = p.op === 'Gemm' ? (p.attrs.alpha as number) : 1;
    const beta = p.op === 'Gemm' ? (p.attrs.beta as number) : 1;
    const nw = new Float32Array(w.data.length);
    for (let k = 0; k < K; k++)
      for (let n = 0; n < N; n++) {
        const idx = transB ? n * K + k : k * N + n;
        nw[idx] = w.data[idx] * s[n] * alpha;
      }
    // New C = s * beta * C + t, kept per row when C varies along rows.
    const cName = p.op === 'Gemm' ? p.inputs[2] : undefined;
    const c = cName ? im.consts.get(cName) : undefined;
    if (cName && c?.dtype !== 'float32') return false;
    let rows = 1;
    if (c) {
      const cs = c.shape.length === 2 ? c.shape : [1, c.shape.length === 1 ? c.shape[0] : 1];
      rows = cs[0];
      if (cs[1] !== N && cs[1] !== 1) return false;
    }
    const nc = new Float32Array(rows * N);
    for (let r = 0; r < rows; r++)
      for (let n = 0; n < N; n++) {
        let cv = 0;
        if (c) {
          const cols = c.shape.length === 2 ? c.shape[1] : c.shape.length === 1 ? c.shape[0] : 1;
          cv = c.data[r * cols + (cols === 1 ? 0 : n)];
        }
        nc[r * N + n] = s[n] * beta * cv + t[n];
      }
    const transA = p.op === 'Gemm' ? (p.attrs.transA as number) : 0;
    p.op = 'Gemm';
    p.attrs = { alpha: 1, beta: 1, transA, transB: transB ? 1 : 0 };
    p.inputs = [
      p.inputs[0],
      im.newConst(`${bn.name}/folded_W`, { dtype: 'float32', shape: w.shape, data: nw }),
      im.newConst(`${bn.name}/folded_C`, { dtype: 'float32', shape: rows > 1 ? [rows, N] : [N], data: nc }),
    ];
    return true;
  }
  return false;
}

function scalarConst(im: Importer, v: string): number | undefined {
  const t = im.consts.get(v);
  if (t?.dtype !== 'float32' || t.data.length === 0) return undefined;
  const x = t.data[0];
  for (let i = 1; i < t.data.length; i++) if (t.data[i] !== x) return undefined;
  // Only shapes that cannot broadcast the other operand up.
  if (t.shape.some((d) => d !== 1)) return undefined;
  return x;
}

/** The other input of a binary node, when one input is `v`. */
function otherInput(n: INode, v: string): string | undefined {
  if (n.inputs[0] === v) return n.inputs[1];
  if (n.inputs[1] === v) return n.inputs[0];
  return undefined;
}

function near(a: number | undefined, b: number, tol = 1e-4): boolean {
  return a !== undefined && Math.abs(a - b) <= tol;
}

/** Replaces nodes `remove` with `add` placed where the last removed node was. */
function replaceNodes(nodes: INode[], remove: INode[], add: INode): void {
  const idx = Math.max(...remove.map((r) => nodes.indexOf(r)));
  nodes[idx] = add;
  const drop = new Set(remove);
  for (let i = nodes.length - 1; i >= 0; i--) if (i !== idx && drop.has(nodes[i])) nodes.splice(i, 1);
}

/**
 * PyTorch (opset < 17) exports LayerNorm as mean = ReduceMean(x); d = x - mean;
 * var = ReduceMean(Pow(d, 2)); y = d / Sqrt(var + eps) [* gamma] [+ beta]. Fused into one node.
 */
function fuseLayerNorms(im: Importer, nodes: INode[], outputNames: string[]): void {
  const outs = new Set(outputNames);
  for (let i = 0; i < nodes.length; i++) {
    const r1 = nodes[i];
    if (r1.op !== 'ReduceMean' || r1.attrs.keepdims !== 1) continue;
    const x = r1.inputs[0];
    const xs = im.shapes.get(x) as Dim[];
    const axes = r1.attrs.axes as number[];
    const axis = axes[0];
    if (axes.some((a, k) => a !== axis + k) || axes[axes.length - 1] !== xs.length - 1) continue;
    const uses = consumers(nodes);
    const one = (v: string): INode | undefined => {
      const u = uses.get(v);
      return !outs.has(v) && u?.length === 1 ? u[0] : undefined;
    };
    const sub = one(r1.outputs[0]);
    if (sub?.op !== 'Sub' || sub.inputs[0] !== x || sub.inputs[1] !== r1.outputs[0]) continue;
    const d = sub.outputs[0];
    const dUses = uses.get(d) ?? [];
    if (outs.has(d) || dUses.length !== 2) continue;
    const sq = dUses.find((n) => n.op === 'Pow' || n.op === 'Mul');
    const div = dUses.find((n) => n.op === 'Div');
    if (!sq || !div || div.inputs[0] !== d) continue;
    if (
      sq.op === 'Pow'
        ? !(sq.inputs[0] === d && scalarConst(im, sq.inputs[1]) === 2)
        : sq.inputs[0] !== d || sq.inputs[1] !== d
    )
      continue;
    const r2 = one(sq.outputs[0]);
    if (
      r2?.op !== 'ReduceMean' ||
      r2.attrs.keepdims !== 1 ||
      (r2.attrs.axes as number[]).join() !== axes.join()
    )
      continue;
    let next = one(r2.outputs[0]);
    let eps = 0;
    const chain = [r1, sub, sq, r2];
    if (next?.op === 'Add') {
      const e = scalarConst(im, otherInput(next, r2.outputs[0]) ?? '');
      if (e === undefined) continue;
      eps = e;
      chain.push(next);
      next = one(next.outputs[0]);
    }
    if (next?.op !== 'Sqrt') continue;
    chain.push(next);
    if (one(next.outputs[0]) !== div || div.inputs[1] !== next.outputs[0]) continue;
    chain.push(div);
    const normShape = xs.slice(axis);
    if (!isStaticShape(normShape)) continue;
    const n = staticSize(normShape);
    let gamma: Tensor = { dtype: 'float32', shape: normShape, data: new Float32Array(n).fill(1) };
    let beta: Tensor = { dtype: 'float32', shape: normShape, data: new Float32Array(n) };
    let last = div;
    const affine = (node: INode | undefined, op: 'Mul' | 'Add'): Tensor | undefined => {
      if (!node || node.op !== op) return undefined;
      const o = otherInput(node, last.outputs[0]);
      const c = o ? im.consts.get(o) : undefined;
      if (c?.dtype !== 'float32') return undefined;
      // The constant must not broadcast the result beyond x's shape.
      const b = broadcastShapes(xs, c.shape);
      if (!b || b.length !== xs.length || b.some((dd, k) => !dimEq(dd, xs[k]))) return undefined;
      const lead = c.shape.slice(0, Math.max(0, c.shape.length - normShape.length));
      if (lead.some((dd) => dd !== 1)) return undefined;
      const inner: Tensor = {
        ...c,
        shape: c.shape.slice(c.shape.length - Math.min(c.shape.length, normShape.length)),
      };
      return expandConst(inner, normShape, op, () => {
        throw new Error('unreachable');
      });
    };
    const g = affine(one(last.outputs[0]), 'Mul');
    if (g) {
      gamma = g;
      last = one(last.outputs[0]) as INode;
      chain.push(last);
    }
    const b = affine(one(last.outputs[0]), 'Add');
    if (b) {
      beta = b;
      last = one(last.outputs[0]) as INode;
      chain.push(last);
    }
    const ln: INode = {
      name: `${r1.name}/layer_norm`,
      op: 'LayerNormalization',
      inputs: [x, im.newConst(`${r1.name}/ln_scale`, gamma), im.newConst(`${r1.name}/ln_bias`, beta)],
      outputs: [last.outputs[0]],
      attrs: { axis, epsilon: eps },
    };
    replaceNodes(nodes, chain, ln);
    i = -1; // indices moved; rescan (patterns are few)
  }
}

/** The Erf form of Gelu, x * 0.5 * (1 + erf(x / sqrt(2))), in the operand orders exporters use. */
function fuseGelus(im: Importer, nodes: INode[], outputNames: string[]): void {
  const outs = new Set(outputNames);
  for (let i = 0; i < nodes.length; i++) {
    const erf = nodes[i];
    if (erf.op !== 'Erf') continue;
    const uses = consumers(nodes);
    const prod = producers(nodes);
    const one = (v: string): INode | undefined => {
      const u = uses.get(v);
      return !outs.has(v) && u?.length === 1 ? u[0] : undefined;
    };
    const pre = prod.get(erf.inputs[0]);
    if (!pre || !onlyUsedBy(uses, outs, erf.inputs[0], erf)) continue;
    let x: string | undefined;
    if (pre.op === 'Div' && near(scalarConst(im, pre.inputs[1]), Math.SQRT2)) x = pre.inputs[0];
    else if (pre.op === 'Mul') {
      for (const k of [0, 1])
        if (near(scalarConst(im, pre.inputs[1 - k]), Math.SQRT1_2) && !im.consts.has(pre.inputs[k]))
          x = pre.inputs[k];
    }
    if (!x) continue;
    const add = one(erf.outputs[0]);
    if (add?.op !== 'Add' || !near(scalarConst(im, otherInput(add, erf.outputs[0]) ?? ''), 1)) continue;
    const m1 = one(add.outputs[0]);
    if (m1?.op !== 'Mul') continue;
    const o = otherInput(m1, add.outputs[0]) as string;
    const chain = [pre, erf, add, m1];
    let final: INode;
    if (o === x) {
      const m2 = one(m1.outputs[0]);
      if (m2?.op !== 'Mul' || !near(scalarConst(im, otherInput(m2, m1.outputs[0]) ?? ''), 0.5)) continue;
      chain.push(m2);
      final = m2;
    } else {
      const half = prod.get(o);
      if (half?.op !== 'Mul' || !onlyUsedBy(uses, outs, o, m1)) continue;
      if (!near(scalarConst(im, otherInput(half, x) ?? ''), 0.5)) continue;
      chain.push(half);
      final = m1;
    }
    const xs = im.shapes.get(x) as Dim[];
    const fs = im.shapes.get(final.outputs[0]) as Dim[];
    if (xs.length !== fs.length || xs.some((d, k) => !dimEq(d, fs[k]))) continue;
    replaceNodes(nodes, chain, {
      name: `${erf.name}/gelu`,
      op: 'Gelu',
      inputs: [x],
      outputs: [final.outputs[0]],
      attrs: { approximate: 'none' },
    });
    i = -1;
  }
}

/** Maps graph outputs through removed Identity/Dropout nodes, then drops dead nodes. */
function finishOutputs(
  im: Importer,
  nodes: INode[],
  outputNames: string[],
  inputNames: Set<string>,
): INode[] {
  const outSet = new Set(outputNames);
  for (const o of outputNames) {
    const r = im.resolve(o);
    if (r === o && (producers(nodes).has(o) || inputNames.has(o))) continue;
    if (im.consts.has(r))
      throw new ModelError(`graph output "${o}" is a constant; the model computes nothing`);
    if (im.dimVecs.has(r)) throw new ModelError(`graph output "${o}" is a shape computation, not a tensor`);
    const prod = producers(nodes).get(r);
    if (prod && !outSet.has(r)) {
      // Rename the producer's output to the graph output name.
      prod.outputs = prod.outputs.map((v) => (v === r ? o : v));
      for (const n of nodes) n.inputs = n.inputs.map((v) => (v === r ? o : v));
      for (const [k, v] of im.alias) if (v === r) im.alias.set(k, o);
      im.shapes.set(o, im.shapes.get(r) as Dim[]);
      im.dtypes.set(o, im.dtypes.get(r) ?? 'float32');
      continue;
    }
    // The output is a graph input or another output: copy it with an identity Reshape.
    const shape = im.shapes.get(r) as Dim[];
    const zeros = im.newConst(`${o}/identity_shape`, intVec(new Array(shape.length).fill(0)));
    nodes.push({ name: `${o}/identity`, op: 'Reshape', inputs: [r, zeros], outputs: [o], attrs: {} });
    im.shapes.set(o, shape);
    im.dtypes.set(o, im.dtypes.get(r) ?? 'float32');
  }
  // Dead-code elimination, backwards.
  const live = new Set(outputNames);
  const kept: INode[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!n.outputs.some((o) => live.has(o))) continue;
    for (const v of n.inputs) if (v) live.add(v);
    kept.push(n);
  }
  return kept.reverse();
}

function assemble(
  im: Importer,
  name: string,
  inputs: ValueInfo[],
  nodes: INode[],
  outputNames: string[],
  declared: onnx.onnx.IValueInfoProto[],
): Graph {
  for (const n of nodes)
    if (!OP_SET.has(n.op))
      throw new ModelError(`operator ${n.op} remained after normalisation`, { node: n.name, op: n.op });
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const initializers = new Map<string, Tensor>();
  for (const [k, t] of im.consts) if (used.has(k)) initializers.set(k, t);
  const graph: Graph = {
    name,
    opset: im.opset,
    inputs,
    outputs: outputNames.map((o) => ({ name: o, shape: im.shapes.get(o) as Dim[] })),
    initializers,
    nodes: nodes as GraphNode[],
    shapes: new Map(),
  };
  graph.shapes = inferShapes(graph, undefined, im.limits.maxTensorElements);
  graph.outputs = outputNames.map((o) => {
    const shape = graph.shapes.get(o);
    if (!shape) throw new ModelError(`graph output "${o}" has no inferred shape`);
    return { name: o, shape };
  });
  // A declared output shape that contradicts the inferred one means the file is inconsistent.
  declared.forEach((vi, k) => {
    const dims = vi.type?.tensorType?.shape?.dim;
    if (!dims) return;
    const inferred = graph.outputs[k].shape;
    const mismatch =
      dims.length !== inferred.length ||
      dims.some((d, i) => {
        const v = d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : 0;
        return v > 0 && typeof inferred[i] === 'number' && inferred[i] !== v;
      });
    if (mismatch)
      throw new ModelError(
        `shape mismatch: graph output "${vi.name}" is declared ${formatShape(dims.map((d) => d.dimParam || toNumber(d.dimValue) || '?'))} but computes ${formatShape(inferred)}`,
      );
  });
  return graph;
}
