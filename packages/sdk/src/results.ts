// A model's request boundary as a client needs it: the input scale to quantize float inputs with,
// and the output scale and final kernel to read a result in the model's units. The chain's model
// record holds only the shapes, so both come from the artifact (the node's blob store, else the
// on-chain part with state proofs), checked against the model id and cached per id: the id is the
// artifact's content hash, so a cached entry can never go stale. Browser-safe.

import { TIERS } from '@aivm/chain';
import {
  decodeArtifact,
  type ModelIO,
  modelId,
  modelIO,
  type QuantModel,
  type ReadOutput,
} from '@aivm/runtime/core';
import type { AivmClient } from './client.ts';
import type { ModelInfo } from './inference.ts';
import { getModel, getModelPart } from './inference.ts';

/** A model whose artifact this client cannot obtain or that does not match its id. */
export class ArtifactUnavailableError extends Error {
  override name = 'ArtifactUnavailableError';
}

/**
 * The model's artifact: from the node's blob store over RPC, else (models with an on-chain or
 * optimistic tier) from chain state with proofs; checked against the id either way.
 */
export async function getModelArtifact(
  client: AivmClient,
  model: Pick<ModelInfo, 'id' | 'tiers' | 'artifactSize'>,
): Promise<{ bytes: Uint8Array; model: QuantModel }> {
  const id = model.id;
  let bytes: Uint8Array | null = null;
  let why = 'the node does not hold it';
  try {
    bytes = await client.getBlob(id);
  } catch (err) {
    why = (err as Error).message;
  }
  if (!bytes && model.tiers & (TIERS.onchain | TIERS.optimistic))
    bytes = await getModelPart(client, id, 0, model.artifactSize);
  if (!bytes) throw new ArtifactUnavailableError(`cannot fetch the artifact of model ${id}: ${why}`);
  if (modelId(bytes) !== id)
    throw new ArtifactUnavailableError(`the artifact fetched for ${id} does not match its id`);
  const decoded = decodeArtifact(bytes);
  ioCache.set(id, modelIO(decoded));
  return { bytes, model: decoded };
}

const ioCache = new Map<string, ModelIO>();

/**
 * The model's input and output description (shapes, scales, final kernel), fetched once per model
 * id (see {@link getModelArtifact}) and kept for the life of the page or process.
 */
export async function getModelIO(client: AivmClient, model: string | ModelInfo): Promise<ModelIO> {
  const id = typeof model === 'string' ? model : model.id;
  const cached = ioCache.get(id);
  if (cached) return cached;
  const info = typeof model === 'string' ? await getModel(client, id) : model;
  await getModelArtifact(client, info);
  return ioCache.get(id)!;
}

/**
 * A finished request's result in the model's units (see readOutput of @aivm/runtime): `output`
 * the int32 values the chain stores (what proofs and commitments are about), `scale`, `values`
 * (`output * scale`), `argmax` (the predicted class), `probabilities` when the model's last
 * kernel is softmax, log-softmax or sigmoid. From the first paid slot (`slot`), `paid` of `slots`.
 */
export type InferenceResult = ReadOutput & { slot: number; paid: number; slots: number };

export {
  type FloatInput,
  InputError,
  type ModelIO,
  quantizeInput,
  type ReadOutput,
  readOutput,
} from '@aivm/runtime/core';
