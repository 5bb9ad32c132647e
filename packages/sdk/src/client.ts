// JSON-RPC client of an AIVM node: requests over HTTP (global fetch), subscriptions over one lazily
// opened WebSocket (global WebSocket). Browser-safe.

import { bytesToHex, hexToBytes, sha256, signTypedData } from '@aivm/crypto';
import { BLOB_CHUNK_BYTES, blobId, blobUploadTypedData } from './blob-id.ts';
import {
  type BlobUploadAnswer,
  big,
  MalformedResponseError,
  parseAccount,
  parseBlobStat,
  parseBlobUpload,
  parseBlock,
  parseEvent,
  parseProof,
  parseReceiptRecord,
  parseStatus,
  parseTxRecord,
  parseTxStatus,
  toJsonParams,
} from './parse.ts';
import type {
  AccountInfo,
  Address,
  BlobStat,
  BlockRef,
  BlockView,
  Hex,
  NodeStatus,
  ProvenValue,
  ReceiptRecord,
  SubscriptionEvents,
  SubscriptionFilter,
  SubscriptionTopic,
  TxDraft,
  TxRecord,
  TxStatus,
  UploadBlobOptions,
} from './types.ts';

/** The node's BLOB_UPLOAD_CAPACITY error code (stable): every upload slot is busy, retry later. */
const BLOB_UPLOAD_CAPACITY = 2004;
/** JSON-RPC LIMIT_EXCEEDED; on a blob upload: this client already has its share of uploads in progress. */
const LIMIT_EXCEEDED = -32005;

/** An error answer of the node: `code` is a JSON-RPC code or a stable chain code (ERR in @aivm/chain). */
export class RpcError extends Error {
  readonly code: number;
  readonly data?: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

/** No answer within the time allowed (a request, or waitForTx). */
export class RpcTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpcTimeoutError';
  }
}

/**
 * waitForTx: the node dropped the transaction from its mempool without committing it. `reason` is
 * the node's, `code` the chain's stable code (ERR in @aivm/chain) where one applies.
 */
export class TxDroppedError extends Error {
  readonly hash: Hex;
  readonly reason: string;
  readonly code?: number;
  constructor(hash: Hex, reason: string, code?: number) {
    super(
      `transaction ${hash} was dropped by the node: ${reason}${code === undefined ? '' : ` (code ${code})`}`,
    );
    this.name = 'TxDroppedError';
    this.hash = hash;
    this.reason = reason;
    if (code !== undefined) this.code = code;
  }
}

/** JSON-RPC "method not found": a node older than the method. */
const METHOD_NOT_FOUND = -32601;

/** Options of the AivmClient constructor. */
export type AivmClientOptions = {
  /** WebSocket endpoint for subscriptions; default: the HTTP URL with ws(s):// and path /ws. */
  wsUrl?: string;
  /** Per request; default 30 000. */
  timeoutMs?: number;
  /** Receives exceptions thrown by subscription callbacks; default console.error. */
  onError?: (err: unknown) => void;
  /**
   * WebSocket constructor for subscriptions; default the global one (browsers, Node 22+). On Node 20
   * pass the `ws` package's: `new AivmClient(url, { WebSocket })`. Without either, subscriptions
   * fail with a clear error and the waiting helpers poll instead.
   */
  WebSocket?: WebSocketConstructor;
};

/** What the client needs of a WebSocket class: the standard constructor (the `ws` package fits). */
export type WebSocketConstructor = new (url: string) => WebSocket;

// WebSocket.readyState values (WHATWG); read as numbers so that a runtime without a global
// WebSocket class can still load and use the client.
const WS_OPEN = 1;
const WS_CLOSED = 3;

/** Options of AivmClient.waitForTx: how long to wait in total (default 60 000 ms) and how often to poll (default 200 ms). */
export type WaitForTxOptions = { timeoutMs?: number; pollMs?: number };

type JsonRpcAnswer = {
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
};
type Pending = {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
};

const DEFAULT_TIMEOUT_MS = 30_000;

function defaultWsUrl(url: string): string {
  const u = new URL(url);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = '/ws';
  u.search = '';
  return u.toString();
}

function answerOf(json: unknown): unknown {
  const a = json as JsonRpcAnswer | null;
  if (typeof a !== 'object' || a === null) throw new RpcError(-32603, 'malformed JSON-RPC answer');
  if (a.error) throw new RpcError(a.error.code, a.error.message, a.error.data);
  if (!('result' in a)) throw new RpcError(-32603, 'malformed JSON-RPC answer: no result');
  return a.result;
}

/**
 * JSON-RPC client of one AIVM node: requests over HTTP with the global fetch, subscriptions over
 * one WebSocket opened on first use. Integers of 64 bits and more come back as bigint.
 */
export class AivmClient {
  readonly url: string;
  readonly wsUrl: string;
  readonly timeoutMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #WebSocket: WebSocketConstructor | undefined;
  #nextId = 1;
  readonly #inflight = new Set<AbortController>();
  #ws: WebSocket | undefined;
  #wsOpening: Promise<WebSocket> | undefined;
  readonly #wsPending = new Map<number, Pending>();
  readonly #subs = new Map<string, (result: unknown) => void>();
  #closed = false;

  constructor(url: string, opts: AivmClientOptions = {}) {
    this.url = url;
    this.wsUrl = opts.wsUrl ?? defaultWsUrl(url);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#onError = opts.onError ?? ((err) => console.error('aivm subscription callback failed:', err));
    this.#WebSocket = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  }

  /** One JSON-RPC call over HTTP; params may hold bigint and Uint8Array values. */
  async request<T = unknown>(method: string, params: object = {}): Promise<T> {
    if (this.#closed) throw new Error('client is closed');
    const id = this.#nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params: toJsonParams(params) });
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    this.#inflight.add(controller);
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: controller.signal,
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new RpcError(-32700, `node answered HTTP ${res.status} with a body that is not JSON`);
      }
      return answerOf(json) as T;
    } catch (err) {
      if (timedOut) throw new RpcTimeoutError(`${method} got no answer within ${this.timeoutMs} ms`);
      throw err;
    } finally {
      clearTimeout(timer);
      this.#inflight.delete(controller);
    }
  }

  /** The node's status: chain id, latest height and hash, state root, mempool size, version. */
  async status(): Promise<NodeStatus> {
    return parseStatus(await this.request('aivm_status'));
  }

  /** A block by height, hash or ref object; the latest when omitted. Null when unknown. */
  async getBlock(ref: BlockRef | bigint | number | Hex = {}): Promise<BlockView | null> {
    const r: BlockRef =
      typeof ref === 'object' ? ref : typeof ref === 'string' ? { hash: ref } : { height: ref };
    const result = await this.request('aivm_getBlock', r);
    return result === null ? null : parseBlock(result);
  }

  /** A committed transaction with its receipt; null when the node does not know it. */
  async getTx(hash: Hex): Promise<TxRecord | null> {
    const result = await this.request('aivm_getTx', { hash });
    return result === null ? null : parseTxRecord(result);
  }

  /** Committed (with its height), pending, dropped (with the reason) or unknown to the node. */
  async getTxStatus(hash: Hex): Promise<TxStatus> {
    return parseTxStatus(await this.request('aivm_getTxStatus', { hash }));
  }

  /** The receipt of a committed transaction; null when the node does not know it. */
  async getReceipt(hash: Hex): Promise<ReceiptRecord | null> {
    const result = await this.request('aivm_getReceipt', { hash });
    return result === null ? null : parseReceiptRecord(result);
  }

  /** An account's state, including its pending nonce. */
  async getAccount(address: Address): Promise<AccountInfo> {
    return parseAccount(await this.request('aivm_getAccount', { address }));
  }

  /** Balance in wei. */
  async getBalance(address: Address): Promise<bigint> {
    const result = (await this.request('aivm_getBalance', { address })) as { balanceWei?: unknown } | null;
    return big(result?.balanceWei, 'balanceWei');
  }

  /** Proof of a raw state key against the state root at `height` (default latest); check it with {@link verifyStateProof}. */
  async getProof(key: Uint8Array | Hex, height?: bigint | number): Promise<ProvenValue> {
    const params: { key: Hex; height?: bigint | number } = {
      key: typeof key === 'string' ? key : bytesToHex(key),
    };
    if (height !== undefined) params.height = height;
    return parseProof(await this.request('aivm_getProof', params));
  }

  /** Sends signed wire bytes; returns the transaction hash. */
  async sendRawTx(raw: Uint8Array | Hex): Promise<Hex> {
    const tx = typeof raw === 'string' ? raw : bytesToHex(raw);
    const result = (await this.request('aivm_sendRawTx', { tx })) as { hash: Hex };
    return result.hash;
  }

  /** The gas the node estimates for an unsigned transaction draft (it runs the message). */
  async estimateGas(draft: TxDraft): Promise<bigint> {
    const result = (await this.request('aivm_estimateGas', draft)) as { gas?: unknown };
    return big(result.gas, 'gas');
  }

  /** Module query, e.g. query('bank/balance', { address }); the result is the node's JSON. */
  async query<T = unknown>(path: string, params: object = {}): Promise<T> {
    return this.request<T>('aivm_query', { path, params });
  }

  /**
   * Uploads a blob (a model artifact) in 256 KiB chunks and resolves with its id (= modelId of the
   * bytes) once the node has verified the whole blob against the id and stored it. Only the chunks
   * the node still lacks are sent, so calling it again resumes an interrupted upload.
   */
  async uploadBlob(bytes: Uint8Array, opts: UploadBlobOptions = {}): Promise<{ id: string; size: number }> {
    if (!(bytes instanceof Uint8Array) || bytes.length === 0)
      throw new TypeError('uploadBlob needs a non-empty Uint8Array');
    const id = blobId(bytes);
    const size = bytes.length;
    const chunks = Math.ceil(size / BLOB_CHUNK_BYTES);
    const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 2));
    const slotDeadline = Date.now() + (opts.slotWaitMs ?? 60_000);
    let signature: Hex | undefined;
    if (opts.signer) {
      const td = blobUploadTypedData((await this.status()).chainId, id, size);
      const sig =
        opts.signer instanceof Uint8Array
          ? signTypedData(td, opts.signer)
          : await opts.signer.signTypedData(td);
      signature = bytesToHex(sig);
    }
    const done = new Set<number>();
    const send = async (index: number): Promise<BlobUploadAnswer> => {
      const data = bytes.subarray(index * BLOB_CHUNK_BYTES, Math.min(size, (index + 1) * BLOB_CHUNK_BYTES));
      const params = { id, size, index, data, ...(signature ? { signature } : {}) };
      let answer: BlobUploadAnswer;
      for (;;) {
        try {
          answer = parseBlobUpload(await this.request('aivm_blobUploadChunk', params));
          break;
        } catch (err) {
          // Every slot of the node (or this client's share of them) busy with uploads that make
          // progress: one frees up when it finishes or stalls.
          const busy =
            err instanceof RpcError && (err.code === BLOB_UPLOAD_CAPACITY || err.code === LIMIT_EXCEEDED);
          if (!busy || Date.now() > slotDeadline) throw err;
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
      done.add(index);
      const sentChunks = answer.complete ? chunks : done.size;
      const sentBytes = answer.complete ? size : Math.min(size, done.size * BLOB_CHUNK_BYTES);
      opts.onProgress?.({ id, sentBytes, totalBytes: size, chunks, sentChunks });
      return answer;
    };
    let state = await send(0);
    // The node answers each chunk with the chunks it still lacks; a second round covers an upload
    // the node dropped meanwhile (idle timeout).
    for (let round = 0; !state.complete && round < 3; round++) {
      const queue = [...state.missing];
      const answers: BlobUploadAnswer[] = [];
      await Promise.all(
        Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
          while (queue.length > 0) answers.push(await send(queue.shift()!));
        }),
      );
      state =
        answers.find((a) => a.complete) ??
        answers.reduce((best, a) => (a.missing.length < best.missing.length ? a : best), state);
    }
    if (!state.complete)
      throw new Error(
        `upload of blob ${id} did not complete: the node still lacks ${state.missing.length} chunk(s)`,
      );
    return { id, size };
  }

  /** A blob stored on the node, or an upload in progress (complete false); null when neither. */
  async blobStat(id: string): Promise<BlobStat | null> {
    const result = await this.request('aivm_blobStat', { id });
    return result === null ? null : parseBlobStat(result);
  }

  /**
   * Downloads a blob chunk by chunk and checks every chunk against its hash and the whole against
   * the id ({@link MalformedResponseError} otherwise). Null when the node does not hold the complete blob.
   */
  async getBlob(id: string, opts: { concurrency?: number } = {}): Promise<Uint8Array | null> {
    const stat = await this.blobStat(id);
    if (!stat?.complete) return null;
    const out = new Uint8Array(stat.size);
    const queue = Array.from({ length: stat.chunks }, (_, i) => i);
    const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 4));
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        while (queue.length > 0) {
          const index = queue.shift()!;
          const field = `blob chunk ${index}`;
          const result = (await this.request('aivm_blobChunk', { id, index })) as { data?: unknown } | null;
          if (typeof result?.data !== 'string' || !/^0x(?:[0-9a-fA-F]{2})*$/.test(result.data))
            throw new MalformedResponseError(field, 'expected 0x hex data');
          const data = hexToBytes(result.data as Hex);
          const want = Math.min(stat.chunkBytes, stat.size - index * stat.chunkBytes);
          if (data.length !== want)
            throw new MalformedResponseError(field, `${data.length} bytes, want ${want}`);
          if (bytesToHex(sha256(data)).slice(2) !== stat.chunkHashes[index])
            throw new MalformedResponseError(field, 'does not match its hash');
          out.set(data, index * stat.chunkBytes);
        }
      }),
    );
    if (blobId(out) !== id) throw new MalformedResponseError('blob', `content does not hash to ${id}`);
    return out;
  }

  /**
   * Polls until the transaction is committed; resolves with it and its receipt. Fails with
   * {@link TxDroppedError} as soon as the node reports it dropped (asked while it is not committed; a node
   * without aivm_getTxStatus is only polled for the transaction), {@link RpcTimeoutError} after timeoutMs.
   */
  async waitForTx(hash: Hex, opts: WaitForTxOptions = {}): Promise<TxRecord> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const pollMs = opts.pollMs ?? 200;
    const deadline = Date.now() + timeoutMs;
    let askStatus = true;
    for (;;) {
      const rec = await this.getTx(hash);
      if (rec) return rec;
      if (askStatus) {
        const status = await this.getTxStatus(hash).catch((err: unknown) => {
          if (err instanceof RpcError && err.code === METHOD_NOT_FOUND) return undefined;
          throw err;
        });
        if (status === undefined) askStatus = false;
        else if (status.status === 'dropped') throw new TxDroppedError(hash, status.reason, status.code);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new RpcTimeoutError(`transaction ${hash} not committed within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, Math.min(pollMs, left)));
    }
  }

  /**
   * Subscribes over the WebSocket (opened on first use). Resolves once the node confirmed; the
   * returned function ends the subscription (and closes the socket when it was the last one).
   */
  async subscribe<T extends SubscriptionTopic>(
    topic: T,
    filter: SubscriptionFilter,
    onEvent: (event: SubscriptionEvents[T]) => void,
  ): Promise<() => Promise<void>> {
    const id = (await this.#wsRequest('aivm_subscribe', { topic, filter })) as string;
    this.#subs.set(id, (result) => {
      try {
        onEvent(parseEvent(topic, result));
      } catch (err) {
        this.#onError(err);
      }
    });
    return async () => {
      if (!this.#subs.delete(id)) return;
      if (this.#ws?.readyState === WS_OPEN) await this.#wsRequest('aivm_unsubscribe', { subscription: id });
      if (this.#subs.size === 0 && this.#wsPending.size === 0) this.#closeSocket();
    };
  }

  /** Aborts requests in flight, ends subscriptions and closes the WebSocket. */
  close(): void {
    this.#closed = true;
    for (const c of this.#inflight) c.abort();
    this.#inflight.clear();
    this.#subs.clear();
    this.#closeSocket();
  }

  #closeSocket(): void {
    const ws = this.#ws;
    this.#ws = undefined;
    this.#wsOpening = undefined;
    this.#failPending(new Error('WebSocket closed'));
    if (ws && ws.readyState !== WS_CLOSED) ws.close();
  }

  #failPending(err: Error): void {
    for (const p of this.#wsPending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.#wsPending.clear();
  }

  #socket(): Promise<WebSocket> {
    if (this.#closed) return Promise.reject(new Error('client is closed'));
    if (this.#ws?.readyState === WS_OPEN) return Promise.resolve(this.#ws);
    if (this.#wsOpening) return this.#wsOpening;
    const WebSocketClass = this.#WebSocket;
    if (!WebSocketClass)
      return Promise.reject(
        new Error(
          'this runtime has no WebSocket class (Node 20): pass one for subscriptions, e.g. ' +
            "new AivmClient(url, { WebSocket }) with WebSocket from the 'ws' package",
        ),
      );
    const opening = new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocketClass(this.wsUrl);
      const timer = setTimeout(() => {
        reject(new RpcTimeoutError(`WebSocket ${this.wsUrl} did not open within ${this.timeoutMs} ms`));
        ws.close();
      }, this.timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        this.#ws = ws;
        resolve(ws);
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`WebSocket ${this.wsUrl} failed`));
      };
      ws.onclose = () => {
        clearTimeout(timer);
        reject(new Error(`WebSocket ${this.wsUrl} closed`));
        if (this.#ws === ws) {
          this.#ws = undefined;
          this.#wsOpening = undefined;
          this.#subs.clear();
          this.#failPending(new Error('WebSocket closed by the node'));
        }
      };
      ws.onmessage = (ev: MessageEvent) => this.#onMessage(ev.data);
    });
    this.#wsOpening = opening;
    opening.catch(() => {
      if (this.#wsOpening === opening) this.#wsOpening = undefined;
    });
    return opening;
  }

  #onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: { id?: unknown; method?: string; params?: { subscription?: string; result?: unknown } };
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.method === 'aivm_subscription') {
      const sub = msg.params?.subscription;
      if (sub !== undefined) this.#subs.get(sub)?.(msg.params?.result);
      return;
    }
    const pending = typeof msg.id === 'number' ? this.#wsPending.get(msg.id) : undefined;
    if (!pending) return;
    this.#wsPending.delete(msg.id as number);
    clearTimeout(pending.timer);
    try {
      pending.resolve(answerOf(msg));
    } catch (err) {
      pending.reject(err);
    }
  }

  async #wsRequest(method: string, params: object): Promise<unknown> {
    const ws = await this.#socket();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#wsPending.delete(id);
        reject(new RpcTimeoutError(`${method} got no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.#wsPending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params: toJsonParams(params) }));
    });
  }
}
