// Typed errors of the state machine. Each carries a stable numeric code that RPC clients can rely on.

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
  MODULE: 1100,
  OUT_OF_GAS: 1101,
  INVALID_BLOCK: 1200,
  NOT_FOUND: 1300,
} as const;
