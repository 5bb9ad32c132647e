// Typed accessors over the inference key prefix "inference/": providers (one record each plus one
// sorted address list), requests (record, input, per-requester index), disputes, and the indexes
// end-block processing reads instead of scanning: a due list per height (deadlines, challenge
// windows, dispute steps, unbonding releases, pending expiries) and a FIFO of pending slots.

import { decode, encode, type Infer, t } from '@aivm/codec';
import { type Address, addressToBytes, compareBytes, concatBytes, u64be, utf8ToBytes } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { moduleAddress } from '../../accounts.ts';
import type { ExecContext } from '../../module.ts';
import { MAX_OUTPUT_BYTES, MAX_PROVIDER_MODELS } from './messages.ts';
import { MAX_ATTEMPTS, MAX_REDUNDANCY } from './params.ts';

/** Holds request escrow, provider stake (bonded and unbonding) and challenger bonds. */
export const INFERENCE_ACCOUNT = moduleAddress('inference');

export const ZERO32 = new Uint8Array(32);

import { MODEL_ID, TIER_NAMES, TIER_ONCHAIN, TIER_OPTIMISTIC, TIER_ZK } from '../models/store.ts';

/** The module's name: its key prefix, its events' module and its account seed. */
export const M = 'inference';

export { TIER_NAMES, TIER_ONCHAIN, TIER_OPTIMISTIC, TIER_ZK };

/** Hard cap on provider records (assignment reads the one sorted list). */
export const MAX_PROVIDERS = 1_000;
export const MAX_UNBONDING_ENTRIES = 16;

export const REQUEST_STATUSES = [
  'pending',
  'assigned',
  'computed',
  'challenged',
  'proven',
  'finalized',
  'failed',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** Slot statuses: 'finalized' is an optimistic slot paid after its window, 'proven' a zk slot paid. */
export type SlotStatus =
  | 'pending'
  | 'assigned'
  | 'computed'
  | 'challenged'
  | 'proven'
  | 'finalized'
  | 'failed';

export const ProviderUnbondingSchema = t.struct('InferenceProviderUnbonding', {
  amountWei: t.uint256,
  releaseHeight: t.uint64,
});

export const ProviderSchema = t.struct('InferenceProvider', {
  address: t.address,
  stakeWei: t.uint256,
  capacity: t.uint32,
  tiers: t.uint8,
  models: t.array(MODEL_ID, MAX_PROVIDER_MODELS),
  endpoint: t.string(256),
  /** Assigned slots not answered yet (counted against capacity). */
  openJobs: t.uint32,
  /**
   * Slots of this provider that are not final yet (assigned, computed or challenged). While it is
   * non-zero the provider's unbonding entries are not released and the record is never removed,
   * so every stake that may still be slashed for those slots stays in reach.
   */
  openWork: t.uint32,
  unbonding: t.array(ProviderUnbondingSchema, MAX_UNBONDING_ENTRIES),
  registeredAt: t.uint64,
  /** Slots paid to this provider. */
  served: t.uint64,
  /** Slots this provider failed (missed deadline, invalid proof, lost dispute). */
  faults: t.uint64,
  slashedWei: t.uint256,
});
export type Provider = Infer<typeof ProviderSchema>;

export const SlotSchema = t.struct('InferenceSlot', {
  status: t.string(16),
  provider: t.address,
  /** Assignments made so far for this slot. */
  attempts: t.uint8,
  /** Bumped on every change, so due-list entries scheduled earlier can tell they are stale. */
  seq: t.uint32,
  assignedAt: t.uint64,
  /** Last height at which the assigned provider may answer. */
  deadline: t.uint64,
  pendingSince: t.uint64,
  computedAt: t.uint64,
  /** The slot's result: int32 little-endian output (empty until computed or proven). */
  output: t.bytes(MAX_OUTPUT_BYTES),
  /** Optimistic tier: the provider's layer root. */
  layerRoot: t.bytes32,
});
export type Slot = Omit<Infer<typeof SlotSchema>, 'status'> & { status: SlotStatus };

export const FeeBreakdownSchema = t.struct('InferenceFees', {
  ownerWei: t.uint256,
  providerWei: t.uint256,
  reviewersWei: t.uint256,
  protocolWei: t.uint256,
  refundWei: t.uint256,
});

export const RequestSchema = t.struct('InferenceRequestRecord', {
  id: t.uint64,
  requester: t.address,
  modelId: MODEL_ID,
  tier: t.uint8,
  redundancy: t.uint8,
  maxFeeWei: t.uint256,
  /** The model's price when the request was made (each paid slot pays it). */
  priceWei: t.uint256,
  /**
   * The tier's price floor when the request was made (tierFloorWei; 0 for the on-chain tier):
   * this part of each paid slot goes wholly to the slot's provider, the rest is split.
   */
  floorWei: t.uint256,
  status: t.string(16),
  reason: t.string(256),
  createdAt: t.uint64,
  updatedAt: t.uint64,
  /** The request's result (int32 little-endian), set when it is finalized. */
  output: t.bytes(MAX_OUTPUT_BYTES),
  /** On-chain tier: the runtime gas charged for the execution. */
  computeGas: t.uint64,
  fees: FeeBreakdownSchema,
  /** Every provider ever assigned a slot of this request (none is assigned twice). */
  tried: t.array(t.address, MAX_REDUNDANCY * MAX_ATTEMPTS),
  slots: t.array(SlotSchema, MAX_REDUNDANCY),
});
export type Request = Omit<Infer<typeof RequestSchema>, 'status' | 'slots'> & {
  status: RequestStatus;
  slots: Slot[];
};

export const DisputeSchema = t.struct('InferenceDispute', {
  challenger: t.address,
  bondWei: t.uint256,
  challengerRoot: t.bytes32,
  /** Leaves 0..n: node count of the model. */
  n: t.uint32,
  /** Both agree on leaf lo and disagree on leaf hi. */
  lo: t.uint32,
  hi: t.uint32,
  loLeaf: t.bytes32,
  /** The provider's leaf at hi (what node lo must produce for the provider to win). */
  providerHiLeaf: t.bytes32,
  /** 'bisect' (reveals at mid) or 'oneStep'. */
  phase: t.string(8),
  deadline: t.uint64,
  providerRevealed: t.bool,
  providerLeaf: t.bytes32,
  challengerRevealed: t.bool,
  challengerLeaf: t.bytes32,
  openedAt: t.uint64,
});
export type Dispute = Infer<typeof DisputeSchema>;

/** What a due-list entry asks end-block processing to look at. */
export const DUE = {
  /** An assigned slot's deadline: missed if still assigned. */
  DEADLINE: 1,
  /** A computed slot's challenge window end: finalize and pay if still computed. */
  WINDOW: 2,
  /** A dispute step's deadline: the party that did not act loses. */
  DISPUTE: 3,
  /** A pending slot that found no provider for queueTimeoutBlocks: the slot fails. */
  PENDING: 4,
  /** A provider's unbonding entries that mature now. */
  UNBOND: 5,
} as const;

export const DueItemSchema = t.struct('InferenceDueItem', {
  kind: t.uint8,
  requestId: t.uint64,
  slot: t.uint8,
  seq: t.uint32,
  address: t.address,
});
export type DueItem = Infer<typeof DueItemSchema>;

export const PendingItemSchema = t.struct('InferencePendingItem', {
  requestId: t.uint64,
  slot: t.uint8,
  seq: t.uint32,
});
export type PendingItem = Infer<typeof PendingItemSchema>;

const P = (s: string) => utf8ToBytes(`inference/${s}`);
const NEXT_ID = P('nextId');
const PROVIDER_LIST = P('plist');
const PQ_HEAD = P('pqHead');
const PQ_TAIL = P('pqTail');
const providerKey = (a: Address) => concatBytes(P('prov/'), addressToBytes(a));
const requestKey = (id: bigint) => concatBytes(P('req/'), u64be(id));
const inputKey = (id: bigint) => concatBytes(P('in/'), u64be(id));
const disputeKey = (id: bigint, slot: number) => concatBytes(P('disp/'), u64be(id), Uint8Array.of(slot));
const dueCountKey = (h: bigint) => concatBytes(P('duen/'), u64be(h));
const dueKey = (h: bigint, i: bigint) => concatBytes(P('due/'), u64be(h), u64be(i));
const pendingKey = (i: bigint) => concatBytes(P('pq/'), u64be(i));
const byRequesterCountKey = (a: Address) => concatBytes(P('rqn/'), addressToBytes(a));
const byRequesterKey = (a: Address, i: bigint) => concatBytes(P('rq/'), addressToBytes(a), u64be(i));
const openSlotsKey = (a: Address) => concatBytes(P('rqopen/'), addressToBytes(a));

const ProviderListSchema = t.array(t.address, MAX_PROVIDERS);

async function readU64(state: KVReader, key: Uint8Array): Promise<bigint> {
  const raw = await state.get(key);
  return raw ? decode(t.uint64, raw) : 0n;
}

// ---- providers ----

export async function getProvider(state: KVReader, a: Address): Promise<Provider | undefined> {
  const raw = await state.get(providerKey(a));
  return raw ? decode(ProviderSchema, raw) : undefined;
}

export function setProvider(ctx: ExecContext, p: Provider): void {
  ctx.set(providerKey(p.address), encode(ProviderSchema, p));
  providerViews.get(ctx)?.update(p);
}

export function deleteProvider(ctx: ExecContext, a: Address): void {
  ctx.delete(providerKey(a));
  providerViews.get(ctx)?.remove(a);
}

// ---- end-block provider view ----
//
// End-block processing may assign many slots in one block. Instead of reading every provider
// record for each of them, it reads the providers that serve a (model, tier) pair once per block
// and keeps those copies in step with every write of a provider record made through setProvider /
// deleteProvider in the same block (state is the only input, so every node sees the same view).
// Opened and closed by inferenceEndBlock; handlers never have one.

/** Provider copies that serve a (model, tier) pair, in canonical order, kept in step with writes. */
export class ProviderView {
  readonly lists = new Map<string, Provider[]>();
  update(p: Provider): void {
    for (const list of this.lists.values()) {
      const i = list.findIndex((x) => sameAddress(x.address, p.address));
      if (i >= 0) list[i] = { ...p };
    }
  }
  remove(a: Address): void {
    for (const [key, list] of this.lists) {
      this.lists.set(
        key,
        list.filter((x) => !sameAddress(x.address, a)),
      );
    }
  }
}

const providerViews = new WeakMap<ExecContext, ProviderView>();

export function openProviderView(ctx: ExecContext): ProviderView {
  const view = new ProviderView();
  providerViews.set(ctx, view);
  return view;
}

export function closeProviderView(ctx: ExecContext): void {
  providerViews.delete(ctx);
}

export function providerView(state: KVReader): ProviderView | undefined {
  return providerViews.get(state as ExecContext);
}

/** Provider addresses in canonical order (ascending address bytes). */
export async function getProviderList(state: KVReader): Promise<Address[]> {
  const raw = await state.get(PROVIDER_LIST);
  return raw ? decode(ProviderListSchema, raw) : [];
}

export function setProviderList(ctx: ExecContext, list: Address[]): void {
  if (list.length === 0) ctx.delete(PROVIDER_LIST);
  else ctx.set(PROVIDER_LIST, encode(ProviderListSchema, list));
}

export function compareAddresses(a: Address, b: Address): number {
  return compareBytes(addressToBytes(a), addressToBytes(b));
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

// ---- requests ----

export async function nextRequestId(ctx: ExecContext): Promise<bigint> {
  const raw = await ctx.get(NEXT_ID);
  const id = raw ? decode(t.uint64, raw) : 1n;
  ctx.set(NEXT_ID, encode(t.uint64, id + 1n));
  return id;
}

/** The id the next request will get (ids start at 1). */
export async function peekNextRequestId(state: KVReader): Promise<bigint> {
  const raw = await state.get(NEXT_ID);
  return raw ? decode(t.uint64, raw) : 1n;
}

export async function getRequest(state: KVReader, id: bigint): Promise<Request | undefined> {
  const raw = await state.get(requestKey(id));
  return raw ? (decode(RequestSchema, raw) as Request) : undefined;
}

export function setRequest(ctx: ExecContext, r: Request): void {
  ctx.set(requestKey(r.id), encode(RequestSchema, r));
}

export async function getInput(state: KVReader, id: bigint): Promise<Uint8Array> {
  return (await state.get(inputKey(id))) ?? new Uint8Array(0);
}

export function setInput(ctx: ExecContext, id: bigint, input: Uint8Array): void {
  ctx.set(inputKey(id), input);
}

export async function indexByRequester(ctx: ExecContext, requester: Address, id: bigint): Promise<void> {
  const n = await readU64(ctx, byRequesterCountKey(requester));
  ctx.set(byRequesterKey(requester, n), encode(t.uint64, id));
  ctx.set(byRequesterCountKey(requester), encode(t.uint64, n + 1n));
}

export async function requesterCount(state: KVReader, requester: Address): Promise<bigint> {
  return readU64(state, byRequesterCountKey(requester));
}

/** Slots of a requester's requests that are not terminal yet (capped by maxPendingPerRequester). */
export async function getOpenSlots(state: KVReader, requester: Address): Promise<bigint> {
  return readU64(state, openSlotsKey(requester));
}

export function setOpenSlots(ctx: ExecContext, requester: Address, n: bigint): void {
  if (n === 0n) ctx.delete(openSlotsKey(requester));
  else ctx.set(openSlotsKey(requester), encode(t.uint64, n));
}

export async function requesterRequestAt(state: KVReader, requester: Address, i: bigint): Promise<bigint> {
  return readU64(state, byRequesterKey(requester, i));
}

// ---- disputes ----

export async function getDispute(state: KVReader, id: bigint, slot: number): Promise<Dispute | undefined> {
  const raw = await state.get(disputeKey(id, slot));
  return raw ? decode(DisputeSchema, raw) : undefined;
}

export function setDispute(ctx: ExecContext, id: bigint, slot: number, d: Dispute): void {
  ctx.set(disputeKey(id, slot), encode(DisputeSchema, d));
}

export function deleteDispute(ctx: ExecContext, id: bigint, slot: number): void {
  ctx.delete(disputeKey(id, slot));
}

// ---- due list (one bucket per height, one key per entry) ----

export async function scheduleDue(ctx: ExecContext, height: bigint, item: DueItem): Promise<void> {
  const n = await readU64(ctx, dueCountKey(height));
  ctx.set(dueKey(height, n), encode(DueItemSchema, item));
  ctx.set(dueCountKey(height), encode(t.uint64, n + 1n));
}

export async function dueCount(state: KVReader, height: bigint): Promise<bigint> {
  return readU64(state, dueCountKey(height));
}

export async function getDue(state: KVReader, height: bigint, i: bigint): Promise<DueItem | undefined> {
  const raw = await state.get(dueKey(height, i));
  return raw ? decode(DueItemSchema, raw) : undefined;
}

export function clearDue(ctx: ExecContext, height: bigint, count: bigint): void {
  for (let i = 0n; i < count; i++) ctx.delete(dueKey(height, i));
  ctx.delete(dueCountKey(height));
}

// ---- pending queue (FIFO of slots waiting for a provider) ----

export async function pushPending(ctx: ExecContext, item: PendingItem): Promise<void> {
  const tail = await readU64(ctx, PQ_TAIL);
  ctx.set(pendingKey(tail), encode(PendingItemSchema, item));
  ctx.set(PQ_TAIL, encode(t.uint64, tail + 1n));
}

export async function pendingBounds(state: KVReader): Promise<{ head: bigint; tail: bigint }> {
  return { head: await readU64(state, PQ_HEAD), tail: await readU64(state, PQ_TAIL) };
}

export async function getPending(state: KVReader, i: bigint): Promise<PendingItem | undefined> {
  const raw = await state.get(pendingKey(i));
  return raw ? decode(PendingItemSchema, raw) : undefined;
}

/** Removes entry `i` (the head) and advances the head. */
export function popPending(ctx: ExecContext, i: bigint): void {
  ctx.delete(pendingKey(i));
  ctx.set(PQ_HEAD, encode(t.uint64, i + 1n));
}
