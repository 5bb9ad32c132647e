// Typed errors of the state machine. Each carries a stable numeric code that RPC clients can rely on;
// the code, never the text, is what a receipt hashes into the block's resultsRoot.

import { CodecError, codecErrorReason } from '@aivm/codec';
import { ModelError } from '@aivm/runtime/core';
import { ProofFormatError } from '@aivm/zk';

export class ChainError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The transaction cannot enter a block (bad encoding, signature, nonce, fee...). */
export class TxRejected extends ChainError {}

/** A message handler refused the message; the tx is included, its fee charged, its effects reverted. */
export class ModuleError extends ChainError {
  constructor(message: string, code: number = ERR.MODULE) {
    super(code, message);
  }
}

export class OutOfGas extends ModuleError {
  constructor(limit: bigint) {
    super(`out of gas (limit ${limit})`, ERR.OUT_OF_GAS);
  }
}

export class InsufficientFunds extends ModuleError {
  constructor(needWei: bigint, haveWei: bigint) {
    super(`insufficient funds: need ${needWei} wei, have ${haveWei} wei`, ERR.INSUFFICIENT_FUNDS);
  }
}

/**
 * Something other than a typed, deterministic failure was thrown while executing a block (a
 * RangeError, a wasm or worker failure, running out of memory, a bug). Its outcome may differ
 * between machines, so it never becomes a committed result: the executor reverts the transaction
 * or hook and throws this, and the node neither proposes nor votes for a block that needs it.
 */
export class ExecutionFault extends Error {
  override name = 'ExecutionFault';
  /** Where it happened: "tx <hash> (<msgType>)", "beginBlock of <module>"... */
  readonly where: string;
  constructor(where: string, cause: unknown) {
    super(
      `execution fault in ${where}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`,
      {
        cause,
      },
    );
    this.where = where;
  }
}

/** A block that breaks the rules: the proposer is faulty, the block is refused as a whole. */
export class InvalidBlock extends ChainError {
  constructor(message: string) {
    super(ERR.INVALID_BLOCK, message);
  }
}

/** Stable error codes (JSON-RPC application range). Never renumber. */
export const ERR = {
  TX_DECODE: 1001,
  WRONG_CHAIN: 1002,
  BAD_SIGNATURE: 1003,
  NONCE_TOO_LOW: 1004,
  NONCE_GAP: 1005,
  INSUFFICIENT_FUNDS: 1006,
  MEMPOOL_FULL: 1007,
  TX_TOO_LARGE: 1008,
  UNDERPRICED: 1009,
  UNKNOWN_MESSAGE: 1010,
  GAS_LIMIT: 1011,
  ALREADY_KNOWN: 1012,
  /**
   * A well-formed Ethereum transaction AIVM does not execute: contract creation, call data, an
   * access list, a transaction type other than legacy (EIP-155) and EIP-1559 (docs/wallets.md).
   */
  UNSUPPORTED_TX: 1013,
  MODULE: 1100,
  OUT_OF_GAS: 1101,
  /** An event beyond the receipt's bounds (EVENT_LIMITS). */
  EVENT_TOO_LARGE: 1102,
  /** Data in the message that does not decode (a CodecError). */
  MALFORMED: 1103,
  /** Data nested deeper than the decoders allow (CodecError reason 'too-deep'). */
  TOO_DEEP: 1104,
  /** A model the runtime refuses or cannot run (ModelError). */
  MODEL: 1105,
  /** Proof bytes or public signals that do not decode (ProofFormatError). */
  PROOF_FORMAT: 1106,
  /** A state key or value beyond the state tree's limits. */
  VALUE_TOO_LARGE: 1107,
  /** Module parameters that do not decode or break their bounds (a governance param change). */
  INVALID_PARAMS: 1108,
  /** Attestation equivocation evidence that does not prove an equivocation (slashing/attestationEvidence). */
  INVALID_EVIDENCE: 1109,
  /** Evidence of an equivocation that was already punished. */
  DUPLICATE_EVIDENCE: 1110,
  INVALID_BLOCK: 1200,
  NOT_FOUND: 1300,
} as const;

/** Receipt code of a successful transaction. */
export const OK = 0;

/**
 * The receipt code of a typed, deterministic failure, or undefined for anything else (which is
 * then an ExecutionFault). Only these error classes may decide a transaction's outcome: each is
 * thrown by checks over the transaction and committed state alone, identically on every machine.
 */
export function failureCode(err: unknown): number | undefined {
  if (err instanceof ModuleError) return err.code;
  // Data nested too deep is that on every machine, also inside a model or proof that wraps it.
  const typed = err instanceof CodecError || err instanceof ModelError || err instanceof ProofFormatError;
  if (typed && codecErrorReason(err) === 'too-deep') return ERR.TOO_DEEP;
  if (err instanceof CodecError) return ERR.MALFORMED;
  if (err instanceof ModelError) return ERR.MODEL;
  if (err instanceof ProofFormatError) return ERR.PROOF_FORMAT;
  return undefined;
}

/**
 * Rethrows `err` with `what` in front of its text when it is a typed failure (same code), and
 * untouched otherwise, so that only typed failures become receipts and the rest stay faults.
 */
export function rethrowWithContext(what: string, err: unknown): never {
  if (err instanceof ModuleError) throw err;
  const code = failureCode(err);
  if (code === undefined) throw err;
  throw new ModuleError(`${what}: ${(err as Error).message}`, code);
}
