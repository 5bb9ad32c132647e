// inference/request (all tiers; the on-chain tier executes here), inference/submitProof (zk),
// inference/submitResult (optimistic) and inference/decline (an assigned provider gives its slot
// back).

import type { Infer } from '@aivm/codec';
import type { Address } from '@aivm/crypto';
import { decodeOutput, encodeOutput, estimateGas, runInt } from '@aivm/runtime/core';
import { decodeProofPoints, ProofFormatError, type VerificationKey, zkPublicSignals } from '@aivm/zk';
import { rethrowWithContext } from '../../errors.ts';
import { verifyMerkleProof } from '../../merkle.ts';
import { type ExecContext, readParams, requireThat } from '../../module.ts';
import { transfer } from '../bank/store.ts';
import {
  getModel,
  getVerificationKey,
  hasTier,
  loadQuantModel,
  modelShapes,
  shapeSize,
} from '../models/keeper.ts';
import { modelsParams } from '../models/params.ts';
import type { ModelRecord } from '../models/store.ts';
import { eligibleCandidates } from './assign.ts';
import { inferenceEvents } from './events.ts';
import {
  advance,
  assignSlot,
  emptySlot,
  failRequest,
  finishWork,
  isTerminal,
  paySlot,
  reassignSlot,
  releaseJob,
  setStatus,
  slashAndBurn,
} from './lifecycle.ts';
import type {
  InferenceDecline,
  InferenceRequest,
  InferenceSubmitProof,
  InferenceSubmitResult,
} from './messages.ts';
import { type InferenceParams, inferenceParams, tierFloorText, tierFloorWei } from './params.ts';
import {
  DUE,
  getInput,
  getOpenSlots,
  getRequest,
  INFERENCE_ACCOUNT,
  indexByRequester,
  M,
  nextRequestId,
  type Request,
  type Slot,
  sameAddress,
  scheduleDue,
  setInput,
  setOpenSlots,
  setRequest,
  TIER_NAMES,
  TIER_ONCHAIN,
  TIER_OPTIMISTIC,
  TIER_ZK,
} from './store.ts';
import { inputLeaf, inputTensor, leafSalt, outputLeaf } from './tensors.ts';

const fmt = (shape: number[]) => `[${shape.join(',')}]`;

/** Checks a request's input against the model's input shape at batch 1. */
function checkInput(model: ModelRecord, input: Uint8Array, params: InferenceParams): void {
  requireThat(
    input.length <= params.maxInputBytes,
    `input is ${input.length} bytes; at most ${params.maxInputBytes} (maxInputBytes)`,
  );
  const shape = modelShapes(model).input;
  const need = shapeSize(shape);
  requireThat(
    input.length === need,
    `input is ${input.length} bytes; the model's input ${fmt(shape)} needs ${need} int8 values`,
  );
  const at = input.indexOf(0x80);
  requireThat(at < 0, `input holds -128 at ${at}: quantized values lie in [-127, 127]`);
}

/** The output must hold exactly the model's output elements, as int32 little-endian. */
function checkOutput(model: ModelRecord, output: Uint8Array): void {
  const shape = modelShapes(model).output;
  const need = shapeSize(shape) * 4;
  requireThat(
    output.length === need,
    `output is ${output.length} bytes; the model's output ${fmt(shape)} needs ${need} (int32 little-endian)`,
  );
}

export async function handleRequest(
  ctx: ExecContext,
  msg: Infer<typeof InferenceRequest>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, inferenceParams);
  const model = await getModel(ctx, msg.modelId);
  requireThat(model !== undefined, `model ${msg.modelId} does not exist`);
  requireThat(model.status === 'active', `model ${model.id} is ${model.status}; it takes no requests`);
  const tierName = TIER_NAMES[msg.tier];
  requireThat(tierName !== undefined, 'tier must be one of 1 (on-chain), 2 (zk), 4 (optimistic)');
  requireThat(hasTier(model, msg.tier), `model ${model.id} does not offer the ${tierName} tier`);
  if (msg.tier === TIER_ONCHAIN)
    requireThat(msg.redundancy === 1, 'redundancy must be 1 for the on-chain tier');
  else
    requireThat(
      msg.redundancy >= 1 && msg.redundancy <= params.maxRedundancy,
      `redundancy must be within 1..${params.maxRedundancy}`,
    );
  checkInput(model, msg.input, params);
  const withProviders = msg.tier !== TIER_ONCHAIN;
  // Checked again here: params may have moved since the model was priced.
  const floorWei = tierFloorWei(params, model, msg.tier);
  requireThat(
    model.priceWei >= floorWei,
    `model ${model.id} is priced ${model.priceWei} wei, below the ${tierName} tier's floor of ${tierFloorText(params, model, msg.tier)}`,
  );
  const fee = model.priceWei * BigInt(msg.redundancy);
  requireThat(
    msg.maxFeeWei >= fee,
    `maxFeeWei ${msg.maxFeeWei} is below the fee ${fee} wei (price ${model.priceWei} x redundancy ${msg.redundancy})`,
  );
  let openSlots = 0n;
  if (withProviders) {
    openSlots = await getOpenSlots(ctx, sender);
    requireThat(
      openSlots + BigInt(msg.redundancy) <= BigInt(params.maxPendingPerRequester),
      `${sender} already has ${openSlots} open slots; at most ${params.maxPendingPerRequester} (maxPendingPerRequester)`,
    );
  }

  const id = await nextRequestId(ctx);
  await transfer(ctx, sender, INFERENCE_ACCOUNT, msg.maxFeeWei);
  const height = ctx.block.height;
  const req: Request = {
    id,
    requester: sender,
    modelId: model.id,
    tier: msg.tier,
    redundancy: msg.redundancy,
    maxFeeWei: msg.maxFeeWei,
    priceWei: model.priceWei,
    floorWei,
    status: 'pending',
    reason: 'request accepted',
    createdAt: height,
    updatedAt: height,
    output: new Uint8Array(0),
    computeGas: 0n,
    fees: { ownerWei: 0n, providerWei: 0n, reviewersWei: 0n, protocolWei: 0n, refundWei: 0n },
    tried: [],
    slots: Array.from({ length: msg.redundancy }, emptySlot),
  };
  setInput(ctx, id, msg.input);
  await indexByRequester(ctx, sender, id);
  inferenceEvents.emit(ctx, 'status', { id: id.toString(), status: 'pending', reason: 'request accepted' });

  if (!withProviders) await executeOnChain(ctx, params, req, msg.input);
  else {
    // Slots no provider can take now wait in the pending queue (end blocks assign them as
    // providers free up or register); one still waiting queueTimeoutBlocks later fails, and a
    // request none of whose slots was served is refunded in full.
    const eligible = await eligibleCandidates(ctx, req, params);
    setOpenSlots(ctx, sender, openSlots + BigInt(msg.redundancy));
    for (let i = 0; i < req.slots.length; i++)
      await assignSlot(ctx, params, req, i, undefined, true, eligible);
    const drawn = req.slots.filter((s) => s.status === 'assigned').length;
    await advance(
      ctx,
      req,
      drawn === req.slots.length
        ? 'providers drawn'
        : `${drawn} of ${req.slots.length} slots assigned; the rest wait for a provider`,
    );
  }
  setRequest(ctx, req);
}

/** The on-chain tier: runs the model here, charging the runtime's gas estimate, and pays at once. */
async function executeOnChain(
  ctx: ExecContext,
  params: InferenceParams,
  req: Request,
  input: Uint8Array,
): Promise<void> {
  const qm = await loadQuantModel(ctx, req.modelId);
  const x = inputTensor(qm, input);
  const name = qm.inputs[0]!;
  const limit = (await readParams(ctx, 'models', modelsParams)).maxOnchainGas;
  let gas: bigint;
  let output: Uint8Array;
  try {
    gas = estimateGas(qm, { [name]: x.shape }).gas;
  } catch (err) {
    rethrowWithContext(`model ${req.modelId} cannot be priced`, err);
  }
  requireThat(gas <= limit, `execution needs ${gas} gas, above maxOnchainGas ${limit}`);
  ctx.gas.consume(gas);
  try {
    const run = runInt(qm, { [name]: x });
    output = encodeOutput(run.outputs[qm.outputs[0]!]!);
  } catch (err) {
    rethrowWithContext(`model ${req.modelId} failed to execute`, err);
  }
  req.computeGas = gas;
  const slot = req.slots[0]!;
  slot.status = 'finalized';
  slot.output = output;
  slot.computedAt = ctx.block.height;
  setStatus(ctx, req, 'computed', 'executed on chain');
  await paySlot(ctx, params, req, 0);
  await advance(ctx, req, 'executed on chain');
}

/**
 * The open request `id` (of `tier`, when given), the sender's assigned slot in it and that slot,
 * refused once the slot's deadline has passed.
 */
async function openAssignedSlot(
  ctx: ExecContext,
  id: bigint,
  sender: Address,
  tier?: number,
): Promise<{ req: Request; index: number; slot: Slot }> {
  const req = await getRequest(ctx, id);
  requireThat(req !== undefined, `request ${id} does not exist`);
  if (tier !== undefined)
    requireThat(req.tier === tier, `request ${id} is not a ${TIER_NAMES[tier]} request`);
  requireThat(!isTerminal(req), `request ${id} is ${req.status}`);
  const index = req.slots.findIndex((s) => s.status === 'assigned' && sameAddress(s.provider, sender));
  requireThat(index >= 0, `${sender} holds no assigned slot of request ${req.id}`);
  const slot = req.slots[index]!;
  requireThat(
    ctx.block.height <= slot.deadline,
    `the deadline of slot ${index} passed at height ${slot.deadline}`,
  );
  return { req, index, slot };
}

/**
 * openAssignedSlot for a provider's answer (zk proof, optimistic result), with the request's
 * model. When the model is gone or shown faulty the request fails and is stored instead, and the
 * answer is not looked at: undefined.
 */
async function openSubmission(
  ctx: ExecContext,
  id: bigint,
  sender: Address,
  tier: number,
): Promise<{ req: Request; index: number; slot: Slot; model: ModelRecord } | undefined> {
  const open = await openAssignedSlot(ctx, id, sender, tier);
  const model = await getModel(ctx, open.req.modelId);
  if (!model || model.status === 'faulty') {
    await failRequest(ctx, open.req, `model ${open.req.modelId} is faulty`);
    setRequest(ctx, open.req);
    return undefined;
  }
  return { ...open, model };
}

type Verifier = typeof import('@aivm/zk/verify');
let verifier: Promise<Verifier> | undefined;

/**
 * The Groth16 verifier (snarkjs), imported once on first use. It stays a dynamic import so the
 * chain package loads in a browser without pulling snarkjs in; a failed import is retried later.
 */
function loadVerifier(): Promise<Verifier> {
  verifier ??= import('@aivm/zk/verify').catch((err: unknown) => {
    verifier = undefined;
    throw err;
  });
  return verifier;
}

/**
 * Verifies a Groth16 proof against the rebuilt public signals. Invalid (false) only for what the
 * sender controls and every node decides alike: proof bytes or signals that do not decode
 * (ProofFormatError), a public-signal count other than the key's, or snarkjs rejecting the
 * proof. Any other exception (e.g. the verifier failing to load or to run on this machine)
 * propagates and becomes an ExecutionFault: this node drops the transaction or refuses to vote for
 * its block, instead of slashing an honest provider on a guess.
 */
async function verifyZk(
  vk: VerificationKey,
  proofBytes: Uint8Array,
  model: ModelRecord,
  output: Int32Array,
  input: Int8Array,
): Promise<boolean> {
  let proof: ReturnType<typeof decodeProofPoints>;
  let publicSignals: string[];
  try {
    proof = decodeProofPoints(proofBytes);
    publicSignals = zkPublicSignals({
      output,
      input,
      inputs: model.zkInputs === 1 ? 'committed' : 'public',
      weightCommitment: model.zkWeights === 1 ? model.weightCommitment : undefined,
    });
  } catch (err) {
    if (err instanceof ProofFormatError) return false;
    throw err;
  }
  if (publicSignals.length !== vk.nPublic) return false;
  const { verifyProof } = await loadVerifier();
  return (await verifyProof(vk, { proof, publicSignals })) === true;
}

function int8s(bytes: Uint8Array): Int8Array {
  return new Int8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export async function handleSubmitProof(
  ctx: ExecContext,
  msg: Infer<typeof InferenceSubmitProof>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, inferenceParams);
  const open = await openSubmission(ctx, msg.requestId, sender, TIER_ZK);
  if (!open) return;
  const { req, index, slot, model } = open;
  checkOutput(model, msg.output);
  const input = await getInput(ctx, req.id);
  ctx.gas.consume(params.zkVerifyGas);
  const vk = await getVerificationKey(ctx, req.modelId);
  const valid = await verifyZk(vk, msg.proof, model, decodeOutput(msg.output), int8s(input));
  if (valid) {
    await releaseJob(ctx, sender);
    slot.status = 'proven';
    slot.seq += 1;
    slot.output = msg.output;
    slot.computedAt = ctx.block.height;
    inferenceEvents.emit(ctx, 'proven', { id: req.id.toString(), slot: index.toString(), provider: sender });
    await paySlot(ctx, params, req, index);
    await advance(ctx, req, `proof of slot ${index} verified`);
  } else {
    // Slash before the work ends (ending it may release unbonding stake held for it).
    await slashAndBurn(
      ctx,
      sender,
      params.faultSlashBps,
      `invalid proof for request ${req.id} slot ${index}`,
    );
    await finishWork(ctx, sender, { job: true });
    await reassignSlot(ctx, params, req, index, 'invalid proof', undefined);
  }
  setRequest(ctx, req);
}

/**
 * The assigned provider gives its slot back before the deadline, without a slash: its job and
 * work end, the slot is reassigned (the provider, now in `tried`, is never drawn for this request
 * again), or fails alone when its attempts are used up.
 */
export async function handleDecline(
  ctx: ExecContext,
  msg: Infer<typeof InferenceDecline>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, inferenceParams);
  const { req, index } = await openAssignedSlot(ctx, msg.requestId, sender);
  await finishWork(ctx, sender, { job: true });
  inferenceEvents.emit(ctx, 'declined', { id: req.id.toString(), slot: index.toString(), provider: sender });
  await reassignSlot(ctx, params, req, index, 'declined by the provider', undefined);
  setRequest(ctx, req);
}

export async function handleSubmitResult(
  ctx: ExecContext,
  msg: Infer<typeof InferenceSubmitResult>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, inferenceParams);
  const open = await openSubmission(ctx, msg.requestId, sender, TIER_OPTIMISTIC);
  if (!open) return;
  const { req, index, slot, model } = open;
  checkOutput(model, msg.output);
  const qm = await loadQuantModel(ctx, req.modelId);
  const count = qm.nodes.length + 1;
  const input = await getInput(ctx, req.id);
  // Leaves salted with the sender's (the slot provider's) address: another slot's copied
  // commitment does not verify.
  const salt = leafSalt(sender);
  requireThat(
    verifyMerkleProof(msg.layerRoot, 0, count, inputLeaf(qm, input, salt), msg.inputProof),
    'inputProof does not show the request input as leaf 0 of layerRoot',
  );
  requireThat(
    verifyMerkleProof(msg.layerRoot, count - 1, count, outputLeaf(qm, msg.output, salt), msg.outputProof),
    `outputProof does not show the output as leaf ${count - 1} of layerRoot`,
  );
  await releaseJob(ctx, sender);
  const height = ctx.block.height;
  slot.status = 'computed';
  slot.seq += 1;
  slot.output = msg.output;
  slot.layerRoot = msg.layerRoot;
  slot.computedAt = height;
  await scheduleDue(ctx, height + params.challengeWindowBlocks, {
    kind: DUE.WINDOW,
    requestId: req.id,
    slot: index,
    seq: slot.seq,
    address: sender,
  });
  inferenceEvents.emit(ctx, 'computed', { id: req.id.toString(), slot: index.toString(), provider: sender });
  await advance(ctx, req, `result of slot ${index} submitted`);
  setRequest(ctx, req);
}
