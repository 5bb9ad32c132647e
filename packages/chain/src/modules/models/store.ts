// Typed accessors over the models key prefix "models/": model records, their on-chain data in
// fixed-size chunks, reviews, each model's reviewer list, the review unbonding queue and an
// insertion-ordered id index (state cannot be iterated; list queries read the index).

import { decode, encode, type Infer, t } from '@aivm/codec';
import { type Address, addressToBytes, concatBytes, u64be, utf8ToBytes } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { moduleAddress } from '../../accounts.ts';
import type { ExecContext } from '../../module.ts';

/** The module's name: its key prefix, its events' module and its account seed. */
export const M = 'models';

/** Holds reviewer stake (bonded and unbonding), reviewer fees not yet claimed and storage deposits. */
export const MODELS_ACCOUNT = moduleAddress('models');

/** Tier bits: a model may offer several, a request names exactly one. */
export const TIER_ONCHAIN = 1;
export const TIER_ZK = 2;
export const TIER_OPTIMISTIC = 4;
export const ALL_TIERS = TIER_ONCHAIN | TIER_ZK | TIER_OPTIMISTIC;
/** The tiers by name (RPC, SDK and CLI spell them so). */
export const TIERS = { onchain: TIER_ONCHAIN, zk: TIER_ZK, optimistic: TIER_OPTIMISTIC } as const;
export type TierName = keyof typeof TIERS;
/** Name of a single tier bit. */
export const TIER_NAMES: Record<number, TierName> = {
  [TIER_ONCHAIN]: 'onchain',
  [TIER_ZK]: 'zk',
  [TIER_OPTIMISTIC]: 'optimistic',
};

/** Part numbers of models/upload. */
export const PART_ARTIFACT = 0;
export const PART_VK = 1;

/** Stored data is cut at fixed offsets: chunk i holds bytes [i*CHUNK_BYTES, (i+1)*CHUNK_BYTES). */
export const CHUNK_BYTES = 48 * 1024;
/** Largest data of one models/upload (a transaction is at most 64 KiB). */
export const MAX_UPLOAD_BYTES = 48 * 1024;
/**
 * Largest canonical tensor (encodeTensor bytes) of an inference/oneStep message: a model with the
 * optimistic tier is refused when one of the tensors a one-step may carry (leaves 0..n-1, at
 * batch 1) is larger, leaving room for the rest of a 64 KiB transaction.
 */
export const MAX_STEP_TENSOR_BYTES = 60 * 1024;
/**
 * Gas a one-step transaction needs besides the node's re-execution, apart from reading the
 * artifact: the transaction bytes (<= 64 KiB at TX_BYTE), the request, dispute and provider
 * records. A model with the optimistic tier is refused when its gas estimate plus this and the
 * artifact read exceeds auth maxTxGas.
 */
export const ONE_STEP_GAS_MARGIN = 1_000_000n;
/** Largest verification key accepted (about 16,000 public signals). */
export const MAX_VK_BYTES = 1024 * 1024;
/** Largest artifact a record may announce (the runtime's own limit; only on-chain tiers store it). */
export const MAX_ARTIFACT_SIZE = 64 * 1024 * 1024;
/** Reviewers (bonded or unbonding) one model may have at a time. */
export const MAX_REVIEWERS_PER_MODEL = 1_000;
/** Unbonding entries one reviewer may have on one model at a time. */
export const MAX_UNBONDING_ENTRIES = 16;

/**
 * `uploading` and `active` are open; a model closes (closedAt set) when its owner deprecates it,
 * when it is still uploading at the end of its activation window (`expired`), or when it is shown
 * faulty.
 */
export const MODEL_STATUSES = ['uploading', 'active', 'deprecated', 'expired', 'faulty'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

export const MODEL_ID = t.string(128);

/**
 * What a publisher declares about a model version: the fields models/publish carries and the
 * model record keeps, in this order in both (the order is part of both encodings).
 */
export const MODEL_FIELDS = {
  name: t.string(128),
  task: t.string(64),
  /** Shape of the single input at batch 1, e.g. "[1,784]" (see keeper modelShapes). */
  inputSchema: t.string(256),
  /** Shape of the single output at batch 1, e.g. "[1,10]". */
  outputSchema: t.string(256),
  license: t.string(64),
  version: t.string(32),
  description: t.string(4_096),
  priceWei: t.uint256,
  /** A bit mask of TIER_ONCHAIN, TIER_ZK, TIER_OPTIMISTIC. */
  tiers: t.uint8,
  artifactSize: t.uint32,
  vkHash: t.bytes32,
  vkSize: t.uint32,
  /** 0: inputs are public signals; 1: one Poseidon commitment of the inputs. */
  zkInputs: t.uint8,
  /** 0: weights are circuit constants; 1: private, bound by weightCommitment. */
  zkWeights: t.uint8,
  weightCommitment: t.uint256,
  /**
   * Constraint count of the model's zk circuit as the publisher declares it (0 without the zk
   * tier): prices the zk setup fee and the zk tier's price floor; providers compile the circuit
   * and refuse a model whose declaration is wrong.
   */
  zkConstraints: t.uint64,
} as const;

export const ModelRecordSchema = t.struct('ModelRecord', {
  id: MODEL_ID,
  owner: t.address,
  ...MODEL_FIELDS,
  /** Id of the first version of this model. */
  lineage: MODEL_ID,
  /** Id this version replaces, or ''. */
  previous: MODEL_ID,
  /** Id of the version that replaced this one, or ''. */
  supersededBy: MODEL_ID,
  status: t.string(16),
  /** Height of the block that published it (0 for genesis models). */
  publishedAt: t.uint64,
  artifactUploaded: t.uint32,
  vkUploaded: t.uint32,
  totalStakeWei: t.uint256,
  /** Sum over reviewers of bonded stake * rating. */
  ratingStakeSum: t.uint256,
  /** Reviewer fees per unit of stake, DEC fixed point, only ever growing. */
  accRewardPerStake: t.uint256,
  /** Requests served (counted by inference). */
  queries: t.uint64,
  /**
   * Storage deposit held for the artifact (storageDepositPerByteWei * artifactSize at publish),
   * in MODELS_ACCOUNT: refunded to the owner on deprecation, forfeited to the fee collector on
   * expiry or fault; 0 once either happened (and for genesis models).
   */
  depositWei: t.uint256,
  /** Height at which the model left uploading/active (deprecated, expired, faulty); 0 while open. */
  closedAt: t.uint64,
  /** The runtime's gas estimate of one run at batch 1, set when the on-chain artifact is checked (0 until then, and without it). */
  gasEstimate: t.uint64,
});
export type ModelRecord = Omit<Infer<typeof ModelRecordSchema>, 'status'> & { status: ModelStatus };

export const UnbondingSchema = t.struct('ModelReviewUnbonding', {
  amountWei: t.uint256,
  releaseHeight: t.uint64,
});

export const ReviewSchema = t.struct('ModelReview', {
  stakeWei: t.uint256,
  /** 1..5 (0 only while no stake is bonded). */
  rating: t.uint8,
  /** accRewardPerStake when pending rewards were last settled. */
  rewardEntry: t.uint256,
  unbonding: t.array(UnbondingSchema, MAX_UNBONDING_ENTRIES),
});
export type Review = Infer<typeof ReviewSchema>;

const ReviewerListSchema = t.array(t.address, MAX_REVIEWERS_PER_MODEL);
export const QueueItemSchema = t.struct('ModelReviewRelease', { id: MODEL_ID, reviewer: t.address });
type QueueItem = Infer<typeof QueueItemSchema>;

const P = (s: string) => utf8ToBytes(`models/${s}`);
const modelKey = (id: string) => P(`m/${id}`);
const reviewKey = (id: string, reviewer: Address) => concatBytes(P(`rv/${id}/`), addressToBytes(reviewer));
const reviewersKey = (id: string) => P(`reviewers/${id}`);
// One key per release (plus a count per height), so queueing one costs the same however many
// others mature at that height.
const queueKey = (height: bigint, i: bigint) => concatBytes(P('unbq/'), u64be(height), u64be(i));
const queueCountKey = (height: bigint) => concatBytes(P('unbqn/'), u64be(height));
const COUNT = P('count');
const faultOpenKey = (id: string) => P(`faultOpen/${id}`);
// Activation deadlines: models published at some height that must be active by `height`.
const expiryKey = (height: bigint, i: bigint) => concatBytes(P('expq/'), u64be(height), u64be(i));
const expiryCountKey = (height: bigint) => concatBytes(P('expqn/'), u64be(height));
const indexKey = (n: bigint) => concatBytes(P('ids/'), u64be(n));

function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

export function chunkKey(id: string, part: number, index: number): Uint8Array {
  return concatBytes(P(`data/${id}/${part}/`), u32be(index));
}

export async function getModelRecord(state: KVReader, id: string): Promise<ModelRecord | undefined> {
  const raw = await state.get(modelKey(id));
  return raw ? (decode(ModelRecordSchema, raw) as ModelRecord) : undefined;
}

export function setModelRecord(ctx: ExecContext, m: ModelRecord): void {
  ctx.set(modelKey(m.id), encode(ModelRecordSchema, m));
}

export async function getModelCount(state: KVReader): Promise<bigint> {
  const raw = await state.get(COUNT);
  return raw ? decode(t.uint64, raw) : 0n;
}

/** Appends a new id to the index (publish order). */
export async function indexModel(ctx: ExecContext, id: string): Promise<void> {
  const n = await getModelCount(ctx);
  ctx.set(indexKey(n), encode(MODEL_ID, id));
  ctx.set(COUNT, encode(t.uint64, n + 1n));
}

export async function getIndexedId(state: KVReader, n: bigint): Promise<string | undefined> {
  const raw = await state.get(indexKey(n));
  return raw ? decode(MODEL_ID, raw) : undefined;
}

export async function getReview(state: KVReader, id: string, reviewer: Address): Promise<Review | undefined> {
  const raw = await state.get(reviewKey(id, reviewer));
  return raw ? decode(ReviewSchema, raw) : undefined;
}

export function setReview(ctx: ExecContext, id: string, reviewer: Address, r: Review): void {
  ctx.set(reviewKey(id, reviewer), encode(ReviewSchema, r));
}

export function deleteReview(ctx: ExecContext, id: string, reviewer: Address): void {
  ctx.delete(reviewKey(id, reviewer));
}

export async function getReviewers(state: KVReader, id: string): Promise<Address[]> {
  const raw = await state.get(reviewersKey(id));
  return raw ? decode(ReviewerListSchema, raw) : [];
}

export function setReviewers(ctx: ExecContext, id: string, list: Address[]): void {
  if (list.length === 0) ctx.delete(reviewersKey(id));
  else ctx.set(reviewersKey(id), encode(ReviewerListSchema, list));
}

async function queueCount(state: KVReader, height: bigint): Promise<bigint> {
  const raw = await state.get(queueCountKey(height));
  return raw ? decode(t.uint64, raw) : 0n;
}

/** Queues the release of (model, reviewer) at `height`. */
export async function enqueueRelease(ctx: ExecContext, height: bigint, item: QueueItem): Promise<void> {
  const n = await queueCount(ctx, height);
  ctx.set(queueKey(height, n), encode(QueueItemSchema, item));
  ctx.set(queueCountKey(height), encode(t.uint64, n + 1n));
}

/** Takes (reads and deletes) every release queued at `height`, in queueing order. */
export async function takeQueue(ctx: ExecContext, height: bigint): Promise<QueueItem[]> {
  const n = await queueCount(ctx, height);
  const items: QueueItem[] = [];
  for (let i = 0n; i < n; i++) {
    const raw = await ctx.get(queueKey(height, i));
    if (raw) items.push(decode(QueueItemSchema, raw));
    ctx.delete(queueKey(height, i));
  }
  if (n > 0n) ctx.delete(queueCountKey(height));
  return items;
}

/** Queues the activation check of model `id` at `height` (end of its activation window). */
export async function enqueueExpiry(ctx: ExecContext, height: bigint, id: string): Promise<void> {
  const raw = await ctx.get(expiryCountKey(height));
  const n = raw ? decode(t.uint64, raw) : 0n;
  ctx.set(expiryKey(height, n), encode(MODEL_ID, id));
  ctx.set(expiryCountKey(height), encode(t.uint64, n + 1n));
}

/**
 * Takes (reads and deletes) at most `max` of the activation checks queued at `height`, in queueing
 * order; the ones left over are moved to `height + 1`, so an end block does a bounded amount of
 * this work and nothing is lost.
 */
export async function takeExpiries(ctx: ExecContext, height: bigint, max: number): Promise<string[]> {
  const raw = await ctx.get(expiryCountKey(height));
  const n = raw ? decode(t.uint64, raw) : 0n;
  const ids: string[] = [];
  for (let i = 0n; i < n; i++) {
    const v = await ctx.get(expiryKey(height, i));
    ctx.delete(expiryKey(height, i));
    if (!v) continue;
    const id = decode(MODEL_ID, v);
    if (ids.length < max) ids.push(id);
    else await enqueueExpiry(ctx, height + 1n, id);
  }
  if (n > 0n) ctx.delete(expiryCountKey(height));
  return ids;
}

/** modelFault proposals naming the model that have not ended (gov keeps the count). */
export async function getFaultOpenCount(state: KVReader, id: string): Promise<number> {
  const raw = await state.get(faultOpenKey(id));
  return raw ? decode(t.uint32, raw) : 0;
}

export function setFaultOpenCount(ctx: ExecContext, id: string, n: number): void {
  if (n === 0) ctx.delete(faultOpenKey(id));
  else ctx.set(faultOpenKey(id), encode(t.uint32, n));
}

// ---- chunked part data ----

export function chunkCount(size: number): number {
  return Math.ceil(size / CHUNK_BYTES);
}

/**
 * Appends `data` at `offset` (= bytes stored so far): fills the partial last chunk first, then
 * writes new chunks, so the layout depends only on the total size, never on how it was uploaded.
 */
export async function appendPart(
  ctx: ExecContext,
  id: string,
  part: number,
  offset: number,
  data: Uint8Array,
): Promise<void> {
  let pos = 0;
  let at = offset;
  while (pos < data.length) {
    const index = Math.floor(at / CHUNK_BYTES);
    const within = at % CHUNK_BYTES;
    const take = Math.min(CHUNK_BYTES - within, data.length - pos);
    const piece = data.subarray(pos, pos + take);
    if (within === 0) ctx.set(chunkKey(id, part, index), piece.slice());
    else {
      const existing = (await ctx.get(chunkKey(id, part, index))) ?? new Uint8Array(0);
      ctx.set(chunkKey(id, part, index), concatBytes(existing, piece));
    }
    pos += take;
    at += take;
  }
}

/** Deletes the stored chunks of a part of which `stored` bytes were uploaded. */
export function deletePart(ctx: ExecContext, id: string, part: number, stored: number): void {
  for (let i = 0, n = chunkCount(stored); i < n; i++) ctx.delete(chunkKey(id, part, i));
}

/** Reads a complete part through ctx.get (metered): chunkCount reads plus one gas per byte. */
export async function readPart(
  ctx: ExecContext,
  id: string,
  part: number,
  size: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (let i = 0, n = chunkCount(size); i < n; i++) {
    const chunk = await ctx.get(chunkKey(id, part, i));
    const want = Math.min(CHUNK_BYTES, size - i * CHUNK_BYTES);
    if (!chunk || chunk.length !== want) throw new Error(`models: chunk ${i} of ${id}/${part} is missing`);
    out.set(chunk, i * CHUNK_BYTES);
  }
  return out;
}
