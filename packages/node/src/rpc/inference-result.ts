// aivm_getInferenceResult: a request's status and, once it has a result, the result in the model's
// units, as the SDK reads it (readRequestResult: the first paid slot, readOutput of
// @aivm/runtime/core). The output scale and final kernel come from the model's artifact: the
// node's blob store, else the on-chain part the chain keeps for on-chain and optimistic models.
// Decoded model IO is cached per model id; the id is the artifact's content hash, so an entry
// never goes stale.

import { ChainError, ERR, modelChunkKey } from '@aivm/chain';
import { concatBytes, hexToBytes } from '@aivm/crypto';
import { decodeArtifact, decodeOutput, type ModelIO, modelId, modelIO, readOutput } from '@aivm/runtime/core';
import { z } from 'zod';
import type { NodeApi } from '../api.ts';
import type { Json } from './json.ts';

/** Request statuses after which nothing changes: the result (if any) is final. */
const FINISHED = new Set(['finalized', 'failed']);
/** Slot statuses of a paid slot: 'proven' (zk), 'finalized' (optimistic and on-chain). */
const PAID_SLOT = new Set(['proven', 'finalized']);

/** Most model IO descriptions kept (each is a few hundred bytes: shapes, scales, names). */
export const MODEL_IO_CACHE_ENTRIES = 256;

// ---------------------------------------------------------------------------------------------
// What the node's own queries answer (validated: a shape change in a module fails loudly here)

const decimal = z.string().regex(/^(0|[1-9][0-9]*)$/);
const hexBytes = z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/);
const size = z.union([z.number().int().nonnegative(), decimal.transform(Number)]);

const RequestRecord = z.object({
  id: decimal,
  modelId: z.string().min(1),
  tierName: z.string(),
  status: z.string(),
  reason: z.string(),
  createdAt: decimal,
  updatedAt: decimal,
  redundancy: z.number().int().nonnegative(),
  slots: z.array(z.object({ status: z.string(), output: hexBytes })),
});
type RequestRecord = z.output<typeof RequestRecord>;

const ModelRecord = z.object({ artifactSize: size, artifactUploaded: size });

// ---------------------------------------------------------------------------------------------
// Model IO: from the artifact, cached per id

type IoLookup = { io: ModelIO } | { unavailable: string };

/** A bounded map in least-recently-used order (a hit moves the entry to the end). */
export class ModelIOCache {
  readonly #max: number;
  readonly #entries = new Map<string, ModelIO>();
  constructor(max = MODEL_IO_CACHE_ENTRIES) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`cache size must be a positive integer`);
    this.#max = max;
  }
  get size(): number {
    return this.#entries.size;
  }
  get(id: string): ModelIO | undefined {
    const io = this.#entries.get(id);
    if (io) {
      this.#entries.delete(id);
      this.#entries.set(id, io);
    }
    return io;
  }
  set(id: string, io: ModelIO): void {
    this.#entries.delete(id);
    this.#entries.set(id, io);
    while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }
  has(id: string): boolean {
    return this.#entries.has(id);
  }
  clear(): void {
    this.#entries.clear();
  }
}

/** Shared by every node in the process: entries are keyed by content hash, so they never conflict. */
export const modelIOCache = new ModelIOCache();
/** Lookups in progress per node, so concurrent calls for one model read its artifact once. */
const inFlight = new WeakMap<NodeApi, Map<string, Promise<IoLookup>>>();

/** The artifact from the node's blob store; undefined (with why) when it holds no complete copy. */
async function blobArtifact(api: NodeApi, id: string): Promise<Uint8Array | string> {
  if (!api.blobStat || !api.blobChunk) return 'this node serves no artifact blobs';
  const stat = await api.blobStat(id);
  if (!stat) return 'the node holds no artifact blob for it';
  if (!stat.complete) return 'its artifact blob is still being uploaded to this node';
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < stat.chunks; i++) chunks.push(await api.blobChunk(id, i));
  return concatBytes(...chunks);
}

/** The artifact from chain state (models with an on-chain or optimistic tier keep it there). */
async function onchainArtifact(api: NodeApi, id: string): Promise<Uint8Array | string> {
  let record: z.output<typeof ModelRecord>;
  try {
    record = ModelRecord.parse(await api.query('models/model', { id }));
  } catch (err) {
    if (err instanceof ChainError && err.code === ERR.NOT_FOUND) return 'the model is not on chain';
    throw err;
  }
  const { artifactSize, artifactUploaded } = record;
  if (artifactSize === 0 || artifactUploaded !== artifactSize)
    return 'the chain keeps no copy of its artifact (only models with an on-chain or optimistic tier have one)';
  const chunks: Uint8Array[] = [];
  for (let i = 0, got = 0; got < artifactSize; i++) {
    const { proof } = await api.getProof(modelChunkKey(id, 0, i));
    if (proof.value === null) return `chunk ${i} of its on-chain artifact is missing`;
    const chunk = hexToBytes(proof.value);
    chunks.push(chunk);
    got += chunk.length;
  }
  return concatBytes(...chunks);
}

async function lookupModelIO(api: NodeApi, id: string): Promise<IoLookup> {
  const why: string[] = [];
  for (const source of [blobArtifact, onchainArtifact]) {
    let bytes: Uint8Array | string;
    try {
      bytes = await source(api, id);
    } catch (err) {
      bytes = err instanceof Error ? err.message : String(err);
    }
    if (typeof bytes === 'string') {
      why.push(bytes);
      continue;
    }
    if (modelId(bytes) !== id) {
      why.push('the artifact bytes found do not hash to the model id');
      continue;
    }
    try {
      return { io: modelIO(decodeArtifact(bytes)) };
    } catch (err) {
      // Content-addressed: another copy of these bytes would not decode either.
      return {
        unavailable: `the artifact of model ${id} does not describe a served model: ${(err as Error).message}`,
      };
    }
  }
  return { unavailable: `the artifact of model ${id} is not available on this node: ${why.join('; ')}` };
}

/** The model's IO description, from the cache or its artifact (read once per id at a time). */
export async function modelIOFor(api: NodeApi, id: string, cache = modelIOCache): Promise<IoLookup> {
  const hit = cache.get(id);
  if (hit) return { io: hit };
  let lookups = inFlight.get(api);
  if (!lookups) {
    lookups = new Map();
    inFlight.set(api, lookups);
  }
  let pending = lookups.get(id);
  if (!pending) {
    const own = lookups;
    pending = lookupModelIO(api, id).finally(() => own.delete(id));
    lookups.set(id, pending);
  }
  const found = await pending;
  // Only a found description is kept: a missing blob may arrive later.
  if ('io' in found) cache.set(id, found.io);
  return found;
}

// ---------------------------------------------------------------------------------------------
// The answer

/** The request record, or undefined when no request has this id. */
async function requestRecord(api: NodeApi, id: bigint): Promise<RequestRecord | undefined> {
  let raw: unknown;
  try {
    raw = await api.query('inference/request', { id: id.toString() });
  } catch (err) {
    // The query's only refusal is a missing request (a ModuleError, ERR.MODULE; NOT_FOUND accepted too).
    if (err instanceof ChainError && (err.code === ERR.MODULE || err.code === ERR.NOT_FOUND))
      return undefined;
    throw err;
  }
  const parsed = RequestRecord.safeParse(raw);
  if (!parsed.success)
    throw new Error(`inference/request answered an unexpected shape: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * A request's status and, when it is finished with a paid slot, its result in the model's units
 * (null otherwise; `resultUnavailable` says why when the result exists but the model's artifact
 * cannot be read). Null when no request has this id.
 */
export async function inferenceResultJson(api: NodeApi, requestId: bigint): Promise<Json> {
  const req = await requestRecord(api, requestId);
  if (!req) return null;
  const base = {
    requestId: req.id,
    modelId: req.modelId,
    tier: req.tierName,
    status: req.status,
    reason: req.reason,
    createdAt: req.createdAt,
    updatedAt: req.updatedAt,
  };
  const slot = req.slots.findIndex((s) => PAID_SLOT.has(s.status));
  if (!FINISHED.has(req.status) || slot < 0) return { ...base, result: null };
  const output = Array.from(decodeOutput(hexToBytes(req.slots[slot]!.output as `0x${string}`)));
  const found = await modelIOFor(api, req.modelId);
  if ('unavailable' in found) return { ...base, result: null, resultUnavailable: found.unavailable };
  const read = readOutput(found.io, output);
  const result: { [key: string]: Json } = {
    output: read.output,
    scale: read.scale,
    kind: read.kind,
    activation: read.activation,
    values: read.values,
    argmax: read.argmax,
    ...(read.probabilities ? { probabilities: read.probabilities } : {}),
    slot,
    paid: req.slots.filter((s) => PAID_SLOT.has(s.status)).length,
    slots: req.slots.length || req.redundancy,
  };
  return { ...base, result };
}
