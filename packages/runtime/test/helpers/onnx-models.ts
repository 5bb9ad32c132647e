// Test helpers: build small ONNX models with the writer and compare our importer + float
// executor against onnxruntime-node on the same bytes.
import assert from 'node:assert/strict';
import { runFloat } from '../../src/float/execute.ts';
import type { Graph, Tensor } from '../../src/graph.ts';
import { importOnnx } from '../../src/onnx/import.ts';
import { buildOnnxModel, type OnnxAttr, type OnnxModelSpec, type OnnxTensor } from '../../src/onnx/writer.ts';
import { assertClose, type OrtFeed, runOrt } from './onnx-ort.ts';

export type CompareResult = { graph: Graph; maxError: number; ours: Record<string, Tensor> };

/** Imports `spec`, runs it in our float executor and in ORT, and asserts every output within `tol`. */
export async function compareWithOrt(
  spec: OnnxModelSpec,
  feeds: Record<string, OrtFeed>,
  tol = 1e-4,
): Promise<CompareResult> {
  const bytes = buildOnnxModel(spec);
  const graph = importOnnx(bytes);
  const ourFeeds: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(feeds))
    ourFeeds[k] = v.dtype === 'int64' ? { dtype: 'int32', shape: v.shape, data: Int32Array.from(v.data) } : v;
  const ours = runFloat(graph, ourFeeds).outputs;
  const ref = await runOrt(bytes, feeds);
  let maxError = 0;
  for (const o of spec.outputs) {
    assert.ok(ours[o.name], `missing output ${o.name}`);
    assert.ok(ref[o.name], `ORT missing output ${o.name}`);
    maxError = Math.max(maxError, assertClose(ours[o.name], ref[o.name], tol, `${spec.name}/${o.name}`));
  }
  if (process.env.ORT_DEBUG) console.log(`ORT max abs error ${spec.name}: ${maxError}`);
  return { graph, maxError, ours };
}

/** A one-node model: inputs are graph inputs unless given as initializers. */
export function oneNode(
  op: string,
  opts: {
    opset?: number;
    inputs: { name: string; shape: (number | string)[]; elemType?: 'float' | 'int64' }[];
    initializers?: Record<string, OnnxTensor>;
    nodeInputs?: string[];
    attrs?: Record<string, OnnxAttr>;
    outShape?: (number | string | null)[];
    outType?: 'float' | 'int64';
  },
): OnnxModelSpec {
  const nodeInputs = opts.nodeInputs ?? [
    ...opts.inputs.map((i) => i.name),
    ...Object.keys(opts.initializers ?? {}),
  ];
  return {
    name: op,
    opset: opts.opset ?? 13,
    inputs: opts.inputs,
    outputs: [{ name: 'y', shape: opts.outShape, elemType: opts.outType ?? 'float' }],
    initializers: opts.initializers ?? {},
    nodes: [{ op, inputs: nodeInputs, outputs: ['y'], attrs: opts.attrs }],
  };
}
