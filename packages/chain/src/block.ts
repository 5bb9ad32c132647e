// Blocks, headers, commits and receipts, with their canonical encodings and hashes.

import { decode, encode, type Infer, t } from '@aivm/codec';
import { bytesToHex, type Hex, keccak256 } from '@aivm/crypto';

export const HeaderSchema = t.struct('Header', {
  chainId: t.uint64,
  height: t.uint64,
  timeMs: t.uint64,
  parentHash: t.bytes32,
  stateRoot: t.bytes32,
  txRoot: t.bytes32,
  resultsRoot: t.bytes32,
  validatorSetHash: t.bytes32,
  lastCommitHash: t.bytes32,
  gasUsed: t.uint64,
  proposer: t.address,
});
export type Header = Infer<typeof HeaderSchema>;

/** Most validators a set (and so a commit) may hold; staking's maxValidators is bounded by it. */
export const MAX_VALIDATORS = 1_000;

export const CommitSigSchema = t.struct('CommitSig', { validator: t.address, signature: t.bytes(64) });

/** Signatures of validators holding >2/3 of voting power on one block hash. */
export const CommitSchema = t.struct('Commit', {
  height: t.uint64,
  round: t.uint32,
  blockHash: t.bytes32,
  signatures: t.array(CommitSigSchema, MAX_VALIDATORS),
});
export type Commit = Infer<typeof CommitSchema>;

export const MAX_BLOCK_TXS = 20_000;

/**
 * The parent's commit as carried in a block: the round it was decided in (the signatures are over
 * that round's precommit bytes) and the precommit signatures. Empty, round 0, in block 1.
 */
export const LastCommitSchema = t.struct('LastCommit', {
  round: t.uint32,
  signatures: t.array(CommitSigSchema, MAX_VALIDATORS),
});
export type LastCommit = Infer<typeof LastCommitSchema>;

export const BlockSchema = t.struct('Block', {
  header: HeaderSchema,
  txs: t.array(t.bytes(64 * 1024), MAX_BLOCK_TXS),
  /** Commit of the parent block (empty for the first block). */
  lastCommit: LastCommitSchema,
});
export type Block = Infer<typeof BlockSchema>;

/** Bounds of events: the receipt schema's, checked when an event is emitted (ExecContext.emit). */
export const EVENT_LIMITS = {
  name: 64,
  attributes: 64,
  key: 64,
  valueBytes: 4_096,
  /** Events of one transaction's receipt (block hooks are not bounded by it: their work has budgets). */
  perContext: 1_000,
} as const;

export const EventSchema = t.struct('Event', {
  module: t.string(EVENT_LIMITS.name),
  type: t.string(EVENT_LIMITS.name),
  attributes: t.array(
    t.struct('Attribute', { key: t.string(EVENT_LIMITS.key), value: t.string(EVENT_LIMITS.valueBytes) }),
    EVENT_LIMITS.attributes,
  ),
});

/**
 * What a block commits to for each transaction (hashed into resultsRoot), as CometBFT hashes a
 * result's code and gas but never its log: the failure code (0 for success, else a code of the
 * ERR table), gas, fee and events. Error text can depend on the machine, so it is not here.
 */
export const ConsensusReceiptSchema = t.struct('ConsensusReceipt', {
  txHash: t.bytes32,
  code: t.uint32,
  gasUsed: t.uint64,
  feeWei: t.uint256,
  events: t.array(EventSchema, EVENT_LIMITS.perContext),
});

/** Bytes of error text a receipt keeps for people (longer text is cut at a character boundary). */
export const MAX_ERROR_TEXT_BYTES = 512;

/** A receipt as nodes store and serve it: the consensus fields plus the error text, not hashed. */
export const ReceiptSchema = t.struct('Receipt', {
  ...ConsensusReceiptSchema.fields,
  error: t.string(MAX_ERROR_TEXT_BYTES),
});
export type Receipt = Infer<typeof ReceiptSchema>;

/** The canonical bytes of a receipt's consensus part: what resultsRoot commits to. */
export function encodeConsensusReceipt(r: Receipt): Uint8Array {
  return encode(ConsensusReceiptSchema, {
    txHash: r.txHash,
    code: r.code,
    gasUsed: r.gasUsed,
    feeWei: r.feeWei,
    events: r.events,
  });
}

/** A validator as hashed into validatorSetHash: consensus address, ed25519 key, voting power. */
export const ValidatorSchema = t.struct('Validator', {
  address: t.address,
  pubKey: t.bytes32,
  power: t.uint64,
});
/**
 * A member of the validator set. `priority` is the proposer priority (Tendermint's weighted
 * round-robin): stored with the set but excluded from validatorSetHash, because it changes every
 * block while the set itself rarely does.
 */
export type Validator = Infer<typeof ValidatorSchema> & { priority?: bigint };
export const ValidatorSetSchema = t.array(ValidatorSchema, MAX_VALIDATORS);

export function headerHash(header: Header): Uint8Array {
  return keccak256(encode(HeaderSchema, header));
}

export function blockHash(block: Block): Hex {
  return bytesToHex(headerHash(block.header));
}

export function encodeBlock(block: Block): Uint8Array {
  return encode(BlockSchema, block);
}

export function decodeBlock(bytes: Uint8Array): Block {
  return decode(BlockSchema, bytes);
}

/** Hash of a set in the order given (sets are kept in canonical order); priorities excluded. */
export function validatorSetHash(validators: readonly Validator[]): Uint8Array {
  return keccak256(
    encode(
      ValidatorSetSchema,
      validators.map((v) => ({ address: v.address, pubKey: v.pubKey, power: v.power })),
    ),
  );
}

export const VOTE_PREVOTE = 1;
export const VOTE_PRECOMMIT = 2;
export type VoteKind = typeof VOTE_PREVOTE | typeof VOTE_PRECOMMIT;

const VoteSignSchema = t.struct('VoteSignBytes', {
  domain: t.string(32),
  chainId: t.uint64,
  kind: t.uint8,
  height: t.uint64,
  round: t.uint32,
  blockHash: t.bytes32,
});

/**
 * Bytes a validator signs for a prevote or precommit: domain-separated and bound to chain, kind,
 * height and round. A vote for nil carries 32 zero bytes as its block hash.
 */
export function voteSignBytes(
  chainId: bigint,
  kind: VoteKind,
  height: bigint,
  round: number,
  blockHash: Uint8Array,
): Uint8Array {
  return encode(VoteSignSchema, { domain: 'aivm/vote', chainId, kind, height, round, blockHash });
}

/** Bytes a validator signs to commit a block: its precommit for that block. */
export function commitSignBytes(
  chainId: bigint,
  height: bigint,
  round: number,
  hash: Uint8Array,
): Uint8Array {
  return voteSignBytes(chainId, VOTE_PRECOMMIT, height, round, hash);
}

/** A signed prevote or precommit, as gossiped and as submitted in double-sign evidence. */
export const SignedVoteSchema = t.struct('SignedVote', {
  kind: t.uint8,
  height: t.uint64,
  round: t.uint32,
  blockHash: t.bytes32,
  /** Consensus address of the signer: validatorAddress(pubKey). */
  validator: t.address,
  signature: t.bytes(64),
});
export type SignedVote = Infer<typeof SignedVoteSchema>;

/** validRound of a proposal that re-proposes nothing (Tendermint's -1). */
export const NO_VALID_ROUND = 0xffff_ffff;

/** A block proposal; validRound is NO_VALID_ROUND (0xffffffff) when there is none. */
export const ProposalSchema = t.struct('Proposal', {
  height: t.uint64,
  round: t.uint32,
  validRound: t.uint32,
  blockHash: t.bytes32,
  proposer: t.address,
  signature: t.bytes(64),
});
export type Proposal = Infer<typeof ProposalSchema>;

const ProposalSignSchema = t.struct('ProposalSignBytes', {
  domain: t.string(32),
  chainId: t.uint64,
  height: t.uint64,
  round: t.uint32,
  validRound: t.uint32,
  blockHash: t.bytes32,
});

export function proposalSignBytes(
  chainId: bigint,
  height: bigint,
  round: number,
  validRound: number,
  blockHash: Uint8Array,
): Uint8Array {
  return encode(ProposalSignSchema, {
    domain: 'aivm/proposal',
    chainId,
    height,
    round,
    validRound,
    blockHash,
  });
}
