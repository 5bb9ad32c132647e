// The per-tier support checks of a quantized model (on-chain, zk, optimistic): the same functions
// and constants as the chain's upload checks. Browser-safe (no Node built-ins): the CLI's
// `aivm model inspect` / `publish` and AIVM Studio's Models tool (in a Web Worker) share them.

import {
  authParams,
  largestStepTensor,
  MAX_STEP_TENSOR_BYTES,
  modelsParams,
  ONE_STEP_GAS_MARGIN,
  partReadGas,
} from '@aivm/chain';
import {
  checkChainShaped,
  estimateGas,
  type FloatTensor,
  type Graph,
  type QuantModel,
  quantize,
} from '@aivm/runtime';
import type { TierName } from '@aivm/sdk';

/**
 * Why the chain would refuse `model` for the optimistic tier at upload, or undefined: it must be
 * chain-shaped, every tensor a one-step may carry (a node's input at batch 1, canonically encoded)
 * must fit MAX_STEP_TENSOR_BYTES, and the one-step's gas (the model's estimate + the artifact read
 * + ONE_STEP_GAS_MARGIN) must fit auth maxTxGas. The same functions and constants as the chain.
 */
export function optimisticProblem(
  model: QuantModel,
  artifact: Uint8Array,
  maxTxGas: bigint,
): string | undefined {
  try {
    checkChainShaped(model);
  } catch (err) {
    return `the model is not chain-shaped (${(err as Error).message})`;
  }
  let step: { bytes: number; value: string };
  try {
    step = largestStepTensor(model, MAX_STEP_TENSOR_BYTES);
  } catch (err) {
    return `its one-step tensors cannot be sized (${(err as Error).message})`;
  }
  if (step.bytes > MAX_STEP_TENSOR_BYTES)
    return (
      `a dispute's one-step tensor must be at most ${MAX_STEP_TENSOR_BYTES} bytes (MAX_STEP_TENSOR_BYTES), ` +
      `but "${step.value}" takes ${step.bytes}; publish it with the onchain or zk tier only`
    );
  const input = model.values.find((v) => v.name === model.inputs[0]);
  const shape = (input?.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
  let gas: bigint;
  try {
    gas = estimateGas(model, { [model.inputs[0]!]: shape }).gas;
  } catch (err) {
    return `its gas cannot be estimated (${(err as Error).message})`;
  }
  const need = gas + partReadGas(artifact.length) + ONE_STEP_GAS_MARGIN;
  if (maxTxGas > 0n && need > maxTxGas)
    return (
      `a dispute's one-step needs up to ${need} gas (estimate ${gas} + artifact read + ${ONE_STEP_GAS_MARGIN}), ` +
      `above the chain's maxTxGas ${maxTxGas}`
    );
  return undefined;
}

/** Chain limits the tier checks use: the chain's params when a node is asked, else their defaults. */
export type TierLimits = { maxOnchainGas: bigint; maxOnchainModelBytes: bigint; maxTxGas: bigint };

export const DEFAULT_TIER_LIMITS: TierLimits = {
  maxOnchainGas: modelsParams.defaults.maxOnchainGas,
  maxOnchainModelBytes: BigInt(modelsParams.defaults.maxOnchainModelBytes),
  maxTxGas: authParams.defaults.maxTxGas,
};

/** Whether a model can be served in one tier; if not, what stops it and what to do. */
export type TierSupport = { tier: TierName; supported: boolean; reason?: string; blockers?: string[] };

/**
 * Why the chain would refuse `model` for the on-chain tier, or undefined: one int8 input and one
 * output, the artifact within maxOnchainModelBytes and the batch-1 gas estimate within
 * maxOnchainGas (the models module's publish and upload checks).
 */
export function onchainProblem(
  model: QuantModel,
  artifact: Uint8Array,
  limits: TierLimits,
): string | undefined {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    return `a served model has one input and one output (it has ${model.inputs.length} and ${model.outputs.length})`;
  const input = model.values.find((v) => v.name === model.inputs[0]);
  if (input?.kind !== 'quant' || input.dtype !== 'int8')
    return 'the model input must be an int8 quantized tensor';
  if (BigInt(artifact.length) > limits.maxOnchainModelBytes)
    return `the artifact is ${artifact.length} bytes, above maxOnchainModelBytes ${limits.maxOnchainModelBytes}`;
  const shape = input.shape.map((d) => (typeof d === 'number' ? d : 1));
  let gas: bigint;
  try {
    gas = estimateGas(model, { [model.inputs[0]!]: shape }).gas;
  } catch (err) {
    return `its gas cannot be estimated (${(err as Error).message})`;
  }
  if (gas > limits.maxOnchainGas)
    return `it needs ${gas} gas at batch 1, above maxOnchainGas ${limits.maxOnchainGas}`;
  return undefined;
}

/**
 * Per tier, whether the chain and its providers can serve `model`: on-chain (onchainProblem), zk
 * (every node's kernel has a circuit: the zk compiler's own list), optimistic (optimisticProblem:
 * the chain's upload checks). A refused tier names what stops it and which tiers to publish with.
 */
export async function tierSupport(
  model: QuantModel,
  artifact: Uint8Array,
  limits: TierLimits = DEFAULT_TIER_LIMITS,
): Promise<TierSupport[]> {
  const { zkUnsupportedNodes } = await import('@aivm/zk');
  const zkBad = zkUnsupportedNodes(model);
  const out: TierSupport[] = [];
  const onchain = onchainProblem(model, artifact, limits);
  out.push(
    onchain ? { tier: 'onchain', supported: false, reason: onchain } : { tier: 'onchain', supported: true },
  );
  if (zkBad.length > 0) {
    const byOp = new Map<string, string>();
    for (const b of zkBad) byOp.set(b.op, b.kernel);
    out.push({
      tier: 'zk',
      supported: false,
      blockers: [...byOp].map(([op, kernel]) => `${op} -> ${kernel} kernel`),
      reason: `the zk circuit compiler has no circuit for ${[...byOp].map(([op, kernel]) => `${op} (${kernel} kernel)`).join(', ')}`,
    });
  } else out.push({ tier: 'zk', supported: true });
  const optimistic = optimisticProblem(model, artifact, limits.maxTxGas);
  out.push(
    optimistic
      ? { tier: 'optimistic', supported: false, reason: optimistic }
      : { tier: 'optimistic', supported: true },
  );
  const ok = out.filter((t) => t.supported).map((t) => t.tier);
  const fix =
    ok.length > 0 ? `publish with --tiers ${ok.join(',')}` : 'no tier can serve this model as it is';
  for (const t of out) if (!t.supported) t.reason = `${t.reason}; ${fix}`;
  return out;
}

/** One line per tier, e.g. "zk          not supported: ... (Tanh -> table kernel); publish with --tiers onchain,optimistic". */
export function tierLines(tiers: TierSupport[]): string[] {
  return [
    '  tiers',
    ...tiers.map(
      (t) => `    ${t.tier.padEnd(11)}${t.supported ? 'supported' : `not supported: ${t.reason}`}`,
    ),
  ];
}

/**
 * A float graph's tiers depend on the kernels and sizes its quantized form gets, so it is
 * quantized on one synthetic sample (kernel choice and sizes do not depend on the calibration
 * values; the scales do, and no tier check reads them).
 */
export function trialQuantize(graph: Graph): QuantModel {
  const inputs: Record<string, FloatTensor> = {};
  for (const i of graph.inputs) {
    const shape = i.shape.map((d) => (typeof d === 'number' ? d : 1));
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let k = 0; k < data.length; k++) data[k] = ((k * 37) % 17) / 8 - 1;
    inputs[i.name] = { dtype: 'float32', shape, data };
  }
  return quantize(graph, [inputs]);
}
