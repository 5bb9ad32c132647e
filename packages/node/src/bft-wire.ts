// What validators and full nodes say to each other over p2p: proposals (with their block), signed
// votes, and the sync protocol's requests and responses. Every message is a canonical codec
// struct, so a malformed or oversized one fails to decode and is rejected at the boundary.

import { BlockSchema, CommitSchema, ProposalSchema, SignedVoteSchema } from '@aivm/chain';
import { decode, encode, type Infer, t } from '@aivm/codec';

export const ProposalMessageSchema = t.struct('ProposalMessage', {
  proposal: ProposalSchema,
  block: BlockSchema,
});
export type ProposalMessage = Infer<typeof ProposalMessageSchema>;

export const StatusSchema = t.struct('Status', {
  chainId: t.uint64,
  height: t.uint64,
  headHash: t.bytes32,
});
export type PeerStatus = Infer<typeof StatusSchema>;

/** Most blocks one sync response carries. */
export const MAX_SYNC_BLOCKS = 32;

export const BlocksRequestSchema = t.struct('BlocksRequest', { from: t.uint64, count: t.uint32 });

export const BlocksResponseSchema = t.array(
  t.struct('CommittedBlock', { block: BlockSchema, commit: CommitSchema }),
  MAX_SYNC_BLOCKS,
);
export type CommittedBlock = Infer<typeof BlocksResponseSchema>[number];

/** A block by hash, from a peer's proposals or chain (for a decided block this node never received). */
export const BlockByHashRequestSchema = t.struct('BlockByHashRequest', { hash: t.bytes32 });
export const BlockByHashResponseSchema = t.array(BlockSchema, 1);

/**
 * Everything a node holds for its current height: pulled by peers that missed gossip (joined late,
 * restarted, or lost messages), because gossip delivers each message once and never again.
 */
export const RoundStateRequestSchema = t.struct('RoundStateRequest', {
  height: t.uint64,
  /** Proposals (round and block hash) the requester already holds: their large blocks are not sent again. */
  haveProposals: t.array(t.struct('HeldProposal', { round: t.uint32, blockHash: t.bytes32 }), 4),
});
export const MAX_PULLED_VOTES = 4_096;
export const RoundStateResponseSchema = t.struct('RoundStateResponse', {
  proposals: t.array(ProposalMessageSchema, 4),
  votes: t.array(SignedVoteSchema, MAX_PULLED_VOTES),
});

export const PROTOCOL_STATUS = 'status';
export const PROTOCOL_ROUND_STATE = 'round-state';
export const PROTOCOL_BLOCKS = 'blocks';
export const PROTOCOL_BLOCK_BY_HASH = 'block-by-hash';

export { decode, encode, SignedVoteSchema };
