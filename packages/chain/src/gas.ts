// Gas schedule. Charges are per state access and per byte so that cost follows the work a
// validator does; the numbers are consensus parameters and change only with a chain upgrade.

import { OutOfGas } from './errors.ts';

export const GAS = {
  TX_BASE: 10_000n,
  TX_BYTE: 10n,
  READ: 200n,
  READ_BYTE: 1n,
  WRITE: 2_000n,
  WRITE_BYTE: 20n,
  DELETE: 500n,
  EVENT: 100n,
  EVENT_BYTE: 2n,
  /** One secp256k1 signature recovery in a message (attestation evidence), as the EVM's ecrecover. */
  SIG_RECOVER: 3_000n,
} as const;

export class GasMeter {
  readonly limit: bigint;
  #used = 0n;

  constructor(limit: bigint) {
    this.limit = limit;
  }

  get used(): bigint {
    return this.#used;
  }

  consume(amount: bigint): void {
    this.#used += amount;
    if (this.#used > this.limit) {
      this.#used = this.limit;
      throw new OutOfGas(this.limit);
    }
  }
}
