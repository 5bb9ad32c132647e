// Typed errors of the consensus core. Inputs from the network are validated by the engine first;
// these catch a caller that breaks the core's contract (malformed input, heights out of order).

export class ConsensusError extends Error {
  override name = 'ConsensusError';
}

/** An input or configuration is malformed (wrong type, negative round, empty validator set, ...). */
export class InvalidInputError extends ConsensusError {
  override name = 'InvalidInputError';
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`invalid ${field}: ${reason}`);
    this.field = field;
  }
}

/** `start` was given a height that does not come after the current one. */
export class StartHeightError extends ConsensusError {
  override name = 'StartHeightError';
  readonly height: bigint;
  readonly currentHeight: bigint;
  constructor(height: bigint, currentHeight: bigint) {
    super(`cannot start height ${height}: the machine is already at height ${currentHeight}`);
    this.height = height;
    this.currentHeight = currentHeight;
  }
}

/** A message input arrived before the first `start`. */
export class NotStartedError extends ConsensusError {
  override name = 'NotStartedError';
  constructor() {
    super('the consensus machine has not been started: send a start input first');
  }
}

/** The WAL file holds a record that is not a torn tail (corruption in the middle of the log). */
export class WalCorruptError extends ConsensusError {
  override name = 'WalCorruptError';
  readonly path: string;
  readonly line: number;
  constructor(path: string, line: number, reason: string) {
    super(`WAL ${path} is corrupt at record ${line}: ${reason}`);
    this.path = path;
    this.line = line;
  }
}
