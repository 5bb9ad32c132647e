// Weighted round-robin proposer selection by voting power (the proposer-priority scheme of
// Tendermint/CometBFT): every step each validator's priority grows by its power, the highest
// priority proposes and pays back the total power. Over any window a validator proposes in
// proportion to its power, and proposers interleave instead of running in blocks.
//
// Pure and integer-only: the chain stores the priorities with the validator set and advances
// them once per block, and every node derives the same proposer for (height, round) from them.

export type PrioritizedValidator = { address: string; power: bigint; priority: bigint };

/** Priorities are kept within this many times the total power of each other. */
const WINDOW_FACTOR = 2n;

function totalPower(set: readonly PrioritizedValidator[]): bigint {
  let total = 0n;
  for (const v of set) total += v.power;
  return total;
}

/** Deterministic tie-break: higher priority wins, then the lower address (case-insensitive). */
function isBefore(a: PrioritizedValidator, b: PrioritizedValidator): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.address.toLowerCase() < b.address.toLowerCase();
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/**
 * Brings priorities into the window (divides the spread down when it exceeds 2x the total power)
 * and centres them on zero, so that priorities stay bounded however long the chain runs and a
 * validator that joins or changes power cannot starve or flood the rotation.
 */
function normalize<T extends PrioritizedValidator>(set: T[], total: bigint): void {
  if (set.length === 0) return;
  let min = set[0]!.priority;
  let max = min;
  for (const v of set) {
    if (v.priority < min) min = v.priority;
    if (v.priority > max) max = v.priority;
  }
  const window = WINDOW_FACTOR * total;
  const spread = max - min;
  if (window > 0n && spread > window) {
    const ratio = (spread + window - 1n) / window;
    for (const v of set) v.priority /= ratio; // truncation toward zero, the same on every node
  }
  let sum = 0n;
  for (const v of set) sum += v.priority;
  const avg = floorDiv(sum, BigInt(set.length));
  for (const v of set) v.priority -= avg;
}

function step<T extends PrioritizedValidator>(set: T[], total: bigint): T {
  let best = set[0]!;
  for (const v of set) {
    v.priority += v.power;
    if (isBefore(v, best)) best = v;
  }
  best.priority -= total;
  return best;
}

function checked<T extends PrioritizedValidator>(set: readonly T[]): { copy: T[]; total: bigint } {
  if (set.length === 0) throw new RangeError('validator set is empty');
  for (const v of set) {
    if (v.power <= 0n) throw new RangeError(`validator ${v.address} has non-positive power ${v.power}`);
  }
  return { copy: set.map((v) => ({ ...v })), total: totalPower(set) };
}

/**
 * The priorities after `times` proposer selections, and the validator chosen by the last one.
 * Returns copies; the input is not modified.
 */
export function advancePriorities<T extends PrioritizedValidator>(
  set: readonly T[],
  times = 1,
): { set: T[]; proposer: string } {
  if (!Number.isSafeInteger(times) || times < 1) throw new RangeError(`times must be a positive integer`);
  const { copy, total } = checked(set);
  normalize(copy, total);
  let chosen = copy[0]!;
  for (let i = 0; i < times; i++) chosen = step(copy, total);
  return { set: copy, proposer: chosen.address };
}

/**
 * The proposer of `round` at the height whose validator set (with its stored priorities) is `set`:
 * round 0 is the validator chosen by the height's one selection step, each later round one step
 * further on a copy. The stored priorities advance by exactly one step per block, whatever round
 * the block was decided in.
 */
export function proposerFor(set: readonly PrioritizedValidator[], round: number): string {
  if (!Number.isSafeInteger(round) || round < 0) throw new RangeError(`round must be a non-negative integer`);
  return advancePriorities(set, round + 1).proposer;
}

/** Priority of a validator joining the set: behind everyone, so it does not propose at once. */
export function joiningPriority(totalPowerAfter: bigint): bigint {
  return -(totalPowerAfter + (totalPowerAfter >> 3n));
}

/**
 * Applies a change of membership or power: validators that stay keep their priority, new ones
 * start at joiningPriority, removed ones disappear; then the priorities are normalized.
 */
export function carryPriorities<T extends { address: string; power: bigint }>(
  previous: readonly PrioritizedValidator[],
  next: readonly T[],
): (T & { priority: bigint })[] {
  const before = new Map(previous.map((v) => [v.address.toLowerCase(), v.priority]));
  const total = next.reduce((s, v) => s + v.power, 0n);
  const out = next.map((v) => ({
    ...v,
    priority: before.get(v.address.toLowerCase()) ?? joiningPriority(total),
  }));
  normalize(out, total);
  return out;
}
