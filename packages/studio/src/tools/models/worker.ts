// The Models tool's worker: ONNX import, the graph summary and the per-tier support report (a
// trial quantization, as `aivm model inspect` does), off the page's thread.

import { encodeArtifact, importOnnx } from '@aivm/runtime';
import { tierSupport, trialQuantize } from '../../../../cli/src/tiers.ts';
import type { InspectResult, WorkerRequest, WorkerResponse } from './protocol.ts';
import { summarizeGraph } from './summary.ts';

async function inspect(bytes: Uint8Array): Promise<InspectResult> {
  const graph = importOnnx(bytes);
  const summary = summarizeGraph(graph);
  try {
    const qm = trialQuantize(graph);
    const tiers = await tierSupport(qm, encodeArtifact(qm));
    return { summary, tiers, tiersNote: 'tiers from a trial quantization at the chain’s default limits' };
  } catch (err) {
    return { summary, tiers: null, tiersNote: `the model does not quantize: ${(err as Error).message}` };
  }
}

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const { id, bytes } = e.data;
  let reply: WorkerResponse;
  try {
    reply = { id, ok: true, result: await inspect(bytes) };
  } catch (err) {
    reply = { id, ok: false, error: (err as Error).message || String(err) };
  }
  self.postMessage(reply);
};
