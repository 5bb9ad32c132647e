// The provider role: a node that serves inference jobs. It registers itself (stake, capacity,
// tiers), prepares the models it serves (artifact from the blob store, checked against its id; for
// zk the circuit and its keys, checked against the model's published verification-key hash),
// follows committed blocks for jobs assigned to it, runs them and answers with a proof (zk) or a
// layer commitment (optimistic), defends its results in disputes, and watches other providers'
// optimistic results, challenging the wrong ones. A bad job is logged, never fatal to the node.

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
  /** Model ids served; empty = every model. */
  models?: string[];
  endpoint?: string;
  /** Key cache for zk circuits (by circuit hash). */
  zkCacheDir: string;
  /** Re-run other providers' optimistic results and challenge wrong ones (default true). */
  watch?: boolean;
  /** TEST ONLY: misbehave. */
  faulty?: FaultMode;
};

type Prepared = {
  id: string;
  model: QuantModel;
  tiers: number;
  zk?: {
    circuit: ZkModule.Circuit;
    zkey: Uint8Array;
  };
};

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

export class Provider {
  readonly address: Address;
  readonly #host: ProviderHost;
  readonly #opts: ProviderOptions;
  readonly #log: Logger;
  readonly #prepared = new Map<string, Promise<Prepared>>();
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

  constructor(host: ProviderHost, opts: ProviderOptions) {
    this.#host = host;
    this.#opts = opts;
    this.address = privateKeyToAddress(opts.privateKey);
    this.#log = host.logger.child({ component: 'provider', provider: this.address, faulty: opts.faulty });
    this.#onEvent = (ev) => {
      if (ev.module === inferenceEvents.module) this.#dispatch(ev.type as InferenceEventType, ev.attributes);
      const activated = modelsEvents.match(ev, 'activated');
      if (activated && this.#serves(activated.id) && this.#opts.faulty !== 'silent')
        this.#background(`prepare ${activated.id}`, () => this.#prepare(activated.id).then(() => {}));
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

  #servesAll(): boolean {
    return (this.#opts.models ?? []).length === 0;
  }

  #serves(id: string): boolean {
    return this.#servesAll() || (this.#opts.models ?? []).includes(id);
  }

  /** Subscribes, prepares the configured models and registers (if not registered yet). */
  async start(): Promise<void> {
    this.#host.on('moduleEvent', this.#onEvent);
    this.#host.on('txResult', this.#onTx);
    this.#host.on('block', this.#onBlock);
    const ids = this.#servesAll() ? await this.#activeModels() : (this.#opts.models ?? []);
    if (this.#opts.faulty !== 'silent') {
      for (const id of ids) {
        try {
          await this.#prepare(id);
        } catch (err) {
          this.#log.error({ model: id, err: (err as Error).message }, 'cannot serve model');
        }
      }
    }
    await this.#caughtUp();
    if (this.#stopped) return;
    await this.#register();
    this.#log.info({ models: ids, capacity: this.capacity }, 'provider started');
    if (this.#opts.faulty !== 'silent') await this.#recover();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort(new Error('provider stopped'));
    this.#host.off('moduleEvent', this.#onEvent);
    this.#host.off('txResult', this.#onTx);
    this.#host.off('block', this.#onBlock);
    await this.#sendQueue.catch(() => {});
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
    try {
      const res = (await this.#host.query('models/list', {
        owner: '',
        task: '',
        text: '',
        includeInactive: false,
        after: '',
        limit: 100,
      })) as { models?: { id: string }[] };
      return (res.models ?? []).map((m) => m.id);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'cannot list models');
      return [];
    }
  }

  async #register(): Promise<void> {
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
    if (
      rec &&
      typeof rec === 'object' &&
      rec.address &&
      asBig(rec.stakeWei) > 0n &&
      rec.registered !== false
    ) {
      this.#log.info({ stakeWei: String(rec.stakeWei) }, 'provider already registered');
      return;
    }
    const params = (await this.#host.query('inference/params', {})) as Record<string, unknown>;
    const stakeWei = this.#opts.stakeWei ?? asBig(params.minProviderStakeWei);
    const msg = {
      stakeWei,
      capacity: this.capacity,
      tiers: this.#opts.tiers ?? TIER_ZK | TIER_OPTIMISTIC,
      models: this.#opts.models ?? [],
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
          { tx: hash, stakeWei: stakeWei.toString(), attempt },
          'registering as inference provider',
        );
      } catch (err) {
        this.#log.warn({ err: (err as Error).message, attempt }, 'registration not accepted');
      }
      for (let i = 0; i < 20 && !this.#stopped; i++) {
        await new Promise((r) => setTimeout(r, 500));
        try {
          if (await this.#host.query('inference/provider', { address: this.address })) return;
        } catch {
          // not registered yet
        }
      }
    }
    throw new Error('the registration transaction did not make it into a block');
  }

  // ---- models ----

  #prepare(id: string): Promise<Prepared> {
    let p = this.#prepared.get(id);
    if (!p) {
      p = this.#load(id);
      this.#prepared.set(id, p);
      p.catch(() => this.#prepared.delete(id));
    }
    return p;
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
    const record = (await this.#host.query('models/model', { id })) as Record<string, unknown>;
    const tiers = tierOf(record.tiers);
    const bytes = await this.#artifact(id, record);
    if (modelId(bytes) !== id) throw new Error(`artifact bytes do not match model id ${id}`);
    const model = decodeArtifact(bytes);
    const prepared: Prepared = { id, model, tiers };
    const wantZk = ((this.#opts.tiers ?? TIER_ZK | TIER_OPTIMISTIC) & TIER_ZK) !== 0;
    if (tiers & TIER_ZK && wantZk) {
      const { Z, ZN } = await loadZk();
      const t0 = performance.now();
      const circuit = Z.compile(model, {
        inputs: Number(record.zkInputs ?? 0) === 1 ? 'committed' : 'public',
        weights: Number(record.zkWeights ?? 0) === 1 ? 'private' : 'public',
      });
      const keys = await ZN.loadOrCreateKeys(this.#opts.zkCacheDir, Z.writeR1cs(circuit.r1cs), {
        kind: 'dev',
      });
      const vkHash = bytesToHex(Z.verificationKeyHash(keys.vk as unknown as ZkModule.VerificationKey));
      if (vkHash.toLowerCase() !== String(record.vkHash).toLowerCase())
        throw new Error(`local verification key ${vkHash} differs from the model's ${String(record.vkHash)}`);
      prepared.zk = { circuit, zkey: keys.zkey };
      this.#log.info(
        {
          model: id,
          constraints: circuit.r1cs.constraints.length,
          cached: keys.cached,
          ms: Math.round(performance.now() - t0),
        },
        'zk circuit and keys ready',
      );
    }
    this.#log.info({ model: id, tiers }, 'model ready');
    return prepared;
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
   * Prepares the model and computes the answer of a job (a proof, or a layer run); resolves with
   * the send. Throws when the job cannot be served: a tier this provider does not serve, a model
   * it cannot prepare (artifact unavailable, zk key hash mismatch) or an execution error.
   */
  async #answer(view: RequestView, slot: number, raw: unknown): Promise<() => Promise<unknown>> {
    const served = this.#opts.tiers ?? TIER_ZK | TIER_OPTIMISTIC;
    if (view.tier !== TIER_ZK && view.tier !== TIER_OPTIMISTIC)
      throw new CannotServe(`tier ${view.tier} needs no provider`);
    if ((served & view.tier) === 0) throw new CannotServe(`this provider does not serve tier ${view.tier}`);
    let prepared: Prepared;
    try {
      prepared = await this.#prepare(view.modelId);
    } catch (err) {
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
    if (!p.zk) throw new CannotServe(`model ${p.id} is not prepared for zk`);
    const { Z, ZN } = await loadZk();
    const run = execute(p.model, input);
    const witness = Z.witnessFromTrace(p.zk.circuit, run.trace);
    const proof = await ZN.prove(p.zk.zkey, Z.writeWtns(witness.wires), { signal: this.#abort.signal });
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
      const p = await this.#prepare(view.modelId);
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
    if (view.tier !== TIER_OPTIMISTIC || !this.#serves(view.modelId)) return;
    const s = view.slots[slot];
    if (!s || same(s.provider, this.address)) return;
    if (s.status !== 'computed' && s.status !== 'challenged') return;
    const p = await this.#prepare(view.modelId);
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
