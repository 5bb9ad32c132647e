// The request state machine shared by handlers and end-block processing: status bookkeeping,
// assignment and reassignment, payment of slots (fee split), slashing, failure and refunds.
// Functions mutate the request in memory; the caller writes it (setRequest) once at the end.
// Provider records are written where they change.

import type { Address } from '@aivm/crypto';
import { FEE_COLLECTOR, ZERO_ADDRESS } from '../../accounts.ts';
import type { ExecContext } from '../../module.ts';
import { burn, transfer } from '../bank/store.ts';
import { countQuery, creditReviewers, getModel } from '../models/keeper.ts';
import { assignmentSeed, type Candidate, drawProvider, eligibleCandidates } from './assign.ts';
import { inferenceEvents } from './events.ts';
import { BPS, type InferenceParams } from './params.ts';
import { releaseUnbonding } from './providers.ts';
import {
  DUE,
  getOpenSlots,
  getProvider,
  INFERENCE_ACCOUNT,
  pushPending,
  type Request,
  type RequestStatus,
  type Slot,
  type SlotStatus,
  sameAddress,
  scheduleDue,
  setOpenSlots,
  setProvider,
  TIER_ONCHAIN,
  TIER_ZK,
  ZERO32,
} from './store.ts';

/** How many assignments end-block processing may still make this block (handlers: unlimited). */
export type Budget = { left: number } | undefined;

const RANK: Partial<Record<SlotStatus, number>> = {
  pending: 0,
  assigned: 1,
  computed: 2,
  proven: 3,
  finalized: 3,
};
const BY_RANK: RequestStatus[] = ['pending', 'assigned', 'computed', 'proven'];

export function isTerminal(req: Pick<Request, 'status'>): boolean {
  return req.status === 'finalized' || req.status === 'failed';
}

/** Whether a slot was paid (zk: proven; optimistic: finalized after its window). */
export function slotDone(s: Slot): boolean {
  return s.status === 'proven' || s.status === 'finalized';
}

/** Whether a slot is over: paid or failed. */
export function slotTerminal(s: Slot): boolean {
  return slotDone(s) || s.status === 'failed';
}

export function emptySlot(): Slot {
  return {
    status: 'pending',
    provider: ZERO_ADDRESS,
    attempts: 0,
    seq: 0,
    assignedAt: 0n,
    deadline: 0n,
    pendingSince: 0n,
    computedAt: 0n,
    output: new Uint8Array(0),
    layerRoot: ZERO32,
  };
}

export function setStatus(ctx: ExecContext, req: Request, status: RequestStatus, reason: string): void {
  if (req.status === status) return;
  req.status = status;
  req.reason = reason;
  req.updatedAt = ctx.block.height;
  inferenceEvents.emit(ctx, 'status', { id: req.id.toString(), status, reason });
}

/**
 * The request's status from its slots that are not failed: the least advanced one, or
 * challenged if any is.
 */
export function aggregateStatus(req: Request): RequestStatus {
  if (req.slots.some((s) => s.status === 'challenged')) return 'challenged';
  let min = 3;
  for (const s of req.slots) if (s.status !== 'failed') min = Math.min(min, RANK[s.status] ?? 0);
  return BY_RANK[min]!;
}

/**
 * Moves the request's status after a slot changed. Once every slot is terminal the request is
 * terminal too: finalized when at least one slot was paid (the unpaid slots' share refunded),
 * failed (everything refunded) when none was; `reason` explains a failure.
 */
export async function advance(ctx: ExecContext, req: Request, reason: string): Promise<void> {
  if (isTerminal(req)) return;
  if (req.slots.every(slotTerminal)) {
    const paid = req.slots.filter(slotDone).length;
    if (paid === 0) {
      await refund(ctx, req);
      setStatus(ctx, req, 'failed', reason);
      return;
    }
    const why = paid === req.slots.length ? 'every slot paid' : `${paid} of ${req.slots.length} slots paid`;
    if (req.tier === TIER_ZK) setStatus(ctx, req, 'proven', reason);
    await finalize(ctx, req, why);
    return;
  }
  setStatus(ctx, req, aggregateStatus(req), reason);
}

function paidTotal(req: Request): bigint {
  const f = req.fees;
  return f.ownerWei + f.providerWei + f.reviewersWei + f.protocolWei;
}

async function refund(ctx: ExecContext, req: Request): Promise<void> {
  const amount = req.maxFeeWei - paidTotal(req);
  req.fees.refundWei = amount;
  if (amount > 0n) await transfer(ctx, INFERENCE_ACCOUNT, req.requester, amount);
  inferenceEvents.emit(ctx, 'refunded', { id: req.id.toString(), amountWei: amount.toString() });
}

/** The request's output is its first paid slot's. */
export async function finalize(ctx: ExecContext, req: Request, reason: string): Promise<void> {
  req.output = (req.slots.find(slotDone) ?? req.slots[0]!).output;
  await refund(ctx, req);
  await countQuery(ctx, req.modelId);
  setStatus(ctx, req, 'finalized', reason);
}

/**
 * Pays one slot its price from escrow. The request's floor (the tier's cost when it was made)
 * goes wholly to the slot's provider, who did the work: so requesting one's own model costs at
 * least that, paid to someone else. The price above the floor is split: owner, provider (the
 * protocol for the on-chain tier, which has none and no floor), reviewers (creditReviewers; what
 * it cannot credit goes to the protocol), protocol.
 */
export async function paySlot(
  ctx: ExecContext,
  params: InferenceParams,
  req: Request,
  index: number,
): Promise<void> {
  // biome-ignore lint/complexity/useMathMinMax: bigint operands
  const floor = req.floorWei < req.priceWei ? req.floorWei : req.priceWei;
  const price = req.priceWei - floor;
  const model = await getModel(ctx, req.modelId);
  const owner = model?.owner ?? FEE_COLLECTOR;
  const ownerWei = (price * BigInt(params.ownerShareBps)) / BPS;
  let providerWei = (price * BigInt(params.providerShareBps)) / BPS;
  const reviewerShare = (price * BigInt(params.reviewerShareBps)) / BPS;
  let protocolWei = price - ownerWei - providerWei - reviewerShare;
  const slot = req.slots[index]!;
  if (req.tier === TIER_ONCHAIN) {
    protocolWei += providerWei + floor;
    providerWei = 0n;
  } else providerWei += floor;
  if (ownerWei > 0n) await transfer(ctx, INFERENCE_ACCOUNT, owner, ownerWei);
  if (providerWei > 0n) await transfer(ctx, INFERENCE_ACCOUNT, slot.provider, providerWei);
  const notCredited = model
    ? await creditReviewers(ctx, req.modelId, reviewerShare, INFERENCE_ACCOUNT)
    : reviewerShare;
  const reviewersWei = reviewerShare - notCredited;
  protocolWei += notCredited;
  await transfer(ctx, INFERENCE_ACCOUNT, FEE_COLLECTOR, protocolWei);
  req.fees.ownerWei += ownerWei;
  req.fees.providerWei += providerWei;
  req.fees.reviewersWei += reviewersWei;
  req.fees.protocolWei += protocolWei;
  inferenceEvents.emit(ctx, 'paid', {
    id: req.id.toString(),
    slot: index.toString(),
    ownerWei: ownerWei.toString(),
    providerWei: providerWei.toString(),
    reviewersWei: reviewersWei.toString(),
    protocolWei: protocolWei.toString(),
  });
  if (req.tier !== TIER_ONCHAIN) {
    await closeRequesterSlot(ctx, req);
    await finishWork(ctx, slot.provider, { served: true });
  }
}

/** One slot of the requester's requests became terminal (paid or failed). */
async function closeRequesterSlot(ctx: ExecContext, req: Request): Promise<void> {
  if (req.tier === TIER_ONCHAIN) return;
  const n = await getOpenSlots(ctx, req.requester);
  setOpenSlots(ctx, req.requester, n > 0n ? n - 1n : 0n);
}

/**
 * A provider's slot stopped being its open work (paid, failed, given back, or taken away after a
 * fault — the caller slashes BEFORE this): openWork (and with `job`, openJobs) goes down, `served`
 * counts a paid slot. When no open work is left, unbonding entries that matured while it was held
 * are released now.
 */
export async function finishWork(
  ctx: ExecContext,
  address: Address,
  opts: { job?: boolean; served?: boolean } = {},
): Promise<void> {
  const p = await getProvider(ctx, address);
  if (!p) return;
  if (opts.job && p.openJobs > 0) p.openJobs -= 1;
  if (p.openWork > 0) p.openWork -= 1;
  if (opts.served) p.served += 1n;
  setProvider(ctx, p);
  if (p.openWork === 0 && p.unbonding.some((u) => u.releaseHeight <= ctx.block.height))
    await releaseUnbonding(ctx, address);
}

/**
 * Cuts `bps` of a provider's stake, bonded first, then unbonding entries (newest first), counts a
 * fault and returns the cut. The tokens stay in the module account: the caller burns them or pays
 * part to a challenger.
 */
export async function slashProvider(
  ctx: ExecContext,
  address: Address,
  bps: number,
  reason: string,
): Promise<bigint> {
  const p = await getProvider(ctx, address);
  if (!p) return 0n;
  let base = p.stakeWei;
  for (const u of p.unbonding) base += u.amountWei;
  const cut = (base * BigInt(bps)) / BPS;
  let rest = cut;
  const fromStake = rest < p.stakeWei ? rest : p.stakeWei;
  p.stakeWei -= fromStake;
  rest -= fromStake;
  for (let i = p.unbonding.length - 1; i >= 0 && rest > 0n; i--) {
    const u = p.unbonding[i]!;
    const take = rest < u.amountWei ? rest : u.amountWei;
    u.amountWei -= take;
    rest -= take;
  }
  p.faults += 1n;
  p.slashedWei += cut;
  setProvider(ctx, p);
  inferenceEvents.emit(ctx, 'slashed', { provider: address, amountWei: cut.toString(), reason });
  return cut;
}

/** Slashes and burns the whole cut. */
export async function slashAndBurn(
  ctx: ExecContext,
  address: Address,
  bps: number,
  reason: string,
): Promise<bigint> {
  const cut = await slashProvider(ctx, address, bps, reason);
  if (cut > 0n) await burn(ctx, INFERENCE_ACCOUNT, cut);
  return cut;
}

/** One open job less for a provider (its slot was answered, given up or taken away). */
export async function releaseJob(ctx: ExecContext, address: Address): Promise<void> {
  const p = await getProvider(ctx, address);
  if (!p || p.openJobs === 0) return;
  p.openJobs -= 1;
  setProvider(ctx, p);
}

/**
 * Assigns slot `index` by stake-weighted draw. Without an eligible provider (or end-block budget)
 * the slot waits in the pending queue; `requeue` false when the caller re-queues it itself.
 * `eligible`: the request's candidates read earlier in the same transaction (initial draw).
 * Returns whether a provider was assigned.
 */
export async function assignSlot(
  ctx: ExecContext,
  params: InferenceParams,
  req: Request,
  index: number,
  budget: Budget,
  requeue = true,
  eligible?: Candidate[],
): Promise<boolean> {
  const slot = req.slots[index]!;
  const height = ctx.block.height;
  let drawn: Address | undefined;
  if (!budget || budget.left > 0) {
    // Candidates read earlier for this request stay valid minus those drawn since (only their
    // open jobs changed, and they are excluded as tried anyway).
    const candidates = eligible
      ? eligible.filter((c) => !req.tried.some((a) => sameAddress(a, c.address)))
      : await eligibleCandidates(ctx, req, params);
    drawn = drawProvider(candidates, assignmentSeed(ctx.block.parentHash, req.id, index, slot.attempts));
    // Only an assignment made uses the block's budget (a slot without candidates does not).
    if (drawn && budget) budget.left -= 1;
  }
  if (!drawn) {
    if (!requeue) return false;
    const wasPending = slot.status === 'pending' && slot.pendingSince !== 0n;
    slot.status = 'pending';
    slot.provider = ZERO_ADDRESS;
    slot.seq += 1;
    if (!wasPending) {
      slot.pendingSince = height;
      await scheduleDue(ctx, height + params.queueTimeoutBlocks, {
        kind: DUE.PENDING,
        requestId: req.id,
        slot: index,
        seq: slot.seq,
        address: ZERO_ADDRESS,
      });
    }
    await pushPending(ctx, { requestId: req.id, slot: index, seq: slot.seq });
    return false;
  }
  const p = (await getProvider(ctx, drawn))!;
  p.openJobs += 1;
  p.openWork += 1;
  setProvider(ctx, p);
  req.tried.push(drawn);
  slot.status = 'assigned';
  slot.provider = drawn;
  slot.attempts += 1;
  slot.seq += 1;
  slot.assignedAt = height;
  slot.deadline = height + params.resultDeadlineBlocks;
  slot.pendingSince = 0n;
  slot.computedAt = 0n;
  slot.output = new Uint8Array(0);
  slot.layerRoot = ZERO32;
  await scheduleDue(ctx, slot.deadline, {
    kind: DUE.DEADLINE,
    requestId: req.id,
    slot: index,
    seq: slot.seq,
    address: drawn,
  });
  inferenceEvents.emit(ctx, 'assigned', {
    id: req.id.toString(),
    slot: index.toString(),
    provider: drawn,
    deadline: slot.deadline.toString(),
  });
  return true;
}

/**
 * After its provider let go of the slot (fault: already slashed; decline) and its work was
 * finished: the slot gets a new provider, or fails alone when it used maxAttempts assignments;
 * a faulty model fails the request's unserved slots.
 */
export async function reassignSlot(
  ctx: ExecContext,
  params: InferenceParams,
  req: Request,
  index: number,
  why: string,
  budget: Budget,
): Promise<void> {
  const slot = req.slots[index]!;
  // Detach the old provider first: nothing below may count its work again.
  slot.status = 'pending';
  slot.provider = ZERO_ADDRESS;
  slot.pendingSince = 0n;
  slot.seq += 1;
  if (await modelFaulty(ctx, req.modelId)) {
    await failRequest(ctx, req, `model ${req.modelId} is faulty`);
    return;
  }
  if (slot.attempts >= params.maxAttempts) {
    await failSlot(ctx, req, index, `slot ${index}: ${why}; ${slot.attempts} attempts exhausted`);
    return;
  }
  await assignSlot(ctx, params, req, index, budget);
  await advance(ctx, req, `slot ${index}: ${why}; reassigned`);
}

/** Fails one slot that is not paid, not in a dispute (its provider's work ends, no slash). */
async function failOne(ctx: ExecContext, req: Request, index: number, reason: string): Promise<void> {
  const s = req.slots[index]!;
  if (s.status === 'assigned') await finishWork(ctx, s.provider, { job: true });
  else if (s.status === 'computed') await finishWork(ctx, s.provider);
  s.status = 'failed';
  s.seq += 1;
  await closeRequesterSlot(ctx, req);
  inferenceEvents.emit(ctx, 'slotFailed', { id: req.id.toString(), slot: index.toString(), reason });
}

/**
 * Slot `index` cannot be served (attempts exhausted, no provider in time): it fails alone; the
 * request ends once every slot is terminal (see advance).
 */
export async function failSlot(ctx: ExecContext, req: Request, index: number, reason: string): Promise<void> {
  const s = req.slots[index]!;
  if (slotTerminal(s) || s.status === 'challenged') return;
  await failOne(ctx, req, index, reason);
  await advance(ctx, req, reason);
}

/**
 * The model is faulty: every slot that is pending, assigned or computed fails (computed results
 * are not paid, no slash). Open disputes run to their end; their slot then fails too (a faulty
 * model pays nothing). The request ends when every slot is terminal.
 */
export async function failRequest(ctx: ExecContext, req: Request, reason: string): Promise<void> {
  if (isTerminal(req)) return;
  for (const [i, s] of req.slots.entries())
    if (!slotTerminal(s) && s.status !== 'challenged') await failOne(ctx, req, i, reason);
  await advance(ctx, req, reason);
}

/** Whether the model still serves in-flight requests (only a faulty model stops them). */
export async function modelFaulty(ctx: ExecContext, id: string): Promise<boolean> {
  const m = await getModel(ctx, id);
  return !m || m.status === 'faulty';
}
