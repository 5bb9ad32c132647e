// Votes of one kind in one round of one height, with the voting power behind each value.
// As in the paper, a value's tally counts every validator that voted for it; a validator that
// votes for several values (equivocation) counts once in the "any value" tally but in each of
// those values' tallies, so a proof of lock that includes a Byzantine vote can still be
// assembled by a node that first saw that validator's other vote. Safety does not suffer: two
// >2/3 tallies for different values would still need an honest validator in both.

import type { ValueId, Vote } from './types.ts';

/** Distinct values counted per validator; further conflicting votes are only reported. */
export const MAX_VALUES_PER_VOTER = 3;

export type AddResult =
  | { kind: 'added' }
  | { kind: 'duplicate' }
  /** A second value from the same validator; `counted` says whether it entered the value's tally. */
  | { kind: 'conflict'; first: Vote; counted: boolean };

type Entry = { first: Vote; power: bigint; byValue: Map<ValueId | null, Vote> };

export class VoteSet {
  /** Each validator's votes, in arrival order of the validators' first votes. */
  private readonly byValidator = new Map<string, Entry>();
  private readonly powerByValue = new Map<ValueId | null, bigint>();
  private anyPower = 0n;

  private readonly countDuplicates: boolean;

  /** `countDuplicates` is the deliberately broken variant (UnsafeRules.doubleCountVotes): never in production. */
  constructor(countDuplicates = false) {
    this.countDuplicates = countDuplicates;
  }

  add(vote: Vote, power: bigint): AddResult {
    const seen = this.byValidator.get(vote.validator);
    if (seen === undefined) {
      this.byValidator.set(vote.validator, { first: vote, power, byValue: new Map([[vote.value, vote]]) });
      this.tally(vote.value, power);
      this.anyPower += power;
      return { kind: 'added' };
    }
    if (seen.byValue.has(vote.value)) {
      if (!this.countDuplicates) return { kind: 'duplicate' };
      this.tally(vote.value, power);
      this.anyPower += power;
      return { kind: 'added' };
    }
    if (seen.byValue.size >= MAX_VALUES_PER_VOTER)
      return { kind: 'conflict', first: seen.first, counted: false };
    seen.byValue.set(vote.value, vote);
    this.tally(vote.value, power);
    return { kind: 'conflict', first: seen.first, counted: true };
  }

  private tally(value: ValueId | null, power: bigint): void {
    const next = (this.powerByValue.get(value) ?? 0n) + power;
    if (next === 0n) this.powerByValue.delete(value);
    else this.powerByValue.set(value, next);
  }

  /** Forgets a validator's votes (used only for rounds ahead of ours, to bound memory). */
  remove(validator: string): void {
    const seen = this.byValidator.get(validator);
    if (seen === undefined) return;
    this.byValidator.delete(validator);
    for (const value of seen.byValue.keys()) this.tally(value, -seen.power);
    this.anyPower -= seen.power;
  }

  has(validator: string): boolean {
    return this.byValidator.has(validator);
  }

  powerFor(value: ValueId | null): bigint {
    return this.powerByValue.get(value) ?? 0n;
  }

  /** Power of the validators that voted at all (each counted once). */
  powerAny(): bigint {
    return this.anyPower;
  }

  /** Values (not nil) that have at least `min` power, in first-vote order. */
  valuesWith(min: bigint): ValueId[] {
    const out: ValueId[] = [];
    for (const [value, power] of this.powerByValue) if (value !== null && power >= min) out.push(value);
    return out;
  }

  /** The votes for `value`, one per validator, in the validators' arrival order. */
  votesFor(value: ValueId | null): Vote[] {
    const out: Vote[] = [];
    for (const e of this.byValidator.values()) {
      const v = e.byValue.get(value);
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  get size(): number {
    return this.byValidator.size;
  }
}
