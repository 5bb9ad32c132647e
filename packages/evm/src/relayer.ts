// The relayer (docs/evm.md, "Relayer"): watches the oracle's InferenceRequested events once they
// are `confirmations` blocks deep, opens each as an AIVM inference/request paid from its AIVM
// account, follows it to its end, and delivers the result to the oracle with its Groth16 proof
// (zk tier: fulfillZk) or with the AIVM validators' attestation (fulfillAttested). Node only.
//
// Nothing is lost on a crash: every step is written to LevelDB (one fsynced batch) before the
// next one acts on the outside world, and each outside action is idempotent on replay:
//   - the scan cursor (block number + hash) and the jobs it found are one batch; a restart scans
//     again from the cursor, and a cursor whose block hash changed (a reorg deeper than the
//     confirmation depth) walks back to the last stored hash still on the chain and scans again;
//   - the AIVM transaction is signed with an explicit nonce and stored before it is broadcast; on
//     restart the same bytes are looked up or sent again (one nonce: one AIVM request at most);
//   - the EVM fulfill transaction likewise (stored signed, then sent; replayed by hash);
//   - before opening and before delivering, the request is read on the oracle: a request another
//     relayer delivered (or one refunded, or gone in a reorg) stops the job, and the oracle's
//     WrongStatus revert of a racing delivery counts as done;
//   - after a reorg deeper than the confirmation depth, a finished job whose request is open again
//     (its delivery was reorged away) is taken up again from what it stored (no second AIVM
//     request), and a job whose request id went to another transaction ends as 'gone'.
// Several relayers may watch one oracle (each with its own AIVM and EVM accounts): the first
// delivery wins, the others stop at their next status check. A relayer that finds the request
// `Relayed` adopts the AIVM request noted there when AIVM confirms it is for the same model, tier
// and input (markRelayed is open to anyone: any other id is refused and the relayer opens its own).

import { mkdir } from 'node:fs/promises';
import { inferenceEvents, TIERS } from '@aivm/chain';
import { TX_MAX_BYTES } from '@aivm/chain/tx';
import {
  type AivmClient,
  type Wallet as AivmWallet,
  getRequest as getAivmRequest,
  getModel,
  getZkProof,
  waitForRequest,
} from '@aivm/sdk';
import { ClassicLevel } from 'classic-level';
import {
  type Address,
  encodeFunctionData,
  type Hex,
  keccak256,
  type PrivateKeyAccount,
  type PublicClient,
  parseEventLogs,
} from 'viem';
import {
  bytes32ToModelId,
  dataURIBytes,
  decodeInput,
  EvmInputError,
  hexToU8,
  inputHashOf,
  u8ToHex,
} from './codec.ts';
import {
  type EvmRequest,
  getRequest,
  lightClientAbi,
  oracleAbi,
  proofBytesToWords,
  revertName,
} from './oracle.ts';

/** Where a crash can be injected (AIVM_RELAYER_CRASH_AT): after the step is stored. */
export const CRASH_STAGES = ['event', 'aivm-request', 'proof', 'fulfill'] as const;
export type CrashStage = (typeof CRASH_STAGES)[number];

export type JobStage = 'seen' | 'aivm-signed' | 'aivm-opened' | 'result' | 'fulfill-sent' | 'done' | 'failed';

/** One oracle request as the relayer carries it (stored as JSON). */
export type Job = {
  id: string;
  stage: JobStage;
  event: {
    blockNumber: string;
    blockHash: Hex;
    txHash: Hex;
    modelId: Hex;
    tier: number;
    inputHash: Hex;
    inputCommitment: string;
    input: Hex;
    inputURI: string;
  };
  /**
   * The AIVM request: ours (the signed transaction, then its id), or `adopted` (opened by someone
   * else, noted by markRelayed, checked on AIVM to be for this request's model, tier and input).
   */
  aivm?: { raw?: Hex; hash?: Hex; nonce?: string; requestId?: string; adopted?: boolean };
  /** AIVM request ids noted on the oracle that this job refused to adopt (or that failed). */
  refused?: string[];
  result?: { path: 'zk' | 'attested'; output: Hex; proof?: Hex; signatures?: Hex; aivmRequestId: string };
  fulfill?: { raw: Hex; hash: Hex; nonce: string };
  end?: {
    outcome: 'delivered' | 'delivered-by-other' | 'refunded' | 'gone' | 'failed';
    detail: string;
    txHash?: Hex;
    /** The EVM head when the outcome was seen: a reorg below it may undo the outcome. */
    head?: string;
  };
  /** Times the attestation was collected again after the light client refused it. */
  recollected?: number;
  /** Set when another transaction took this request id (a reorg): the job is stored under `replaced:`. */
  replacedBy?: Hex;
  history: { stage: string; atMs: number }[];
};

export type RelayerEvent = { event: string; [k: string]: unknown };

export type RelayerOptions = {
  pub: PublicClient;
  /** The EVM account that signs fulfill transactions (pays their gas, earns the fees). */
  evmAccount: PrivateKeyAccount;
  oracle: Address;
  aivm: AivmClient;
  /** The AIVM account that opens (and pays for) the AIVM requests. */
  aivmWallet: AivmWallet;
  /** LevelDB directory. */
  dbPath: string;
  /** An event is acted on once its block has this many confirmations (1: the head itself). Default 2. */
  confirmations?: number;
  /** First block to scan when no cursor is stored (default: the oracle's deployment is not known, 0). */
  fromBlock?: bigint;
  pollMs?: number;
  /** Note the AIVM request id on the oracle (markRelayed, informational). Default true. */
  markRelayed?: boolean;
  /** Test only: SIGKILL this process right after this stage is stored. */
  crashAt?: CrashStage;
  /** Progress events (never carries keys). */
  onEvent?: (e: RelayerEvent) => void;
  /** Longest wait for an AIVM request to finish (ms). Default 30 min. */
  aivmTimeoutMs?: number;
};

const HASH_KEEP = 128;
const pad = (n: bigint | string, w = 20) => BigInt(n).toString().padStart(w, '0');
const jobKey = (id: bigint | string) => `job:${pad(id)}`;
const replacedKey = (job: Job) => `replaced:${pad(job.id)}:${job.event.txHash}`;
/** Where a job is stored, and its slot in the running map. */
const keyOf = (job: Job) => (job.replacedBy ? replacedKey(job) : jobKey(job.id));
const finished = (job: Job) => job.stage === 'done' || job.stage === 'failed';
/** Light-client reverts of an attested delivery: the set moved under the stored signatures. */
const SET_REVERTS = new Set([
  'NotAMember',
  'InsufficientAttestation',
  'InsufficientPower',
  'SignersNotAscending',
]);
const hashKey = (n: bigint) => `hash:${pad(n)}`;
const AIVM_TIER: Record<number, number> = { 1: TIERS.onchain, 2: TIERS.zk, 4: TIERS.optimistic };

type OracleState = 'open' | Exclude<NonNullable<Job['end']>['outcome'], 'delivered' | 'failed'>;

export class RelayerError extends Error {
  override name = 'RelayerError';
}

/**
 * The most input bytes the relayer reads from a request's URI: an AIVM transaction is at most
 * TX_MAX_BYTES, so no larger input could ever be carried (the URI is the requester's, perhaps
 * hostile).
 */
export const MAX_INPUT_URI_BYTES = TX_MAX_BYTES;

/** The response body, or undefined as soon as it passes `max` bytes (the rest is not read). */
async function readCapped(res: Response, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > max) {
    await res.body?.cancel().catch(() => {});
    return undefined;
  }
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export class Relayer {
  readonly #o: Required<Omit<RelayerOptions, 'crashAt' | 'fromBlock'>> &
    Pick<RelayerOptions, 'crashAt' | 'fromBlock'>;
  #db: ClassicLevel<string, string> | undefined;
  /** Running jobs by storage key (keyOf), with the job object the run holds. */
  #running = new Map<string, { job: Job; run: Promise<void> }>();
  /** Every LevelDB write goes through this chain, so writes land in the order they were made. */
  #writes: Promise<unknown> = Promise.resolve();
  #stopping = false;
  #loop: Promise<void> | undefined;
  #aivmQueue: Promise<unknown> = Promise.resolve();
  #evmQueue: Promise<unknown> = Promise.resolve();
  #aivmNext: bigint | undefined;
  #evmNext: number | undefined;
  #aivmChain: { chainId: bigint; gasPrice: bigint } | undefined;
  #evmChainId: number | undefined;
  #lc: Address | undefined;
  #wake: (() => void) | undefined;

  constructor(opts: RelayerOptions) {
    this.#o = {
      confirmations: 2,
      pollMs: 500,
      markRelayed: true,
      onEvent: () => {},
      aivmTimeoutMs: 30 * 60_000,
      ...opts,
    };
    if (!Number.isInteger(this.#o.confirmations) || this.#o.confirmations < 1)
      throw new RelayerError('confirmations must be an integer >= 1');
  }

  get address(): { evm: Address; aivm: string } {
    return { evm: this.#o.evmAccount.address, aivm: this.#o.aivmWallet.address };
  }

  #emit(e: RelayerEvent) {
    try {
      this.#o.onEvent(e);
    } catch {
      // a listener's failure is not the relayer's
    }
  }

  #crash(stage: CrashStage) {
    if (this.#o.crashAt === stage) {
      this.#emit({ event: 'crash', stage });
      process.kill(process.pid, 'SIGKILL');
    }
  }

  /** One fsynced batch, queued behind the writes made before it. */
  #batch(ops: ({ type: 'put'; key: string; value: string } | { type: 'del'; key: string })[]): Promise<void> {
    const w = this.#writes.then(() => this.#db!.batch(ops, { sync: true }));
    this.#writes = w.catch(() => {});
    return w;
  }

  async #put(job: Job, extra: { type: 'put'; key: string; value: string }[] = []) {
    job.history.push({ stage: job.stage, atMs: Date.now() });
    await this.#batch([{ type: 'put', key: keyOf(job), value: JSON.stringify(job) }, ...extra]);
  }

  async #get<T>(key: string): Promise<T | undefined> {
    const v = await this.#db!.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  /** Opens the store, resumes every unfinished job and starts scanning. */
  async start(): Promise<void> {
    await mkdir(this.#o.dbPath, { recursive: true });
    const db = new ClassicLevel<string, string>(this.#o.dbPath, {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
    });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new RelayerError(
        /lock/i.test(cause)
          ? `relayer store ${this.#o.dbPath} is in use by another process`
          : `cannot open ${this.#o.dbPath}: ${cause}`,
      );
    }
    this.#db = db;
    const { chainId } = await this.#o.aivm.status();
    const params = (await this.#o.aivm.query('auth/params').catch(() => ({}))) as { minGasPriceWei?: string };
    this.#aivmChain = { chainId: BigInt(chainId), gasPrice: BigInt(params.minGasPriceWei ?? 1_000_000_000) };
    this.#evmChainId = await this.#o.pub.getChainId();
    const code = await this.#o.pub.getCode({ address: this.#o.oracle });
    if (!code || code === '0x')
      throw new RelayerError(`no contract at ${this.#o.oracle} on EVM chain ${this.#evmChainId}`);
    const open: Job[] = [];
    for await (const [, v] of db.iterator({ gte: 'job:', lt: 'job;' })) {
      const job = JSON.parse(v) as Job;
      if (!finished(job)) open.push(job);
    }
    // A replaced job with a signed AIVM transaction still holds its nonce: it sends it, then ends.
    for await (const [, v] of db.iterator({ gte: 'replaced:', lt: 'replaced;' })) {
      const job = JSON.parse(v) as Job;
      if (!finished(job) && job.replacedBy) open.push(job);
    }
    const cursor = await this.#get<{ number: string; hash: Hex }>('cursor');
    this.#emit({
      event: 'started',
      evm: this.address.evm,
      aivm: this.address.aivm,
      oracle: this.#o.oracle,
      cursor: cursor?.number ?? null,
      resumed: open.map((j) => ({ id: j.id, stage: j.stage })),
    });
    // Stored-but-unconfirmed AIVM transactions hold their nonces: replay them before new ones.
    open.sort((a, b) =>
      a.aivm?.nonce !== undefined && b.aivm?.nonce !== undefined
        ? Number(BigInt(a.aivm.nonce) - BigInt(b.aivm.nonce))
        : 0,
    );
    for (const job of open) this.#startJob(job);
    this.#loop = this.#scanLoop();
  }

  /** Stops scanning and closes the store (unfinished jobs resume on the next start). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop?.catch(() => {});
    await this.#writes;
    await this.#db?.close();
  }

  /** Resolves once the job of oracle request `id` is done or failed. */
  async jobOf(id: bigint): Promise<Job | undefined> {
    return this.#get<Job>(jobKey(id));
  }

  async #scanLoop(): Promise<void> {
    while (!this.#stopping) {
      try {
        await this.#scanOnce();
      } catch (err) {
        if (this.#stopping) return;
        this.#emit({ event: 'error', where: 'scan', error: (err as Error).message.split('\n')[0] });
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, this.#o.pollMs);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  async #scanOnce(): Promise<void> {
    const pub = this.#o.pub;
    const head = await pub.getBlockNumber();
    const safe = head - BigInt(this.#o.confirmations - 1);
    let cursor = await this.#get<{ number: string; hash: Hex }>('cursor');
    if (cursor) {
      const b = await pub.getBlock({ blockNumber: BigInt(cursor.number) }).catch(() => undefined);
      if (!b || b.hash !== cursor.hash) cursor = await this.#rewind(BigInt(cursor.number));
    }
    let from = cursor ? BigInt(cursor.number) + 1n : (this.#o.fromBlock ?? 0n);
    while (from <= safe && !this.#stopping) {
      const to = safe - from > 999n ? from + 999n : safe;
      const toBlock = await pub.getBlock({ blockNumber: to });
      const logs = await pub.getLogs({
        address: this.#o.oracle,
        event: oracleAbi.find((e) => e.type === 'event' && e.name === 'InferenceRequested') as never,
        fromBlock: from,
        toBlock: to,
      } as never);
      // The range may have changed under us: only store it when its last block is still the same.
      const check = await pub.getBlock({ blockNumber: to });
      if (check.hash !== toBlock.hash) return;
      const events = parseEventLogs({ abi: oracleAbi, logs: logs as never, eventName: 'InferenceRequested' });
      const fresh: Job[] = [];
      const ops: { type: 'put'; key: string; value: string }[] = [];
      for (const ev of events) {
        const a = ev.args as {
          id: bigint;
          modelId: Hex;
          tier: number;
          inputHash: Hex;
          inputCommitment: bigint;
          input: Hex;
          inputURI: string;
        };
        const known = await this.#get<Job>(jobKey(a.id));
        if (known && known.event.txHash === ev.transactionHash) {
          // The same request seen again (a re-scan after a reorg or a restart): nothing new, unless
          // its job finished and the request is open again (the delivery was reorged away).
          if (finished(known) && !this.#running.has(jobKey(known.id))) await this.#reopenIfOpen(known);
          continue;
        }
        // Another transaction under a known id: the first one was reorged away. Its job is replaced
        // (kept under `replaced:`; a running one ends at its next step, delivery re-checks the chain).
        if (known) {
          // A running job's own object is marked, so its later writes go to `replaced:` (those it
          // made before are queued ahead of this batch: none overwrites the new job).
          const running = this.#running.get(jobKey(known.id));
          const old = running?.job ?? known;
          old.replacedBy = ev.transactionHash as Hex;
          ops.push({ type: 'put', key: replacedKey(old), value: JSON.stringify(old) });
          if (running) {
            this.#running.delete(jobKey(old.id));
            this.#running.set(replacedKey(old), running);
          }
        }
        const job: Job = {
          id: a.id.toString(),
          stage: 'seen',
          event: {
            blockNumber: (ev.blockNumber as bigint).toString(),
            blockHash: ev.blockHash as Hex,
            txHash: ev.transactionHash as Hex,
            modelId: a.modelId,
            tier: a.tier,
            inputHash: a.inputHash,
            inputCommitment: a.inputCommitment.toString(),
            input: a.input,
            inputURI: a.inputURI,
          },
          history: [{ stage: 'seen', atMs: Date.now() }],
        };
        fresh.push(job);
        ops.push({ type: 'put', key: jobKey(job.id), value: JSON.stringify(job) });
      }
      ops.push({ type: 'put', key: hashKey(to), value: JSON.stringify(toBlock.hash) });
      ops.push({
        type: 'put',
        key: 'cursor',
        value: JSON.stringify({ number: to.toString(), hash: toBlock.hash }),
      });
      const stale: { type: 'del'; key: string }[] = [];
      for await (const k of this.#db!.keys({ gte: 'hash:', lt: hashKey(to - BigInt(HASH_KEEP)) }))
        stale.push({ type: 'del', key: k });
      await this.#batch([...ops, ...stale]);
      for (const job of fresh)
        this.#emit({ event: 'request', id: job.id, block: job.event.blockNumber, tier: job.event.tier });
      if (fresh.length > 0) this.#crash('event');
      for (const job of fresh) this.#startJob(job);
      from = to + 1n;
    }
  }

  /**
   * The cursor's block is no longer on the chain: back to the newest stored hash that is. Jobs
   * that finished while the head was above that block may have seen an outcome the reorg undid
   * (a delivery, a refund): each is checked on the oracle and taken up again when its request is
   * open again. Cached EVM nonces may belong to reorged transactions: they are read again.
   */
  async #rewind(number: bigint): Promise<{ number: string; hash: Hex } | undefined> {
    const pub = this.#o.pub;
    this.#evmNext = undefined;
    let found: { number: string; hash: Hex } | undefined;
    for await (const [k, v] of this.#db!.iterator({ gte: 'hash:', lt: hashKey(number), reverse: true })) {
      const n = BigInt(k.slice(5));
      const b = await pub.getBlock({ blockNumber: n }).catch(() => undefined);
      if (b && b.hash === (JSON.parse(v) as Hex)) {
        found = { number: n.toString(), hash: b.hash };
        break;
      }
    }
    this.#emit({ event: 'reorg', from: number.toString(), to: found?.number ?? 'start' });
    await this.#writes;
    if (found) await this.#batch([{ type: 'put', key: 'cursor', value: JSON.stringify(found) }]);
    else await this.#batch([{ type: 'del', key: 'cursor' }]);
    const fork = found ? BigInt(found.number) : -1n;
    const recheck: Job[] = [];
    for await (const [, v] of this.#db!.iterator({ gte: 'job:', lt: 'job;' })) {
      const job = JSON.parse(v) as Job;
      if (finished(job) && job.end?.head !== undefined && BigInt(job.end.head) > fork) recheck.push(job);
    }
    for (const job of recheck) if (!this.#running.has(jobKey(job.id))) await this.#reopenIfOpen(job);
    return found;
  }

  /**
   * A finished job whose request is open again on the oracle, still the request its event made
   * (its delivery, refund or disappearance was reorged away), goes back to the furthest stage it
   * can resume from: the stored result, or the AIVM request it opened; never a second AIVM request.
   */
  async #reopenIfOpen(job: Job): Promise<void> {
    if (job.stage === 'failed' || job.replacedBy) return;
    const { state } = await this.#onChain(job);
    if (state !== 'open') return;
    const was = job.end?.outcome;
    delete job.end;
    delete job.fulfill;
    job.stage = job.result
      ? 'result'
      : job.aivm?.requestId
        ? 'aivm-opened'
        : job.aivm
          ? 'aivm-signed'
          : 'seen';
    await this.#put(job);
    this.#emit({ event: 'reopened', id: job.id, was, stage: job.stage });
    this.#startJob(job);
  }

  #startJob(job: Job): void {
    const key = keyOf(job);
    if (this.#running.has(key)) return;
    const run: Promise<void> = this.#runJob(job)
      .catch(async (err) => {
        if (this.#stopping) return;
        this.#emit({
          event: 'error',
          id: job.id,
          stage: job.stage,
          error: (err as Error).message.split('\n')[0],
        });
        // Retried from what is stored, after a pause.
        await new Promise((r) => setTimeout(r, 2000));
        if (this.#stopping) return;
        const slot = keyOf(job);
        if (this.#running.get(slot)?.run !== run) return;
        const stored = await this.#get<Job>(slot).catch(() => undefined);
        this.#running.delete(slot);
        if (stored && !finished(stored)) this.#startJob(stored);
      })
      .finally(() => {
        const slot = keyOf(job);
        if (this.#running.get(slot)?.run === run) this.#running.delete(slot);
      });
    this.#running.set(key, { job, run });
  }

  /** The oracle's view of the job's request: whether it is open and still the request the event made. */
  async #onChain(job: Job): Promise<{ state: OracleState; request: EvmRequest }> {
    const r = await getRequest(this.#o.pub, this.#o.oracle, BigInt(job.id));
    const state = ((): OracleState => {
      if (r.status === 'None') return 'gone';
      if (
        r.modelId !== job.event.modelId ||
        r.tier !== job.event.tier ||
        r.inputHash !== job.event.inputHash ||
        r.inputCommitment.toString() !== job.event.inputCommitment
      )
        return 'gone';
      if (r.status === 'Pending' || r.status === 'Relayed') return 'open';
      if (r.status === 'Refunded') return 'refunded';
      return 'delivered-by-other';
    })();
    return { state, request: r };
  }

  async #finish(job: Job, outcome: NonNullable<Job['end']>['outcome'], detail: string, txHash?: Hex) {
    const head = await this.#o.pub.getBlockNumber().catch(() => undefined);
    job.stage = outcome === 'failed' ? 'failed' : 'done';
    job.end = {
      outcome,
      detail,
      ...(txHash ? { txHash } : {}),
      ...(head !== undefined ? { head: head.toString() } : {}),
    };
    await this.#put(job);
    this.#emit({
      event: 'done',
      id: job.id,
      outcome,
      detail,
      ...(txHash ? { txHash } : {}),
      ...(job.replacedBy ? { requestTx: job.event.txHash } : {}),
    });
  }

  async #runJob(job: Job): Promise<void> {
    while (!this.#stopping) {
      // Replaced by another transaction under its id (a reorg): a signed AIVM transaction holds a
      // nonce and is sent first; otherwise the job ends here, before spending anything more.
      if (job.replacedBy && job.stage !== 'aivm-signed' && !finished(job))
        return this.#finish(job, 'gone', `request ${job.id} now belongs to transaction ${job.replacedBy}`);
      const before = `${job.stage}/${job.history.length}`;
      await this.#step(job);
      if (finished(job)) return;
      // No progress (a transaction still unmined, a node not answering): wait a little.
      if (`${job.stage}/${job.history.length}` === before) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async #step(job: Job): Promise<void> {
    switch (job.stage) {
      case 'seen': {
        const { state, request } = await this.#onChain(job);
        if (state !== 'open') return this.#finish(job, state, 'before opening the AIVM request');
        const input = await this.#inputOf(job);
        if (!input) break;
        // Another relayer (or anyone) noted an AIVM request: adopt it when AIVM confirms it.
        if (request.status === 'Relayed' && (await this.#adoptNoted(job, request.aivmRequestId, input)))
          return;
        await this.#signAivm(job, input);
        break;
      }
      case 'aivm-signed':
        await this.#openAivm(job);
        break;
      case 'aivm-opened':
        await this.#awaitResult(job);
        break;
      case 'result':
      case 'fulfill-sent':
        await this.#deliver(job);
        break;
      default:
        return;
    }
  }

  /**
   * The AIVM request id the oracle holds (markRelayed, open to anyone) is adopted only when AIVM
   * says that request is for this job's model, tier and exact input and has not failed: then its
   * result proves this request's result as well as a request of our own would. Anything else (an
   * unknown id, another input, another tier, a failed request) is refused, and remembered.
   */
  async #adoptNoted(job: Job, aivmRequestId: bigint, input: Uint8Array): Promise<boolean> {
    const id = aivmRequestId.toString();
    if (job.refused?.includes(id)) return false;
    const refuse = async (reason: string) => {
      job.refused = [...(job.refused ?? []), id];
      await this.#put(job);
      this.#emit({ event: 'adopt-refused', id: job.id, aivmRequestId: id, reason });
      return false;
    };
    let r: Awaited<ReturnType<typeof getAivmRequest>>;
    try {
      r = await getAivmRequest(this.#o.aivm, aivmRequestId);
    } catch (err) {
      // The node answered with an error (no such request, an id out of range): nothing to adopt.
      // A transport failure is not an answer: retried.
      if ((err as Error).name === 'RpcError')
        return refuse(`AIVM has no such request (${(err as Error).message.split('\n')[0]})`);
      throw err;
    }
    if (r.modelId !== bytes32ToModelId(job.event.modelId)) return refuse(`another model (${r.modelId})`);
    if (r.tier !== AIVM_TIER[job.event.tier]) return refuse(`another tier (${r.tier})`);
    if (!r.input || u8ToHex(r.input) !== u8ToHex(input)) return refuse('another input');
    if (r.status === 'failed') return refuse(`it failed: ${r.reason}`);
    job.aivm = { requestId: id, adopted: true };
    job.stage = 'aivm-opened';
    await this.#put(job);
    this.#emit({ event: 'aivm-adopted', id: job.id, aivmRequestId: id, status: r.status });
    return true;
  }

  /**
   * The request's input bytes: from the event, or fetched from its URI and checked against the
   * commitment and inputHash. An input that can never be right (a malformed or unsupported URI,
   * bytes that do not match) ends the job as `failed` (undefined is returned); one that cannot be
   * fetched now (network, HTTP status) throws, and the job is retried until the request is
   * delivered or refunded.
   */
  async #inputOf(job: Job): Promise<Uint8Array | undefined> {
    if (job.event.input !== '0x') return hexToU8(job.event.input, 'input');
    const uri = job.event.inputURI;
    const refuse = async (why: string) => {
      await this.#finish(job, 'failed', `input refused: ${why}`);
      return undefined;
    };
    const shown = JSON.stringify(uri.length > 80 ? `${uri.slice(0, 80)}…` : uri);
    let bytes: Uint8Array;
    if (uri.startsWith('data:')) {
      try {
        bytes = dataURIBytes(uri);
      } catch (err) {
        return refuse(`its data: URI is malformed (${(err as Error).message})`);
      }
    } else if (/^https?:\/\//i.test(uri) && URL.canParse(uri)) {
      let res: Response;
      try {
        res = await fetch(uri, { signal: AbortSignal.timeout(30_000) });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        throw new RelayerError(
          `request ${job.id}: input ${shown} unavailable: ${e.cause?.code ?? e.cause?.message ?? e.message}`,
        );
      }
      // A 4xx other than timeout / rate limit is the URI's own fault and will not change.
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
        return refuse(`its URI ${shown} answers HTTP ${res.status}`);
      if (!res.ok)
        throw new RelayerError(`request ${job.id}: input ${shown} unavailable: HTTP ${res.status}`);
      const read = await readCapped(res, MAX_INPUT_URI_BYTES);
      if (!read) return refuse(`its URI ${shown} serves more than ${MAX_INPUT_URI_BYTES} bytes`);
      bytes = read;
    } else return refuse(`unsupported input URI ${shown} (data: or http(s))`);
    const { commitInputs } = await import('@aivm/zk');
    if (commitInputs(decodeInput(bytes)).toString() !== job.event.inputCommitment)
      return refuse(`the ${bytes.length} bytes at its URI do not match its input commitment`);
    if (job.event.inputHash !== `0x${'00'.repeat(32)}` && inputHashOf(bytes) !== job.event.inputHash)
      return refuse('the bytes at its URI do not match its inputHash');
    return bytes;
  }

  /** Signs the AIVM inference/request with the next nonce and stores it (not yet sent). */
  async #signAivm(job: Job, input: Uint8Array): Promise<void> {
    const aivm = this.#o.aivm;
    const w = this.#o.aivmWallet;
    const run = this.#aivmQueue.then(async () => {
      const modelId = bytes32ToModelId(job.event.modelId);
      const model = await getModel(aivm, modelId);
      const tier = AIVM_TIER[job.event.tier];
      if (tier === undefined) throw new RelayerError(`request ${job.id}: unknown tier ${job.event.tier}`);
      const msg = {
        modelId,
        tier,
        input: u8ToHex(input),
        maxFeeWei: model.priceWei.toString(),
        redundancy: 1,
      };
      const chain = this.#aivmChain!;
      const { pendingNonce } = await aivm.getAccount(w.address as never);
      const nonce =
        this.#aivmNext !== undefined && this.#aivmNext > pendingNonce ? this.#aivmNext : pendingNonce;
      const estimate = await aivm.estimateGas({
        from: w.address as never,
        msgType: 'inference/request',
        msg,
        gasPrice: chain.gasPrice,
      } as never);
      const raw = w.buildSigned('inference/request', msg, {
        chainId: chain.chainId,
        nonce,
        gasLimit: estimate + estimate / 5n + 5_000n,
        gasPrice: chain.gasPrice,
      });
      job.aivm = { raw: u8ToHex(raw), hash: keccak256(raw), nonce: nonce.toString() };
      job.stage = 'aivm-signed';
      await this.#put(job);
      this.#aivmNext = nonce + 1n;
    });
    this.#aivmQueue = run.catch(() => {
      this.#aivmNext = undefined;
    });
    await run;
  }

  /** Sends the stored AIVM transaction (again, if need be) and records the AIVM request id. */
  async #openAivm(job: Job): Promise<void> {
    const aivm = this.#o.aivm;
    const a = job.aivm as Required<Pick<NonNullable<Job['aivm']>, 'raw' | 'hash' | 'nonce'>> &
      NonNullable<Job['aivm']>;
    let status = await aivm.getTxStatus(a.hash);
    if (status.status !== 'committed' && status.status !== 'pending') {
      const { nonce } = await aivm.getAccount(this.#o.aivmWallet.address as never);
      if (nonce > BigInt(a.nonce) || status.status === 'dropped') {
        // Its nonce went to no transaction of ours, or the node dropped it: sign again.
        this.#aivmNext = undefined;
        job.stage = 'seen';
        delete job.aivm;
        await this.#put(job);
        return;
      }
      await aivm.sendRawTx(a.raw).catch((err: Error) => {
        if (!/known|already|duplicate/i.test(err.message)) throw err;
      });
      status = { status: 'pending' };
    }
    const rec = await aivm.waitForTx(a.hash, { timeoutMs: 120_000 }).catch(async (err: Error) => {
      if (err.name === 'TxDroppedError') {
        job.stage = 'seen';
        delete job.aivm;
        await this.#put(job);
        return undefined;
      }
      throw err;
    });
    if (!rec) return;
    if (!rec.receipt.success)
      return this.#finish(job, 'failed', `AIVM refused the request: ${rec.receipt.error ?? 'failed'}`);
    const ev = rec.receipt.events.find((e) => inferenceEvents.is(e, 'status'));
    const id = ev?.attributes.find((x) => x.key === 'id')?.value;
    if (id === undefined)
      throw new RelayerError(`AIVM transaction ${a.hash} emitted no inference/status event`);
    a.requestId = id;
    job.stage = 'aivm-opened';
    await this.#put(job);
    this.#emit({ event: 'aivm-opened', id: job.id, aivmRequestId: id, aivmTx: a.hash });
    this.#crash('aivm-request');
    if (this.#o.markRelayed) void this.#markRelayed(job, BigInt(id));
  }

  /** Informational markRelayed(id, aivmRequestId); skipped when the request is no longer Pending. */
  async #markRelayed(job: Job, aivmRequestId: bigint): Promise<void> {
    try {
      const data = encodeFunctionData({
        abi: oracleAbi,
        functionName: 'markRelayed',
        args: [BigInt(job.id), aivmRequestId],
      });
      await this.#sendEvm(data, { fire: true });
    } catch {
      // informational only: another relayer marked it, or it was delivered already
    }
  }

  /** Waits for the AIVM request to end and stores what delivery needs (proof or attestation). */
  async #awaitResult(job: Job): Promise<void> {
    const aivm = this.#o.aivm;
    const requestId = BigInt(job.aivm!.requestId!);
    const fin = await waitForRequest(aivm, requestId, {
      readResult: false,
      timeoutMs: this.#o.aivmTimeoutMs,
      pollMs: 300,
    });
    this.#emit({
      event: 'aivm-finished',
      id: job.id,
      aivmRequestId: requestId.toString(),
      status: fin.status,
    });
    if (fin.status !== 'finalized') {
      // An adopted request that failed is no reason to give up: open one of our own instead.
      if (job.aivm?.adopted) {
        job.refused = [...(job.refused ?? []), requestId.toString()];
        delete job.aivm;
        job.stage = 'seen';
        await this.#put(job);
        this.#emit({
          event: 'adopt-refused',
          id: job.id,
          aivmRequestId: requestId.toString(),
          reason: fin.status,
        });
        return;
      }
      return this.#finish(job, 'failed', `AIVM request ${requestId} ${fin.status}: ${fin.reason}`);
    }
    if (job.event.tier === 2) {
      const p = await getZkProof(aivm, fin);
      if (p && p.proof.length === 256) {
        job.result = {
          path: 'zk',
          output: u8ToHex(p.output),
          proof: u8ToHex(p.proof),
          aivmRequestId: requestId.toString(),
        };
        job.stage = 'result';
        await this.#put(job);
        this.#emit({ event: 'result', id: job.id, path: 'zk', aivmProofTx: p.txHash });
        this.#crash('proof');
        return;
      }
    }
    const att = await this.#attestation(requestId);
    job.result = {
      path: 'attested',
      output: u8ToHex(fin.output),
      signatures: att.signatures,
      aivmRequestId: requestId.toString(),
    };
    job.stage = 'result';
    await this.#put(job);
    this.#emit({ event: 'result', id: job.id, path: 'attested', setId: att.setId.toString() });
    this.#crash('proof');
  }

  async #lightClient(): Promise<Address> {
    this.#lc ??= (await this.#o.pub.readContract({
      address: this.#o.oracle,
      abi: oracleAbi,
      functionName: 'lightClient',
    })) as Address;
    return this.#lc;
  }

  /**
   * The signatures whose signers are members of the light client's current set, packed in
   * ascending signer order as the light client wants them, with their power and the set's total.
   */
  async #memberSignatures(
    lc: Address,
    signatures: { signer: Address; signature: Hex }[],
  ): Promise<{ packed: Hex; signed: bigint; total: bigint; setId: bigint }> {
    const read = (functionName: 'setId' | 'totalPower' | 'powerOf', args?: [Address]) =>
      this.#o.pub.readContract({
        address: lc,
        abi: lightClientAbi,
        functionName,
        ...(args ? { args } : {}),
      } as never) as Promise<bigint>;
    const [setId, total, powers] = await Promise.all([
      read('setId'),
      read('totalPower'),
      Promise.all(signatures.map(async (s) => [s, BigInt(await read('powerOf', [s.signer]))] as const)),
    ]);
    const usable = powers
      .filter(([, p]) => p > 0n)
      .sort(([a], [b]) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
    return {
      packed: `0x${usable.map(([s]) => s.signature.slice(2)).join('')}` as Hex,
      signed: usable.reduce((acc, [, p]) => acc + p, 0n),
      total: BigInt(total),
      setId: BigInt(setId),
    };
  }

  /**
   * Signatures of > 2/3 of the light client's set over the request's AivmResult (waits for them).
   * When AIVM's result is signed by a newer set than the light client's, the light client is moved
   * forward first, set by set, each with its AivmValidatorSet attestation by the set before.
   */
  async #attestation(requestId: bigint): Promise<{ signatures: Hex; setId: bigint }> {
    const lc = await this.#lightClient();
    const deadline = Date.now() + 120_000;
    for (;;) {
      let v: {
        setId: string;
        signatures: { signer: Address; signature: Hex }[];
      } | null = null;
      try {
        v = await this.#o.aivm.request('aivm_getAttestations', { requestId: requestId.toString() });
      } catch (err) {
        throw new RelayerError(
          `the AIVM node gives no attestations (${(err as Error).message}): only zk proofs can be delivered`,
        );
      }
      if (v) {
        await this.#syncLightClient(lc, BigInt(v.setId));
        const m = await this.#memberSignatures(lc, v.signatures);
        if (m.signed * 3n > m.total * 2n) return { signatures: m.packed, setId: BigInt(v.setId) };
      }
      if (Date.now() > deadline)
        throw new RelayerError(`no > 2/3 attestation of AIVM request ${requestId} within 120 s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  /**
   * Moves the light client up to set `target`: for each next set, its AivmValidatorSet attestation
   * from AIVM, with the signatures of members of the light client's current set (waiting until
   * they hold > 2/3 of its power). Another relayer moving it first (WrongSetId) is fine.
   */
  async #syncLightClient(lc: Address, target: bigint): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const current = (await this.#o.pub.readContract({
        address: lc,
        abi: lightClientAbi,
        functionName: 'setId',
      })) as bigint;
      if (current >= target) return;
      const s = current + 1n;
      const v = (await this.#o.aivm.request('aivm_getValidatorSetAttestation', { setId: s.toString() })) as {
        members: { signer: Address; power: string }[];
        signatures: { signer: Address; signature: Hex }[];
      } | null;
      const m = v ? await this.#memberSignatures(lc, v.signatures) : undefined;
      if (!v || !m || m.setId !== current || m.signed * 3n <= m.total * 2n) {
        if (Date.now() > deadline)
          throw new RelayerError(
            v
              ? `AivmValidatorSet(${s}) is signed by ${m?.signed ?? 0n} of set ${current}'s ${m?.total ?? 0n} power: not > 2/3 within 120 s`
              : `the AIVM node has no attestation of set ${s}`,
          );
        await new Promise((r) => setTimeout(r, 300));
        continue;
      }
      const data = encodeFunctionData({
        abi: lightClientAbi,
        functionName: 'updateValidatorSet',
        args: [s, v.members.map((x) => x.signer), v.members.map((x) => BigInt(x.power)), m.packed],
      });
      try {
        await this.#sendEvm(data, { to: lc });
        this.#emit({
          event: 'light-client',
          setId: s.toString(),
          members: v.members.length,
          signedPower: m.signed.toString(),
          totalPower: m.total.toString(),
        });
      } catch (err) {
        if (revertName(err) !== 'WrongSetId') throw err;
      }
    }
  }

  /** Delivers the stored result: checks the oracle, signs and stores the fulfill, sends it, follows it. */
  async #deliver(job: Job): Promise<void> {
    const pub = this.#o.pub;
    if (job.stage === 'fulfill-sent') {
      const f = job.fulfill!;
      const receipt = await pub.getTransactionReceipt({ hash: f.hash }).catch(() => undefined);
      if (!receipt) {
        const { state } = await this.#onChain(job);
        if (state !== 'open') return this.#finish(job, state, 'while our fulfill was not mined');
        const mined = await pub.getTransactionCount({
          address: this.#o.evmAccount.address,
          blockTag: 'latest',
        });
        if (mined > Number(f.nonce)) {
          // The nonce went to another of our transactions (e.g. a markRelayed): sign again.
          job.stage = 'result';
          delete job.fulfill;
          await this.#put(job);
          return;
        }
        await pub.sendRawTransaction({ serializedTransaction: f.raw }).catch((err: Error) => {
          if (!/known|already|nonce too low|underpriced/i.test(err.message)) throw err;
        });
        const r = await pub
          .waitForTransactionReceipt({ hash: f.hash, pollingInterval: 200, timeout: 60_000 })
          .catch(() => undefined);
        if (!r) return; // loop again: re-checks the chain
        return this.#afterReceipt(job, r);
      }
      return this.#afterReceipt(job, receipt);
    }
    const { state } = await this.#onChain(job);
    if (state !== 'open') return this.#finish(job, state, 'before delivery');
    const res = job.result!;
    const data =
      res.path === 'zk'
        ? encodeFunctionData({
            abi: oracleAbi,
            functionName: 'fulfillZk',
            args: [
              BigInt(job.id),
              res.output,
              proofBytesToWords(hexToU8(res.proof!)) as never,
              job.event.input === '0x' ? '0x' : job.event.input,
            ],
          })
        : encodeFunctionData({
            abi: oracleAbi,
            functionName: 'fulfillAttested',
            args: [BigInt(job.id), BigInt(res.aivmRequestId), res.output, res.signatures!],
          });
    try {
      await this.#sendEvm(data, { job });
    } catch (err) {
      const name = revertName(err);
      if (name === 'WrongStatus')
        return this.#finish(job, 'delivered-by-other', 'the oracle says already delivered');
      // The light client moved to another set since the signatures were collected: collect the
      // current set's again (a few times; a result no current member signed cannot be delivered).
      if (name && SET_REVERTS.has(name) && res.path === 'attested' && (job.recollected ?? 0) < 3) {
        job.recollected = (job.recollected ?? 0) + 1;
        delete job.result;
        job.stage = 'aivm-opened';
        await this.#put(job);
        this.#emit({
          event: 'error',
          id: job.id,
          stage: 'result',
          error: `${name}: collecting the signatures again`,
        });
        return;
      }
      if (name) return this.#finish(job, 'failed', `the oracle refuses the delivery: ${name}`);
      throw err;
    }
  }

  async #afterReceipt(job: Job, r: { status: string; transactionHash: Hex; gasUsed: bigint }): Promise<void> {
    if (r.status === 'success') {
      this.#emit({
        event: 'delivered',
        id: job.id,
        txHash: r.transactionHash,
        gasUsed: r.gasUsed.toString(),
        path: job.result!.path,
      });
      return this.#finish(job, 'delivered', `${job.result!.path} delivery`, r.transactionHash);
    }
    const { state } = await this.#onChain(job);
    if (state !== 'open') return this.#finish(job, state, `our fulfill ${r.transactionHash} reverted`);
    job.stage = 'result';
    delete job.fulfill;
    await this.#put(job);
  }

  /**
   * Sends an EVM transaction from the relayer's account (to the oracle unless `to`): gas estimated
   * (a revert surfaces here, before anything is signed), signed with the next nonce, stored in
   * the job first when there is one, then broadcast and followed to its receipt.
   */
  async #sendEvm(data: Hex, opts: { job?: Job; to?: Address; fire?: boolean }): Promise<void> {
    const pub = this.#o.pub;
    const account = this.#o.evmAccount;
    const to = opts.to ?? this.#o.oracle;
    const run = this.#evmQueue.then(async () => {
      const gas = await pub.estimateGas({ account: account.address, to, data });
      const fees = await pub.estimateFeesPerGas();
      const pending = await pub.getTransactionCount({ address: account.address, blockTag: 'pending' });
      const nonce = this.#evmNext !== undefined && this.#evmNext > pending ? this.#evmNext : pending;
      const raw = await account.signTransaction({
        type: 'eip1559',
        chainId: this.#evmChainId!,
        to,
        data,
        gas: gas + gas / 5n,
        nonce,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      const hash = keccak256(raw);
      if (opts.job) {
        opts.job.fulfill = { raw, hash, nonce: nonce.toString() };
        opts.job.stage = 'fulfill-sent';
        await this.#put(opts.job);
      }
      await pub.sendRawTransaction({ serializedTransaction: raw });
      this.#evmNext = nonce + 1;
      if (opts.job) {
        this.#emit({ event: 'fulfill-sent', id: opts.job.id, txHash: hash });
        this.#crash('fulfill');
      }
      return hash;
    });
    this.#evmQueue = run.catch(() => {
      this.#evmNext = undefined;
    });
    const hash = await run;
    if (opts.fire) return;
    const r = await pub.waitForTransactionReceipt({ hash, pollingInterval: 200, timeout: 120_000 });
    if (opts.job) return this.#afterReceipt(opts.job, r);
    if (r.status !== 'success') throw new RelayerError(`transaction ${hash} reverted`);
  }
}

export { EvmInputError };
