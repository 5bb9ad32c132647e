// Options of a p2p node, their defaults, and validation at the boundary.

import type { Logger } from 'pino';
import { InvalidP2POptionsError } from './errors.ts';

export const TOPICS = ['txs', 'proposals', 'votes', 'blocks', 'attestations'] as const;
export type Topic = (typeof TOPICS)[number];
export type Verdict = 'accept' | 'reject' | 'ignore';

export type P2PLimits = {
  /** Largest gossip payload per topic; bigger ones are rejected before the handler and penalised. */
  maxMessageBytes?: Partial<Record<Topic, number>>;
  maxRequestBytes?: number;
  maxResponseBytes?: number;
  /** Gossip messages accepted per second from one peer (all topics together); excess dropped + penalised. */
  messagesPerSecondPerPeer?: number;
  /** Bucket size for gossip; defaults to 2 s worth of messagesPerSecondPerPeer. */
  messageBurstPerPeer?: number;
  requestsPerSecondPerPeer?: number;
  requestBurstPerPeer?: number;
  /** Connections kept before libp2p prunes the lowest-valued ones (persistent peers are added on top). */
  maxPeers?: number;
  /** Default timeout of request(); also bounds how long a served stream may take to send its request. */
  requestTimeoutMs?: number;
};

export type P2PScoring = {
  /** A peer whose score falls below this is disconnected and refused for banMs (persistent peers excepted). */
  disconnectThreshold?: number;
  banMs?: number;
  /** App-score points taken per offence. */
  penalties?: Partial<Record<Offence, number>>;
  /** Fraction of the app score kept each second; it recovers towards 0. */
  appScoreDecay?: number;
};

export type Offence = 'oversize' | 'rateLimit' | 'reject' | 'badRequest' | 'manual';

export type P2POptions = {
  network: string;
  listen: string[];
  /** Protobuf-encoded libp2p private key (see generatePrivateKey); a fresh Ed25519 key when absent. */
  privateKey?: Uint8Array;
  /** Multiaddrs ending in /p2p/<id>: dialed at start, re-dialed with backoff whenever lost, never pruned. */
  peers?: string[];
  /** Multiaddrs ending in /p2p/<id>: dialed once at start. */
  seeds?: string[];
  limits?: P2PLimits;
  scoring?: P2PScoring;
  redial?: { initialMs?: number; maxMs?: number };
  logger?: Logger;
};

export type ResolvedOptions = {
  network: string;
  listen: string[];
  peers: string[];
  seeds: string[];
  limits: Required<Omit<P2PLimits, 'maxMessageBytes'>> & { maxMessageBytes: Record<Topic, number> };
  scoring: Required<Omit<P2PScoring, 'penalties'>> & { penalties: Record<Offence, number> };
  redial: { initialMs: number; maxMs: number };
};

export const DEFAULT_MAX_MESSAGE_BYTES: Record<Topic, number> = {
  txs: 128 * 1024,
  proposals: 4 * 1024 * 1024,
  votes: 8 * 1024,
  blocks: 4 * 1024 * 1024,
  /** Validators' attestation signatures (a batch per committed block; docs/evm.md). */
  attestations: 32 * 1024,
};

export const DEFAULT_PENALTIES: Record<Offence, number> = {
  oversize: 20,
  rateLimit: 2,
  reject: 10,
  badRequest: 20,
  manual: 20,
};

const NETWORK_RE = /^[A-Za-z0-9._-]{1,64}$/;

export function resolveOptions(o: P2POptions): ResolvedOptions {
  if (typeof o.network !== 'string' || !NETWORK_RE.test(o.network))
    throw new InvalidP2POptionsError(`network must match ${NETWORK_RE}, got ${JSON.stringify(o.network)}`);
  if (!Array.isArray(o.listen)) throw new InvalidP2POptionsError('listen must be an array of multiaddrs');
  const l = o.limits ?? {};
  const maxMessageBytes = { ...DEFAULT_MAX_MESSAGE_BYTES };
  for (const [t, v] of Object.entries(l.maxMessageBytes ?? {})) {
    if (!(TOPICS as readonly string[]).includes(t))
      throw new InvalidP2POptionsError(`unknown topic '${t}' in maxMessageBytes`);
    maxMessageBytes[t as Topic] = positiveInt(`maxMessageBytes.${t}`, v);
  }
  const rate = positive('messagesPerSecondPerPeer', l.messagesPerSecondPerPeer ?? 1000);
  const reqRate = positive('requestsPerSecondPerPeer', l.requestsPerSecondPerPeer ?? 20);
  const s = o.scoring ?? {};
  const penalties = { ...DEFAULT_PENALTIES };
  for (const [k, v] of Object.entries(s.penalties ?? {})) {
    if (!(k in DEFAULT_PENALTIES))
      throw new InvalidP2POptionsError(`unknown offence '${k}' in scoring.penalties`);
    penalties[k as Offence] = nonNegative(`scoring.penalties.${k}`, v);
  }
  const disconnectThreshold = s.disconnectThreshold ?? -100;
  if (!(disconnectThreshold < 0))
    throw new InvalidP2POptionsError('scoring.disconnectThreshold must be negative');
  const appScoreDecay = s.appScoreDecay ?? 0.9;
  if (!(appScoreDecay > 0 && appScoreDecay < 1))
    throw new InvalidP2POptionsError('scoring.appScoreDecay must be in (0, 1)');
  const initialMs = positive('redial.initialMs', o.redial?.initialMs ?? 500);
  return {
    network: o.network,
    listen: [...o.listen],
    peers: [...(o.peers ?? [])],
    seeds: [...(o.seeds ?? [])],
    limits: {
      maxMessageBytes,
      maxRequestBytes: positiveInt('maxRequestBytes', l.maxRequestBytes ?? 64 * 1024),
      maxResponseBytes: positiveInt('maxResponseBytes', l.maxResponseBytes ?? 16 * 1024 * 1024),
      messagesPerSecondPerPeer: rate,
      messageBurstPerPeer: positive('messageBurstPerPeer', l.messageBurstPerPeer ?? rate * 2),
      requestsPerSecondPerPeer: reqRate,
      requestBurstPerPeer: positive('requestBurstPerPeer', l.requestBurstPerPeer ?? reqRate * 2),
      maxPeers: positiveInt('maxPeers', l.maxPeers ?? 50),
      requestTimeoutMs: positiveInt('requestTimeoutMs', l.requestTimeoutMs ?? 10_000),
    },
    scoring: {
      disconnectThreshold,
      banMs: nonNegative('scoring.banMs', s.banMs ?? 60_000),
      penalties,
      appScoreDecay,
    },
    redial: { initialMs, maxMs: Math.max(initialMs, positive('redial.maxMs', o.redial?.maxMs ?? 30_000)) },
  };
}

function positive(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new InvalidP2POptionsError(`${name} must be a positive number, got ${v}`);
  return v;
}
function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new InvalidP2POptionsError(`${name} must be a positive integer, got ${v}`);
  return v;
}
function nonNegative(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new InvalidP2POptionsError(`${name} must be a non-negative number, got ${v}`);
  return v;
}

/** Wire names: the network id namespaces every topic and protocol so two chains never mix. */
export const topicId = (network: string, topic: Topic): string => `/aivm/${network}/${topic}/1`;
export const rpcId = (network: string, protocol: string): string => `/aivm/${network}/rpc/${protocol}/1`;
export const helloId = (network: string): string => `/aivm/${network}/hello/1`;

const PROTOCOL_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export function checkProtocolName(protocol: string): void {
  if (typeof protocol !== 'string' || !PROTOCOL_RE.test(protocol))
    throw new InvalidP2POptionsError(
      `protocol name must match ${PROTOCOL_RE}, got ${JSON.stringify(protocol)}`,
    );
}
