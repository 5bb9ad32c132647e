// End-block processing: the entries due at this height (missed deadlines, closed challenge
// windows, dispute step timeouts, pending slots that expired, unbonding releases), then slots
// waiting for a provider, oldest first. Never scans requests: it reads only the indexes; the
// providers of a (model, tier) pair are read at most once per block.

import { OK } from '../../errors.ts';
import { type ExecContext, readParams } from '../../module.ts';
import { disputeTimeout } from './dispute.ts';
import { inferenceEvents } from './events.ts';
import {
  advance,
  assignSlot,
  type Budget,
  failRequest,
  failSlot,
  finishWork,
  isTerminal,
  modelFaulty,
  paySlot,
  reassignSlot,
  slashAndBurn,
} from './lifecycle.ts';
import { type InferenceParams, inferenceParams } from './params.ts';
import { releaseUnbonding } from './providers.ts';
import {
  clearDue,
  closeProviderView,
  DUE,
  type DueItem,
  dueCount,
  getDue,
  getPending,
  getRequest,
  M,
  openProviderView,
  pendingBounds,
  popPending,
  providerView,
  pushPending,
  setRequest,
} from './store.ts';

async function processDue(
  ctx: ExecContext,
  params: InferenceParams,
  item: DueItem,
  budget: Budget,
): Promise<void> {
  if (item.kind === DUE.UNBOND) {
    await releaseUnbonding(ctx, item.address);
    return;
  }
  const req = await getRequest(ctx, item.requestId);
  if (!req || isTerminal(req)) return;
  const slot = req.slots[item.slot];
  if (!slot || slot.seq !== item.seq) return; // the slot moved on since this was scheduled
  const i = item.slot;
  switch (item.kind) {
    case DUE.DEADLINE:
      if (slot.status !== 'assigned') return;
      // Slash first: finishing the work may release unbonding stake held for it.
      await slashAndBurn(
        ctx,
        slot.provider,
        params.missedDeadlineSlashBps,
        `missed the deadline of request ${req.id} slot ${i}`,
      );
      await finishWork(ctx, slot.provider, { job: true });
      await reassignSlot(ctx, params, req, i, 'deadline missed', budget);
      break;
    case DUE.WINDOW:
      if (slot.status !== 'computed') return;
      if (await modelFaulty(ctx, req.modelId)) {
        await failRequest(ctx, req, `model ${req.modelId} is faulty`);
        break;
      }
      slot.status = 'finalized';
      slot.seq += 1;
      await paySlot(ctx, params, req, i);
      await advance(ctx, req, `challenge window of slot ${i} closed`);
      break;
    case DUE.DISPUTE:
      if (slot.status !== 'challenged') return;
      await disputeTimeout(ctx, params, req, i, budget);
      break;
    case DUE.PENDING:
      if (slot.status !== 'pending') return;
      await failSlot(
        ctx,
        req,
        i,
        `no provider took slot ${i} within ${params.queueTimeoutBlocks} blocks (queueTimeoutBlocks)`,
      );
      break;
    default:
      return;
  }
  setRequest(ctx, req);
}

/** Retries pending slots from the head of the queue while the block's assignment budget lasts. */
async function processPending(
  ctx: ExecContext,
  params: InferenceParams,
  budget: { left: number },
): Promise<void> {
  const { head, tail } = await pendingBounds(ctx);
  let examined = 0;
  for (let i = head; i < tail && budget.left > 0 && examined < 4 * params.maxAssignPerBlock; i++) {
    examined++;
    const item = await getPending(ctx, i);
    popPending(ctx, i);
    if (!item) continue;
    const code = await ctx.attempt(async () => {
      const req = await getRequest(ctx, item.requestId);
      const slot = req?.slots[item.slot];
      if (!req || isTerminal(req) || !slot || slot.status !== 'pending' || slot.seq !== item.seq) return;
      if (await assignSlot(ctx, params, req, item.slot, budget, false)) {
        await advance(ctx, req, `slot ${item.slot} assigned`);
        setRequest(ctx, req);
      } else await pushPending(ctx, item);
    });
    if (code !== OK) itemFailed(ctx, 0, item.requestId, item.slot, code);
  }
}

/**
 * Reports an end-block item that failed and was undone. The provider copies of this block's view
 * may hold writes that were just undone, so they are read again from state.
 */
function itemFailed(ctx: ExecContext, kind: number, id: bigint, slot: number, code: number): void {
  providerView(ctx)?.lists.clear();
  inferenceEvents.emit(ctx, 'itemFailed', {
    kind: kind.toString(),
    id: id.toString(),
    slot: slot.toString(),
    code: code.toString(),
  });
}

export async function inferenceEndBlock(ctx: ExecContext): Promise<void> {
  const params = await readParams(ctx, M, inferenceParams);
  const budget = { left: params.maxAssignPerBlock };
  const height = ctx.block.height;
  // Providers serving a (model, tier) pair are read once for the whole block (see store.ts).
  openProviderView(ctx);
  try {
    let i = 0n;
    // Entries scheduled for this very height while processing are appended to the same bucket
    // and handled in this loop.
    for (; i < (await dueCount(ctx, height)); i++) {
      const item = await getDue(ctx, height, i);
      if (!item) continue;
      // Each item alone: a typed failure undoes that item only and is reported; the rest go on.
      const code = await ctx.attempt(() => processDue(ctx, params, item, budget));
      if (code !== OK) itemFailed(ctx, item.kind, item.requestId, item.slot, code);
    }
    if (i > 0n) clearDue(ctx, height, i);
    await processPending(ctx, params, budget);
  } finally {
    closeProviderView(ctx);
  }
}
