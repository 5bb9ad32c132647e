// Static cost model: gas for one execution of a quantized model, from shapes alone (no execution),
// so a transaction can be priced before it runs. Integer-only: the result is consensus data.
// Browser-safe.

import { type Dim, type Graph, ModelError } from './graph.ts';
import type { QuantModel } from './quant/model.ts';

/** Gas per unit of work; consensus parameters, changed only with a new artifact format. */
export const RUNTIME_GAS = {
  BASE: 20_000n,
  /** One int8 x int8 multiply-accumulate. */
  MAC: 1n,
  /** One table lookup (Sigmoid, Tanh, Gelu, Erf, exp in Softmax...). */
  LOOKUP: 2n,
  /** Per element of every intermediate tensor written (memory traffic). */
  ELEMENT: 1n,
  /** Per byte of weights and constants read. */
  WEIGHT_BYTE: 1n,
  /** Per node, for dispatch. */
  NODE: 500n,
} as const;

export type CostBreakdown = {
  gas: bigint;
  macs: bigint;
  lookups: bigint;
  elements: bigint;
  weightBytes: bigint;
  nodes: number;
};

function bind(shape: Dim[], symbols: Map<string, number>, what: string): number[] {
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    const v = symbols.get(d);
    if (v === undefined) throw new ModelError(`${what}: dimension "${d}" is not bound by the input shape`);
    return v;
  });
}

const product = (shape: readonly number[]): bigint => shape.reduce((a, d) => a * BigInt(d), 1n);

/** What the cost model needs of a node, whichever form (float graph or integer model) it comes from. */
type CostNode = {
  name: string;
  kind: 'mac' | 'lookup' | 'plain';
  outShape: Dim[];
  fanIn: (bind: (s: Dim[]) => number[]) => number;
};
type CostView = { inputs: { name: string; shape: Dim[] }[]; nodes: CostNode[]; weightBytes: bigint };

const LOOKUP_KERNELS = new Set(['table', 'softmax', 'log-softmax', 'layer-norm']);
const LOOKUP_OPS = new Set([
  'Sigmoid',
  'Tanh',
  'Gelu',
  'Erf',
  'Softmax',
  'LogSoftmax',
  'LayerNormalization',
  'Sqrt',
  'Pow',
]);

function lastDim(shape: number[]): number {
  return shape[shape.length - 1] ?? 0;
}

/** The integer model's view: kernels and int8 weight arrays. */
function quantView(model: QuantModel): CostView {
  const declared = new Map(model.values.map((v) => [v.name, v.shape]));
  let weightBytes = 0n;
  for (const c of model.constants) weightBytes += BigInt(c.data.byteLength);
  const nodes = model.nodes.map((node): CostNode => {
    let weights = 0;
    for (const p of Object.values(node.params)) {
      if (typeof p === 'number') continue;
      weightBytes += BigInt(p.byteLength);
      if (p instanceof Int8Array && p.length > weights) weights = p.length;
    }
    const outShape = declared.get(node.outputs[0]!) ?? [];
    if (node.kernel === 'linear' || node.kernel === 'conv') {
      return {
        name: node.name,
        kind: 'mac',
        outShape,
        fanIn: (b) => Math.floor(weights / Math.max(1, channelsOf(node.kernel, b(outShape)))),
      };
    }
    if (node.kernel === 'matmul') {
      return {
        name: node.name,
        kind: 'mac',
        outShape,
        fanIn: (b) => lastDim(b(declared.get(node.inputs[0]!) ?? [])),
      };
    }
    return {
      name: node.name,
      kind: LOOKUP_KERNELS.has(node.kernel) ? 'lookup' : 'plain',
      outShape,
      fanIn: () => 0,
    };
  });
  return {
    inputs: model.inputs.map((name) => ({ name, shape: declared.get(name) ?? [] })),
    nodes,
    weightBytes,
  };
}

/** The float graph's view, before quantization: every weight becomes one int8 byte. */
function graphView(graph: Graph): CostView {
  let weightBytes = 0n;
  for (const t of graph.initializers.values()) weightBytes += BigInt(t.data.length);
  const nodes = graph.nodes.map((node): CostNode => {
    const outShape = graph.shapes.get(node.outputs[0]!) ?? [];
    const weight = node.inputs[1] ? graph.initializers.get(node.inputs[1]) : undefined;
    if (node.op === 'Conv' || ((node.op === 'Gemm' || node.op === 'MatMul') && weight)) {
      const kernel = node.op === 'Conv' ? 'conv' : 'linear';
      return {
        name: node.name,
        kind: 'mac',
        outShape,
        fanIn: (b) => Math.floor((weight?.data.length ?? 0) / Math.max(1, channelsOf(kernel, b(outShape)))),
      };
    }
    if (node.op === 'MatMul' || node.op === 'Gemm') {
      return {
        name: node.name,
        kind: 'mac',
        outShape,
        fanIn: (b) => lastDim(b(graph.shapes.get(node.inputs[0]!) ?? [])),
      };
    }
    return { name: node.name, kind: LOOKUP_OPS.has(node.op) ? 'lookup' : 'plain', outShape, fanIn: () => 0 };
  });
  return { inputs: graph.inputs, nodes, weightBytes };
}

function channelsOf(kernel: string, outShape: number[]): number {
  return kernel === 'conv' ? (outShape[1] ?? 1) : lastDim(outShape);
}

/**
 * Gas for one run on inputs of the given shapes (symbolic dimensions such as the batch are bound
 * from them). Accepts the integer model (what the chain executes) or the float graph (to price a
 * model before quantizing it); both views charge the same for the same model.
 */
export function estimateGas(model: QuantModel | Graph, inputShapes: Record<string, number[]>): CostBreakdown {
  const view = 'format' in model ? quantView(model) : graphView(model);
  const symbols = new Map<string, number>();
  for (const { name, shape } of view.inputs) {
    const given = inputShapes[name];
    if (!given) throw new ModelError(`no shape given for input "${name}"`);
    if (given.length !== shape.length) {
      throw new ModelError(`input "${name}" has rank ${shape.length}, got shape [${given.join(', ')}]`);
    }
    shape.forEach((d, i) => {
      const g = given[i]!;
      if (!Number.isSafeInteger(g) || g < 1)
        throw new ModelError(`input "${name}" dimension ${i} must be a positive integer`);
      if (typeof d === 'number' && d !== g)
        throw new ModelError(`input "${name}" dimension ${i} must be ${d}, got ${g}`);
      if (typeof d === 'string') {
        const prev = symbols.get(d);
        if (prev !== undefined && prev !== g) throw new ModelError(`dimension "${d}" is ${prev} and ${g}`);
        symbols.set(d, g);
      }
    });
  }
  let macs = 0n;
  let lookups = 0n;
  let elements = 0n;
  for (const node of view.nodes) {
    const b = (shape: Dim[]) => bind(shape, symbols, `node "${node.name}"`);
    const out = product(b(node.outShape));
    elements += out;
    if (node.kind === 'mac') macs += out * BigInt(node.fanIn(b));
    if (node.kind === 'lookup') lookups += out;
  }
  const gas =
    RUNTIME_GAS.BASE +
    RUNTIME_GAS.MAC * macs +
    RUNTIME_GAS.LOOKUP * lookups +
    RUNTIME_GAS.ELEMENT * elements +
    RUNTIME_GAS.WEIGHT_BYTE * view.weightBytes +
    RUNTIME_GAS.NODE * BigInt(view.nodes.length);
  return { gas, macs, lookups, elements, weightBytes: view.weightBytes, nodes: view.nodes.length };
}
