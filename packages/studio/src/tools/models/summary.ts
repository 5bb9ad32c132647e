// Pure pieces of the Models tool: a float graph's summary (nodes, shapes, parameters, gas) and
// the wording of the per-tier support report. Run in the worker; formatted in the page.

import { type Dim, estimateGas, type Graph } from '@aivm/runtime/core';

export type NodeRow = { name: string; op: string; inputs: string[]; outputs: string[]; params: number };

export type GraphSummary = {
  name: string;
  opset: number;
  inputs: { name: string; shape: string }[];
  outputs: { name: string; shape: string }[];
  nodes: NodeRow[];
  ops: Record<string, number>;
  params: number;
  /** Batch-1 gas estimate (decimal string: bigint does not survive every hop), or why none. */
  gas: string | null;
  gasError?: string;
};

export function formatShape(shape: readonly Dim[] | undefined): string {
  return shape === undefined ? '?' : `[${shape.join(', ')}]`;
}

/** Summary of an imported graph: each node with its value shapes, the parameter count, gas at batch 1. */
export function summarizeGraph(graph: Graph): GraphSummary {
  const size = (name: string) => graph.initializers.get(name)?.data.length ?? 0;
  const nodes = graph.nodes.map((n) => ({
    name: n.name,
    op: n.op,
    inputs: n.inputs.filter((i) => i !== '').map((i) => `${i} ${formatShape(graph.shapes.get(i))}`),
    outputs: n.outputs.map((o) => `${o} ${formatShape(graph.shapes.get(o))}`),
    params: n.inputs.reduce((a, i) => a + size(i), 0),
  }));
  const ops: Record<string, number> = {};
  for (const n of graph.nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
  let params = 0;
  for (const t of graph.initializers.values()) params += t.data.length;
  const shapes: Record<string, number[]> = {};
  for (const i of graph.inputs) shapes[i.name] = i.shape.map((d) => (typeof d === 'number' ? d : 1));
  let gas: string | null = null;
  let gasError: string | undefined;
  try {
    gas = estimateGas(graph, shapes).gas.toString();
  } catch (err) {
    gasError = (err as Error).message;
  }
  return {
    name: graph.name,
    opset: graph.opset,
    inputs: graph.inputs.map((v) => ({ name: v.name, shape: formatShape(v.shape) })),
    outputs: graph.outputs.map((v) => ({ name: v.name, shape: formatShape(v.shape) })),
    nodes,
    ops,
    params,
    gas,
    ...(gasError === undefined ? {} : { gasError }),
  };
}

export type TierRow = { tier: string; supported: boolean; reason?: string; blockers?: string[] };

const TIER_TITLES: Record<string, string> = {
  onchain: 'On-chain (validators run it)',
  zk: 'Zero-knowledge (a proof per inference)',
  optimistic: 'Optimistic (disputes re-run one step)',
};

/** One sentence per tier for the report: what it is, and whether and why it cannot serve the model. */
export function tierReport(tiers: readonly TierRow[]): { title: string; ok: boolean; text: string }[] {
  return tiers.map((t) => ({
    title: TIER_TITLES[t.tier] ?? t.tier,
    ok: t.supported,
    text: t.supported
      ? 'Supported: the runtime can serve this model in this tier.'
      : `Not supported: ${(t.reason ?? 'no reason given').replace(/--tiers /g, 'the tiers ')}.`,
  }));
}

/** Thousands separators for counts and gas. */
export function groupDigits(n: number | string): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
