// The provider role: a node that serves inference jobs. It registers itself (stake, capacity,
// tiers), admits the models its serving policy accepts (policy.ts: judged on the chain's record
// before anything is spent, then on the compiled circuit before any key setup), prepares them
// (artifact from the blob store, checked against its id; for zk the circuit and its keys, checked
// against the model's published verification-key hash, keys on disk in the key cache and at most
// maxLoadedKeys of them in memory), registers the list of models it has prepared, follows committed
// blocks for jobs assigned to it, runs them and answers with a proof (zk) or a layer commitment
// (optimistic), defends its results in disputes, and watches other providers' optimistic results,
// challenging the wrong ones. A bad job is logged, never fatal to the node.

import { join } from 'node:path';
import {
  authParams,
  inferenceEvents,
  merkleProof,
  modelChunkKey,
  modelsEvents,
  type Registry,
  readParams,
  signTx,
  TIER_ONCHAIN,
  TIER_OPTIMISTIC,
  TIER_ZK,
  TIERS,
} from '@aivm/chain';

type InferenceEventType = keyof typeof inferenceEvents.types;

import { toJson } from '@aivm/codec';
import { type Address, bytesToHex, concatBytes, type Hex, privateKeyToAddress } from '@aivm/crypto';
import { decodeArtifact, encodeTensor, modelId, type QuantModel } from '@aivm/runtime';
import type { KVReader } from '@aivm/state';
import type * as ZkModule from '@aivm/zk';
import type * as ZkNodeModule from '@aivm/zk/node';
import type { AccountInfo, NodeEvents, TxDraft } from '../api.ts';
import type { Logger } from '../logger.ts';
import { asBig, asBytes, endProofs, execute, type LayerRun, layerRun, sameBytes } from './exec.ts';
import { KeyLru } from './key-lru.ts';
import {
  admitsEveryModel,
  MAX_PROVIDER_MODELS,
  type ModelOffer,
  offerOf,
  preparesZk,
  refuseCircuit,
  refuseOffer,
  type ServingPolicy,
  servingPolicy,
} from './policy.ts';

export { TIER_ONCHAIN, TIER_OPTIMISTIC, TIER_ZK };

/** Test modes of a misbehaving provider (hidden CLI option --faulty). */
export type FaultMode = 'wrong-output' | 'forged-proof' | 'silent';

/** What the provider needs of a node (AivmNode implements it). */
export interface ProviderHost {
  readonly chainId: bigint;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly store: { readonly state: KVReader };
  status(): { height: bigint; timeMs: bigint };
  /** Present when the node is part of a network (and so may be syncing). */
  readonly p2p?: unknown;
  query(path: string, params: unknown): Promise<unknown>;
  getAccount(address: Address): Promise<AccountInfo>;
  sendRawTx(raw: Uint8Array): Promise<Hex>;
  estimateGas(draft: TxDraft): Promise<bigint>;
  fetchBlob(id: string): Promise<Uint8Array>;
  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void;
  off<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void;
}

export type ProviderOptions = {
  /** secp256k1 key of the provider account (pays stake and fees). */
  privateKey: Uint8Array;
  /** Stake to register with (default: the chain's minProviderStakeWei). */
  stakeWei?: bigint;
  /** Jobs run at once (default 2). */
  capacity?: number;
  /** Tier mask served (default zk | optimistic). */
  tiers?: number;
  /** Which models it serves (default DEFAULT_SERVING_POLICY: see policy.ts). */
  policy?: Partial<ServingPolicy>;
  endpoint?: string;
  /** Key cache for zk circuits (by circuit hash): every key this provider sets up is written there. */
  zkCacheDir: string;
  /**
   * zk models whose compiled circuit and proving key are kept in memory at once (default 2), the
   * least recently used evicted; 0 loads them from the key cache for each job.
   */
  maxLoadedKeys?: number;
  /** Re-run other providers' optimistic results and challenge wrong ones (default true). */
  watch?: boolean;
  /** TEST ONLY: misbehave. */
  faulty?: FaultMode;
};

/** A model admitted and prepared: artifact checked; for zk, keys set up and on disk. */
type Prepared = {
  id: string;
  model: QuantModel;
  tiers: number;
  offer: ModelOffer;
  zk?: {
    /** sha256 of the circuit's .r1cs: its keys' name in the key cache. */
    circuitHash: string;
    constraints: number;
    inputs: 'public' | 'committed';
    weights: 'public' | 'private';
  };
};

/** What proving needs in memory (KeyLru): the circuit for the witness, the proving key. */
type LoadedKeys = { circuit: ZkModule.Circuit; zkey: Uint8Array };

const DEV_KEYS = { kind: 'dev' } as const;

/** Refused models remembered (with their reason, for logs once and tests). */
const MAX_REFUSED = 10_000;

type RequestView = {
  id: bigint;
  modelId: string;
  tier: number;
  status: string;
  slots: {
    status: string;
    provider: string;
    output: Uint8Array;
    layerRoot: Uint8Array;
    deadline: bigint;
    /** Height of the result, restarted when the provider wins a dispute (fresh window). */
    computedAt: bigint;
  }[];
};

type DisputeRole = 'provider' | 'challenger';
type Dispute = {
  id: bigint;
  slot: number;
  role: DisputeRole;
  /** Layer run, salted with the slot provider's address. */
  run: LayerRun;
  answered: Set<string>;
  /**
   * Provider role: last height the result may be challenged (computedAt + challengeWindowBlocks,
   * from the slot's CURRENT computedAt); undefined while unknown or in a dispute.
   */
  windowEnd?: bigint;
};

/** A job this provider cannot serve (it declines it instead of letting the deadline pass). */
class CannotServe extends Error {}

/** A model the serving policy refuses (logged once with its reason). */
class Refused extends CannotServe {}

let Z: typeof ZkModule | undefined;
let ZN: typeof ZkNodeModule | undefined;
async function loadZk(): Promise<{ Z: typeof ZkModule; ZN: typeof ZkNodeModule }> {
  Z ??= await import('@aivm/zk');
  ZN ??= await import('@aivm/zk/node');
  return { Z, ZN };
}

/** Parses a tier given as a bit, a number string or a name. */
function tierOf(v: unknown): number {
  if (typeof v === 'string' && v in TIERS) return TIERS[v as keyof typeof TIERS];
  return Number(asBig(v));
}

export function parseRequest(raw: unknown): RequestView {
  const r = ((raw as { request?: unknown })?.request ?? raw) as Record<string, unknown>;
  const slots = Array.isArray(r.slots) ? (r.slots as Record<string, unknown>[]) : [];
  return {
    id: asBig(r.id),
    modelId: String(r.modelId ?? ''),
    tier: tierOf(r.tier),
    status: String(r.status ?? ''),
    slots: slots.map((s) => ({
      status: String(s.status ?? ''),
      provider: String(s.provider ?? ''),
      output: asBytes(s.output),
      layerRoot: asBytes(s.layerRoot),
      deadline: asBig(s.deadline),
      computedAt: asBig(s.computedAt),
    })),
  };
}

/** The request input, as the inference/request query answers it. */
function requestInput(id: bigint, raw: unknown): Uint8Array {
  const r = ((raw as { request?: unknown })?.request ?? raw) as Record<string, unknown>;
  if (typeof r.input === 'string' || r.input instanceof Uint8Array) return asBytes(r.input);
  throw new Error(`the answer for request ${id} carries no input`);
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Refusals are logged where they are made (once per model and reason). */
function ignoreRefused(err: unknown): void {
  if (!(err instanceof Refused)) throw err;
}

export class Provider {
  readonly address: Address;
  readonly #host: ProviderHost;
  readonly #opts: ProviderOptions;
  readonly #log: Logger;
  readonly #policy: ServingPolicy;
  /** Models admitted and prepared, in admission order: the list registered on chain. */
  readonly #ready = new Map<string, Prepared>();
  /** Admissions in progress, one per model. */
  readonly #admitting = new Map<string, Promise<Prepared>>();
  /** Models the policy refused, with the reason. */
  readonly #refused = new Map<string, string>();
  readonly #keys: KeyLru<LoadedKeys>;
  /** One compilation and key setup at a time: their memory is not multiplied by the models published at once. */
  #zkQueue: Promise<unknown> = Promise.resolve();
  /** The registration last sent (models and capacity), once start() registered. */
  #listed: { models: string[]; capacity: number } | undefined;
  #syncing = false;
  #resync = false;
  /** start() has registered (or found nothing to register yet): later changes update the record. */
  #startedUp = false;
  readonly #disputes = new Map<string, Dispute>();
  readonly #jobs = new Set<string>();
  /** Wrong results seen under another challenger's dispute: challenged if the provider wins it. */
  readonly #rewatch = new Set<string>();
  /** `${id}/${slot}@${computedAt}`: results this watcher challenged (once per window). */
  readonly #challenged = new Set<string>();
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  #sendQueue: Promise<unknown> = Promise.resolve();
  #stopped = false;
  readonly #onEvent: NodeEvents['moduleEvent'];
  readonly #onTx: NodeEvents['txResult'];
  readonly #onBlock: NodeEvents['block'];
  readonly #abort = new AbortController();
  /** Jobs finished (answered), for tests and metrics. */
  served = 0;
  /** zk key setups done by this provider (keys not found in the key cache), for tests and metrics. */
  setups = 0;
  /** zk circuit compilations (admission and reloads after eviction), for tests and metrics. */
  compiles = 0;

  constructor(host: ProviderHost, opts: ProviderOptions) {
    this.#host = host;
    this.#opts = opts;
    this.#policy = servingPolicy(opts.policy);
    this.#keys = new KeyLru(opts.maxLoadedKeys ?? 2);
    this.address = privateKeyToAddress(opts.privateKey);
    this.#log = host.logger.child({ component: 'provider', provider: this.address, faulty: opts.faulty });
    this.#onEvent = (ev) => {
      if (ev.module === inferenceEvents.module) this.#dispatch(ev.type as InferenceEventType, ev.attributes);
      if (
        ev.module === modelsEvents.module &&
        ev.attributes.id !== undefined &&
        this.#opts.faulty !== 'silent'
      )
        this.#onModelEvent(ev.type, ev.attributes.id);
    };
    this.#onBlock = () => this.#pruneRuns();
    this.#onTx = (rec) => {
      if (same(rec.tx.from, this.address) && rec.receipt.code !== 0)
        this.#log.warn({ msgType: rec.tx.msgType, error: rec.receipt.error }, 'provider transaction failed');
    };
  }

  get capacity(): number {
    return this.#opts.capacity ?? 2;
  }

  get #servedTiers(): number {
    return this.#opts.tiers ?? TIER_ZK | TIER_OPTIMISTIC;
  }

  /** The models admitted and prepared (the list it registers), in admission order. */
  get servedModels(): string[] {
    return [...this.#ready.keys()];
  }

  /** The models its policy refused, with the reason. */
  get refusedModels(): ReadonlyMap<string, string> {
    return this.#refused;
  }

  /** zk models whose circuit and proving key are in memory now (at most maxLoadedKeys). */
  get loadedKeys(): number {
    return this.#keys.size;
  }

  /** Most zk models held in memory at once since the start. */
  get peakLoadedKeys(): number {
    return this.#keys.peak;
  }

  /**
   * Registers an explicit model list (the models admitted and prepared), except for a provider
   * that prepares nothing costly (no zk tier) and whose policy admits every model: that one keeps
   * the empty list (= every model, which it can always serve: an optimistic model is its artifact).
   */
  #explicitList(): boolean {
    return (this.#servedTiers & TIER_ZK) !== 0 || !admitsEveryModel(this.#policy);
  }

  /** Subscribes, admits and prepares the models its policy accepts, and registers (or updates). */
  async start(): Promise<void> {
    this.#host.on('moduleEvent', this.#onEvent);
    this.#host.on('txResult', this.#onTx);
    this.#host.on('block', this.#onBlock);
    const allow = this.#policy.allowModels;
    const ids = allow.length > 0 ? allow : await this.#activeModels();
    if (this.#opts.faulty !== 'silent')
      for (const id of ids) {
        if (this.#stopped) return;
        await this.#admit(id).catch(() => {});
      }
    await this.#caughtUp();
    if (this.#stopped) return;
    await this.#register();
    this.#log.info(
      { models: this.#listing().models, refused: this.#refused.size, capacity: this.capacity },
      'provider started',
    );
    // Models admitted or dropped while it registered.
    this.#startedUp = true;
    this.#syncRegistration();
    if (this.#opts.faulty !== 'silent') await this.#recover();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort(new Error('provider stopped'));
    this.#host.off('moduleEvent', this.#onEvent);
    this.#host.off('txResult', this.#onTx);
    this.#host.off('block', this.#onBlock);
    await this.#sendQueue.catch(() => {});
    this.#keys.clear();
    // The BN254 context is shared with the chain's proof verification in this process: whoever
    // closes the node releases it, after block execution has stopped.
  }

  /**
   * A full node that is still syncing would sign against stale state and announce transactions
   * before it has peers: wait until its head is recent (a node without p2p is always caught up).
   */
  async #caughtUp(): Promise<void> {
    const start = Date.now();
    let logged = start;
    for (;;) {
      const s = this.#host.status();
      if (this.#stopped || !this.#host.p2p || Date.now() - Number(s.timeMs) < 10_000) return;
      if (Date.now() - start > 300_000) {
        this.#log.warn({ height: s.height.toString() }, 'node still not caught up: registering anyway');
        return;
      }
      if (Date.now() - logged > 15_000) {
        logged = Date.now();
        this.#log.info(
          { height: s.height.toString() },
          'waiting for the node to catch up before registering',
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * Jobs and disputes that were open before this start (a restart): assigned slots of this
   * provider are answered, disputes against it resume at their current step.
   */
  async #recover(): Promise<void> {
    for (const status of ['assigned', 'challenged']) {
      let after = 0n;
      for (;;) {
        let page: unknown[];
        try {
          page = (await this.#host.query('inference/requests', {
            requester: '0x0000000000000000000000000000000000000000',
            status,
            after: after.toString(),
            limit: 100,
          })) as unknown[];
        } catch (err) {
          this.#log.warn({ err: (err as Error).message }, 'cannot list open requests');
          return;
        }
        for (const raw of page) {
          const r = parseRequest(raw);
          after = r.id;
          const slots =
            (raw as { slots?: { dispute?: { lo?: unknown; hi?: unknown } | null }[] }).slots ?? [];
          r.slots.forEach((s, i) => {
            if (!same(s.provider, this.address)) return;
            if (s.status === 'assigned') this.#background(`job ${r.id}/${i}`, () => this.#job(r.id, i));
            const d = slots[i]?.dispute;
            if (s.status === 'challenged' && d)
              this.#background(`defend ${r.id}/${i}`, async () => {
                await this.#openDispute(r.id, i, 'provider');
                const open = this.#disputes.get(`${r.id}/${i}`);
                if (open) await this.#step(open, Number(asBig(d.lo)), Number(asBig(d.hi)));
              });
          });
        }
        if (page.length < 100) break;
      }
    }
  }

  async #activeModels(): Promise<string[]> {
    const ids: string[] = [];
    try {
      for (;;) {
        const res = (await this.#host.query('models/list', {
          owner: '',
          task: '',
          text: '',
          includeInactive: false,
          after: ids.at(-1) ?? '',
          limit: 100,
        })) as { models?: { id: string }[] };
        const page = (res.models ?? []).map((m) => m.id);
        ids.push(...page);
        if (page.length < 100) return ids;
      }
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'cannot list models');
      return ids;
    }
  }

  /** Its provider record on chain, or undefined when it is not registered. */
  async #record(): Promise<Record<string, unknown> | undefined> {
    let existing: unknown;
    try {
      existing = await this.#host.query('inference/provider', { address: this.address });
    } catch {
      existing = undefined;
    }
    const rec = ((existing as { provider?: unknown })?.provider ?? existing) as Record<
      string,
      unknown
    > | null;
    if (rec && typeof rec === 'object' && rec.address && asBig(rec.stakeWei) > 0n && rec.registered !== false)
      return rec;
    return undefined;
  }

  /**
   * What it registers: the models it has prepared, and its capacity, 0 (paused) while it has none
   * (an empty list would mean every model). The empty list (every model) only when #explicitList
   * says so; a silent (faulty) provider lists its allowModels without preparing them.
   */
  #listing(): { models: string[]; capacity: number } {
    if (this.#opts.faulty === 'silent') return { models: this.#policy.allowModels, capacity: this.capacity };
    if (!this.#explicitList()) return { models: [], capacity: this.capacity };
    const models = [...this.#ready.keys()];
    return { models, capacity: models.length > 0 ? this.capacity : 0 };
  }

  async #register(): Promise<void> {
    const rec = await this.#record();
    if (rec) {
      const models = Array.isArray(rec.models) ? rec.models.map(String) : undefined;
      // A record that does not say what it lists is taken as listing what is wanted.
      this.#listed =
        models && rec.capacity !== undefined
          ? { models, capacity: Number(asBig(rec.capacity)) }
          : this.#listing();
      this.#log.info({ stakeWei: String(rec.stakeWei), models }, 'provider already registered');
      return;
    }
    const want = this.#listing();
    if (want.capacity === 0) {
      this.#log.info('no model admitted yet: registering once one is prepared');
      return;
    }
    const params = (await this.#host.query('inference/params', {})) as Record<string, unknown>;
    const stakeWei = this.#opts.stakeWei ?? asBig(params.minProviderStakeWei);
    const msg = {
      stakeWei,
      capacity: want.capacity,
      tiers: this.#servedTiers,
      models: want.models,
      endpoint: this.#opts.endpoint ?? '',
    };
    // A node that just joined may publish before the gossip mesh has formed, and the transaction
    // then stays in its own mempool only: until the registration is on chain, the same nonce is
    // sent again with a higher gas price (a replacement the mempool accepts and gossips anew).
    const nonce = (await this.#host.getAccount(this.address)).nonce;
    for (let attempt = 0; attempt < 10 && !this.#stopped; attempt++) {
      try {
        const hash = await this.#send('inference/registerProvider', msg, {
          nonce,
          gasPriceBump: attempt * 25,
        });
        this.#log.info(
          { tx: hash, stakeWei: stakeWei.toString(), models: want.models, attempt },
          'registering as inference provider',
        );
      } catch (err) {
        this.#log.warn({ err: (err as Error).message, attempt }, 'registration not accepted');
      }
      for (let i = 0; i < 20 && !this.#stopped; i++) {
        await new Promise((r) => setTimeout(r, 500));
        try {
          if (await this.#host.query('inference/provider', { address: this.address })) {
            this.#listed = want;
            return;
          }
        } catch {
          // not registered yet
        }
      }
    }
    throw new Error('the registration transaction did not make it into a block');
  }

  /**
   * Brings the registration in line with the models prepared now (coalesced: one update at a
   * time, the last state wins). Called when a model is admitted or dropped once start() has
   * registered, so a model is listed only after its keys are ready and unlisted as it is dropped.
   */
  #syncRegistration(): void {
    if (!this.#startedUp || this.#stopped) return;
    if (this.#syncing) {
      this.#resync = true;
      return;
    }
    this.#syncing = true;
    this.#background('registration update', async () => {
      try {
        do {
          this.#resync = false;
          await this.#updateRegistration();
        } while (this.#resync && !this.#stopped);
      } finally {
        this.#syncing = false;
      }
    });
  }

  async #updateRegistration(): Promise<void> {
    if (this.#listed === undefined) return this.#register();
    const want = this.#listing();
    const was = this.#listed;
    if (want.capacity === was.capacity && want.models.join() === was.models.join()) return;
    await this.#send('inference/updateProvider', {
      capacity: want.capacity,
      tiers: this.#servedTiers,
      models: want.models,
      endpoint: this.#opts.endpoint ?? '',
    });
    this.#listed = want;
    this.#log.info({ models: want.models, capacity: want.capacity }, 'registered model list updated');
  }

  // ---- models ----

  /**
   * The model admitted and prepared: judged by the policy on its chain record first (a refused
   * model costs one query), then prepared (artifact; zk: compilation within the policy's budget,
   * the real constraint count judged, keys from the key cache or a setup). Throws Refused when the
   * policy refuses it, CannotServe or another error when it cannot be prepared.
   */
  #admit(id: string): Promise<Prepared> {
    const ready = this.#ready.get(id);
    if (ready) return Promise.resolve(ready);
    let p = this.#admitting.get(id);
    if (!p) {
      p = this.#load(id).finally(() => this.#admitting.delete(id));
      this.#admitting.set(id, p);
      p.catch((err) => {
        if (!(err instanceof Refused) && !this.#stopped)
          this.#log.error({ model: id, err: (err as Error).message }, 'cannot serve model');
      });
    }
    return p;
  }

  /** Records and logs (once per reason) that the policy refuses a model, and throws Refused. */
  #refuse(id: string, reason: string, level: 'info' | 'warn' = 'info'): never {
    if (this.#refused.get(id) !== reason) this.#log[level]({ model: id, reason }, 'model not served');
    this.#noteRefused(id, reason);
    throw new Refused(`model ${id} is not served: ${reason}`);
  }

  /** Remembers a refusal; the oldest are forgotten past MAX_REFUSED (a refused model costs no more than its id here). */
  #noteRefused(id: string, reason: string): void {
    this.#refused.delete(id);
    this.#refused.set(id, reason);
    for (const oldest of this.#refused.keys()) {
      if (this.#refused.size <= MAX_REFUSED) break;
      this.#refused.delete(oldest);
    }
  }

  /** Stops serving a model: unlisted, its keys out of memory (they stay in the key cache). */
  #drop(id: string, reason: string): void {
    if (!this.#ready.delete(id)) return;
    this.#keys.delete(id);
    this.#log.info({ model: id, reason }, 'model dropped');
    this.#syncRegistration();
  }

  /** A models event about model `id`: admit what is activated, re-judge what changed, drop what closed. */
  #onModelEvent(type: string, id: string): void {
    if (this.#stopped) return;
    if (type === 'activated') {
      this.#background(`admit ${id}`, () => this.#admit(id).then(() => {}, ignoreRefused));
    } else if (type === 'priceSet' || type === 'transferred') {
      this.#background(`recheck ${id}`, () => this.#recheck(id));
    } else if (type === 'deprecated' || type === 'expired' || type === 'faulty') {
      this.#drop(id, `the model is ${type}`);
    }
  }

  /** Judges a model again after its price or owner changed: drops it, or admits it if it now passes. */
  async #recheck(id: string): Promise<void> {
    const p = this.#ready.get(id);
    if (!p) {
      if (!this.#refused.has(id)) return;
      this.#refused.delete(id);
      return this.#admit(id).then(() => {}, ignoreRefused);
    }
    const record = (await this.#host.query('models/model', { id })) as Record<string, unknown>;
    const offer = offerOf(record, tierOf(record.tiers));
    const reason =
      refuseOffer(this.#policy, offer, p.zk !== undefined) ??
      (p.zk ? refuseCircuit(this.#policy, offer, p.zk.constraints) : undefined);
    if (reason) {
      this.#noteRefused(id, reason);
      this.#drop(id, reason);
    } else p.offer = offer;
  }

  async #artifact(id: string, record: Record<string, unknown>): Promise<Uint8Array> {
    try {
      return await this.#host.fetchBlob(id);
    } catch (err) {
      // On-chain tiers store the artifact in state: read it back from there.
      const size = Number(asBig(record.artifactSize));
      if (size > 0 && Number(asBig(record.artifactUploaded)) === size) {
        const chunks: Uint8Array[] = [];
        for (let i = 0, off = 0; off < size; i++) {
          const c = await this.#host.store.state.get(modelChunkKey(id, 0, i));
          if (!c) throw err;
          chunks.push(c);
          off += c.length;
        }
        return concatBytes(...chunks);
      }
      throw err;
    }
  }

  async #load(id: string): Promise<Prepared> {
    const record = (await this.#host.query('models/model', { id })) as Record<string, unknown> | null;
    if (!record || typeof record !== 'object') throw new CannotServe(`model ${id} is not on chain`);
    const tiers = tierOf(record.tiers);
    const offer = offerOf(record, tiers);
    const zk = preparesZk(this.#servedTiers, tiers);
    const refused = refuseOffer(this.#policy, offer, zk);
    if (refused) this.#refuse(id, refused);
    if (this.#explicitList() && this.#ready.size >= MAX_PROVIDER_MODELS)
      this.#refuse(id, `it already serves ${MAX_PROVIDER_MODELS} models, the most a provider may register`);
    const bytes = await this.#artifact(id, record);
    if (modelId(bytes) !== id) throw new Error(`artifact bytes do not match model id ${id}`);
    const model = decodeArtifact(bytes);
    const prepared: Prepared = { id, model, tiers, offer };
    if (zk) prepared.zk = await this.#serial(() => this.#setUp(prepared, record));
    if (this.#stopped) throw new CannotServe('provider stopped');
    this.#ready.set(id, prepared);
    this.#refused.delete(id);
    this.#log.info({ model: id, tiers, constraints: prepared.zk?.constraints }, 'model ready');
    this.#syncRegistration();
    return prepared;
  }

  /** Runs `fn` after the compilations and setups queued before it. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#zkQueue.then(fn);
    this.#zkQueue = run.catch(() => undefined);
    return run;
  }

  /**
   * Compiles the circuit within the budget (maxConstraints, or the publisher's declaration when
   * smaller: a circuit past it is refused when its constraint past the budget is added), judges
   * the real count, and takes the keys from the key cache or sets them up (written to the cache),
   * checked against the model's published verification-key hash. The fresh keys go to the LRU.
   */
  async #setUp(p: Prepared, record: Record<string, unknown>): Promise<NonNullable<Prepared['zk']>> {
    const { Z, ZN } = await loadZk();
    const { id } = p;
    const max = this.#policy.maxConstraints;
    const declared = p.offer.zkConstraints;
    const modes = {
      inputs: Number(record.zkInputs ?? 0) === 1 ? ('committed' as const) : ('public' as const),
      weights: Number(record.zkWeights ?? 0) === 1 ? ('private' as const) : ('public' as const),
    };
    const t0 = performance.now();
    let circuit: ZkModule.Circuit;
    try {
      this.compiles++;
      circuit = Z.compile(p.model, { ...modes, maxConstraints: Math.min(max, declared ?? max) });
    } catch (err) {
      if (!(err instanceof Z.CircuitTooLarge)) throw err;
      if (declared !== undefined && declared <= max)
        this.#refuse(
          id,
          `its circuit has more constraints than the ${declared} its publisher declared`,
          'warn',
        );
      this.#refuse(id, `its circuit has more than maxConstraints ${max} constraints`);
    }
    const constraints = circuit.r1cs.constraints.length;
    if (declared !== undefined && declared !== constraints)
      this.#refuse(
        id,
        `its publisher declared ${declared} constraints, its circuit has ${constraints}`,
        'warn',
      );
    const refused = refuseCircuit(this.#policy, p.offer, constraints);
    if (refused) this.#refuse(id, refused);
    const keys = await ZN.loadOrCreateKeys(this.#opts.zkCacheDir, Z.writeR1cs(circuit.r1cs), DEV_KEYS);
    if (!keys.cached) this.setups++;
    this.#checkVk(Z, keys.vk, record);
    this.#keys.put(id, { circuit, zkey: keys.zkey });
    this.#log.info(
      { model: id, constraints, cached: keys.cached, ms: Math.round(performance.now() - t0) },
      'zk circuit and keys ready',
    );
    return { circuitHash: keys.circuitHash, constraints, ...modes };
  }

  #checkVk(Z: typeof ZkModule, vk: Record<string, unknown>, record: Record<string, unknown>): void {
    const vkHash = bytesToHex(Z.verificationKeyHash(vk as unknown as ZkModule.VerificationKey));
    if (vkHash.toLowerCase() !== String(record.vkHash).toLowerCase())
      throw new Error(`local verification key ${vkHash} differs from the model's ${String(record.vkHash)}`);
  }

  /**
   * The circuit and proving key of an admitted zk model: from the LRU, or compiled again and read
   * from the key cache (a setup again only when its files are gone).
   */
  #zkKeys(p: Prepared): Promise<LoadedKeys> {
    const zk = p.zk;
    if (!zk) throw new CannotServe(`model ${p.id} is not prepared for zk`);
    return this.#keys.get(p.id, async () => {
      const { Z, ZN } = await loadZk();
      this.compiles++;
      const circuit = Z.compile(p.model, {
        inputs: zk.inputs,
        weights: zk.weights,
        maxConstraints: zk.constraints,
      });
      let keys = ZN.readCachedKeys(this.#opts.zkCacheDir, zk.circuitHash, DEV_KEYS);
      if (!keys) {
        this.#log.warn({ model: p.id }, 'zk keys missing from the key cache: setting them up again');
        const made = await this.#serial(() =>
          ZN.loadOrCreateKeys(this.#opts.zkCacheDir, Z.writeR1cs(circuit.r1cs), DEV_KEYS),
        );
        if (!made.cached) this.setups++;
        keys = made;
      }
      return { circuit, zkey: keys.zkey };
    });
  }

  // ---- events ----

  /** `type` is one of inferenceEvents' types, so a misspelt name below fails the type check. */
  #dispatch(type: InferenceEventType, a: Record<string, string>): void {
    if (this.#stopped) return;
    const mine = a.provider !== undefined && same(a.provider, this.address);
    if (type === 'assigned' && mine) {
      if (this.#opts.faulty === 'silent') {
        this.#log.warn({ id: a.id, slot: a.slot }, 'faulty (silent): ignoring job');
        return;
      }
      this.#background(`job ${a.id}/${a.slot}`, () => this.#job(BigInt(a.id!), Number(a.slot)));
    } else if (type === 'challenged' && mine && this.#opts.faulty !== 'silent') {
      const open = this.#disputes.get(`${a.id}/${a.slot}`);
      if (open?.role === 'provider') open.windowEnd = undefined; // in dispute: keep the run
      this.#background(`defend ${a.id}/${a.slot}`, () =>
        this.#openDispute(BigInt(a.id!), Number(a.slot), 'provider'),
      );
    } else if (type === 'challenged' && a.challenger !== undefined && same(a.challenger, this.address)) {
      this.#background(`challenge ${a.id}/${a.slot}`, () =>
        this.#openDispute(BigInt(a.id!), Number(a.slot), 'challenger'),
      );
    } else if (type === 'challenged' && a.challenger !== undefined) {
      // Someone else challenged first: this watcher's own challenge of the slot will fail; it
      // challenges again if the provider wins that dispute (a fresh window).
      const key = `${a.id}/${a.slot}`;
      if (this.#disputes.get(key)?.role === 'challenger') {
        this.#disputes.delete(key);
        this.#rewatch.add(key);
      }
    } else if (type === 'disputeStep') {
      const d = this.#disputes.get(`${a.id}/${a.slot}`);
      if (d) this.#background(`dispute ${a.id}/${a.slot}`, () => this.#step(d, Number(a.lo), Number(a.hi)));
    } else if (type === 'disputeResolved') {
      const key = `${a.id}/${a.slot}`;
      const d = this.#disputes.get(key);
      const won = a.winner !== undefined && same(a.winner, this.address);
      if (d) this.#log.info({ id: a.id, slot: a.slot, winner: a.winner, role: d.role }, 'dispute resolved');
      if (d?.role === 'provider' && won) {
        // The slot is computed again with a fresh window from the resolution height: keep the
        // run for the next challenge, until the window from the new computedAt ends.
        d.answered = new Set();
        this.#background(`window ${key}`, () => this.#refreshWindow(d));
      } else if (d) this.#disputes.delete(key);
      const lostHere = a.loser !== undefined && same(a.loser, this.address);
      if (this.#watching() && !lostHere && d?.role !== 'provider')
        // A provider that won gets a fresh window: a wrong result seen during someone else's
        // dispute is challenged now (#watch reads the slot's new computedAt).
        this.#background(`watch ${key}`, () => this.#watch(BigInt(a.id!), Number(a.slot), true));
    } else if (type === 'computed' && mine) {
      const d = this.#disputes.get(`${a.id}/${a.slot}`);
      if (d?.role === 'provider') this.#background(`window ${a.id}/${a.slot}`, () => this.#refreshWindow(d));
    } else if (type === 'computed' && !mine && this.#watching()) {
      this.#background(`watch ${a.id}/${a.slot}`, () => this.#watch(BigInt(a.id!), Number(a.slot)));
    } else if (type === 'slashed' && mine) {
      this.#log.warn({ amountWei: a.amountWei, reason: a.reason }, 'provider slashed');
    }
  }

  #watching(): boolean {
    return (this.#opts.watch ?? true) && this.#opts.faulty === undefined;
  }

  #background(what: string, fn: () => Promise<void>): void {
    fn().catch((err) => {
      if (!this.#stopped) this.#log.error({ err: (err as Error).message ?? String(err) }, `${what} failed`);
    });
  }

  async #slot(): Promise<() => void> {
    if (this.#running >= this.capacity) await new Promise<void>((r) => this.#waiting.push(r));
    this.#running++;
    return () => {
      this.#running--;
      this.#waiting.shift()?.();
    };
  }

  async #request(id: bigint): Promise<{ view: RequestView; raw: unknown }> {
    const raw = await this.#host.query('inference/request', { id: id.toString() });
    return { view: parseRequest(raw), raw };
  }

  // ---- jobs ----

  async #job(id: bigint, slot: number): Promise<void> {
    const key = `${id}/${slot}`;
    if (this.#jobs.has(key)) return;
    this.#jobs.add(key);
    const release = await this.#slot();
    try {
      const { view, raw } = await this.#request(id);
      const s = view.slots[slot];
      if (!s || !same(s.provider, this.address) || s.status !== 'assigned') return;
      const t0 = performance.now();
      let answer: () => Promise<unknown>;
      try {
        answer = await this.#answer(view, slot, raw);
      } catch (err) {
        if (this.#stopped) throw err;
        // A job it cannot serve is given back at once (no slash, reassigned) instead of letting
        // the deadline pass.
        await this.#decline(id, slot, (err as Error).message ?? String(err));
        return;
      }
      await answer();
      this.served++;
      this.#log.info(
        { id: id.toString(), slot, tier: view.tier, ms: Math.round(performance.now() - t0) },
        'job answered',
      );
    } finally {
      release();
      this.#jobs.delete(key);
    }
  }

  async #decline(id: bigint, slot: number, reason: string): Promise<void> {
    this.#log.warn({ id: id.toString(), slot, reason }, 'cannot serve job: declining it');
    await this.#send('inference/decline', { requestId: id });
  }

  /**
   * Admits the model and computes the answer of a job (a proof, or a layer run); resolves with
   * the send. Throws when the job cannot be served: a tier this provider does not serve, a model
   * its policy refuses or it cannot prepare (artifact unavailable, zk key hash mismatch) or an
   * execution error.
   */
  async #answer(view: RequestView, slot: number, raw: unknown): Promise<() => Promise<unknown>> {
    const served = this.#servedTiers;
    if (view.tier !== TIER_ZK && view.tier !== TIER_OPTIMISTIC)
      throw new CannotServe(`tier ${view.tier} needs no provider`);
    if ((served & view.tier) === 0) throw new CannotServe(`this provider does not serve tier ${view.tier}`);
    let prepared: Prepared;
    try {
      prepared = await this.#admit(view.modelId);
    } catch (err) {
      if (err instanceof Refused) throw err;
      throw new CannotServe(`cannot prepare model ${view.modelId}: ${(err as Error).message}`);
    }
    const input = requestInput(view.id, raw);
    try {
      if (view.tier === TIER_ZK) return await this.#proveJob(prepared, view.id, input);
      return this.#resultJob(prepared, view.id, slot, input);
    } catch (err) {
      if (err instanceof CannotServe) throw err;
      throw new CannotServe(`execution failed: ${(err as Error).message}`);
    }
  }

  async #proveJob(p: Prepared, id: bigint, input: Uint8Array): Promise<() => Promise<unknown>> {
    const keys = await this.#zkKeys(p);
    const { Z, ZN } = await loadZk();
    const run = execute(p.model, input);
    const witness = Z.witnessFromTrace(keys.circuit, run.trace);
    const proof = await ZN.prove(keys.zkey, Z.writeWtns(witness.wires), { signal: this.#abort.signal });
    let output = run.output;
    if (this.#opts.faulty === 'forged-proof' || this.#opts.faulty === 'wrong-output') {
      // A valid proof of the true output, sent with another output: the chain must reject it.
      const values = Int32Array.from(run.values);
      const other = (run.cls + 1) % values.length;
      values[other] = values[run.cls]! + 1;
      output = new Uint8Array(values.buffer);
      this.#log.warn({ id: id.toString() }, 'faulty: submitting a wrong output with a proof of another');
    }
    const msg = { requestId: id, output, proof: Z.encodeProofPoints(proof.proof) };
    return () => this.#send('inference/submitProof', msg);
  }

  /** A layer run salted with the slot provider's address (`provider`). */
  #layerRun(p: Prepared, input: Uint8Array, provider: string, faulty: boolean): LayerRun {
    const perturb = faulty ? p.model.nodes.length - 1 : undefined;
    return layerRun(p.model, input, provider, perturb);
  }

  #resultJob(p: Prepared, id: bigint, slot: number, input: Uint8Array): () => Promise<unknown> {
    if ((p.tiers & TIER_OPTIMISTIC) === 0) throw new CannotServe(`model ${p.id} has no optimistic tier`);
    // As the provider: leaves salted with its own address.
    const run = this.#layerRun(
      p,
      input,
      this.address,
      this.#opts.faulty === 'wrong-output' || this.#opts.faulty === 'forged-proof',
    );
    return async () => {
      // Keep the run for a dispute about this result.
      this.#disputes.set(`${id}/${slot}`, { id, slot, role: 'provider', run, answered: new Set() });
      this.#forgetLater(`${id}/${slot}`);
      const { inputProof, outputProof } = endProofs(run);
      await this.#send('inference/submitResult', {
        requestId: id,
        output: run.output,
        layerRoot: run.root,
        inputProof,
        outputProof,
      });
    };
  }

  /**
   * Sets a kept result's window end from the slot's current computedAt (it restarts when the
   * provider wins a dispute); forgets the run when the slot is no longer this provider's result.
   */
  async #refreshWindow(d: Dispute): Promise<void> {
    const key = `${d.id}/${d.slot}`;
    const { view } = await this.#request(d.id);
    const s = view.slots[d.slot];
    if (this.#disputes.get(key) !== d) return;
    if (s?.status === 'computed' && same(s.provider, this.address)) {
      d.windowEnd = s.computedAt + (await this.#windowBlocks());
      this.#log.debug(
        { id: d.id.toString(), slot: d.slot, windowEnd: d.windowEnd.toString() },
        'result window',
      );
    } else if (s?.status !== 'challenged') this.#disputes.delete(key);
  }

  async #windowBlocks(): Promise<bigint> {
    const params = (await this.#host.query('inference/params', {})) as Record<string, unknown>;
    return asBig(params.challengeWindowBlocks);
  }

  /** Forgets the runs of results whose challenge window (from their current computedAt) ended. */
  #pruneRuns(): void {
    const height = this.#host.status().height;
    for (const [key, d] of this.#disputes)
      if (d.role === 'provider' && d.windowEnd !== undefined && height > d.windowEnd)
        this.#disputes.delete(key);
  }

  /** Keeps a result's layer run for a while (a challenge may come within the window). */
  #forgetLater(key: string): void {
    const t = setTimeout(() => {
      const d = this.#disputes.get(key);
      // A run whose window end is known is forgotten by #pruneRuns when that window ends.
      if (d && d.answered.size === 0 && d.windowEnd === undefined) this.#disputes.delete(key);
    }, 30 * 60_000);
    t.unref();
  }

  // ---- disputes ----

  async #openDispute(id: bigint, slot: number, role: DisputeRole): Promise<void> {
    const key = `${id}/${slot}`;
    let d = this.#disputes.get(key);
    if (!d || d.role !== role) {
      const { view, raw } = await this.#request(id);
      const p = await this.#admit(view.modelId);
      const input = requestInput(id, raw);
      const faulty = role === 'provider' && this.#opts.faulty !== undefined;
      // Leaves salted with the challenged provider's address, whichever side this node is on.
      const provider = role === 'provider' ? this.address : (view.slots[slot]?.provider ?? '');
      d = { id, slot, role, run: this.#layerRun(p, input, provider, faulty), answered: new Set() };
      this.#disputes.set(key, d);
    }
    const n = d.run.leaves.length - 1;
    await this.#step(d, 0, n);
  }

  async #step(d: Dispute, lo: number, hi: number): Promise<void> {
    const tag = `${lo}-${hi}`;
    if (d.answered.has(tag)) return;
    d.answered.add(tag);
    if (hi - lo <= 1) {
      await this.#send('inference/oneStep', {
        requestId: d.id,
        slot: d.slot,
        tensor: encodeTensor(d.run.tensors[lo]!),
      });
      this.#log.info({ id: d.id.toString(), slot: d.slot, lo, role: d.role }, 'sent one-step proof');
      return;
    }
    const mid = Math.floor((lo + hi) / 2);
    await this.#send('inference/reveal', {
      requestId: d.id,
      slot: d.slot,
      leaf: d.run.leaves[mid]!,
      proof: merkleProof(d.run.leaves, mid),
    });
    this.#log.info({ id: d.id.toString(), slot: d.slot, lo, hi, mid, role: d.role }, 'revealed dispute leaf');
  }

  /**
   * Re-runs another provider's optimistic result and challenges it when the output differs, while
   * its window (from the slot's CURRENT computedAt: it restarts when the provider wins a dispute)
   * is open. A wrong result already under someone else's dispute is challenged if the provider
   * wins that dispute (`again`: called on its resolution).
   */
  async #watch(id: bigint, slot: number, again = false): Promise<void> {
    const key = `${id}/${slot}`;
    if (again && !this.#rewatch.delete(key)) return;
    const { view, raw } = await this.#request(id);
    if (view.tier !== TIER_OPTIMISTIC) return;
    const s = view.slots[slot];
    if (!s || same(s.provider, this.address)) return;
    if (s.status !== 'computed' && s.status !== 'challenged') return;
    // Only models its policy admits are re-run (a refused one costs it nothing here either).
    const p = await this.#admit(view.modelId).catch(() => undefined);
    if (!p) return;
    const input = requestInput(id, raw);
    // As a watcher: leaves salted with the watched (challenged) provider's address.
    const run = this.#layerRun(p, input, s.provider, false);
    if (sameBytes(run.output, s.output)) {
      this.#log.debug({ id: id.toString(), slot }, 'watched result is correct');
      return;
    }
    if (s.status === 'challenged') {
      this.#rewatch.add(key);
      this.#log.info(
        { id: id.toString(), slot, provider: s.provider },
        'wrong optimistic result already in dispute: challenging it if the provider wins',
      );
      return;
    }
    const params = (await this.#host.query('inference/params', {})) as Record<string, unknown>;
    const windowEnd = s.computedAt + asBig(params.challengeWindowBlocks);
    const height = this.#host.status().height;
    // The challenge lands in a later block than the current head.
    if (height >= windowEnd) {
      this.#log.warn(
        { id: id.toString(), slot, windowEnd: windowEnd.toString(), height: height.toString() },
        'wrong optimistic result, but its challenge window is over',
      );
      return;
    }
    const tag = `${key}@${s.computedAt}`;
    if (this.#challenged.has(tag)) return;
    this.#challenged.add(tag);
    this.#disputes.set(key, { id, slot, role: 'challenger', run, answered: new Set(['challenge']) });
    const { inputProof, outputProof } = endProofs(run);
    this.#log.warn(
      { id: id.toString(), slot, provider: s.provider, windowEnd: windowEnd.toString() },
      'wrong optimistic result: challenging',
    );
    await this.#send('inference/challenge', {
      requestId: id,
      slot,
      layerRoot: run.root,
      output: run.output,
      inputProof,
      outputProof,
      bondWei: asBig(params.challengeBondWei),
    });
  }

  // ---- transactions ----

  /** Signs and sends a message from the provider account; sends run one after another (nonces). */
  #send(
    msgType: string,
    msg: Record<string, unknown>,
    opts: { nonce?: bigint; gasPriceBump?: number } = {},
  ): Promise<Hex> {
    const run = this.#sendQueue.then(() => this.#sendNow(msgType, msg, opts));
    this.#sendQueue = run.catch(() => undefined);
    return run;
  }

  async #sendNow(
    msgType: string,
    msg: Record<string, unknown>,
    opts: { nonce?: bigint; gasPriceBump?: number },
  ): Promise<Hex> {
    const host = this.#host;
    const def = host.registry.message(msgType);
    if (!def) throw new Error(`this chain has no message ${msgType}`);
    const auth = await readParams(host.store.state, 'auth', authParams);
    const gasPrice = auth.minGasPriceWei + (auth.minGasPriceWei * BigInt(opts.gasPriceBump ?? 0)) / 100n;
    const estimate = await host.estimateGas({
      from: this.address,
      msgType,
      msg: toJson(def.schema, msg as never) as Record<string, unknown>,
      gasPrice,
    });
    let gasLimit = estimate + estimate / 5n + 20_000n;
    if (gasLimit > auth.maxTxGas) gasLimit = auth.maxTxGas;
    const raw = signTx(
      {
        chainId: host.chainId,
        from: this.address,
        nonce: opts.nonce ?? (await host.getAccount(this.address)).pendingNonce,
        gasLimit,
        gasPrice,
        msgType,
        msg,
      },
      this.#opts.privateKey,
      def.schema,
    );
    const hash = await host.sendRawTx(raw);
    this.#log.debug({ msgType, tx: hash }, 'provider transaction sent');
    return hash;
  }
}

/** Default key cache next to a node home: survives a fresh devnet (<home>/../zk-cache). */
export function defaultZkCacheDir(home: string): string {
  return join(home, '..', 'zk-cache');
}
