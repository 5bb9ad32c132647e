// Fixed-point decimals for rates and fractions (commission, slash fractions, inflation, quorum):
// a bigint scaled by 10^18, so 5% is 5n * 10n ** 16n. Integer-only, the same on every node.

/** 1.0 in 18-decimal fixed point. */
export const DEC = 10n ** 18n;

/** amount * fraction, rounded down (a fraction is DEC-scaled). */
export function decMul(amount: bigint, fraction: bigint): bigint {
  return (amount * fraction) / DEC;
}

/** numerator / denominator as a DEC-scaled fraction, rounded down. */
export function decDiv(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('division by zero');
  return (numerator * DEC) / denominator;
}

/** A DEC-scaled fraction from a percentage given in hundredths of a percent (basis points). */
export function decFromBps(bps: bigint): bigint {
  return (bps * DEC) / 10_000n;
}
