// Models and verifiable inference from a dApp or the CLI: publish a model (artifact blob upload,
// models/publish, the on-chain parts in models/upload chunks), list and read models, request an
// inference, follow its status (WebSocket events with polling as fallback), read its result and
// proof, and verify a zk proof locally. Browser-safe: no Node built-ins; snarkjs is loaded only
// when a proof is verified.

import {
  CHUNK_BYTES,
  ERR,
  inferenceEvents,
  MAX_UPLOAD_BYTES,
  modelChunkKey,
  TIERS,
  type TierName,
  tierFloorWei,
} from '@aivm/chain';
import { bytesToHex, concatBytes, hexToBytes, isHex, keccak256 } from '@aivm/crypto';
import { argmaxOf, decodeOutput, type FloatInput, quantizeInput, readOutput } from '@aivm/runtime/core';
import { verifyStateProof } from '@aivm/state/proof';
import { blobId } from './blob-id.ts';
import { type AivmClient, RpcError } from './client.ts';
import { ArtifactUnavailableError, getModelIO, type InferenceResult } from './results.ts';
import type { Hex, ModuleEvent, TxRecord, TxView } from './types.ts';
import type { Wallet } from './wallet.ts';

export { TIERS, type TierName };

/** Largest data of one models/upload. */
export const MODEL_UPLOAD_BYTES = MAX_UPLOAD_BYTES;

/** A published model's record, parsed from the node's JSON (integers as bigint). */
export type ModelInfo = {
  id: string;
  owner: string;
  name: string;
  task: string;
  inputSchema: string;
  outputSchema: string;
  license: string;
  version: string;
  description: string;
  priceWei: bigint;
  tiers: number;
  tierNames: TierName[];
  status: string;
  artifactSize: number;
  vkHash: Hex;
  vkSize: number;
  zkInputs: 'public' | 'committed';
  zkWeights: 'public' | 'private';
  weightCommitment: bigint;
  /** Constraint count of the zk circuit as the publisher declared it (0 without the zk tier). */
  zkConstraints: bigint;
  /** The runtime's batch-1 gas estimate, set when the on-chain artifact was checked (else 0). */
  gasEstimate: bigint;
  /** Storage deposit the model holds (0 once refunded or forfeited, and for genesis models). */
  depositWei: bigint;
  /** Height at which the model was deprecated, expired or shown faulty (0 while open). */
  closedAt: bigint;
  queries: bigint;
  curationScore: bigint;
  /** The node's JSON record. */
  raw: Record<string, unknown>;
};

/** One provider slot of an inference request: its status, provider, deadline and output. */
export type SlotInfo = {
  status: string;
  provider: string;
  attempts: number;
  deadline: bigint;
  /** Height the slot's result was accepted (0 before): its challenge window runs from here (optimistic). */
  computedAt: bigint;
  output: Uint8Array;
  layerRoot: Hex;
};

/** How a request's fee was split: model owner, provider, reviewers, protocol and refund. */
export type FeeBreakdown = {
  ownerWei: bigint;
  providerWei: bigint;
  reviewersWei: bigint;
  protocolWei: bigint;
  refundWei: bigint;
};

/** An inference request's record, parsed from the node's JSON. */
export type RequestInfo = {
  id: bigint;
  requester: string;
  modelId: string;
  tier: number;
  tierName: TierName;
  redundancy: number;
  maxFeeWei: bigint;
  priceWei: bigint;
  status: string;
  reason: string;
  output: Uint8Array;
  /** The output as the chain's int32 values (see InferenceResult for the model's units), and its argmax (-1 when empty). */
  outputInts: number[];
  cls: number;
  fees: FeeBreakdown;
  slots: SlotInfo[];
  /** The request input when the node's answer carries it. */
  input?: Uint8Array;
  raw: Record<string, unknown>;
};

function big(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) return BigInt(v);
  return 0n;
}

/** Bytes of a hex field of a node answer; anything else (absent, malformed) is empty. */
function bytesOf(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  return isHex(v) ? hexToBytes(v) : new Uint8Array(0);
}

function tierNames(mask: number): TierName[] {
  return (Object.keys(TIERS) as TierName[]).filter((k) => (mask & TIERS[k]) !== 0);
}

function tierNumber(v: unknown): number {
  if (typeof v === 'string' && v in TIERS) return TIERS[v as TierName];
  return Number(big(v));
}

/** Parses a node's model answer (the record itself or wrapped in `model`); missing fields become empty or 0. */
export function parseModel(raw: unknown): ModelInfo {
  const r = ((raw as { model?: unknown })?.model ?? raw) as Record<string, unknown>;
  const tiers = tierNumber(r.tiers);
  return {
    id: String(r.id ?? ''),
    owner: String(r.owner ?? ''),
    name: String(r.name ?? ''),
    task: String(r.task ?? ''),
    inputSchema: String(r.inputSchema ?? ''),
    outputSchema: String(r.outputSchema ?? ''),
    license: String(r.license ?? ''),
    version: String(r.version ?? ''),
    description: String(r.description ?? ''),
    priceWei: big(r.priceWei),
    tiers,
    tierNames: tierNames(tiers),
    status: String(r.status ?? ''),
    artifactSize: Number(big(r.artifactSize)),
    vkHash: String(r.vkHash ?? '0x') as Hex,
    vkSize: Number(big(r.vkSize)),
    zkInputs: Number(big(r.zkInputs)) === 1 ? 'committed' : 'public',
    zkWeights: Number(big(r.zkWeights)) === 1 ? 'private' : 'public',
    weightCommitment: big(r.weightCommitment),
    zkConstraints: big(r.zkConstraints),
    gasEstimate: big(r.gasEstimate),
    depositWei: big(r.depositWei),
    closedAt: big(r.closedAt),
    queries: big(r.queries),
    curationScore: big(r.curationScore),
    raw: r,
  };
}

/** int32 little-endian output bytes as numbers. */
function outputValues(output: Uint8Array): number[] {
  return output.length % 4 === 0 ? Array.from(decodeOutput(output)) : [];
}

/** Parses a node's request answer (the record itself or wrapped in `request`); missing fields become empty or 0. */
export function parseRequest(raw: unknown): RequestInfo {
  const r = ((raw as { request?: unknown })?.request ?? raw) as Record<string, unknown>;
  const output = bytesOf(r.output);
  const outputInts = outputValues(output);
  const fees = (r.fees ?? {}) as Record<string, unknown>;
  const tier = tierNumber(r.tier);
  return {
    id: big(r.id),
    requester: String(r.requester ?? ''),
    modelId: String(r.modelId ?? ''),
    tier,
    tierName: tierNames(tier)[0] ?? 'onchain',
    redundancy: Number(big(r.redundancy)),
    maxFeeWei: big(r.maxFeeWei),
    priceWei: big(r.priceWei),
    status: String(r.status ?? ''),
    reason: String(r.reason ?? ''),
    output,
    outputInts,
    cls: argmaxOf(outputInts),
    fees: {
      ownerWei: big(fees.ownerWei),
      providerWei: big(fees.providerWei),
      reviewersWei: big(fees.reviewersWei),
      protocolWei: big(fees.protocolWei),
      refundWei: big(fees.refundWei),
    },
    slots: (Array.isArray(r.slots) ? (r.slots as Record<string, unknown>[]) : []).map((s) => ({
      status: String(s.status ?? ''),
      provider: String(s.provider ?? ''),
      attempts: Number(big(s.attempts)),
      deadline: big(s.deadline),
      computedAt: big(s.computedAt),
      output: bytesOf(s.output),
      layerRoot: String(s.layerRoot ?? '0x') as Hex,
    })),
    ...(typeof r.input === 'string' ? { input: bytesOf(r.input) } : {}),
    raw: r,
  };
}

/** No model with this id is published on the chain the client talks to. */
export class ModelNotFoundError extends Error {
  override name = 'ModelNotFoundError';
  readonly id: string;
  constructor(id: string) {
    super(`model ${id} is not published on this chain`);
    this.id = id;
  }
}

/** A published model's record; {@link ModelNotFoundError} when the chain has none with this id. */
export async function getModel(client: AivmClient, id: string): Promise<ModelInfo> {
  try {
    return parseModel(await client.query('models/model', { id }));
  } catch (err) {
    if (err instanceof RpcError && err.code === ERR.NOT_FOUND) throw new ModelNotFoundError(id);
    throw err;
  }
}

/** Filter of listModels: by owner, task or text, with or without inactive models, up to `limit`. */
export type ModelFilter = {
  owner?: string;
  task?: string;
  text?: string;
  includeInactive?: boolean;
  limit?: number;
};

/** Models matching the filter, every page. */
export async function listModels(client: AivmClient, filter: ModelFilter = {}): Promise<ModelInfo[]> {
  const out: ModelInfo[] = [];
  let after = '';
  for (;;) {
    const page = (await client.query('models/list', {
      owner: filter.owner ?? '',
      task: filter.task ?? '',
      text: filter.text ?? '',
      includeInactive: filter.includeInactive ?? false,
      after,
      limit: filter.limit ?? 0,
    })) as { models?: unknown[]; next?: string };
    for (const m of page.models ?? []) out.push(parseModel(m));
    if (!page.next || (filter.limit !== undefined && out.length >= filter.limit)) return out;
    after = page.next;
  }
}

/** Parameters of publishModel: the artifact, the model's description, price and tiers. */
export type PublishModelParams = {
  /** The quantized model artifact (encodeArtifact bytes). */
  artifact: Uint8Array;
  name: string;
  /** Shapes at batch 1, e.g. "[1,784]" and "[1,10]". */
  inputSchema: string;
  outputSchema: string;
  task?: string;
  license?: string;
  version?: string;
  description?: string;
  priceWei: bigint;
  /** Bit mask or names. */
  tiers: number | TierName[];
  /** zk tier: encodeVerificationKey bytes and its keccak256 hash. */
  vk?: { bytes: Uint8Array; hash: Hex };
  zkInputs?: 'public' | 'committed';
  zkWeights?: 'public' | 'private';
  weightCommitment?: bigint;
  /** zk tier (required): the circuit's constraint count (`compile(model).r1cs.constraints.length`). */
  zkConstraints?: bigint;
  previous?: string;
  /** Skip the blob upload (the node already has the artifact). */
  skipBlobUpload?: boolean;
  /** Called with a short message at each step. */
  onProgress?: (message: string) => void;
  timeoutMs?: number;
};

async function mustSucceed(
  client: AivmClient,
  hash: Hex,
  what: string,
  timeoutMs: number,
): Promise<TxRecord> {
  const rec = await client.waitForTx(hash, { timeoutMs });
  if (!rec.receipt.success) throw new Error(`${what} failed: ${rec.receipt.error}`);
  return rec;
}

/**
 * Publishes a model: sends models/publish and waits for it, uploads the artifact blob (providers
 * fetch it from there), then the on-chain parts (artifact for the on-chain and optimistic tiers,
 * verification key for zk) in models/upload chunks, and waits until the model is active. The
 * blob goes up only after models/publish is committed: a node opens an upload only for a blob that
 * a published model names (the gas paid for the publication is what buys the upload slot).
 */
export async function publishModel(
  wallet: Wallet,
  p: PublishModelParams,
): Promise<{ id: string; model: ModelInfo; txHashes: Hex[] }> {
  const client = wallet.client;
  const timeoutMs = p.timeoutMs ?? 120_000;
  const progress = p.onProgress ?? (() => {});
  const tiers = Array.isArray(p.tiers) ? p.tiers.reduce((a, t) => a | TIERS[t], 0) : p.tiers;
  const id = blobId(p.artifact);
  if (tiers & TIERS.zk && !p.vk) throw new Error('the zk tier needs a verification key');
  if (tiers & TIERS.zk && !p.zkConstraints)
    throw new Error("the zk tier needs zkConstraints (the circuit's constraint count)");
  // A publication cut short (blob or on-chain parts missing) is resumed where it stopped.
  let existing: ModelInfo | undefined;
  try {
    existing = await getModel(client, id);
  } catch {
    existing = undefined;
  }
  // An expired publication (never activated, deposit forfeited) holds nothing: publish afresh.
  if (existing?.status === 'expired') existing = undefined;
  const hashes: Hex[] = [];
  if (existing) {
    if (existing.owner.toLowerCase() !== wallet.address.toLowerCase() || existing.status !== 'uploading')
      throw new Error(`model ${id} is already published (${existing.status}, owner ${existing.owner})`);
    progress('resuming an unfinished publication');
  } else {
    progress('publishing');
    const publish = await wallet.send('models/publish', {
      id,
      name: p.name,
      task: p.task ?? '',
      inputSchema: p.inputSchema,
      outputSchema: p.outputSchema,
      license: p.license ?? '',
      version: p.version ?? '',
      description: p.description ?? '',
      priceWei: p.priceWei,
      tiers,
      artifactSize: p.artifact.length,
      vkHash: p.vk?.hash ?? `0x${'00'.repeat(32)}`,
      vkSize: p.vk?.bytes.length ?? 0,
      zkInputs: p.zkInputs === 'committed' ? 1 : 0,
      zkWeights: p.zkWeights === 'private' ? 1 : 0,
      weightCommitment: p.weightCommitment ?? 0n,
      zkConstraints: tiers & TIERS.zk ? (p.zkConstraints ?? 0n) : 0n,
      previous: p.previous ?? '',
    });
    hashes.push(publish);
    await mustSucceed(client, publish, 'models/publish', timeoutMs);
  }
  if (!p.skipBlobUpload) {
    progress(`uploading the artifact blob (${p.artifact.length} bytes)`);
    await client.uploadBlob(p.artifact, { signer: wallet });
  }
  const stored = [Number(big(existing?.raw.artifactUploaded)), Number(big(existing?.raw.vkUploaded))];
  const parts: [number, Uint8Array][] = [];
  if (tiers & (TIERS.onchain | TIERS.optimistic)) parts.push([0, p.artifact]);
  if (tiers & TIERS.zk && p.vk) parts.push([1, p.vk.bytes]);
  // One chunk at a time: each must land before the next is estimated (offsets are checked).
  for (const [part, bytes] of parts) {
    for (let offset = stored[part] ?? 0; offset < bytes.length; offset += MODEL_UPLOAD_BYTES) {
      progress(
        `uploading ${part === 0 ? 'the artifact' : 'the verification key'} on chain: ${offset}/${bytes.length} bytes`,
      );
      const h = await wallet.send('models/upload', {
        id,
        part,
        offset,
        data: bytes.subarray(offset, offset + MODEL_UPLOAD_BYTES),
      });
      hashes.push(h);
      await mustSucceed(client, h, 'models/upload', timeoutMs);
    }
  }
  progress('waiting for the model to be active');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const model = await getModel(client, id);
    if (model.status === 'active') return { id, model, txHashes: hashes };
    if (Date.now() > deadline) throw new Error(`model ${id} is still ${model.status}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Parameters of requestInference: the model, the tier, the input and optionally the fee cap and redundancy. */
export type InferenceParamsInput = {
  modelId: string;
  tier: number | TierName;
  /**
   * The input: float values in the model's units (number[], Float32Array or nested arrays with the
   * input's element count, e.g. 784 numbers or [[...784]] for [1,784]), quantized here with the
   * model's input scale (quantizeInput of @aivm/runtime/core, the artifact read once per model);
   * or a Uint8Array of already quantized int8 bytes, sent as is.
   */
  input: Uint8Array | FloatInput;
  /** Default: price x redundancy. */
  maxFeeWei?: bigint;
  redundancy?: number;
};

/**
 * A request the chain refused (or that was checked against the chain's rules before sending): the
 * message is the chain's refusal text as is (e.g. "redundancy 3 exceeds the 2 providers eligible
 * for model ... (optimistic tier)").
 */
export class InferenceRequestRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InferenceRequestRefused';
  }
}

/**
 * The least price per slot the chain takes for `model` in `tier` under the current inference
 * params (the chain's tierFloorWei): 0 for the on-chain tier; otherwise at least minPriceWei, and
 * the declared zkConstraints (zk) or the gas estimate (optimistic) times their price.
 */
export async function priceFloorWei(client: AivmClient, model: ModelInfo, tier: number): Promise<bigint> {
  if (tier === TIERS.onchain) return 0n;
  const params = (await client.query('inference/params')) as Record<string, unknown>;
  return tierFloorWei(
    {
      minPriceWei: big(params.minPriceWei),
      zkPricePerConstraintWei: big(params.zkPricePerConstraintWei),
      optimisticPricePerGasWei: big(params.optimisticPricePerGasWei),
    },
    model,
    tier,
  );
}

/**
 * Sends inference/request and waits for it to be committed; resolves with the request id. For the
 * zk and optimistic tiers the model price is first checked against the tier's floor (the chain's
 * tierFloorWei: at least minPriceWei, and the model's declared constraints or gas estimate times
 * their price). A refusal (pre-check, gas estimate or failed receipt) throws
 * {@link InferenceRequestRefused} with the chain's text.
 */
export async function requestInference(
  wallet: Wallet,
  p: InferenceParamsInput,
  opts: { timeoutMs?: number } = {},
): Promise<{ requestId: bigint; txHash: Hex; record: TxRecord; input: Uint8Array }> {
  const tier = typeof p.tier === 'string' ? TIERS[p.tier] : p.tier;
  const redundancy = p.redundancy ?? 1;
  let model: ModelInfo | undefined;
  if (p.maxFeeWei === undefined || tier !== TIERS.onchain) model = await getModel(wallet.client, p.modelId);
  if (model && tier !== TIERS.onchain) {
    const floorWei = await priceFloorWei(wallet.client, model, tier);
    if (model.priceWei < floorWei)
      throw new InferenceRequestRefused(
        `model ${model.id} is priced ${model.priceWei} wei, below the ${tierNames(tier)[0] ?? tier} tier's floor of ${floorWei} wei`,
      );
  }
  const maxFeeWei = p.maxFeeWei ?? model!.priceWei * BigInt(redundancy);
  // A Float32Array is floats; only a Uint8Array is taken as quantized bytes.
  const input =
    p.input instanceof Uint8Array
      ? p.input
      : quantizeInput(await getModelIO(wallet.client, model ?? p.modelId), p.input);
  let txHash: Hex;
  try {
    txHash = await wallet.send('inference/request', {
      modelId: p.modelId,
      tier,
      input,
      maxFeeWei,
      redundancy,
    });
  } catch (err) {
    // The node's gas estimate runs the message: its error is the chain's refusal.
    if (err instanceof RpcError) throw new InferenceRequestRefused(err.message);
    throw err;
  }
  const record = await wallet.client.waitForTx(txHash, { timeoutMs: opts.timeoutMs ?? 60_000 });
  if (!record.receipt.success)
    throw new InferenceRequestRefused(record.receipt.error ?? 'the request failed');
  const ev = record.receipt.events.find((e) => inferenceEvents.is(e, 'status'));
  const id = ev?.attributes.find((a) => a.key === 'id')?.value;
  if (id === undefined) throw new Error('the request transaction emitted no inference/status event');
  return { requestId: BigInt(id), txHash, record, input };
}

/** Slot statuses of a paid slot: 'proven' (zk), 'finalized' (optimistic and on-chain). */
export function isPaidSlot(slot: Pick<SlotInfo, 'status'>): boolean {
  return slot.status === 'proven' || slot.status === 'finalized';
}

/**
 * A terminal request's result: a `finalized` request may be partial ("k of r slots paid": the
 * unpaid slots failed and their share was refunded); its output is the first PAID slot's (not
 * necessarily slot 0). `slot` is -1 when no slot was paid.
 */
export function requestResult(req: Pick<RequestInfo, 'slots' | 'redundancy' | 'output'>): {
  slot: number;
  output: Uint8Array;
  outputInts: number[];
  cls: number;
  paid: number;
  slots: number;
} {
  const slot = req.slots.findIndex(isPaidSlot);
  const output = slot >= 0 ? req.slots[slot]!.output : new Uint8Array(0);
  const outputInts = outputValues(output);
  return {
    slot,
    output,
    outputInts,
    cls: argmaxOf(outputInts),
    paid: req.slots.filter(isPaidSlot).length,
    slots: req.slots.length || req.redundancy,
  };
}

/** An inference request's record by id. */
export async function getRequest(client: AivmClient, id: bigint | number | string): Promise<RequestInfo> {
  return parseRequest(await client.query('inference/request', { id: id.toString() }));
}

/** One status a request went through; `height` when it was seen in an event (a poll has none). */
export type StatusChange = { status: string; reason: string; height?: bigint };

/**
 * Calls `onEvent` for every inference event of one request (status, assigned, proven, computed,
 * challenged, disputeStep, paid...) over the WebSocket; resolves with the unsubscribe function.
 */
export function subscribeRequest(
  client: AivmClient,
  id: bigint | number | string,
  onEvent: (event: ModuleEvent) => void,
): Promise<() => Promise<void>> {
  const want = id.toString();
  return client.subscribe('events', { module: inferenceEvents.module }, (ev) => {
    if (ev.attributes.id === want) onEvent(ev);
  });
}

/** Options of {@link waitForRequest}. */
export type WaitForRequestOptions = {
  timeoutMs?: number;
  pollMs?: number;
  /** Called once for each new status the request goes through. */
  onStatus?: (change: StatusChange) => void;
  /** Every inference event of this request (assigned, proven, challenged, paid...). */
  onEvent?: (event: ModuleEvent) => void;
  /**
   * The request transaction (requestInference's `record`): its status events, made before any
   * subscription could see them (an on-chain request is finalized in it), open the history.
   */
  record?: Pick<TxRecord, 'height' | 'receipt'>;
  /** Read the result in the model's units (fetches the model's artifact once per model). Default true. */
  readResult?: boolean;
};

/** A finalized or failed request as waitForRequest returns it: the record plus what was seen on the way. */
export type FinishedRequest = RequestInfo & {
  /** Transactions that proved (zk) or computed (optimistic) the paid slots, by slot. */
  resultTxs: Record<number, Hex>;
  /** The statuses the request went through, in order. */
  history: StatusChange[];
  /** The first paid slot's result in the model's units; undefined when no slot was paid. */
  result?: InferenceResult;
  /** Why `result` is missing although a slot was paid: the model's artifact could not be read. */
  resultError?: string;
};

/**
 * The first paid slot's output of a finished request read in the model's units (its scale and
 * final kernel from the artifact, see {@link getModelIO}); undefined when no slot was paid.
 */
export async function readRequestResult(
  client: AivmClient,
  req: Pick<RequestInfo, 'modelId' | 'slots' | 'redundancy' | 'output'>,
): Promise<InferenceResult | undefined> {
  const res = requestResult(req);
  if (res.slot < 0) return undefined;
  const io = await getModelIO(client, req.modelId);
  return { ...readOutput(io, res.outputInts), slot: res.slot, paid: res.paid, slots: res.slots };
}

/**
 * Follows a request until it is finalized or failed: status events over the WebSocket, with
 * polling as a fallback (and to catch changes made before the subscription).
 */
export async function waitForRequest(
  client: AivmClient,
  id: bigint | number | string,
  opts: WaitForRequestOptions = {},
): Promise<FinishedRequest> {
  const want = id.toString();
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const pollMs = opts.pollMs ?? 1_000;
  const resultTxs: Record<number, Hex> = {};
  const history: StatusChange[] = [];
  const report = (status: string, reason: string, height?: bigint) => {
    const last = history[history.length - 1];
    if (last?.status === status) {
      // Seen by a poll first, then in its event: keep the event's height.
      if (last.height === undefined && height !== undefined) last.height = height;
      return;
    }
    const change = { status, reason, ...(height !== undefined ? { height } : {}) };
    history.push(change);
    opts.onStatus?.(change);
  };
  for (const ev of opts.record?.receipt.events ?? []) {
    if (!inferenceEvents.is(ev, 'status')) continue;
    const attrs = Object.fromEntries(ev.attributes.map((a) => [a.key, a.value]));
    if (attrs.id === want) report(attrs.status ?? '', attrs.reason ?? '', BigInt(opts.record!.height));
  }
  let wake: (() => void) | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  try {
    unsubscribe = await subscribeRequest(client, id, (ev) => {
      opts.onEvent?.(ev);
      if ((inferenceEvents.is(ev, 'proven') || inferenceEvents.is(ev, 'computed')) && ev.txHash)
        resultTxs[Number(ev.attributes.slot ?? 0)] = ev.txHash;
      const status = inferenceEvents.match(ev, 'status');
      if (status) report(status.status, status.reason, ev.height);
      wake?.();
    });
  } catch {
    unsubscribe = undefined; // no WebSocket: polling only
  }
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const req = await getRequest(client, id);
      report(req.status, req.reason);
      if (req.status === 'finalized' || req.status === 'failed') {
        if (opts.readResult === false) return { ...req, resultTxs, history };
        try {
          const result = await readRequestResult(client, req);
          return { ...req, resultTxs, history, ...(result ? { result } : {}) };
        } catch (err) {
          // The request is finished either way: return it, with why its result is not in model units.
          if (!(err instanceof ArtifactUnavailableError)) throw err;
          return { ...req, resultTxs, history, resultError: err.message };
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`request ${want} is still ${req.status} after ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(unsubscribe ? pollMs * 3 : pollMs, left));
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
      wake = undefined;
    }
  } finally {
    await unsubscribe?.().catch(() => {});
  }
}

/**
 * The zk proof (256 bytes of points) of a request slot, read from the transaction that proved it:
 * the hash from waitForRequest's resultTxs (seen in events), else found in the block that accepted
 * the slot's proof (`computedAt`) as the slot provider's `inference/submitProof`.
 */
export async function getZkProof(
  client: AivmClient,
  request: Pick<RequestInfo, 'id'> & { resultTxs?: Record<number, Hex> },
  slot = 0,
): Promise<{ proof: Uint8Array; output: Uint8Array; txHash: Hex } | undefined> {
  const hash = request.resultTxs?.[slot];
  if (hash) {
    const tx = await client.getTx(hash);
    if (tx?.msgType !== 'inference/submitProof') return undefined;
    return { proof: bytesOf(tx.msg.proof), output: bytesOf(tx.msg.output), txHash: hash };
  }
  // No event seen (no WebSocket, or a request followed elsewhere): the slot records the height
  // that accepted its proof and its provider, who sent the proof in that block.
  const info = await getRequest(client, request.id);
  const s = info.slots[slot];
  if (!s || s.computedAt === 0n) return undefined;
  const block = await client.getBlock({ height: s.computedAt, fullTxs: true });
  const tx = (block?.txs as TxView[] | undefined)?.find(
    (t) =>
      typeof t === 'object' &&
      t.msgType === 'inference/submitProof' &&
      t.from.toLowerCase() === s.provider.toLowerCase() &&
      String(t.msg.requestId) === info.id.toString(),
  );
  if (!tx) return undefined;
  return { proof: bytesOf(tx.msg.proof), output: bytesOf(tx.msg.output), txHash: tx.hash };
}

/**
 * Verifies a zk result locally: rebuilds the public signals from the input and the claimed output
 * the way the chain does (zkPublicSignals) and checks the Groth16 proof against the model's
 * verification key (snarkjs JSON, or the encodeVerificationKey bytes stored on chain).
 */
export async function verifyZkResult(p: {
  proof: Uint8Array;
  output: Uint8Array;
  input: Uint8Array;
  vk: Record<string, unknown> | Uint8Array;
  zkInputs?: 'public' | 'committed';
  weightCommitment?: bigint;
}): Promise<boolean> {
  const zk = await import('@aivm/zk');
  const { verifyProof } = await import('@aivm/zk/verify');
  const vk = p.vk instanceof Uint8Array ? zk.decodeVerificationKey(p.vk) : (p.vk as never);
  const publicSignals = zk.zkPublicSignals({
    output: outputValues(p.output),
    input: Array.from(new Int8Array(p.input.buffer, p.input.byteOffset, p.input.byteLength)),
    inputs: p.zkInputs ?? 'public',
    ...(p.weightCommitment ? { weightCommitment: p.weightCommitment } : {}),
  });
  try {
    return await verifyProof(vk, { proof: zk.decodeProofPoints(p.proof), publicSignals });
  } catch {
    return false;
  }
}

/** Chunk size of a model's on-chain data (models module CHUNK_BYTES). */
export const MODEL_CHUNK_BYTES = CHUNK_BYTES;

/**
 * A model's on-chain part (0 artifact, 1 verification key) read chunk by chunk with state proofs,
 * each checked against the node's state root (verifyStateProof); `size` bytes are expected.
 */
export async function getModelPart(
  client: AivmClient,
  id: string,
  part: 0 | 1,
  size: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let got = 0;
  for (let i = 0; got < size; i++) {
    const { proof } = await client.getProof(modelChunkKey(id, part, i));
    if (!verifyStateProof(proof)) throw new Error(`state proof of ${id} part ${part} chunk ${i} is invalid`);
    if (proof.value === null) throw new Error(`model ${id} has no on-chain part ${part} chunk ${i}`);
    const c = bytesOf(proof.value);
    chunks.push(c);
    got += c.length;
  }
  return concatBytes(...chunks);
}

/** The model's verification key as stored on chain (encodeVerificationKey bytes), hash-checked. */
export async function getModelVerificationKey(client: AivmClient, model: ModelInfo): Promise<Uint8Array> {
  const bytes = await getModelPart(client, model.id, 1, model.vkSize);
  if (bytesToHex(keccak256(bytes)).toLowerCase() !== model.vkHash.toLowerCase())
    throw new Error(`the verification key stored for ${model.id} does not match its vkHash`);
  return bytes;
}
