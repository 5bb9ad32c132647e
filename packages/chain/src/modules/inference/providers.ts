// Provider messages: register with stake, update the offer, add stake, unbond (released after
// providerUnbondingBlocks by end-block processing, and still slashable until then; held longer
// while the provider has slots that are not final, see releaseUnbonding).

import type { Infer } from '@aivm/codec';
import type { Address } from '@aivm/crypto';
import { type ExecContext, readParams, requireThat } from '../../module.ts';
import { transfer } from '../bank/store.ts';
import { inferenceEvents } from './events.ts';
import type {
  InferenceAddStake,
  InferenceRegisterProvider,
  InferenceUnbond,
  InferenceUpdateProvider,
} from './messages.ts';
import { inferenceParams } from './params.ts';
import {
  compareAddresses,
  DUE,
  deleteProvider,
  getProvider,
  getProviderList,
  INFERENCE_ACCOUNT,
  M,
  MAX_PROVIDERS,
  MAX_UNBONDING_ENTRIES,
  type Provider,
  sameAddress,
  scheduleDue,
  setProvider,
  setProviderList,
  TIER_OPTIMISTIC,
  TIER_ZK,
} from './store.ts';

function checkOffer(msg: { tiers: number; models: string[]; endpoint: string }): void {
  requireThat(
    msg.tiers !== 0 && (msg.tiers & ~(TIER_ZK | TIER_OPTIMISTIC)) === 0,
    'tiers must be a non-empty mask of 2 (zk) and 4 (optimistic); the on-chain tier needs no provider',
  );
  const seen = new Set<string>();
  for (const id of msg.models) {
    requireThat(id.length > 0, 'a model id must not be empty');
    requireThat(!seen.has(id), `model ${id} is listed twice`);
    seen.add(id);
  }
}

function emitProvider(ctx: ExecContext, p: Provider, action: string): void {
  inferenceEvents.emit(ctx, 'provider', { provider: p.address, action, stakeWei: p.stakeWei.toString() });
}

async function requireProvider(ctx: ExecContext, sender: Address): Promise<Provider> {
  const p = await getProvider(ctx, sender);
  requireThat(p !== undefined, `${sender} is not a registered provider`);
  return p;
}

export async function handleRegisterProvider(
  ctx: ExecContext,
  msg: Infer<typeof InferenceRegisterProvider>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, inferenceParams);
  requireThat((await getProvider(ctx, sender)) === undefined, `${sender} is already a registered provider`);
  requireThat(
    msg.stakeWei >= params.minProviderStakeWei,
    `stake must be at least ${params.minProviderStakeWei} wei (minProviderStakeWei)`,
  );
  requireThat(msg.capacity >= 1, 'capacity must be at least 1');
  checkOffer(msg);
  const list = await getProviderList(ctx);
  requireThat(list.length < MAX_PROVIDERS, `the provider list is full (${MAX_PROVIDERS})`);
  await transfer(ctx, sender, INFERENCE_ACCOUNT, msg.stakeWei);
  const p: Provider = {
    address: sender,
    stakeWei: msg.stakeWei,
    capacity: msg.capacity,
    tiers: msg.tiers,
    models: msg.models,
    endpoint: msg.endpoint,
    openJobs: 0,
    openWork: 0,
    unbonding: [],
    registeredAt: ctx.block.height,
    served: 0n,
    faults: 0n,
    slashedWei: 0n,
  };
  setProvider(ctx, p);
  let at = list.findIndex((a) => compareAddresses(sender, a) < 0);
  if (at < 0) at = list.length;
  list.splice(at, 0, sender);
  setProviderList(ctx, list);
  emitProvider(ctx, p, 'registered');
}

export async function handleUpdateProvider(
  ctx: ExecContext,
  msg: Infer<typeof InferenceUpdateProvider>,
  sender: Address,
): Promise<void> {
  const p = await requireProvider(ctx, sender);
  checkOffer(msg);
  p.capacity = msg.capacity;
  p.tiers = msg.tiers;
  p.models = msg.models;
  p.endpoint = msg.endpoint;
  setProvider(ctx, p);
  emitProvider(ctx, p, 'updated');
}

export async function handleAddStake(
  ctx: ExecContext,
  msg: Infer<typeof InferenceAddStake>,
  sender: Address,
): Promise<void> {
  const p = await requireProvider(ctx, sender);
  requireThat(msg.amountWei > 0n, 'amountWei must be positive');
  await transfer(ctx, sender, INFERENCE_ACCOUNT, msg.amountWei);
  p.stakeWei += msg.amountWei;
  setProvider(ctx, p);
  emitProvider(ctx, p, 'staked');
}

export async function handleUnbond(
  ctx: ExecContext,
  msg: Infer<typeof InferenceUnbond>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, inferenceParams);
  const p = await requireProvider(ctx, sender);
  requireThat(msg.amountWei > 0n, 'amountWei must be positive');
  requireThat(msg.amountWei <= p.stakeWei, `amountWei exceeds the bonded stake ${p.stakeWei} wei`);
  requireThat(
    p.unbonding.length < MAX_UNBONDING_ENTRIES,
    `at most ${MAX_UNBONDING_ENTRIES} unbonding entries at a time`,
  );
  const releaseHeight = ctx.block.height + params.providerUnbondingBlocks;
  p.stakeWei -= msg.amountWei;
  p.unbonding.push({ amountWei: msg.amountWei, releaseHeight });
  setProvider(ctx, p);
  await scheduleDue(ctx, releaseHeight, {
    kind: DUE.UNBOND,
    requestId: 0n,
    slot: 0,
    seq: 0,
    address: sender,
  });
  emitProvider(ctx, p, 'unbonding');
}

/**
 * Pays out a provider's matured unbonding entries, unless it has open work (slots assigned,
 * computed or challenged): then nothing is released and the entries stay slashable; the release
 * happens when its last open slot ends (keeper finishWork). A provider left with nothing (no
 * stake, no unbonding, no open work) is removed from the list.
 */
export async function releaseUnbonding(ctx: ExecContext, address: Address): Promise<void> {
  const p = await getProvider(ctx, address);
  if (!p || p.openWork > 0) return;
  const height = ctx.block.height;
  let released = 0n;
  const keep = p.unbonding.filter((u) => {
    if (u.releaseHeight > height) return true;
    released += u.amountWei;
    return false;
  });
  if (keep.length === p.unbonding.length) return;
  p.unbonding = keep;
  if (released > 0n) await transfer(ctx, INFERENCE_ACCOUNT, address, released);
  inferenceEvents.emit(ctx, 'unbonded', { provider: address, amountWei: released.toString() });
  if (p.stakeWei === 0n && p.unbonding.length === 0 && p.openJobs === 0 && p.openWork === 0) {
    deleteProvider(ctx, address);
    setProviderList(
      ctx,
      (await getProviderList(ctx)).filter((a) => !sameAddress(a, address)),
    );
    emitProvider(ctx, p, 'removed');
    return;
  }
  setProvider(ctx, p);
}
