// The vocabulary of the consensus core: what goes into the state machine and what comes out.
// Everything is plain data (bigint heights, number rounds) so the WAL can record inputs verbatim.

/** Identifies a proposed value (e.g. a block hash in hex); `null` in a vote means nil. */
export type ValueId = string;
export type VoteKind = 'prevote' | 'precommit';
export type Step = 'propose' | 'prevote' | 'precommit';
export type TimeoutKind = 'propose' | 'prevote' | 'precommit';

export type Vote = {
  kind: VoteKind;
  height: bigint;
  round: number;
  value: ValueId | null;
  validator: string;
  /** Opaque to the core: checked by the engine before the vote is an input, passed through untouched. */
  signature?: Uint8Array;
};

export type Proposal = {
  height: bigint;
  round: number;
  value: ValueId;
  /** The round in which the proposer saw >2/3 prevotes for `value` (proof of lock), -1 for none. */
  validRound: number;
  proposer: string;
  signature?: Uint8Array;
};

export type Validator = { address: string; power: bigint };

export type Input =
  | { type: 'start'; height: bigint; validators: Validator[]; proposer: (round: number) => string }
  | { type: 'proposal'; proposal: Proposal; valid: boolean }
  | { type: 'vote'; vote: Vote }
  | { type: 'timeout'; kind: TimeoutKind; height: bigint; round: number }
  | { type: 'value'; height: bigint; round: number; value: ValueId };

export type Output =
  | { type: 'getValue'; height: bigint; round: number }
  | { type: 'propose'; proposal: Proposal }
  | { type: 'vote'; vote: Vote }
  | { type: 'scheduleTimeout'; kind: TimeoutKind; height: bigint; round: number; durationMs: number }
  | { type: 'decide'; height: bigint; round: number; value: ValueId; commit: Vote[] }
  | { type: 'evidence'; a: Vote; b: Vote };

/** Timeout of `round` = baseMs + deltaMs * round: later rounds wait longer so that after GST they outlast delays. */
export type TimeoutSchedule = { baseMs: number; deltaMs: number };
export type TimeoutConfig = Record<TimeoutKind, TimeoutSchedule>;

/**
 * Each flag removes one safety rule of the algorithm. They exist only so that the simulator can
 * show it catches the bug; a node never sets them.
 */
export type UnsafeRules = {
  /** Prevotes ignore lockedValue/lockedRound (lines 23 and 29); a proposer never re-proposes validValue (line 15). */
  noLocking?: boolean;
  /** Line 29 without `lockedRound <= vr`: any re-proposal with its proof of lock unlocks, even one older than our lock. */
  noValidRound?: boolean;
  /** Quorums of exactly 2/3 of the power (3 * power >= 2 * total) instead of more than 2/3. */
  twoThirdsQuorum?: boolean;
  /** Vote sets do not de-duplicate: a validator's repeated vote is tallied again. */
  doubleCountVotes?: boolean;
  /** Proposals are accepted from any validator, not only from proposer(h, r). */
  wrongProposer?: boolean;
};

export type ConsensusConfig = {
  /** This node's validator address, or null for a non-validating observer (it never proposes or votes). */
  self: string | null;
  timeouts: TimeoutConfig;
  /**
   * Deliberately broken behaviour, for tests that prove the simulator's checks can fail. Never set
   * in production (the node builds its config without this field); see UnsafeRules.
   */
  unsafe?: UnsafeRules;
};

export type ConsensusState = {
  height: bigint;
  round: number;
  step: Step;
  decided: boolean;
  lockedValue: ValueId | null;
  lockedRound: number;
  validValue: ValueId | null;
  validRound: number;
};

export const DEFAULT_TIMEOUTS: TimeoutConfig = {
  propose: { baseMs: 3000, deltaMs: 500 },
  prevote: { baseMs: 1000, deltaMs: 500 },
  precommit: { baseMs: 1000, deltaMs: 500 },
};
