// Message handlers of the models module, the checks shared with genesis, and the end-block work:
// release of unbonded review stake and expiry of models not active by the end of their
// activation window.

import type { Infer } from '@aivm/codec';
import { type Address, equalBytes, keccak256 } from '@aivm/crypto';
import {
  checkChainShaped,
  decodeArtifact,
  encodeTensor,
  estimateGas,
  modelId,
  type QuantModel,
} from '@aivm/runtime/core';
import { BN254_R, decodeVerificationKey } from '@aivm/zk';
import { CID } from 'multiformats/cid';
import { FEE_COLLECTOR, ZERO_ADDRESS } from '../../accounts.ts';
import { ModuleError, OK, rethrowWithContext } from '../../errors.ts';
import { type ExecContext, readParams, requireThat } from '../../module.ts';
import { authParams } from '../auth/params.ts';
import { transfer } from '../bank/store.ts';
import { inferenceParams, tierFloorText, tierFloorWei } from '../inference/params.ts';
import { modelsEvents } from './events.ts';
import {
  artifactOnChain,
  closeModel,
  expectedPublicSignals,
  getFaultProposalsOpen,
  hasTier,
  parseShape,
  partReadGas,
  primeModelCache,
  releaseMatured,
  requireModel,
  settleReward,
  vkOnChain,
} from './keeper.ts';
import type {
  ModelsClaimRewards,
  ModelsDeprecate,
  ModelsPublish,
  ModelsReview,
  ModelsSetPrice,
  ModelsTransfer,
  ModelsUnreview,
  ModelsUpload,
} from './messages.ts';
import { type ModelsParams, modelsParams } from './params.ts';
import {
  ALL_TIERS,
  appendPart,
  deletePart,
  enqueueExpiry,
  enqueueRelease,
  getModelRecord,
  getReview,
  getReviewers,
  indexModel,
  M,
  MAX_ARTIFACT_SIZE,
  MAX_REVIEWERS_PER_MODEL,
  MAX_STEP_TENSOR_BYTES,
  MAX_UNBONDING_ENTRIES,
  MAX_VK_BYTES,
  MODELS_ACCOUNT,
  type ModelRecord,
  ONE_STEP_GAS_MARGIN,
  PART_ARTIFACT,
  PART_VK,
  type Review,
  readPart,
  setModelRecord,
  setReview,
  setReviewers,
  TIER_NAMES,
  TIER_OPTIMISTIC,
  TIER_ZK,
  takeExpiries,
  takeQueue,
} from './store.ts';

const RAW_CODEC = 0x55;
const SHA2_256 = 0x12;

type Publish = Infer<typeof ModelsPublish>;

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Whether `id` is a model id in canonical form: CIDv1, raw codec, sha2-256, base32 string. */
export function isModelId(id: string): boolean {
  try {
    const cid = CID.parse(id);
    return (
      cid.version === 1 &&
      cid.code === RAW_CODEC &&
      cid.multihash.code === SHA2_256 &&
      cid.multihash.digest.length === 32 &&
      cid.toString() === id
    );
  } catch {
    return false;
  }
}

async function requireOwned(ctx: ExecContext, id: string, sender: Address): Promise<ModelRecord> {
  const m = await requireModel(ctx, id);
  requireThat(same(m.owner, sender), `only the owner of model ${id} may do this`);
  return m;
}

/** Most expired models one end block closes (the rest wait for the next block). */
export const MAX_EXPIRIES_PER_BLOCK = 100;

/**
 * A model's price must cover the cost floor of each provider-served tier it offers (inference
 * tierFloorWei, with the params of now): refused with the floor named. The optimistic floor needs
 * the gas estimate, known once the artifact is checked (0 before).
 */
export async function checkPriceFloor(
  ctx: ExecContext,
  m: Pick<ModelRecord, 'id' | 'tiers' | 'priceWei' | 'zkConstraints' | 'gasEstimate'>,
  priceWei: bigint,
): Promise<void> {
  const params = await readParams(ctx, 'inference', inferenceParams);
  for (const tier of [TIER_ZK, TIER_OPTIMISTIC]) {
    if (!hasTier(m, tier)) continue;
    requireThat(
      priceWei >= tierFloorWei(params, m, tier),
      `price ${priceWei} wei of model ${m.id} is below the ${TIER_NAMES[tier]} tier's floor of ${tierFloorText(params, m, tier)}`,
    );
  }
}

/** The publish rules of docs/inference.md; returns the new record (nothing written). */
async function checkPublish(
  ctx: ExecContext,
  msg: Publish,
  owner: Address,
  params: ModelsParams,
  genesis: boolean,
): Promise<{ record: ModelRecord; previous?: ModelRecord; replaces?: ModelRecord }> {
  requireThat(isModelId(msg.id), 'id must be a model id (CIDv1 raw sha2-256, base32)');
  // An expired record never held data: its id (a content hash) may be published afresh.
  const existing = await getModelRecord(ctx, msg.id);
  requireThat(
    existing === undefined || existing.status === 'expired',
    `model ${msg.id} is already published`,
  );
  requireThat(msg.name.trim().length > 0, 'name must not be empty');
  requireThat(msg.tiers !== 0 && (msg.tiers & ~ALL_TIERS) === 0, 'tiers must be a non-empty mask of 1|2|4');
  requireThat(
    parseShape(msg.inputSchema) !== undefined,
    'inputSchema must be the input shape at batch 1, e.g. [1,784]',
  );
  requireThat(
    parseShape(msg.outputSchema) !== undefined,
    'outputSchema must be the output shape at batch 1, e.g. [1,10]',
  );
  requireThat(msg.zkInputs <= 1, 'zkInputs must be 0 (public) or 1 (committed)');
  requireThat(msg.zkWeights <= 1, 'zkWeights must be 0 (public) or 1 (private)');
  const zk = hasTier(msg, TIER_ZK);
  if (zk) {
    requireThat(
      msg.vkHash.some((b) => b !== 0),
      'the zk tier needs a vkHash',
    );
    requireThat(msg.vkSize > 0 && msg.vkSize <= MAX_VK_BYTES, `vkSize must be within 1..${MAX_VK_BYTES}`);
    requireThat(
      msg.zkConstraints >= 1n && msg.zkConstraints <= params.maxZkConstraints,
      `the zk tier needs zkConstraints (the circuit's constraint count) within 1..${params.maxZkConstraints}`,
    );
  } else {
    requireThat(
      msg.vkHash.every((b) => b === 0) &&
        msg.vkSize === 0 &&
        msg.zkInputs === 0 &&
        msg.zkWeights === 0 &&
        msg.zkConstraints === 0n,
      'vkHash, vkSize, zkInputs, zkWeights and zkConstraints are for the zk tier only',
    );
  }
  if (msg.zkWeights === 1) {
    requireThat(
      msg.weightCommitment > 0n && msg.weightCommitment < BN254_R,
      'private weights need a non-zero weightCommitment (a BN254 field element)',
    );
    requireThat(
      !artifactOnChain(msg),
      'private weights are incompatible with the on-chain and optimistic tiers (they need the weights on chain)',
    );
  } else requireThat(msg.weightCommitment === 0n, 'weightCommitment is for private weights only');
  if (artifactOnChain(msg)) {
    requireThat(
      msg.artifactSize > 0 && msg.artifactSize <= params.maxOnchainModelBytes,
      `artifactSize must be within 1..${params.maxOnchainModelBytes} for the on-chain and optimistic tiers`,
    );
  } else
    requireThat(msg.artifactSize <= MAX_ARTIFACT_SIZE, `artifactSize must be at most ${MAX_ARTIFACT_SIZE}`);

  let previous: ModelRecord | undefined;
  if (msg.previous !== '') {
    previous = await getModelRecord(ctx, msg.previous);
    requireThat(previous !== undefined, `previous model ${msg.previous} does not exist`);
    requireThat(same(previous.owner, owner), `only the owner of ${msg.previous} may publish a new version`);
    // An expired version never existed as far as its lineage goes (its id may be published afresh).
    requireThat(previous.status !== 'expired', `model ${msg.previous} expired; it cannot have a new version`);
    requireThat(
      previous.supersededBy === '',
      `model ${msg.previous} is already superseded by ${previous.supersededBy}`,
    );
  }
  const owed = artifactOnChain(msg) || vkOnChain(msg);
  const record: ModelRecord = {
    ...msg,
    owner,
    lineage: previous ? previous.lineage : msg.id,
    supersededBy: '',
    status: owed ? 'uploading' : 'active',
    publishedAt: ctx.block.height,
    artifactUploaded: 0,
    vkUploaded: 0,
    totalStakeWei: 0n,
    ratingStakeSum: 0n,
    accRewardPerStake: 0n,
    queries: 0n,
    depositWei: genesis ? 0n : params.storageDepositPerByteWei * BigInt(msg.artifactSize),
    closedAt: 0n,
    gasEstimate: 0n,
  };
  // Genesis models are chosen by the chain's founders, and models' genesis runs before
  // inference's (whose params set the floor): a request still checks the floor.
  if (!genesis) await checkPriceFloor(ctx, record, record.priceWei);
  return { record, previous, ...(existing ? { replaces: existing } : {}) };
}

/**
 * Publishes (message and genesis): writes the record, links the previous version, indexes it.
 * A message publish locks the storage deposit and pays the zk setup fee from the owner, and
 * queues the activation check; genesis models (which carry their data) pay neither.
 */
export async function publishModel(
  ctx: ExecContext,
  msg: Publish,
  owner: Address,
  opts: { genesis?: boolean } = {},
): Promise<ModelRecord> {
  const params = await readParams(ctx, M, modelsParams);
  const genesis = opts.genesis === true;
  const { record, previous, replaces } = await checkPublish(ctx, msg, owner, params, genesis);
  const setupFeeWei =
    !genesis && hasTier(record, TIER_ZK) ? params.zkSetupFeePerConstraintWei * record.zkConstraints : 0n;
  if (record.depositWei > 0n) await transfer(ctx, owner, MODELS_ACCOUNT, record.depositWei);
  if (setupFeeWei > 0n) await transfer(ctx, owner, FEE_COLLECTOR, setupFeeWei);
  if (previous) {
    previous.supersededBy = record.id;
    setModelRecord(ctx, previous);
  }
  setModelRecord(ctx, record);
  // A republished expired id keeps its index entry.
  if (!replaces) await indexModel(ctx, record.id);
  if (record.status === 'uploading')
    await enqueueExpiry(ctx, ctx.block.height + params.activationWindowBlocks, record.id);
  modelsEvents.emit(ctx, 'published', {
    id: record.id,
    owner,
    tiers: record.tiers.toString(),
    depositWei: record.depositWei.toString(),
    setupFeeWei: setupFeeWei.toString(),
  });
  if (record.status === 'active') modelsEvents.emit(ctx, 'activated', { id: record.id });
  return record;
}

export async function handlePublish(ctx: ExecContext, msg: Publish, sender: Address): Promise<void> {
  await publishModel(ctx, msg, sender);
}

/** Runs `fn`, naming `what` in a typed failure (a RangeError or the like stays an execution fault). */
function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    rethrowWithContext(what, err);
  }
}

/** Binds symbolic dimensions to 1 (batch 1). */
const batch1 = (shape: readonly (number | string)[]) => shape.map((d) => (typeof d === 'number' ? d : 1));
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

const WIDTH = { int8: 1, int16: 2, int32: 4 } as const;
const ARRAY = { int8: Int8Array, int16: Int16Array, int32: Int32Array } as const;

/**
 * Largest canonical encoding (encodeTensor bytes) of a tensor an inference/oneStep may carry for
 * a chain-shaped model: the input of each node (leaves 0..n-1) at batch 1. Returns the size and
 * the value, or the first value whose raw data alone exceeds `bound` (not encoded: too large).
 */
export function largestStepTensor(model: QuantModel, bound: number): { bytes: number; value: string } {
  const names = [model.inputs[0]!, ...model.nodes.slice(0, -1).map((n) => n.outputs[0]!)];
  const values = new Map(model.values.map((v) => [v.name, v]));
  let best = { bytes: 0, value: '' };
  for (const name of names) {
    const v = values.get(name);
    if (!v) throw new ModuleError(`model value "${name}" has no description`);
    const shape = batch1(v.shape);
    const elements = shape.reduce((a, d) => a * d, 1);
    const raw = elements * WIDTH[v.dtype];
    if (raw > bound) return { bytes: raw, value: name };
    const bytes = encodeTensor({ dtype: v.dtype, shape, data: new ARRAY[v.dtype](elements) }).length;
    if (bytes > best.bytes) best = { bytes, value: name };
  }
  return best;
}

/**
 * The checks of a complete artifact; returns the decoded model. `maxTxGas` (auth) bounds the
 * gas of an optimistic-tier one-step transaction.
 */
export function checkArtifact(
  m: ModelRecord,
  bytes: Uint8Array,
  params: ModelsParams,
  maxTxGas: bigint,
): { model: QuantModel; gas: bigint } {
  requireThat(modelId(bytes) === m.id, `artifact bytes do not hash to model id ${m.id}`);
  const model = wrap('artifact does not decode', () => decodeArtifact(bytes));
  requireThat(model.inputs.length === 1, 'the model must have exactly one input');
  requireThat(model.outputs.length === 1, 'the model must have exactly one output');
  const values = new Map(model.values.map((v) => [v.name, v]));
  const input = values.get(model.inputs[0]!);
  const output = values.get(model.outputs[0]!);
  requireThat(input !== undefined && output !== undefined, 'the model does not declare its input and output');
  requireThat(
    input.kind === 'quant' && input.dtype === 'int8',
    'the model input must be an int8 quantized tensor',
  );
  const inShape = batch1(input.shape);
  requireThat(
    sameShape(inShape, parseShape(m.inputSchema)!),
    `inputSchema ${m.inputSchema} does not match the artifact input [${inShape.join(',')}]`,
  );
  const outShape = batch1(output.shape);
  requireThat(
    sameShape(outShape, parseShape(m.outputSchema)!),
    `outputSchema ${m.outputSchema} does not match the artifact output [${outShape.join(',')}]`,
  );
  const cost = wrap('cost estimate failed', () => estimateGas(model, { [model.inputs[0]!]: inShape }));
  requireThat(
    cost.gas <= params.maxOnchainGas,
    `on-chain cost ${cost.gas} at batch 1 exceeds maxOnchainGas ${params.maxOnchainGas}`,
  );
  if (hasTier(m, TIER_OPTIMISTIC)) {
    wrap('the optimistic tier needs a chain-shaped model', () => checkChainShaped(model));
    // A dispute's one-step message carries one of these tensors: it must fit in a transaction.
    const step = wrap('the optimistic tier cannot size its one-step tensors', () =>
      largestStepTensor(model, MAX_STEP_TENSOR_BYTES),
    );
    requireThat(
      step.bytes <= MAX_STEP_TENSOR_BYTES,
      `the optimistic tier needs every one-step tensor within ${MAX_STEP_TENSOR_BYTES} bytes; "${step.value}" takes ${step.bytes}`,
    );
    // The one-step is charged the whole model's estimate plus the artifact read and the rest of
    // the transaction: it must fit within one transaction's gas.
    const need = cost.gas + partReadGas(bytes.length) + ONE_STEP_GAS_MARGIN;
    requireThat(
      need <= maxTxGas,
      `the optimistic tier's one-step needs up to ${need} gas (estimate ${cost.gas} + artifact read + ${ONE_STEP_GAS_MARGIN}), above auth maxTxGas ${maxTxGas}`,
    );
  }
  return { model, gas: cost.gas };
}

/** The checks of a complete verification key. */
export function checkVerificationKey(m: ModelRecord, bytes: Uint8Array): void {
  requireThat(equalBytes(keccak256(bytes), m.vkHash), 'verification key bytes do not hash to vkHash');
  const vk = wrap('verification key does not decode', () => decodeVerificationKey(bytes));
  const want = expectedPublicSignals(m);
  requireThat(
    vk.nPublic === want,
    `verification key has ${vk.nPublic} public signals, the model needs ${want}`,
  );
}

/** Stores data of one part at `offset`; when the part completes, checks it; activates when done. */
export async function uploadPart(
  ctx: ExecContext,
  m: ModelRecord,
  part: number,
  offset: number,
  data: Uint8Array,
  params: ModelsParams,
  opts: { genesis?: boolean } = {},
): Promise<void> {
  requireThat(m.status === 'uploading', `model ${m.id} is not uploading (${m.status})`);
  requireThat(
    part === PART_ARTIFACT || part === PART_VK,
    'part must be 0 (artifact) or 1 (verification key)',
  );
  const isArtifact = part === PART_ARTIFACT;
  requireThat(
    isArtifact ? artifactOnChain(m) : vkOnChain(m),
    isArtifact
      ? `model ${m.id} does not store its artifact on chain`
      : `model ${m.id} has no zk tier (no verification key)`,
  );
  const size = isArtifact ? m.artifactSize : m.vkSize;
  const stored = isArtifact ? m.artifactUploaded : m.vkUploaded;
  requireThat(stored < size, `part ${part} of model ${m.id} is already complete`);
  requireThat(offset === stored, `offset must be ${stored} (bytes stored so far)`);
  requireThat(data.length > 0, 'data must not be empty');
  requireThat(data.length <= size - stored, `data goes past the part size ${size}`);
  await appendPart(ctx, m.id, part, offset, data);
  const total = stored + data.length;
  if (isArtifact) m.artifactUploaded = total;
  else m.vkUploaded = total;
  modelsEvents.emit(ctx, 'uploaded', { id: m.id, part: part.toString(), bytes: total.toString() });
  if (total === size) {
    const bytes = await readPart(ctx, m.id, part, size);
    if (isArtifact) {
      const { maxTxGas } = await readParams(ctx, 'auth', authParams);
      const checked = checkArtifact(m, bytes, params, maxTxGas);
      m.gasEstimate = checked.gas;
      // The optimistic floor follows the gas estimate, known only now: a price below it is
      // refused here (the owner raises it with models/setPrice and sends this upload again).
      if (opts.genesis !== true) await checkPriceFloor(ctx, m, m.priceWei);
      primeModelCache(m.id, checked.model);
    } else checkVerificationKey(m, bytes);
  }
  const artifactDone = !artifactOnChain(m) || m.artifactUploaded === m.artifactSize;
  const vkDone = !vkOnChain(m) || m.vkUploaded === m.vkSize;
  if (artifactDone && vkDone) {
    m.status = 'active';
    modelsEvents.emit(ctx, 'activated', { id: m.id });
  }
  setModelRecord(ctx, m);
}

export async function handleUpload(
  ctx: ExecContext,
  msg: Infer<typeof ModelsUpload>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, modelsParams);
  const m = await requireOwned(ctx, msg.id, sender);
  await uploadPart(ctx, m, msg.part, msg.offset, msg.data, params);
}

export async function handleTransfer(
  ctx: ExecContext,
  msg: Infer<typeof ModelsTransfer>,
  sender: Address,
): Promise<void> {
  const m = await requireOwned(ctx, msg.id, sender);
  requireThat(!same(msg.newOwner, ZERO_ADDRESS), 'newOwner must be set');
  requireThat(!same(msg.newOwner, m.owner), 'newOwner already owns the model');
  m.owner = msg.newOwner;
  setModelRecord(ctx, m);
  modelsEvents.emit(ctx, 'transferred', { id: m.id, from: sender, to: msg.newOwner });
}

export async function handleDeprecate(
  ctx: ExecContext,
  msg: Infer<typeof ModelsDeprecate>,
  sender: Address,
): Promise<void> {
  const m = await requireOwned(ctx, msg.id, sender);
  requireThat(
    m.status === 'active' || m.status === 'uploading',
    `model ${m.id} cannot be deprecated (${m.status})`,
  );
  // The deposit answers for a fault: it is not handed back while governance decides one.
  const open = await getFaultProposalsOpen(ctx, m.id);
  requireThat(
    open === 0,
    `model ${m.id} is named by ${open} open modelFault proposal(s); it can be deprecated once they end`,
  );
  const refundedWei = m.depositWei;
  if (refundedWei > 0n) await transfer(ctx, MODELS_ACCOUNT, m.owner, refundedWei);
  m.depositWei = 0n;
  closeModel(ctx, m, 'deprecated');
  setModelRecord(ctx, m);
  modelsEvents.emit(ctx, 'deprecated', { id: m.id, refundedWei: refundedWei.toString() });
}

export async function handleSetPrice(
  ctx: ExecContext,
  msg: Infer<typeof ModelsSetPrice>,
  sender: Address,
): Promise<void> {
  const m = await requireOwned(ctx, msg.id, sender);
  requireThat(m.status !== 'faulty', `model ${m.id} is faulty`);
  await checkPriceFloor(ctx, m, msg.priceWei);
  m.priceWei = msg.priceWei;
  setModelRecord(ctx, m);
  modelsEvents.emit(ctx, 'priceSet', { id: m.id, priceWei: msg.priceWei.toString() });
}

const emptyReview = (): Review => ({ stakeWei: 0n, rating: 0, rewardEntry: 0n, unbonding: [] });

export async function handleReview(
  ctx: ExecContext,
  msg: Infer<typeof ModelsReview>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, modelsParams);
  const m = await requireModel(ctx, msg.id);
  requireThat(m.status === 'active', `model ${m.id} is not active (${m.status})`);
  requireThat(!same(m.owner, sender), 'the owner may not review its own model');
  requireThat(msg.rating >= 1 && msg.rating <= 5, 'rating must be within 1..5');
  let r = await getReview(ctx, m.id, sender);
  if (!r) {
    const reviewers = await getReviewers(ctx, m.id);
    requireThat(
      reviewers.length < MAX_REVIEWERS_PER_MODEL,
      `model ${m.id} has the maximum number of reviewers (${MAX_REVIEWERS_PER_MODEL})`,
    );
    reviewers.push(sender);
    setReviewers(ctx, m.id, reviewers);
    r = emptyReview();
    r.rewardEntry = m.accRewardPerStake;
  }
  const newStake = r.stakeWei + msg.stakeWei;
  requireThat(
    newStake >= params.minReviewStakeWei,
    `a review needs a stake of at least ${params.minReviewStakeWei} wei`,
  );
  await settleReward(ctx, m, sender, r);
  await transfer(ctx, sender, MODELS_ACCOUNT, msg.stakeWei);
  m.ratingStakeSum = m.ratingStakeSum - r.stakeWei * BigInt(r.rating) + newStake * BigInt(msg.rating);
  m.totalStakeWei += msg.stakeWei;
  r.stakeWei = newStake;
  r.rating = msg.rating;
  setReview(ctx, m.id, sender, r);
  setModelRecord(ctx, m);
  modelsEvents.emit(ctx, 'reviewed', {
    id: m.id,
    reviewer: sender,
    stakeWei: newStake.toString(),
    rating: msg.rating.toString(),
  });
}

export async function handleUnreview(
  ctx: ExecContext,
  msg: Infer<typeof ModelsUnreview>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, modelsParams);
  const m = await requireModel(ctx, msg.id);
  const r = await getReview(ctx, m.id, sender);
  requireThat(r !== undefined, `${sender} has no review of model ${m.id}`);
  requireThat(msg.amountWei > 0n, 'amountWei must be positive');
  requireThat(msg.amountWei <= r.stakeWei, `amountWei exceeds the bonded stake ${r.stakeWei}`);
  const rest = r.stakeWei - msg.amountWei;
  requireThat(
    rest === 0n || rest >= params.minReviewStakeWei,
    `the remaining stake must be 0 or at least ${params.minReviewStakeWei} wei`,
  );
  const release = ctx.block.height + params.reviewUnbondingBlocks;
  const entry = r.unbonding.find((u) => u.releaseHeight === release);
  requireThat(
    entry !== undefined || r.unbonding.length < MAX_UNBONDING_ENTRIES,
    `at most ${MAX_UNBONDING_ENTRIES} unbonding entries per review`,
  );
  // An entry maturing at `release` exists exactly when this pair is already queued there.
  if (!entry) await enqueueRelease(ctx, release, { id: m.id, reviewer: sender });
  await settleReward(ctx, m, sender, r);
  if (entry) entry.amountWei += msg.amountWei;
  else r.unbonding.push({ amountWei: msg.amountWei, releaseHeight: release });
  m.ratingStakeSum -= msg.amountWei * BigInt(r.rating);
  m.totalStakeWei -= msg.amountWei;
  r.stakeWei = rest;
  setReview(ctx, m.id, sender, r);
  setModelRecord(ctx, m);
  modelsEvents.emit(ctx, 'unreviewed', {
    id: m.id,
    reviewer: sender,
    amountWei: msg.amountWei.toString(),
    releaseHeight: release.toString(),
  });
}

export async function handleClaimRewards(
  ctx: ExecContext,
  msg: Infer<typeof ModelsClaimRewards>,
  sender: Address,
): Promise<void> {
  const m = await requireModel(ctx, msg.id);
  const r = await getReview(ctx, m.id, sender);
  requireThat(r !== undefined, `${sender} has no review of model ${m.id}`);
  await settleReward(ctx, m, sender, r);
  setReview(ctx, m.id, sender, r);
}

/**
 * End block: pays out the review stake whose unbonding ends at this height. While a modelFault
 * proposal naming the model is open (faultProposalsOpen > 0) the release is postponed, not lost:
 * the entries stay (and are slashed if the proposal passes) and are paid when the last such
 * proposal ends (keeper closeFaultProposal).
 */
export async function releaseUnbonded(ctx: ExecContext): Promise<void> {
  const height = ctx.block.height;
  const queue = await takeQueue(ctx, height);
  const held = new Map<string, boolean>();
  for (const item of queue) {
    let h = held.get(item.id);
    if (h === undefined) {
      h = (await getFaultProposalsOpen(ctx, item.id)) > 0;
      held.set(item.id, h);
    }
    if (h) continue;
    await releaseMatured(ctx, item.id, item.reviewer);
  }
}

/**
 * A model still uploading at the end of its activation window expires: status `expired`, its
 * deposit forfeited to the fee collector (the validators whose nodes stored its bytes), its
 * uploaded on-chain parts deleted, and a previous version it superseded may get a new one.
 * Returns the amount forfeited, or undefined when the model is no longer uploading.
 */
export async function expireModel(ctx: ExecContext, id: string): Promise<bigint | undefined> {
  const m = await getModelRecord(ctx, id);
  // Activated, deprecated or shown faulty since. (The check was queued at publish for the window
  // of then; a window changed by governance applies to later publishes.)
  if (m?.status !== 'uploading') return undefined;
  const forfeitedWei = m.depositWei;
  if (forfeitedWei > 0n) await transfer(ctx, MODELS_ACCOUNT, FEE_COLLECTOR, forfeitedWei);
  m.depositWei = 0n;
  deletePart(ctx, m.id, PART_ARTIFACT, m.artifactUploaded);
  deletePart(ctx, m.id, PART_VK, m.vkUploaded);
  m.artifactUploaded = 0;
  m.vkUploaded = 0;
  if (m.previous !== '') {
    const previous = await getModelRecord(ctx, m.previous);
    if (previous && previous.supersededBy === m.id) {
      previous.supersededBy = '';
      setModelRecord(ctx, previous);
    }
  }
  closeModel(ctx, m, 'expired');
  setModelRecord(ctx, m);
  modelsEvents.emit(ctx, 'expired', { id: m.id, forfeitedWei: forfeitedWei.toString() });
  return forfeitedWei;
}

/**
 * End block: expires the models whose activation window ends at this height (at most
 * MAX_EXPIRIES_PER_BLOCK; the rest move to the next height). Each runs alone: a typed failure
 * undoes that model's expiry only.
 */
export async function expireUnactivated(ctx: ExecContext): Promise<void> {
  for (const id of await takeExpiries(ctx, ctx.block.height, MAX_EXPIRIES_PER_BLOCK)) {
    const code = await ctx.attempt(async () => {
      await expireModel(ctx, id);
    });
    if (code !== OK) modelsEvents.emit(ctx, 'expiryFailed', { id, code: code.toString() });
  }
}
