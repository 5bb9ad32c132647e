// @aivm/p2p: the transport layer (gossip + request/response over libp2p), generic over bytes.

export * from './errors.ts';
export { FrameTooLargeError } from './frames.ts';
export { decodePrivateKey, generatePrivateKey, peerIdOf } from './keys.ts';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_PENALTIES,
  type Offence,
  type P2PLimits,
  type P2POptions,
  type P2PScoring,
  rpcId,
  TOPICS,
  type Topic,
  topicId,
  type Verdict,
} from './options.ts';
export { type GossipHandler, P2P, type P2PEvents, type PeerInfo, type RequestHandler } from './p2p.ts';
