import { t } from '@aivm/codec';
import { MAX_STEP_TENSOR_BYTES } from '../models/store.ts';
import { MAX_INPUT_BYTES } from './params.ts';

export { MAX_STEP_TENSOR_BYTES };

/** Model ids are CID strings (the models module's MODEL_ID width). */
const MODEL_ID = t.string(128);
/** Largest output (int32 little-endian) a message may carry. */
export const MAX_OUTPUT_BYTES = 65_536;
/** Most models a provider may list (none: it serves every model). */
export const MAX_PROVIDER_MODELS = 64;
/** Deepest Merkle proof accepted (trees of up to 2^32 leaves). */
const MerkleProof = t.array(t.bytes32, 32);

/**
 * tiers: bit mask (1 on-chain, 2 zk, 4 optimistic; the on-chain tier needs no provider).
 * models: model ids served, empty = every model.
 */
export const InferenceRegisterProvider = t.struct('InferenceRegisterProvider', {
  stakeWei: t.uint256,
  capacity: t.uint32,
  tiers: t.uint8,
  models: t.array(MODEL_ID, MAX_PROVIDER_MODELS),
  endpoint: t.string(256),
});

/** Replaces capacity, tiers, models and endpoint (capacity 0 pauses: no new jobs). */
export const InferenceUpdateProvider = t.struct('InferenceUpdateProvider', {
  capacity: t.uint32,
  tiers: t.uint8,
  models: t.array(MODEL_ID, MAX_PROVIDER_MODELS),
  endpoint: t.string(256),
});

export const InferenceAddStake = t.struct('InferenceAddStake', { amountWei: t.uint256 });
export const InferenceUnbond = t.struct('InferenceUnbond', { amountWei: t.uint256 });

/**
 * input: the model's single input at batch 1, int8 quantized with the input value's scale, raw
 * bytes. tier: exactly one of 1, 2, 4. maxFeeWei is escrowed; what is not paid is refunded.
 */
export const InferenceRequest = t.struct('InferenceRequest', {
  modelId: MODEL_ID,
  tier: t.uint8,
  input: t.bytes(MAX_INPUT_BYTES),
  maxFeeWei: t.uint256,
  redundancy: t.uint8,
});

/** zk tier: output = int32 little-endian values; proof = 256 bytes of Groth16 points. */
export const InferenceSubmitProof = t.struct('InferenceSubmitProof', {
  requestId: t.uint64,
  output: t.bytes(MAX_OUTPUT_BYTES),
  proof: t.bytes(256),
});

/** Optimistic tier: the output with Merkle proofs of leaf 0 (input) and leaf n (output). */
export const InferenceSubmitResult = t.struct('InferenceSubmitResult', {
  requestId: t.uint64,
  output: t.bytes(MAX_OUTPUT_BYTES),
  layerRoot: t.bytes32,
  inputProof: MerkleProof,
  outputProof: MerkleProof,
});

export const InferenceChallenge = t.struct('InferenceChallenge', {
  requestId: t.uint64,
  slot: t.uint8,
  layerRoot: t.bytes32,
  output: t.bytes(MAX_OUTPUT_BYTES),
  inputProof: MerkleProof,
  outputProof: MerkleProof,
  bondWei: t.uint256,
});

/** Leaf at the current midpoint of the dispute with its proof against the sender's layer root. */
export const InferenceReveal = t.struct('InferenceReveal', {
  requestId: t.uint64,
  slot: t.uint8,
  leaf: t.bytes32,
  proof: MerkleProof,
});

/**
 * The assigned provider gives its slot of the request back before the slot's deadline, without a
 * slash (e.g. it cannot serve the model): the slot is reassigned and the provider never gets this
 * request again.
 */
export const InferenceDecline = t.struct('InferenceDecline', { requestId: t.uint64 });

/**
 * Canonical bytes (encodeTensor) of the agreed tensor at leaf `lo`. Models with the optimistic
 * tier are refused at upload when an intermediate tensor would not fit this bound, so the message
 * always fits in a 64 KiB transaction.
 */
export const InferenceOneStep = t.struct('InferenceOneStep', {
  requestId: t.uint64,
  slot: t.uint8,
  tensor: t.bytes(MAX_STEP_TENSOR_BYTES),
});
