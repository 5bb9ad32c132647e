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
//     WrongStatus revert of a racing delivery counts as done.
// Several relayers may watch one oracle (each with its own AIVM and EVM accounts): the first
// delivery wins, the others stop at their next status check.

import { mkdir } from 'node:fs/promises';
import { inferenceEvents, TIERS } from '@aivm/chain';
import { type AivmClient, type Wallet as AivmWallet, getModel, getZkProof, waitForRequest } from '@aivm/sdk';
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
import { getRequest, lightClientAbi, oracleAbi, proofBytesToWords, revertName } from './oracle.ts';

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
  aivm?: { raw: Hex; hash: Hex; nonce: string; requestId?: string };
  result?: { path: 'zk' | 'attested'; output: Hex; proof?: Hex; signatures?: Hex; aivmRequestId: string };
  fulfill?: { raw: Hex; hash: Hex; nonce: string };
  end?: {
    outcome: 'delivered' | 'delivered-by-other' | 'refunded' | 'gone' | 'failed';
    detail: string;
    txHash?: Hex;
  };
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
const hashKey = (n: bigint) => `hash:${pad(n)}`;
const AIVM_TIER: Record<number, number> = { 1: TIERS.onchain, 2: TIERS.zk, 4: TIERS.optimistic };

export class RelayerError extends Error {
  override name = 'RelayerError';
}

export class Relayer {
  readonly #o: Required<Omit<RelayerOptions, 'crashAt' | 'fromBlock'>> &
    Pick<RelayerOptions, 'crashAt' | 'fromBlock'>;
  #db: ClassicLevel<string, string> | undefined;
  #running = new Map<string, Promise<void>>();
  #stopping = false;
  #loop: Promise<void> | undefined;
  #aivmQueue: Promise<unknown> = Promise.resolve();
  #evmQueue: Promise<unknown> = Promise.resolve();
  #aivmNext: bigint | undefined;
  #evmNext: number | undefined;
  #aivmChain: { chainId: bigint; gasPrice: bigint } | undefined;
  #evmChainId: number | undefined;
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

  async #put(job: Job, extra: { type: 'put'; key: string; value: string }[] = []) {
    job.history.push({ stage: job.stage, atMs: Date.now() });
    await this.#db!.batch([{ type: 'put', key: jobKey(job.id), value: JSON.stringify(job) }, ...extra], {
      sync: true,
    });
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
      if (job.stage !== 'done' && job.stage !== 'failed') open.push(job);
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
    open.sort((a, b) => (a.aivm && b.aivm ? Number(BigInt(a.aivm.nonce) - BigInt(b.aivm.nonce)) : 0));
    for (const job of open) this.#startJob(job);
    this.#loop = this.#scanLoop();
  }

  /** Stops scanning and closes the store (unfinished jobs resume on the next start). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop?.catch(() => {});
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
        // The same request seen again (a re-scan): nothing new. Another transaction under a known
        // id means the first one was reorged away: its job is replaced (delivery re-checks the chain).
        if (known && known.event.txHash === ev.transactionHash) continue;
        if (known && known.stage !== 'done' && known.stage !== 'failed' && this.#running.has(known.id))
          continue;
        if (known)
          ops.push({
            type: 'put',
            key: `replaced:${pad(a.id)}:${known.event.txHash}`,
            value: JSON.stringify(known),
          });
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
      await this.#db!.batch([...ops, ...stale], { sync: true });
      for (const job of fresh)
        this.#emit({ event: 'request', id: job.id, block: job.event.blockNumber, tier: job.event.tier });
      if (fresh.length > 0) this.#crash('event');
      for (const job of fresh) this.#startJob(job);
      from = to + 1n;
    }
  }

  /** The cursor's block is no longer on the chain: back to the newest stored hash that is. */
  async #rewind(number: bigint): Promise<{ number: string; hash: Hex } | undefined> {
    const pub = this.#o.pub;
    for await (const [k, v] of this.#db!.iterator({ gte: 'hash:', lt: hashKey(number), reverse: true })) {
      const n = BigInt(k.slice(5));
      const b = await pub.getBlock({ blockNumber: n }).catch(() => undefined);
      if (b && b.hash === (JSON.parse(v) as Hex)) {
        this.#emit({ event: 'reorg', from: number.toString(), to: n.toString() });
        const c = { number: n.toString(), hash: b.hash };
        await this.#db!.batch([{ type: 'put', key: 'cursor', value: JSON.stringify(c) }], { sync: true });
        return c;
      }
    }
    this.#emit({ event: 'reorg', from: number.toString(), to: 'start' });
    await this.#db!.del('cursor');
    return undefined;
  }

  #startJob(job: Job): void {
    if (this.#running.has(job.id)) return;
    const run = this.#runJob(job)
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
        const stored = await this.#get<Job>(jobKey(job.id)).catch(() => undefined);
        this.#running.delete(job.id);
        if (stored && stored.stage !== 'done' && stored.stage !== 'failed') this.#startJob(stored);
      })
      .finally(() => {
        if (this.#running.get(job.id) === run) this.#running.delete(job.id);
      });
    this.#running.set(job.id, run);
  }

  /** The oracle's view of the job's request: whether it is open and still the request the event made. */
  async #onChain(
    job: Job,
  ): Promise<'open' | Exclude<NonNullable<Job['end']>['outcome'], 'delivered' | 'failed'>> {
    const r = await getRequest(this.#o.pub, this.#o.oracle, BigInt(job.id));
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
  }

  async #finish(job: Job, outcome: NonNullable<Job['end']>['outcome'], detail: string, txHash?: Hex) {
    job.stage = outcome === 'failed' ? 'failed' : 'done';
    job.end = { outcome, detail, ...(txHash ? { txHash } : {}) };
    await this.#put(job);
    this.#emit({ event: 'done', id: job.id, outcome, detail, ...(txHash ? { txHash } : {}) });
  }

  async #runJob(job: Job): Promise<void> {
    while (!this.#stopping) {
      const before = `${job.stage}/${job.history.length}`;
      await this.#step(job);
      if (job.stage === 'done' || job.stage === 'failed') return;
      // No progress (a transaction still unmined, a node not answering): wait a little.
      if (`${job.stage}/${job.history.length}` === before) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async #step(job: Job): Promise<void> {
    switch (job.stage) {
      case 'seen': {
        const state = await this.#onChain(job);
        if (state !== 'open') return this.#finish(job, state, 'before opening the AIVM request');
        const input = await this.#inputOf(job);
        if (input) await this.#signAivm(job, input);
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
      if (!res.ok)
        throw new RelayerError(`request ${job.id}: input ${shown} unavailable: HTTP ${res.status}`);
      bytes = new Uint8Array(await res.arrayBuffer());
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
    const a = job.aivm!;
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
    if (fin.status !== 'finalized')
      return this.#finish(job, 'failed', `AIVM request ${requestId} ${fin.status}: ${fin.reason}`);
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

  /** Signatures of > 2/3 of the light client's set over the request's AivmResult (waits for them). */
  async #attestation(requestId: bigint): Promise<{ signatures: Hex; setId: bigint }> {
    const lc = (await this.#o.pub.readContract({
      address: this.#o.oracle,
      abi: oracleAbi,
      functionName: 'lightClient',
    })) as Address;
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
        const lcSet = (await this.#o.pub.readContract({
          address: lc,
          abi: lightClientAbi,
          functionName: 'setId',
        })) as bigint;
        if (BigInt(v.setId) > lcSet) await this.#syncLightClient(lc, lcSet, BigInt(v.setId));
        const [total, members] = await Promise.all([
          this.#o.pub.readContract({
            address: lc,
            abi: lightClientAbi,
            functionName: 'totalPower',
          }) as Promise<bigint>,
          Promise.all(
            v.signatures.map(
              async (s) =>
                [
                  s,
                  (await this.#o.pub.readContract({
                    address: lc,
                    abi: lightClientAbi,
                    functionName: 'powerOf',
                    args: [s.signer],
                  })) as bigint,
                ] as const,
            ),
          ),
        ]);
        const usable = members
          .filter(([, p]) => p > 0n)
          .sort(([a], [b]) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
        const signed = usable.reduce((acc, [, p]) => acc + p, 0n);
        if (signed * 3n > total * 2n)
          return {
            signatures: `0x${usable.map(([s]) => s.signature.slice(2)).join('')}` as Hex,
            setId: BigInt(v.setId),
          };
      }
      if (Date.now() > deadline)
        throw new RelayerError(`no > 2/3 attestation of AIVM request ${requestId} within 120 s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  /** Moves the light client up to set `target` with each set's attestation by the previous one. */
  async #syncLightClient(lc: Address, from: bigint, target: bigint): Promise<void> {
    for (let s = from + 1n; s <= target; s++) {
      const v = (await this.#o.aivm.request('aivm_getValidatorSetAttestation', { setId: s.toString() })) as {
        members: { signer: Address; power: string }[];
        signatures: { signer: Address; signature: Hex }[];
      } | null;
      if (!v) throw new RelayerError(`the AIVM node has no attestation of set ${s}`);
      const sigs = [...v.signatures].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
      const data = encodeFunctionData({
        abi: lightClientAbi,
        functionName: 'updateValidatorSet',
        args: [
          s,
          v.members.map((m) => m.signer),
          v.members.map((m) => BigInt(m.power)),
          `0x${sigs.map((x) => x.signature.slice(2)).join('')}`,
        ],
      });
      try {
        await this.#sendEvm(data, { to: lc });
        this.#emit({ event: 'light-client', setId: s.toString() });
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
        const state = await this.#onChain(job);
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
    const state = await this.#onChain(job);
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
    const state = await this.#onChain(job);
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
