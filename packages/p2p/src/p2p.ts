// The p2p node: libp2p (TCP, noise, yamux, identify, gossipsub) behind a bytes-only API, with
// per-peer size and rate limits, scoring, bans and persistent-peer re-dialing.

import { createHash } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { type GossipSub, gossipsub, type Message, TopicValidatorResult } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import type { Logger } from 'pino';
import {
  InvalidP2POptionsError,
  MessageTooLargeError,
  NotStartedError,
  P2PError,
  ProtocolError,
  RemoteError,
  RequestTimeoutError,
  ResponseTooLargeError,
} from './errors.ts';
import {
  encodeErrorResponse,
  encodeRequest,
  encodeResponse,
  FrameTooLargeError,
  readFrame,
  STATUS_ERROR,
  STATUS_OK,
} from './frames.ts';
import { decodePrivateKey } from './keys.ts';
import {
  checkProtocolName,
  helloId,
  type Offence,
  type P2POptions,
  type ResolvedOptions,
  resolveOptions,
  rpcId,
  TOPICS,
  type Topic,
  topicId,
  type Verdict,
} from './options.ts';
import { monotonicMs, PeerRateLimiter } from './rate.ts';
import { AppScores, BanList, gossipScoreParams, gossipScoreThresholds } from './scoring.ts';

export type GossipHandler = (data: Uint8Array, from: string) => Verdict | Promise<Verdict>;
export type RequestHandler = (request: Uint8Array, from: string) => Promise<Uint8Array>;
export type PeerInfo = { id: string; addrs: string[]; score: number };
export type P2PEvents = {
  'peer:connect': (peer: string) => void;
  'peer:disconnect': (peer: string) => void;
  /** Fired when a peer is disconnected and refused because its score fell below the threshold. */
  'peer:banned': (peer: string, score: number) => void;
};

type Services = { identify: unknown; pubsub: GossipSub };
type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
const noop = () => {};
const SILENT: Log = { debug: noop, info: noop, warn: noop, error: noop } as unknown as Log;

const TICK_MS = 1000;

export class P2P {
  readonly peerId: string;
  private readonly o: ResolvedOptions;
  private readonly log: Log;
  private node!: Libp2p<Services>;
  private started = false;
  private readonly handlers = new Map<Topic, GossipHandler>();
  private readonly rpcHandlers = new Map<string, RequestHandler>();
  private readonly pendingRegistrations: Promise<void>[] = [];
  private readonly listeners: { [K in keyof P2PEvents]: Set<P2PEvents[K]> } = {
    'peer:connect': new Set(),
    'peer:disconnect': new Set(),
    'peer:banned': new Set(),
  };
  private readonly gossipLimiter: PeerRateLimiter;
  private readonly requestLimiter: PeerRateLimiter;
  private readonly appScores: AppScores;
  private readonly bans = new BanList(monotonicMs);
  /** persistent peer id -> its configured multiaddr */
  private readonly persistent = new Map<string, string>();
  private readonly redialTimers = new Map<string, { timer?: NodeJS.Timeout; delayMs: number }>();
  private tickTimer?: NodeJS.Timeout;

  private constructor(o: ResolvedOptions, peerId: string, log: Log) {
    this.o = o;
    this.peerId = peerId;
    this.log = log;
    this.gossipLimiter = new PeerRateLimiter(o.limits.messagesPerSecondPerPeer, o.limits.messageBurstPerPeer);
    this.requestLimiter = new PeerRateLimiter(
      o.limits.requestsPerSecondPerPeer,
      o.limits.requestBurstPerPeer,
    );
    this.appScores = new AppScores(o.scoring.appScoreDecay);
    for (const addr of o.peers) this.persistent.set(peerOfAddr(addr, 'peers'), addr);
    for (const addr of o.seeds) peerOfAddr(addr, 'seeds');
  }

  static async create(opts: P2POptions): Promise<P2P> {
    const o = resolveOptions(opts);
    const privateKey = opts.privateKey ? decodePrivateKey(opts.privateKey) : undefined;
    const key = privateKey ?? (await generateKeyPair('Ed25519'));
    const log = (opts.logger?.child({ module: 'p2p' }) as Log | undefined) ?? SILENT;
    const p = new P2P(o, peerIdFromPrivateKey(key).toString(), log);
    const maxGossip = Math.max(...TOPICS.map((t) => o.limits.maxMessageBytes[t]));
    const banned = (peer: PeerId) => p.bans.isBanned(peer.toString());
    p.node = await createLibp2p({
      start: false,
      privateKey: key,
      addresses: { listen: o.listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: banned,
        denyInboundEncryptedConnection: banned,
        denyOutboundEncryptedConnection: banned,
      },
      connectionManager: { maxConnections: o.limits.maxPeers + o.peers.length },
      services: {
        identify: identify(),
        pubsub: gossipsub({
          // Consensus payloads carry their own validator signatures; signing every gossip
          // envelope with the node key would only cost CPU. Ids are content hashes instead.
          globalSignaturePolicy: 'StrictNoSign',
          msgIdFn: (m: Message) => createHash('sha256').update(m.topic).update('\0').update(m.data).digest(),
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          emitSelf: false,
          allowedTopics: TOPICS.map((t) => topicId(o.network, t)),
          // frames above the largest topic limit are dropped undecoded; per-topic limits apply later
          maxInboundDataLength: maxGossip + 64 * 1024,
          scoreParams: gossipScoreParams(o.network, (peer) => p.appScores.get(peer)),
          scoreThresholds: gossipScoreThresholds(o.scoring.disconnectThreshold),
        }),
      },
    });
    p.wire();
    return p;
  }

  private get pubsub(): GossipSub {
    return this.node.services.pubsub;
  }

  private wire(): void {
    const node = this.node;
    node.addEventListener('peer:connect', (e) => {
      const id = e.detail.toString();
      const r = this.redialTimers.get(id);
      if (r) r.delayMs = this.o.redial.initialMs;
      this.emit('peer:connect', id);
    });
    node.addEventListener('peer:disconnect', (e) => {
      const id = e.detail.toString();
      this.gossipLimiter.forget(id);
      this.requestLimiter.forget(id);
      if (this.started && this.persistent.has(id)) this.scheduleRedial(id);
      this.emit('peer:disconnect', id);
    });
    // Peers that do not speak our network's hello protocol belong to another chain: drop them.
    node.addEventListener('peer:identify', (e) => {
      if (!e.detail.protocols.includes(helloId(this.o.network))) {
        const id = e.detail.peerId.toString();
        this.log.info({ peer: id }, 'peer is on another network; disconnecting');
        node.hangUp(e.detail.peerId).catch(noop);
      }
    });
    for (const t of TOPICS) {
      this.pubsub.topicValidators.set(topicId(this.o.network, t), (peer, msg) => this.validate(t, peer, msg));
    }
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.node.handle(helloId(this.o.network), (stream) => {
      stream.abort(new ProtocolError('hello carries no data'));
    });
    await this.node.start();
    this.started = true;
    await Promise.all(this.pendingRegistrations.splice(0));
    for (const t of this.handlers.keys()) this.pubsub.subscribe(topicId(this.o.network, t));
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.tickTimer.unref();
    for (const [id, addr] of this.persistent) {
      // the highest tag value makes the connection pruner drop persistent peers last
      await this.node.peerStore.merge(peerIdFromString(id), {
        multiaddrs: [multiaddr(addr)],
        tags: { 'aivm-persistent': { value: 100 } },
      });
      this.scheduleRedial(id, 0);
    }
    for (const addr of this.o.seeds) {
      this.node
        .dial(multiaddr(addr))
        .catch((e: Error) => this.log.warn({ addr, err: e.message }, 'seed dial failed'));
    }
    this.log.info({ peerId: this.peerId, addrs: this.multiaddrs() }, 'p2p started');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.tickTimer);
    for (const r of this.redialTimers.values()) clearTimeout(r.timer);
    this.redialTimers.clear();
    await this.node.stop();
  }

  multiaddrs(): string[] {
    return this.node.getMultiaddrs().map((m) => m.toString());
  }

  on<K extends keyof P2PEvents>(event: K, cb: P2PEvents[K]): () => void {
    this.listeners[event].add(cb);
    return () => this.listeners[event].delete(cb);
  }

  private emit<K extends keyof P2PEvents>(event: K, ...args: Parameters<P2PEvents[K]>): void {
    for (const cb of this.listeners[event]) {
      try {
        (cb as (...a: Parameters<P2PEvents[K]>) => void)(...args);
      } catch (e) {
        this.log.error({ event, err: (e as Error).message }, 'event listener threw');
      }
    }
  }

  // ---- gossip ----

  /** One handler per topic; it both validates and consumes (its verdict decides forwarding). */
  subscribe(topic: Topic, handler: GossipHandler): void {
    if (!(TOPICS as readonly string[]).includes(topic))
      throw new InvalidP2POptionsError(`unknown topic '${topic}'`);
    if (this.handlers.has(topic)) throw new InvalidP2POptionsError(`topic '${topic}' already has a handler`);
    this.handlers.set(topic, handler);
    if (this.started) this.pubsub.subscribe(topicId(this.o.network, topic));
  }

  async publish(topic: Topic, data: Uint8Array): Promise<void> {
    if (!this.started) throw new NotStartedError('publish');
    if (!(TOPICS as readonly string[]).includes(topic))
      throw new InvalidP2POptionsError(`unknown topic '${topic}'`);
    const limit = this.o.limits.maxMessageBytes[topic];
    if (data.length > limit) throw new MessageTooLargeError(`'${topic}' message`, data.length, limit);
    await this.pubsub.publish(topicId(this.o.network, topic), data);
  }

  private async validate(topic: Topic, peer: PeerId, msg: Message): Promise<TopicValidatorResult> {
    const from = peer.toString();
    const limit = this.o.limits.maxMessageBytes[topic];
    if (msg.data.length > limit) {
      this.offence(from, 'oversize', `'${topic}' message of ${msg.data.length} bytes > ${limit}`);
      return TopicValidatorResult.Reject;
    }
    if (!this.gossipLimiter.allow(from)) {
      // Ignore, not Reject: the message may be valid, only this peer is too fast.
      this.offence(from, 'rateLimit', 'gossip rate');
      return TopicValidatorResult.Ignore;
    }
    const handler = this.handlers.get(topic);
    if (handler === undefined) return TopicValidatorResult.Ignore;
    let verdict: Verdict;
    try {
      verdict = await handler(msg.data, from);
    } catch (e) {
      // Our handler's bug is not the peer's fault: drop without penalty, keep running.
      this.log.error({ topic, peer: from, err: (e as Error).message }, 'gossip handler threw');
      return TopicValidatorResult.Ignore;
    }
    if (verdict === 'accept') return TopicValidatorResult.Accept;
    if (verdict === 'reject') {
      this.offence(from, 'reject', `'${topic}' message rejected`);
      return TopicValidatorResult.Reject;
    }
    return TopicValidatorResult.Ignore;
  }

  // ---- request / response ----

  /** Serves `protocol` (e.g. 'blocks', 'status'); the handler's thrown message is sent back as the error reason. */
  handle(protocol: string, handler: RequestHandler): void {
    checkProtocolName(protocol);
    if (this.rpcHandlers.has(protocol))
      throw new InvalidP2POptionsError(`protocol '${protocol}' already has a handler`);
    this.rpcHandlers.set(protocol, handler);
    const reg = this.node
      .handle(
        rpcId(this.o.network, protocol),
        (stream, conn) => this.serve(protocol, handler, stream, conn.remotePeer.toString()),
        {
          maxInboundStreams: 16,
        },
      )
      .catch((e: Error) => this.log.error({ protocol, err: e.message }, 'could not register protocol'));
    this.pendingRegistrations.push(reg);
  }

  private async serve(
    protocol: string,
    handler: RequestHandler,
    stream: Stream,
    from: string,
  ): Promise<void> {
    const { maxRequestBytes, maxResponseBytes, requestTimeoutMs } = this.o.limits;
    try {
      if (!this.requestLimiter.allow(from)) {
        this.offence(from, 'rateLimit', `request rate on '${protocol}'`);
        await sendAndClose(stream, encodeErrorResponse('rate limited'));
        return;
      }
      const timer = setTimeout(
        () => stream.abort(new ProtocolError('request not received in time')),
        requestTimeoutMs,
      );
      let request: Uint8Array;
      try {
        request = (await readFrame(stream, 4, maxRequestBytes)).payload;
      } catch (e) {
        if (e instanceof FrameTooLargeError) {
          this.offence(from, 'badRequest', `'${protocol}' request: ${e.message}`);
          await sendAndClose(stream, encodeErrorResponse(`request too large: ${e.message}`));
        } else {
          stream.abort(e as Error);
        }
        return;
      } finally {
        clearTimeout(timer);
      }
      let response: Uint8Array;
      try {
        response = await handler(request, from);
      } catch (e) {
        this.log.debug({ protocol, peer: from, err: (e as Error).message }, 'request handler threw');
        await sendAndClose(stream, encodeErrorResponse((e as Error)?.message ?? String(e)));
        return;
      }
      if (response.length > maxResponseBytes) {
        this.log.warn(
          { protocol, size: response.length, limit: maxResponseBytes },
          'response over limit not sent',
        );
        await sendAndClose(
          stream,
          encodeErrorResponse(`response too large: ${response.length} > ${maxResponseBytes}`),
        );
        return;
      }
      await sendAndClose(stream, encodeResponse(STATUS_OK, response));
    } catch (e) {
      this.log.debug({ protocol, peer: from, err: (e as Error).message }, 'serving request failed');
      stream.abort(e as Error);
    }
  }

  async request(
    peer: string,
    protocol: string,
    request: Uint8Array,
    opts?: { timeoutMs?: number },
  ): Promise<Uint8Array> {
    if (!this.started) throw new NotStartedError('request');
    checkProtocolName(protocol);
    const { maxRequestBytes, maxResponseBytes } = this.o.limits;
    if (request.length > maxRequestBytes)
      throw new MessageTooLargeError('request', request.length, maxRequestBytes);
    const timeoutMs = opts?.timeoutMs ?? this.o.limits.requestTimeoutMs;
    const pid = parsePeerId(peer);
    const signal = AbortSignal.timeout(timeoutMs);
    const timeout = () => new RequestTimeoutError(peer, protocol, timeoutMs);
    let stream: Stream;
    try {
      stream = await this.node.dialProtocol(pid, rpcId(this.o.network, protocol), { signal });
    } catch (e) {
      if (signal.aborted) throw timeout();
      if ((e as Error).name === 'UnsupportedProtocolError')
        throw new RemoteError(peer, `does not serve '${protocol}'`);
      throw new P2PError(`cannot open '${protocol}' stream to ${peer}: ${(e as Error).message}`);
    }
    const onAbort = () => stream.abort(timeout());
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      stream.send(encodeRequest(request));
      await stream.close({ signal });
      const frame = await readFrame(stream, 5, maxResponseBytes);
      if (frame.status === STATUS_ERROR) throw new RemoteError(peer, new TextDecoder().decode(frame.payload));
      if (frame.status !== STATUS_OK)
        throw new ProtocolError(`peer ${peer} sent unknown response status ${frame.status}`);
      return frame.payload;
    } catch (e) {
      if (signal.aborted) throw timeout();
      if (e instanceof FrameTooLargeError) {
        stream.abort(e);
        this.offence(peer, 'badRequest', `'${protocol}' response: ${e.message}`);
        throw new ResponseTooLargeError(peer, e.sizeBytes, e.limitBytes);
      }
      stream.abort(e as Error);
      throw e instanceof P2PError
        ? e
        : new ProtocolError(`'${protocol}' request to ${peer} failed: ${(e as Error).message}`);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Peers in our gossipsub mesh for `topic`: the ones we forward others' messages to. Meshes form
   * at the next heartbeat (1 s) after a peer subscribes.
   */
  meshPeers(topic: Topic): string[] {
    const impl = this.pubsub as unknown as { getMeshPeers(t: string): string[] };
    return impl.getMeshPeers(topicId(this.o.network, topic)).map(String);
  }

  // ---- peers and scores ----

  /** Dials a multiaddr ending in /p2p/<id> once (no re-dial); resolves when connected. */
  async connect(addr: string): Promise<void> {
    if (!this.started) throw new NotStartedError('connect');
    peerOfAddr(addr, 'connect');
    await this.node.dial(multiaddr(addr));
  }

  /** Peers known to be subscribed to `topic` (a publish reaches them once this is non-empty). */
  topicPeers(topic: Topic): string[] {
    return this.pubsub.getSubscribers(topicId(this.o.network, topic)).map((p) => p.toString());
  }

  peers(): PeerInfo[] {
    return this.node.getPeers().map((p) => {
      const id = p.toString();
      return {
        id,
        addrs: this.node.getConnections(p).map((c) => c.remoteAddr.toString()),
        score: this.score(id),
      };
    });
  }

  /** Router score (topic behaviour) plus our app score; the router part refreshes once a second. */
  score(peer: string): number {
    const s = this.pubsub.getPeers().some((p) => p.toString() === peer) ? this.gossipScore(peer) : 0;
    return s !== 0 ? s : this.appScores.get(peer);
  }

  private gossipScore(peer: string): number {
    // getScore exists on the implementation, not on the exported GossipSub interface
    const impl = this.pubsub as unknown as { getScore?: (p: string) => number };
    return impl.getScore?.(peer) ?? this.appScores.get(peer);
  }

  /** App-level misbehaviour (a bad block, a forged vote); `amount` defaults to scoring.penalties.manual. */
  penalize(peer: string, reason: string, amount?: number): void {
    parsePeerId(peer);
    this.penalizeBy(peer, amount ?? this.o.scoring.penalties.manual, reason);
  }

  private offence(peer: string, kind: Offence, reason: string): void {
    this.penalizeBy(peer, this.o.scoring.penalties[kind], reason);
  }

  private penalizeBy(peer: string, amount: number, reason: string): void {
    const app = this.appScores.penalize(peer, amount);
    this.log.debug({ peer, reason, amount, appScore: app }, 'peer penalised');
    if (app < this.o.scoring.disconnectThreshold) this.ban(peer, app);
  }

  private ban(peer: string, score: number): void {
    // Persistent peers are operator-chosen: they stay connected (and rate-limited) whatever their score.
    if (this.persistent.has(peer) || this.bans.isBanned(peer)) return;
    this.bans.ban(peer, this.o.scoring.banMs);
    this.log.warn({ peer, score, banMs: this.o.scoring.banMs }, 'peer score below threshold; disconnecting');
    this.node.hangUp(peerIdFromString(peer)).catch(noop);
    this.emit('peer:banned', peer, score);
  }

  private tick(): void {
    this.appScores.tick();
    for (const p of this.pubsub.getPeers()) {
      const id = p.toString();
      const s = this.gossipScore(id);
      if (s < this.o.scoring.disconnectThreshold) this.ban(id, s);
    }
  }

  // ---- persistent peers ----

  private scheduleRedial(peer: string, delayMs?: number): void {
    if (!this.started) return;
    let r = this.redialTimers.get(peer);
    if (r === undefined) {
      r = { delayMs: this.o.redial.initialMs };
      this.redialTimers.set(peer, r);
    }
    if (r.timer !== undefined) return;
    const state = r;
    const wait = delayMs ?? state.delayMs;
    state.timer = setTimeout(async () => {
      state.timer = undefined;
      if (!this.started || this.node.getConnections(peerIdFromString(peer)).length > 0) return;
      const addr = this.persistent.get(peer) as string;
      try {
        await this.node.dial(multiaddr(addr));
        state.delayMs = this.o.redial.initialMs;
      } catch (e) {
        state.delayMs = Math.min(state.delayMs * 2, this.o.redial.maxMs);
        this.log.debug(
          { peer, addr, err: (e as Error).message, retryMs: state.delayMs },
          'persistent peer dial failed',
        );
        this.scheduleRedial(peer);
      }
    }, wait);
    state.timer.unref();
  }
}

async function sendAndClose(stream: Stream, bytes: Uint8Array): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain();
  await stream.close();
}

function parsePeerId(peer: string): PeerId {
  try {
    return peerIdFromString(peer);
  } catch {
    throw new InvalidP2POptionsError(`not a peer id: ${JSON.stringify(peer)}`);
  }
}

function peerOfAddr(addr: string, field: string): string {
  let id: string | undefined;
  try {
    id = multiaddr(addr)
      .getComponents()
      .find((c) => c.name === 'p2p')?.value;
  } catch (e) {
    throw new InvalidP2POptionsError(
      `${field}: invalid multiaddr ${JSON.stringify(addr)}: ${(e as Error).message}`,
    );
  }
  if (id === undefined) throw new InvalidP2POptionsError(`${field}: ${addr} must end in /p2p/<peer id>`);
  return parsePeerId(id).toString();
}
