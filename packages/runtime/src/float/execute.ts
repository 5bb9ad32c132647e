// The float32 reference executor: runs a normalised Graph with ONNX semantics. The quantizer
// calibrates against it and tests hold it to onnxruntime-node within 1e-4. Output shapes come
// from the shared shape rules (src/shape.ts), so every run re-checks the model's shapes for the
// actual batch. Not consensus code. Browser-safe: no node: imports.
import {
  type FloatTensor,
  type Graph,
  type GraphNode,
  type IntTensor,
  ModelError,
  type Tensor,
} from '../graph.ts';
import { formatShape, inferNodeShapes } from '../shape.ts';
import {
  argMax,
  averagePool,
  binary,
  concat,
  conv,
  floatOf,
  gather,
  gemm,
  globalAveragePool,
  layerNorm,
  matmul,
  maxPool,
  reduceMean,
  softmax,
  transpose,
  unary,
  view,
  type WindowAttrs,
} from './kernels.ts';

export type RunFloatOptions = { trace?: boolean };
export type RunFloatResult = { outputs: Record<string, Tensor>; trace?: Map<string, Tensor> };

/**
 * Runs the graph on float32 (and int32 index) inputs. Symbolic input dims are bound from the
 * given tensors (one value per symbol across all inputs); numeric dims must match exactly.
 * With `trace`, every value computed (node outputs) is returned by name.
 */
export function runFloat(
  graph: Graph,
  inputs: Record<string, FloatTensor | IntTensor>,
  opts: RunFloatOptions = {},
): RunFloatResult {
  const values = new Map<string, Tensor>();
  for (const [name, t] of graph.initializers) values.set(name, t);
  bindInputs(graph, inputs, values);
  const trace = opts.trace ? new Map<string, Tensor>() : undefined;
  // Free intermediates after their last use unless tracing.
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    for (const v of n.inputs) lastUse.set(v, i);
  });
  const keep = new Set(graph.outputs.map((o) => o.name));
  for (let i = 0; i < graph.nodes.length; i++) {
    const node = graph.nodes[i];
    const ins = node.inputs.map((name) => {
      if (name === '') return undefined;
      const t = values.get(name);
      if (!t) throw new ModelError(`input "${name}" has not been computed`, { node: node.name, op: node.op });
      return t;
    });
    const outs = runNode(node, ins, (name) => values.get(name), graph.initializers);
    node.outputs.forEach((name, k) => {
      const t = outs[k];
      if (!t) return;
      values.set(name, t);
      trace?.set(name, t);
    });
    if (!trace)
      for (const name of node.inputs)
        if (lastUse.get(name) === i && !keep.has(name) && !graph.initializers.has(name)) values.delete(name);
  }
  const outputs: Record<string, Tensor> = {};
  for (const o of graph.outputs) {
    const t = values.get(o.name);
    if (!t) throw new ModelError(`graph output "${o.name}" was not computed`);
    outputs[o.name] = t;
  }
  return trace ? { outputs, trace } : { outputs };
}

function bindInputs(
  graph: Graph,
  inputs: Record<string, FloatTensor | IntTensor>,
  values: Map<string, Tensor>,
): void {
  const bound = new Map<string, number>();
  for (const vi of graph.inputs) {
    const t = inputs[vi.name];
    if (!t) throw new ModelError(`input "${vi.name}" is missing`);
    if (t.dtype !== 'float32' && t.dtype !== 'int32')
      throw new ModelError(`input "${vi.name}" must be float32 or int32, got ${String((t as Tensor).dtype)}`);
    let n = 1;
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 0)
        throw new ModelError(`input "${vi.name}" has an invalid shape ${formatShape(t.shape)}`);
      n *= d;
    }
    if (n !== t.data.length)
      throw new ModelError(
        `input "${vi.name}" has ${t.data.length} values but shape ${formatShape(t.shape)} needs ${n}`,
      );
    const mismatch = () =>
      new ModelError(
        `input "${vi.name}" has shape ${formatShape(t.shape)}, the model expects ${formatShape(vi.shape)}`,
      );
    if (t.shape.length !== vi.shape.length) throw mismatch();
    vi.shape.forEach((d, i) => {
      const actual = t.shape[i];
      if (typeof d === 'number') {
        if (d !== actual) throw mismatch();
      } else {
        const prev = bound.get(d);
        if (prev !== undefined && prev !== actual)
          throw new ModelError(
            `input "${vi.name}" dim ${i} is ${actual} but "${d}" is already bound to ${prev} by another input`,
          );
        bound.set(d, actual);
      }
    });
    values.set(vi.name, t);
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
  return v;
}

function windowAttrs(node: GraphNode): WindowAttrs {
  return {
    kernel_shape: ints(node, 'kernel_shape'),
    strides: ints(node, 'strides'),
    pads: ints(node, 'pads'),
    dilations: Array.isArray(node.attrs.dilations) ? (node.attrs.dilations as number[]) : [1, 1],
  };
}

/**
 * Executes one node on concrete tensors; exported so import-time constant folding and the
 * quantizer use the same code. `weights` (the graph's initializers) lets Gemm/MatMul keep a
 * transposed copy of constant weight matrices across runs.
 */
export function runNode(
  node: GraphNode,
  ins: (Tensor | undefined)[],
  constant: (name: string) => Tensor | undefined,
  weights?: ReadonlyMap<string, Tensor>,
): Tensor[] {
  const where = { node: node.name, op: node.op };
  const bIsWeight = weights !== undefined && ins[1] !== undefined && weights.get(node.inputs[1]) === ins[1];
  const shapes = inferNodeShapes(
    node,
    ins.map((t) => t?.shape),
    constant,
  ) as number[][];
  const out = shapes[0];
  const x = ins[0] as Tensor;
  const f = (k: number, what: string) => floatOf(ins[k] as Tensor, where, what);
  switch (node.op) {
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Pow':
      return [binary(node.op, x, ins[1] as Tensor, out, where)];
    case 'Relu':
    case 'LeakyRelu':
    case 'Sigmoid':
    case 'Tanh':
    case 'Sqrt':
    case 'Erf':
    case 'Gelu':
    case 'Clip':
      return [
        unary(node.op, f(0, 'input'), out, {
          alpha: num(node, 'alpha', 0.01),
          min: num(node, 'min', Number.NEGATIVE_INFINITY),
          max: num(node, 'max', Number.POSITIVE_INFINITY),
          approximate: typeof node.attrs.approximate === 'string' ? node.attrs.approximate : 'none',
        }),
      ];
    case 'Softmax':
    case 'LogSoftmax': {
      const axis = num(node, 'axis', -1);
      return [softmax(f(0, 'input'), out, axis < 0 ? axis + out.length : axis, node.op === 'LogSoftmax')];
    }
    case 'Gemm': {
      const c = ins[2];
      return [
        gemm(
          f(0, 'A'),
          x.shape,
          f(1, 'B'),
          c ? { dtype: 'float32', shape: c.shape, data: f(2, 'C') } : undefined,
          {
            alpha: num(node, 'alpha', 1),
            beta: num(node, 'beta', 1),
            transA: num(node, 'transA', 0),
            transB: num(node, 'transB', 0),
          },
          out,
          bIsWeight,
        ),
      ];
    }
    case 'MatMul':
      return [matmul(f(0, 'A'), x.shape, f(1, 'B'), (ins[1] as Tensor).shape, out, bIsWeight)];
    case 'Conv':
      return [
        conv(
          f(0, 'X'),
          x.shape,
          f(1, 'W'),
          ins[2] ? f(2, 'B') : undefined,
          { ...windowAttrs(node), group: num(node, 'group', 1) },
          out,
        ),
      ];
    case 'MaxPool':
      return [maxPool(f(0, 'X'), x.shape, windowAttrs(node), out)];
    case 'AveragePool':
      return [
        averagePool(
          f(0, 'X'),
          x.shape,
          { ...windowAttrs(node), count_include_pad: num(node, 'count_include_pad', 0) },
          out,
        ),
      ];
    case 'GlobalAveragePool':
      return [globalAveragePool(f(0, 'X'), x.shape, out)];
    case 'Flatten':
    case 'Reshape':
    case 'Squeeze':
    case 'Unsqueeze':
      return [view(x, out)];
    case 'Transpose':
      return [transpose(x, ints(node, 'perm'), out)];
    case 'Concat': {
      const axis = num(node, 'axis', 0);
      return [
        concat(
          ins.filter((t): t is Tensor => t !== undefined),
          axis < 0 ? axis + out.length : axis,
          out,
          where,
        ),
      ];
    }
    case 'Gather': {
      const axis = num(node, 'axis', 0);
      return [gather(x, ins[1] as Tensor, axis < 0 ? axis + x.shape.length : axis, out, where)];
    }
    case 'ArgMax': {
      const axis = num(node, 'axis', 0);
      return [
        argMax(
          f(0, 'input'),
          x.shape,
          axis < 0 ? axis + x.shape.length : axis,
          num(node, 'select_last_index', 0) !== 0,
          out,
        ),
      ];
    }
    case 'ReduceMean': {
      const r = x.shape.length;
      const axes = ints(node, 'axes').map((a) => (a < 0 ? a + r : a));
      return [reduceMean(f(0, 'input'), x.shape, axes, out)];
    }
    case 'LayerNormalization': {
      const axis = num(node, 'axis', -1);
      const scale = ins[1] as Tensor;
      const bias = ins[2];
      return [
        layerNorm(
          f(0, 'X'),
          x.shape,
          { dtype: 'float32', shape: scale.shape, data: f(1, 'Scale') },
          bias ? { dtype: 'float32', shape: bias.shape, data: f(2, 'B') } : undefined,
          axis < 0 ? axis + x.shape.length : axis,
          num(node, 'epsilon', 1e-5),
        ),
      ];
    }
    default:
      throw new ModelError(`operator ${node.op} is not supported by the float executor`, where);
  }
}
