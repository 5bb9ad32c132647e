// Values of the node's JSON-RPC interface as both ends hold them: the node produces them (its
// NodeApi) and the SDK parses its JSON back into them (integers of 64+ bits as bigint, hashes,
// bytes and addresses as 0x strings). One definition, so server and client cannot drift.

import type { Address, Hex } from '@aivm/crypto';
import type { StateProof } from '@aivm/state/proof';

export type NodeStatus = {
  chainId: bigint;
  genesisHash: Hex;
  height: bigint;
  headHash: Hex;
  stateRoot: Hex;
  timeMs: bigint;
  mempool: { count: number; bytes: number };
  validator: Address | null;
  version: string;
};

export type AccountInfo = { address: Address; nonce: bigint; pendingNonce: bigint; balanceWei: bigint };

/** A state proof of a raw key against the state root of `height`. */
export type ProvenValue = { height: bigint; proof: StateProof };

/**
 * An unsigned transaction for gas estimation. On the wire `msg` is the message's JSON form (codec
 * fromJson); the SDK also takes bigint and Uint8Array values and converts them.
 */
export type TxDraft = { from: Address; msgType: string; msg: Record<string, unknown>; gasPrice?: bigint };
