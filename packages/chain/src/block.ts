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

export const CommitSigSchema = t.struct('CommitSig', { validator: t.address, signature: t.bytes(64) });

/** Signatures of validators holding >2/3 of voting power on one block hash. */
export const CommitSchema = t.struct('Commit', {
  height: t.uint64,
  round: t.uint32,
  blockHash: t.bytes32,
  signatures: t.array(CommitSigSchema, 1_000),
});
export type Commit = Infer<typeof CommitSchema>;

export const MAX_BLOCK_TXS = 20_000;

export const BlockSchema = t.struct('Block', {
  header: HeaderSchema,
  txs: t.array(t.bytes(64 * 1024), MAX_BLOCK_TXS),
  /** Commit of the parent block (empty for the first block). */
  lastCommit: t.array(CommitSigSchema, 1_000),
});
export type Block = Infer<typeof BlockSchema>;

export const EventSchema = t.struct('Event', {
  module: t.string(64),
  type: t.string(64),
  attributes: t.array(t.struct('Attribute', { key: t.string(64), value: t.string(4096) }), 64),
});

export const ReceiptSchema = t.struct('Receipt', {
  txHash: t.bytes32,
  success: t.bool,
  gasUsed: t.uint64,
  feeWei: t.uint256,
  error: t.string(1024),
  events: t.array(EventSchema, 1_000),
});
export type Receipt = Infer<typeof ReceiptSchema>;

export const ValidatorSchema = t.struct('Validator', {
  address: t.address,
  pubKey: t.bytes32,
  power: t.uint64,
});
export type Validator = Infer<typeof ValidatorSchema>;
export const ValidatorSetSchema = t.array(ValidatorSchema, 1_000);

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

export function validatorSetHash(validators: Validator[]): Uint8Array {
  return keccak256(encode(ValidatorSetSchema, validators));
}

/** Bytes a validator signs to commit a block: domain-separated, chain- and height-bound. */
export function commitSignBytes(
  chainId: bigint,
  height: bigint,
  round: number,
  hash: Uint8Array,
): Uint8Array {
  return encode(
    t.struct('CommitVote', {
      domain: t.string(32),
      chainId: t.uint64,
      height: t.uint64,
      round: t.uint32,
      blockHash: t.bytes32,
    }),
    {
      domain: 'aivm/commit',
      chainId,
      height,
      round,
      blockHash: hash,
    },
  );
}
