// Optimistic-tier disputes: a challenge opens a bisection over the layer leaves [lo, hi] = [0, n]
// (both parties committed to the request input at 0 and to different outputs at n); each step
// both reveal their leaf at mid; once hi = lo + 1 the agreed tensor at lo is sent and the chain
// re-runs node lo alone. Timeouts decide when a party stops answering.

import type { Infer } from '@aivm/codec';
import { type Address, equalBytes } from '@aivm/crypto';
import {
  decodeTensor,
  estimateGas,
  ModelError,
  runIntNode,
  saltedLeaf,
  tensorLeaf,
} from '@aivm/runtime/core';
import { ZERO_ADDRESS } from '../../accounts.ts';
import { verifyMerkleProof } from '../../merkle.ts';
import { type ExecContext, readParams, requireThat } from '../../module.ts';
import { burn, transfer } from '../bank/store.ts';
import { getModel, loadQuantModel, modelShapes, shapeSize } from '../models/keeper.ts';
import { inferenceEvents } from './events.ts';
import {
  advance,
  type Budget,
  failSlot,
  finishWork,
  isTerminal,
  modelFaulty,
  reassignSlot,
  slashProvider,
} from './lifecycle.ts';
import type { InferenceChallenge, InferenceOneStep, InferenceReveal } from './messages.ts';
import { BPS, type InferenceParams, inferenceParams } from './params.ts';
import {
  type Dispute,
  DUE,
  deleteDispute,
  getDispute,
  getInput,
  getRequest,
  INFERENCE_ACCOUNT,
  M,
  type Request,
  sameAddress,
  scheduleDue,
  setDispute,
  setRequest,
  TIER_OPTIMISTIC,
} from './store.ts';
import { batchOne, inputLeaf, inputValue, layerValue, leafSalt, outputLeaf } from './tensors.ts';

async function openDispute(
  ctx: ExecContext,
  requestId: bigint,
  slot: number,
): Promise<{ req: Request; d: Dispute }> {
  const req = await getRequest(ctx, requestId);
  requireThat(req !== undefined, `request ${requestId} does not exist`);
  requireThat(!isTerminal(req), `request ${requestId} is ${req.status}`);
  const s = req.slots[slot];
  requireThat(s?.status === 'challenged', `slot ${slot} of request ${requestId} has no open dispute`);
  const d = await getDispute(ctx, requestId, slot);
  requireThat(d !== undefined, `slot ${slot} of request ${requestId} has no open dispute`);
  requireThat(
    ctx.block.height <= d.deadline,
    `the dispute step of slot ${slot} timed out at height ${d.deadline}`,
  );
  return { req, d };
}

/** Sets the step deadline, bumps the slot's seq and schedules the timeout check. */
async function nextStep(
  ctx: ExecContext,
  params: InferenceParams,
  req: Request,
  slot: number,
  d: Dispute,
): Promise<void> {
  const s = req.slots[slot]!;
  s.seq += 1;
  d.deadline = ctx.block.height + params.disputeStepBlocks;
  d.phase = d.hi - d.lo === 1 ? 'oneStep' : 'bisect';
  d.providerRevealed = false;
  d.challengerRevealed = false;
  setDispute(ctx, req.id, slot, d);
  await scheduleDue(ctx, d.deadline, {
    kind: DUE.DISPUTE,
    requestId: req.id,
    slot,
    seq: s.seq,
    address: ZERO_ADDRESS,
  });
  inferenceEvents.emit(ctx, 'disputeStep', {
    id: req.id.toString(),
    slot: slot.toString(),
    lo: d.lo.toString(),
    hi: d.hi.toString(),
  });
}

export async function handleChallenge(
  ctx: ExecContext,
  msg: Infer<typeof InferenceChallenge>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, inferenceParams);
  const req = await getRequest(ctx, msg.requestId);
  requireThat(req !== undefined, `request ${msg.requestId} does not exist`);
  requireThat(req.tier === TIER_OPTIMISTIC, `request ${req.id} is not an optimistic request`);
  requireThat(!isTerminal(req), `request ${req.id} is ${req.status}`);
  const s = req.slots[msg.slot];
  requireThat(s !== undefined, `request ${req.id} has no slot ${msg.slot}`);
  requireThat(
    s.status === 'computed',
    `slot ${msg.slot} of request ${req.id} is ${s.status}; only a computed result can be challenged`,
  );
  const windowEnd = s.computedAt + params.challengeWindowBlocks;
  requireThat(
    ctx.block.height <= windowEnd,
    `the challenge window of slot ${msg.slot} closed at height ${windowEnd}`,
  );
  requireThat(!sameAddress(sender, s.provider), 'a provider cannot challenge its own result');
  requireThat(
    msg.bondWei >= params.challengeBondWei,
    `bondWei must be at least ${params.challengeBondWei} wei (challengeBondWei)`,
  );
  const model = await getModel(ctx, req.modelId);
  requireThat(model !== undefined, `model ${req.modelId} does not exist`);
  const need = shapeSize(modelShapes(model).output) * 4;
  requireThat(
    msg.output.length === need,
    `output is ${msg.output.length} bytes; the model's output needs ${need}`,
  );
  requireThat(!equalBytes(msg.output, s.output), "the challenger's output equals the provider's");
  const qm = await loadQuantModel(ctx, req.modelId);
  const n = qm.nodes.length;
  const input = await getInput(ctx, req.id);
  // The challenger's leaves are salted with the PROVIDER's address, like the provider's own, so
  // bisection compares like with like.
  const salt = leafSalt(s.provider);
  const inLeaf = inputLeaf(qm, input, salt);
  requireThat(
    verifyMerkleProof(msg.layerRoot, 0, n + 1, inLeaf, msg.inputProof),
    'inputProof does not show the request input as leaf 0 of layerRoot',
  );
  requireThat(
    verifyMerkleProof(msg.layerRoot, n, n + 1, outputLeaf(qm, msg.output, salt), msg.outputProof),
    `outputProof does not show the output as leaf ${n} of layerRoot`,
  );
  await transfer(ctx, sender, INFERENCE_ACCOUNT, msg.bondWei);
  const d: Dispute = {
    challenger: sender,
    bondWei: msg.bondWei,
    challengerRoot: msg.layerRoot,
    n,
    lo: 0,
    hi: n,
    loLeaf: inLeaf,
    providerHiLeaf: outputLeaf(qm, s.output, salt),
    phase: 'bisect',
    deadline: 0n,
    providerRevealed: false,
    providerLeaf: new Uint8Array(32),
    challengerRevealed: false,
    challengerLeaf: new Uint8Array(32),
    openedAt: ctx.block.height,
  };
  s.status = 'challenged';
  inferenceEvents.emit(ctx, 'challenged', {
    id: req.id.toString(),
    slot: msg.slot.toString(),
    provider: s.provider,
    challenger: sender,
  });
  await nextStep(ctx, params, req, msg.slot, d);
  await advance(ctx, req, `slot ${msg.slot} challenged by ${sender}`);
  setRequest(ctx, req);
}

export async function handleReveal(
  ctx: ExecContext,
  msg: Infer<typeof InferenceReveal>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, inferenceParams);
  const { req, d } = await openDispute(ctx, msg.requestId, msg.slot);
  const s = req.slots[msg.slot]!;
  requireThat(d.phase === 'bisect', `the dispute of slot ${msg.slot} awaits the one-step execution`);
  const isProvider = sameAddress(sender, s.provider);
  const isChallenger = sameAddress(sender, d.challenger);
  requireThat(isProvider || isChallenger, 'only the provider and the challenger take part in the dispute');
  requireThat(!(isProvider ? d.providerRevealed : d.challengerRevealed), 'already revealed in this step');
  const mid = Math.floor((d.lo + d.hi) / 2);
  const root = isProvider ? s.layerRoot : d.challengerRoot;
  requireThat(
    verifyMerkleProof(root, mid, d.n + 1, msg.leaf, msg.proof),
    `the proof does not show leaf ${mid} of the sender's layer root`,
  );
  if (isProvider) {
    d.providerRevealed = true;
    d.providerLeaf = msg.leaf;
  } else {
    d.challengerRevealed = true;
    d.challengerLeaf = msg.leaf;
  }
  if (!(d.providerRevealed && d.challengerRevealed)) {
    setDispute(ctx, req.id, msg.slot, d);
    return;
  }
  if (equalBytes(d.providerLeaf, d.challengerLeaf)) {
    d.lo = mid;
    d.loLeaf = d.providerLeaf;
  } else {
    d.hi = mid;
    d.providerHiLeaf = d.providerLeaf;
  }
  await nextStep(ctx, params, req, msg.slot, d);
  setRequest(ctx, req);
}

export async function handleOneStep(
  ctx: ExecContext,
  msg: Infer<typeof InferenceOneStep>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, inferenceParams);
  const { req, d } = await openDispute(ctx, msg.requestId, msg.slot);
  const s = req.slots[msg.slot]!;
  requireThat(d.phase === 'oneStep', `the dispute of slot ${msg.slot} is still bisecting`);
  requireThat(
    sameAddress(sender, s.provider) || sameAddress(sender, d.challenger),
    'only the provider and the challenger take part in the dispute',
  );
  const salt = leafSalt(s.provider);
  requireThat(
    equalBytes(saltedLeaf(msg.tensor, salt), d.loLeaf),
    `the tensor does not match the agreed leaf ${d.lo}`,
  );
  const qm = await loadQuantModel(ctx, req.modelId);
  // One node costs at most what the whole model does at batch 1.
  ctx.gas.consume(estimateGas(qm, { [qm.inputs[0]!]: batchOne(inputValue(qm)) }).gas);
  const v = layerValue(qm, d.lo);
  const shape = batchOne(v);
  let providerRight: boolean;
  try {
    const decoded = decodeTensor(msg.tensor);
    const sameShape =
      decoded.shape.length === shape.length && decoded.shape.every((dim, i) => dim === shape[i]);
    if (decoded.dtype !== v.dtype || !sameShape) providerRight = false;
    else {
      const out = runIntNode(qm, d.lo, { [v.name]: { ...decoded, scale: v.scale } });
      providerRight = equalBytes(tensorLeaf(out, salt), d.providerHiLeaf);
    }
  } catch (err) {
    // Only the runtime's typed rejection of the agreed tensor (it does not decode or does not
    // run through node lo) decides: the provider committed to an invalid layer chain. Anything
    // else (a bug, the machine running out of memory) is an ExecutionFault: no block includes
    // the transaction on a guess; if no one-step lands before the step deadline, the timeout
    // decides.
    if (!(err instanceof ModelError)) throw err;
    providerRight = false;
  }
  await resolveDispute(ctx, params, req, msg.slot, d, providerRight, undefined);
  setRequest(ctx, req);
}

/**
 * Ends a dispute. Provider wins: half the bond to it, the rest burned, the slot computed again
 * with a fresh challenge window of challengeWindowBlocks from this height (computedAt = now), so
 * a dispute that is lost on purpose cannot run the window out for honest challengers; with the
 * model faulty meanwhile the slot fails instead (no pay). Challenger wins: the provider is
 * slashed faultSlashBps, challengerRewardBps of the cut plus the bond go to the challenger, the
 * rest is burned, and the slot is reassigned.
 */
export async function resolveDispute(
  ctx: ExecContext,
  params: InferenceParams,
  req: Request,
  slot: number,
  d: Dispute,
  providerWins: boolean,
  budget: Budget,
): Promise<void> {
  const s = req.slots[slot]!;
  const provider = s.provider;
  deleteDispute(ctx, req.id, slot);
  inferenceEvents.emit(ctx, 'disputeResolved', {
    id: req.id.toString(),
    slot: slot.toString(),
    winner: providerWins ? provider : d.challenger,
    loser: providerWins ? d.challenger : provider,
  });
  if (providerWins) {
    const toProvider = d.bondWei / 2n;
    await transfer(ctx, INFERENCE_ACCOUNT, provider, toProvider);
    if (d.bondWei - toProvider > 0n) await burn(ctx, INFERENCE_ACCOUNT, d.bondWei - toProvider);
    s.status = 'computed';
    s.seq += 1;
    if (await modelFaulty(ctx, req.modelId)) {
      await failSlot(ctx, req, slot, `model ${req.modelId} is faulty`);
      return;
    }
    s.computedAt = ctx.block.height;
    await scheduleDue(ctx, s.computedAt + params.challengeWindowBlocks, {
      kind: DUE.WINDOW,
      requestId: req.id,
      slot,
      seq: s.seq,
      address: provider,
    });
    await advance(ctx, req, `slot ${slot}: the provider won the dispute`);
    return;
  }
  const cut = await slashProvider(
    ctx,
    provider,
    params.faultSlashBps,
    `lost the dispute on request ${req.id} slot ${slot}`,
  );
  const reward = (cut * BigInt(params.challengerRewardBps)) / BPS;
  await transfer(ctx, INFERENCE_ACCOUNT, d.challenger, reward + d.bondWei);
  if (cut - reward > 0n) await burn(ctx, INFERENCE_ACCOUNT, cut - reward);
  // After the slash: ending the provider's work may release unbonding stake held for it.
  await finishWork(ctx, provider);
  await reassignSlot(ctx, params, req, slot, 'the provider lost the dispute', budget);
}

/** A dispute step's deadline passed (end block): whoever did not act loses. */
export async function disputeTimeout(
  ctx: ExecContext,
  params: InferenceParams,
  req: Request,
  slot: number,
  budget: Budget,
): Promise<void> {
  const d = await getDispute(ctx, req.id, slot);
  if (!d) return;
  let providerWins: boolean;
  if (d.phase === 'oneStep') providerWins = false;
  else if (d.providerRevealed && !d.challengerRevealed) providerWins = true;
  else if (!d.providerRevealed && d.challengerRevealed) providerWins = false;
  else providerWins = true; // neither revealed: the challenger loses
  // Runs to its end even when the model became faulty (resolveDispute then fails the slot).
  await resolveDispute(ctx, params, req, slot, d, providerWins, budget);
}
