// What other modules (inference, gov) may do with models: read records, load the on-chain artifact
// and verification key (decoded, cached by id), count served requests, credit reviewer fees and
// mark a model faulty. Also the reviewer reward settlement the handlers share.

import { type Address, bytesToHex } from '@aivm/crypto';
import { decodeArtifact, type QuantModel } from '@aivm/runtime/core';
import type { KVReader } from '@aivm/state';
import { decodeVerificationKey, type VerificationKey } from '@aivm/zk';
import { FEE_COLLECTOR, moduleAddress } from '../../accounts.ts';
import { DEC } from '../../dec.ts';
import { ModuleError } from '../../errors.ts';
import { GAS } from '../../gas.ts';
import { type ExecContext, readParams, requireThat } from '../../module.ts';
import { burn, transfer } from '../bank/store.ts';
import { modelsEvents } from './events.ts';
import { modelsParams } from './params.ts';
import {
  chunkCount,
  deleteReview,
  getFaultOpenCount,
  getModelRecord,
  getReview,
  getReviewers,
  M,
  MODELS_ACCOUNT,
  type ModelRecord,
  type ModelStatus,
  PART_ARTIFACT,
  PART_VK,
  type Review,
  readPart,
  setFaultOpenCount,
  setModelRecord,
  setReview,
  setReviewers,
  TIER_ONCHAIN,
  TIER_OPTIMISTIC,
  TIER_ZK,
} from './store.ts';

/** Where inference keeps request escrow: the default payer of creditReviewers. */
const INFERENCE_ESCROW = moduleAddress('inference');

export class ModelNotFound extends ModuleError {
  constructor(id: string) {
    super(`model ${id} does not exist`);
  }
}

/** The model record, or undefined. */
export function getModel(state: KVReader, id: string): Promise<ModelRecord | undefined> {
  return getModelRecord(state, id);
}

/** The record or a ModuleError naming the id. */
export async function requireModel(state: KVReader, id: string): Promise<ModelRecord> {
  const m = await getModelRecord(state, id);
  if (!m) throw new ModelNotFound(id);
  return m;
}

export function hasTier(m: Pick<ModelRecord, 'tiers'>, tier: number): boolean {
  return (m.tiers & tier) !== 0;
}

/** Whether the artifact is stored on chain (on-chain and optimistic tiers execute it there). */
export function artifactOnChain(m: Pick<ModelRecord, 'tiers'>): boolean {
  return (m.tiers & (TIER_ONCHAIN | TIER_OPTIMISTIC)) !== 0;
}

/** Whether the verification key is stored on chain (zk tier). */
export function vkOnChain(m: Pick<ModelRecord, 'tiers'>): boolean {
  return (m.tiers & TIER_ZK) !== 0;
}

const SHAPE_RE = /^\[[1-9][0-9]{0,8}(,[1-9][0-9]{0,8}){0,7}\]$/;
/** Largest element count of an input or output shape. */
export const MAX_SHAPE_ELEMENTS = 1 << 24;

/**
 * Parses a schema string: the tensor shape at batch 1 as a JSON array of 1..8 positive integers
 * without spaces, e.g. "[1,784]". Returns undefined when malformed or above MAX_SHAPE_ELEMENTS.
 */
export function parseShape(schema: string): number[] | undefined {
  if (!SHAPE_RE.test(schema)) return undefined;
  const dims = schema
    .slice(1, -1)
    .split(',')
    .map((d) => Number(d));
  let n = 1;
  for (const d of dims) n *= d;
  return n <= MAX_SHAPE_ELEMENTS ? dims : undefined;
}

/**
 * The input and output shapes at batch 1 (from inputSchema / outputSchema, which upload checked
 * against the artifact when it is on chain). Input bytes of a request: product(input) int8;
 * output bytes: product(output) * 4.
 */
export function modelShapes(m: Pick<ModelRecord, 'inputSchema' | 'outputSchema'>): {
  input: number[];
  output: number[];
} {
  const input = parseShape(m.inputSchema);
  const output = parseShape(m.outputSchema);
  if (!input || !output) throw new ModuleError('model schemas are not shapes');
  return { input, output };
}

export const shapeSize = (shape: readonly number[]): number => shape.reduce((a, d) => a * d, 1);

/** Public signal count of the model's circuit: outputs, inputs (or 1 commitment), weight commitment. */
export function expectedPublicSignals(
  m: Pick<ModelRecord, 'inputSchema' | 'outputSchema' | 'zkInputs' | 'zkWeights'>,
): number {
  const { input, output } = modelShapes(m);
  return shapeSize(output) + (m.zkInputs === 1 ? 1 : shapeSize(input)) + (m.zkWeights === 1 ? 1 : 0);
}

// ---- decoded data cache ----
//
// Decoding a 1 MiB artifact takes far longer than reading it, so decoded models (and keys) are
// kept by id. The id is the content hash of the bytes (the vk key is id + vkHash), so a cached
// entry can never disagree with state; state is still checked for a complete upload first. Gas
// must not depend on whether a node has the entry cached: both paths charge exactly
// chunkCount(size) * READ + size * READ_BYTE — a miss by reading every chunk through ctx.get
// (which charges exactly that, the chunk layout being a function of the size alone), a hit by
// consuming the same amount explicitly.

const CACHE_ENTRIES = 16;
const modelCache = new Map<string, QuantModel>();
const vkCache = new Map<string, VerificationKey>();

function cacheGet<V>(cache: Map<string, V>, key: string): V | undefined {
  const v = cache.get(key);
  if (v !== undefined) {
    cache.delete(key); // most recently used last
    cache.set(key, v);
  }
  return v;
}

function cachePut<V>(cache: Map<string, V>, key: string, v: V): void {
  cache.delete(key);
  cache.set(key, v);
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
}

/** Gas of reading a part of `size` bytes from state (what readPart charges through ctx.get). */
export function partReadGas(size: number): bigint {
  return GAS.READ * BigInt(chunkCount(size)) + GAS.READ_BYTE * BigInt(size);
}

async function loadPart<V>(
  ctx: ExecContext,
  cache: Map<string, V>,
  key: string,
  id: string,
  part: number,
  size: number,
  decodeFn: (bytes: Uint8Array) => V,
): Promise<V> {
  const hit = cacheGet(cache, key);
  if (hit !== undefined) {
    ctx.gas.consume(partReadGas(size));
    return hit;
  }
  const bytes = await readPart(ctx, id, part, size);
  const value = decodeFn(bytes);
  cachePut(cache, key, value);
  return value;
}

/**
 * The decoded artifact of a model whose artifact is on chain and complete (any status: the
 * caller decides whether the model may serve). Gas: see the cache note above. Treat the result
 * as read-only: it is shared.
 */
export async function loadQuantModel(ctx: ExecContext, id: string): Promise<QuantModel> {
  const m = await requireModel(ctx, id);
  requireThat(artifactOnChain(m), `model ${id} does not store its artifact on chain`);
  requireThat(m.artifactUploaded === m.artifactSize, `model ${id} artifact is not fully uploaded`);
  return loadPart(ctx, modelCache, id, id, PART_ARTIFACT, m.artifactSize, decodeArtifact);
}

/** The decoded Groth16 verification key of a zk-tier model (complete upload). Read-only. */
export async function getVerificationKey(ctx: ExecContext, id: string): Promise<VerificationKey> {
  const m = await requireModel(ctx, id);
  requireThat(vkOnChain(m), `model ${id} has no zk tier`);
  requireThat(m.vkUploaded === m.vkSize, `model ${id} verification key is not fully uploaded`);
  const key = `${id}/${bytesToHex(m.vkHash)}`;
  return loadPart(ctx, vkCache, key, id, PART_VK, m.vkSize, decodeVerificationKey);
}

/** Caches a model just checked at upload (its bytes were read and charged there). */
export function primeModelCache(id: string, model: QuantModel): void {
  cachePut(modelCache, id, model);
}

/** Test hook: empties the decoded-data caches. */
export function clearModelCache(): void {
  modelCache.clear();
  vkCache.clear();
}

// ---- requests and reviewer fees ----

/** Counts one served request. */
export async function countQuery(ctx: ExecContext, id: string): Promise<void> {
  const m = await requireModel(ctx, id);
  m.queries += 1n;
  setModelRecord(ctx, m);
}

/**
 * Shares `amountWei` among the model's bonded reviewers pro rata to stake: moves it from `payer`
 * (default: the inference module account, where request escrow sits) to MODELS_ACCOUNT and adds
 * amount * DEC / totalStake to accRewardPerStake. Returns the amount NOT credited (then nothing
 * moved): all of it when nobody has stake, or when the amount is too small to add anything to
 * accRewardPerStake; the caller sends that to the protocol share. Rounding dust of what is
 * credited stays in MODELS_ACCOUNT.
 */
export async function creditReviewers(
  ctx: ExecContext,
  id: string,
  amountWei: bigint,
  payer: Address = INFERENCE_ESCROW,
): Promise<bigint> {
  requireThat(amountWei >= 0n, 'amount must not be negative');
  const m = await requireModel(ctx, id);
  if (amountWei === 0n || m.totalStakeWei === 0n) return amountWei;
  const increment = (amountWei * DEC) / m.totalStakeWei;
  if (increment === 0n) return amountWei;
  await transfer(ctx, payer, MODELS_ACCOUNT, amountWei);
  m.accRewardPerStake += increment;
  setModelRecord(ctx, m);
  return 0n;
}

/** Reward a reviewer has earned since its last settlement. */
export function pendingReward(m: Pick<ModelRecord, 'accRewardPerStake'>, r: Review): bigint {
  return (r.stakeWei * (m.accRewardPerStake - r.rewardEntry)) / DEC;
}

/** Pays a reviewer's pending reward and moves its entry point to the current accumulator. */
export async function settleReward(
  ctx: ExecContext,
  m: ModelRecord,
  reviewer: Address,
  r: Review,
): Promise<bigint> {
  const reward = pendingReward(m, r);
  r.rewardEntry = m.accRewardPerStake;
  if (reward > 0n) {
    await transfer(ctx, MODELS_ACCOUNT, reviewer, reward);
    modelsEvents.emit(ctx, 'rewardsPaid', { id: m.id, reviewer, amount: reward.toString() });
  }
  return reward;
}

/** Curation score: stake-weighted mean rating * 100 (0..500; 0 when nobody staked). */
export function curationScore(m: Pick<ModelRecord, 'ratingStakeSum' | 'totalStakeWei'>): bigint {
  return m.totalStakeWei === 0n ? 0n : (m.ratingStakeSum * 100n) / m.totalStakeWei;
}

// ---- fault ----

/** The checks of markFaulty, without writing (gov runs them when a proposal is submitted). */
export async function checkCanMarkFaulty(state: KVReader, id: string): Promise<ModelRecord> {
  const m = await requireModel(state, id);
  requireThat(m.status !== 'faulty', `model ${id} is already faulty`);
  return m;
}

/**
 * Governance showed the model faulty: status `faulty` (no new requests), and every reviewer's
 * stake, bonded and unbonding, is cut by reviewerSlashBps (rounded down per amount) and the cut
 * burned. Pending rewards are paid first (they were earned on the uncut stake). All checks run
 * before anything is written. Returns the amount burned.
 */
export async function markFaulty(ctx: ExecContext, id: string): Promise<bigint> {
  const m = await checkCanMarkFaulty(ctx, id);
  const params = await readParams(ctx, M, modelsParams);
  const bps = BigInt(params.reviewerSlashBps);
  const cut = (amount: bigint) => (amount * bps) / 10_000n;
  let burned = 0n;
  for (const reviewer of await getReviewers(ctx, id)) {
    const r = await getReview(ctx, id, reviewer);
    if (!r) continue;
    await settleReward(ctx, m, reviewer, r);
    const bondedCut = cut(r.stakeWei);
    r.stakeWei -= bondedCut;
    m.totalStakeWei -= bondedCut;
    m.ratingStakeSum -= bondedCut * BigInt(r.rating);
    burned += bondedCut;
    for (const u of r.unbonding) {
      const c = cut(u.amountWei);
      u.amountWei -= c;
      burned += c;
    }
    setReview(ctx, id, reviewer, r);
  }
  if (burned > 0n) await burn(ctx, MODELS_ACCOUNT, burned);
  // The storage deposit still held goes to the validators whose nodes stored the artifact.
  const forfeitedWei = m.depositWei;
  if (forfeitedWei > 0n) await transfer(ctx, MODELS_ACCOUNT, FEE_COLLECTOR, forfeitedWei);
  m.depositWei = 0n;
  closeModel(ctx, m, 'faulty');
  setModelRecord(ctx, m);
  modelsEvents.emit(ctx, 'faulty', {
    id,
    burnedWei: burned.toString(),
    forfeitedWei: forfeitedWei.toString(),
  });
  return burned;
}

/**
 * Sets a closing status (deprecated, expired, faulty) and, the first time a model closes,
 * closedAt: nodes keep its artifact blob for a retention period after that height, then may
 * delete it. (A deprecated model shown faulty later keeps its first closedAt.)
 */
export function closeModel(
  ctx: ExecContext,
  m: ModelRecord,
  status: Exclude<ModelStatus, 'uploading' | 'active'>,
): void {
  m.status = status;
  if (m.closedAt === 0n) m.closedAt = ctx.block.height;
}

// ---- modelFault proposals in progress ----
//
// While a modelFault proposal naming a model has not ended (deposit or voting period), the
// release of that model's reviewers' unbonding stake is postponed (handlers releaseUnbonded), so
// a reviewer cannot unreview during the vote and be paid out before the slash. gov counts:
// openFaultProposal on submission, closeFaultProposal when the proposal ends however it ends.

/** modelFault proposals naming the model that have not ended yet. */
export function getFaultProposalsOpen(state: KVReader, id: string): Promise<number> {
  return getFaultOpenCount(state, id);
}

/** gov: a modelFault proposal naming the model was submitted. */
export async function openFaultProposal(ctx: ExecContext, id: string): Promise<void> {
  setFaultOpenCount(ctx, id, (await getFaultOpenCount(ctx, id)) + 1);
}

/**
 * gov: a modelFault proposal naming the model ended (after its execution, if it passed). When
 * none is left, every reviewer's unbonding entries that matured meanwhile are released now.
 */
export async function closeFaultProposal(ctx: ExecContext, id: string): Promise<void> {
  const n = await getFaultOpenCount(ctx, id);
  setFaultOpenCount(ctx, id, n > 0 ? n - 1 : 0);
  if (n > 1) return;
  for (const reviewer of await getReviewers(ctx, id)) await releaseMatured(ctx, id, reviewer);
}

/**
 * Pays a reviewer the unbonding entries of a model matured at this height or earlier, and drops a
 * review left empty. Returns the amount paid (0: nothing matured, nothing written).
 */
export async function releaseMatured(ctx: ExecContext, id: string, reviewer: Address): Promise<bigint> {
  const r = await getReview(ctx, id, reviewer);
  if (!r) return 0n;
  const height = ctx.block.height;
  let amount = 0n;
  let matured = 0;
  r.unbonding = r.unbonding.filter((u) => {
    if (u.releaseHeight > height) return true;
    amount += u.amountWei;
    matured++;
    return false;
  });
  if (matured === 0) return 0n;
  await transfer(ctx, MODELS_ACCOUNT, reviewer, amount);
  if (r.stakeWei === 0n && r.unbonding.length === 0) {
    deleteReview(ctx, id, reviewer);
    setReviewers(
      ctx,
      id,
      (await getReviewers(ctx, id)).filter((a) => a.toLowerCase() !== reviewer.toLowerCase()),
    );
  } else setReview(ctx, id, reviewer, r);
  modelsEvents.emit(ctx, 'unbonded', { id, reviewer, amountWei: amount.toString() });
  return amount;
}

/** The keeper as one object (exposed on the module for gov and inference). */
export const modelsKeeper = {
  getModel,
  loadQuantModel,
  getVerificationKey,
  creditReviewers,
  countQuery,
  markFaulty,
  checkCanMarkFaulty,
  modelShapes,
  openFaultProposal,
  closeFaultProposal,
  getFaultProposalsOpen,
};
export type ModelsKeeper = typeof modelsKeeper;
