// Deliberately broken variants of the consensus rules, each of which the simulator must catch
// within the seeds CI runs. They switch on flags of `unsafe`, which only the simulator and tests
// set; a node never builds a config with it.

import type { SimUnsafe } from './sim.ts';

/** What a violation is about; the first word of its text. */
export type ViolationKind =
  | 'agreement'
  | 'validity'
  | 'commit'
  | 'conflicting-votes'
  | 'evidence'
  | 'progress';

export type BrokenVariant = {
  /** Name on the command line: `sim.ts --broken no-locking`. */
  name: string;
  unsafe: SimUnsafe;
  /** The violations this bug may legitimately show up as. */
  expect: ViolationKind[];
  what: string;
};

export const BROKEN_VARIANTS: readonly BrokenVariant[] = [
  {
    name: 'no-locking',
    unsafe: { noLocking: true },
    expect: ['agreement'],
    what: 'prevotes ignore the lock (lines 23, 29) and proposers never re-propose validValue',
  },
  {
    name: 'no-valid-round',
    unsafe: { noValidRound: true },
    expect: ['agreement'],
    what: 'a re-proposal with a proof of lock from any round unlocks (line 29 without lockedRound <= vr)',
  },
  {
    name: 'two-thirds-quorum',
    unsafe: { twoThirdsQuorum: true },
    expect: ['agreement', 'commit'],
    what: 'quorums of exactly 2/3 of the power instead of more than 2/3',
  },
  {
    name: 'double-count-votes',
    unsafe: { doubleCountVotes: true },
    expect: ['agreement', 'commit'],
    what: "vote sets tally a validator's repeated vote again (no de-duplication by validator)",
  },
  {
    name: 'wrong-proposer',
    unsafe: { wrongProposer: true },
    expect: ['validity', 'agreement'],
    what: 'proposals are accepted from validators who are not the proposer of the round',
  },
  {
    name: 'forget-wal',
    unsafe: { forgetWal: true },
    expect: ['conflicting-votes'],
    what: 'a crashed validator restarts without its WAL',
  },
];

export function brokenVariant(name: string): BrokenVariant | undefined {
  return BROKEN_VARIANTS.find((v) => v.name === name);
}

/** Classifies a violation line of SimResult.violations. */
export function violationKind(text: string): ViolationKind {
  if (text.startsWith('agreement:')) return 'agreement';
  if (text.startsWith('validity:')) return 'validity';
  if (text.startsWith('commit of ')) return 'commit';
  if (text.startsWith('evidence against honest')) return 'evidence';
  if (text.startsWith('progress:')) return 'progress';
  if (/^honest \S+ signed conflicting/.test(text)) return 'conflicting-votes';
  throw new Error(`unclassified violation: ${text}`);
}
