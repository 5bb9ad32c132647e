// Shared helpers of the quantizer and integer-runtime tests: hand-built graphs, seeded random
// tensors and error measures.
import type {
  AttrValue,
  Dim,
  FloatTensor,
  Graph,
  GraphNode,
  IntTensor,
  OpType,
  Tensor,
} from '../src/graph.ts';
import { inferShapes } from '../src/shape.ts';

/** Seeded xorshift32 in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export function floatTensor(shape: number[], data: ArrayLike<number>): FloatTensor {
  return { dtype: 'float32', shape, data: Float32Array.from(data) };
}

export function intTensor(shape: number[], data: ArrayLike<number>): IntTensor {
  return { dtype: 'int32', shape, data: Int32Array.from(data) };
}

/** Uniform values in [lo, hi). */
export function randTensor(shape: number[], r: () => number, lo = -1, hi = 1): FloatTensor {
  let n = 1;
  for (const d of shape) n *= d;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * r();
  return { dtype: 'float32', shape, data };
}

export type NodeSpec = {
  op: OpType;
  inputs: string[];
  outputs?: string[];
  attrs?: Record<string, AttrValue>;
  name?: string;
};

/** A graph from inputs, initializers and nodes (outputs default to `${name}_out`); shapes inferred. */
export function buildGraph(spec: {
  inputs: Record<string, Dim[]>;
  initializers?: Record<string, Tensor>;
  nodes: NodeSpec[];
  outputs: string[];
}): Graph {
  const nodes: GraphNode[] = spec.nodes.map((n, i) => {
    const name = n.name ?? `${n.op}_${i}`;
    return { name, op: n.op, inputs: n.inputs, outputs: n.outputs ?? [`${name}_out`], attrs: n.attrs ?? {} };
  });
  const graph: Graph = {
    name: 'test',
    opset: 17,
    inputs: Object.entries(spec.inputs).map(([name, shape]) => ({ name, shape })),
    outputs: spec.outputs.map((name) => ({ name, shape: [] })),
    initializers: new Map(Object.entries(spec.initializers ?? {})),
    nodes,
    shapes: new Map(),
  };
  graph.shapes = inferShapes(graph);
  graph.outputs = spec.outputs.map((name) => ({ name, shape: graph.shapes.get(name) ?? [] }));
  return graph;
}

/** Largest |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
