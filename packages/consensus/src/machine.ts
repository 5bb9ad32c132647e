// The Tendermint consensus algorithm (Buchman, Kwon, Milosevic, "The latest gossip on BFT
// consensus", Algorithm 1) as a pure, deterministic state machine: `step(input)` returns the
// outputs the engine must carry out. No I/O, no clock, no randomness: replaying the same inputs
// (the WAL) reproduces the same state and the same own votes.
//
// Line numbers in comments refer to Algorithm 1 of the paper (arXiv 1807.04938).

import { ConsensusError, InvalidInputError, NotStartedError, StartHeightError } from './errors.ts';
import type {
  ConsensusConfig,
  ConsensusState,
  Input,
  Output,
  Proposal,
  Step,
  TimeoutKind,
  Validator,
  ValueId,
  Vote,
} from './types.ts';
import { VoteSet } from './vote-set.ts';

/**
 * A validator may have messages stored in at most this many rounds ahead of ours; a message for a
 * further round evicts its lowest one. Keeps a round-spamming validator's memory use constant
 * while still letting f+1 honest validators pull us into their (highest) round.
 */
export const MAX_FUTURE_ROUNDS_PER_VALIDATOR = 2;
/** Proposals are accepted only up to this many rounds ahead: computing a far round's proposer costs O(round). */
export const PROPOSAL_LOOKAHEAD_ROUNDS = 64;
/** Distinct proposals kept per round (an equivocating proposer can make any number). */
export const MAX_PROPOSALS_PER_ROUND = 4;
/** Messages for the next height buffered per sender, and in all, until that height starts. */
export const MAX_BUFFERED_PER_SENDER = 16;
export const MAX_BUFFERED = 4096;

type StoredProposal = { proposal: Proposal; valid: boolean };

class RoundState {
  readonly prevotes: VoteSet;
  readonly precommits: VoteSet;
  /** Proposals from this round's proposer by value, in arrival order. */
  readonly proposals = new Map<ValueId, StoredProposal>();
  /** Validators that sent any message in this round, for the round-skip rule (line 55). */
  readonly senders = new Map<string, bigint>();
  senderPower = 0n;
  /** "for the first time" guards of lines 34, 36 and 47. */
  prevoteTimeoutScheduled = false;
  polSeen = false;
  precommitTimeoutScheduled = false;
  /** validator/kind pairs already reported as equivocating, so evidence is emitted once. */
  readonly evidenceSent = new Set<string>();

  constructor(doubleCountVotes: boolean) {
    this.prevotes = new VoteSet(doubleCountVotes);
    this.precommits = new VoteSet(doubleCountVotes);
  }

  addSender(validator: string, power: bigint): void {
    if (this.senders.has(validator)) return;
    this.senders.set(validator, power);
    this.senderPower += power;
  }

  forget(validator: string): void {
    this.prevotes.remove(validator);
    this.precommits.remove(validator);
    for (const [value, stored] of this.proposals) {
      if (stored.proposal.proposer === validator) this.proposals.delete(value);
    }
    const power = this.senders.get(validator);
    if (power !== undefined) {
      this.senders.delete(validator);
      this.senderPower -= power;
    }
  }
}

type BufferedInput = Extract<Input, { type: 'proposal' } | { type: 'vote' }>;

const isRound = (r: unknown): r is number => typeof r === 'number' && Number.isSafeInteger(r) && r >= 0;

function checkHeight(field: string, h: unknown): asserts h is bigint {
  if (typeof h !== 'bigint' || h < 0n) throw new InvalidInputError(field, 'must be a non-negative bigint');
}
function checkRound(field: string, r: unknown): asserts r is number {
  if (!isRound(r)) throw new InvalidInputError(field, 'must be a non-negative safe integer');
}
function checkName(field: string, s: unknown): asserts s is string {
  if (typeof s !== 'string' || s.length === 0)
    throw new InvalidInputError(field, 'must be a non-empty string');
}
function checkTimeouts(config: ConsensusConfig): void {
  for (const kind of ['propose', 'prevote', 'precommit'] as const) {
    const t = config.timeouts?.[kind];
    const ok = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
    if (t === undefined || !ok(t.baseMs) || !ok(t.deltaMs)) {
      throw new InvalidInputError(`timeouts.${kind}`, 'needs non-negative integer baseMs and deltaMs');
    }
  }
}

export class Consensus {
  private readonly config: ConsensusConfig;

  private started = false;
  private height = 0n;
  private round = 0;
  private stepNow: Step = 'propose';
  private decided = false;
  private lockedValue: ValueId | null = null;
  private lockedRound = -1;
  private validValue: ValueId | null = null;
  private validRound = -1;
  /** We are this round's proposer and asked the engine for a value (getValue) that has not come yet. */
  private awaitingValue = false;

  private validators = new Map<string, bigint>();
  /** Smallest power that is more than 2/3 of the total (2f+1) and more than 1/3 (f+1). */
  private quorum = 0n;
  private oneThird = 0n;
  private proposerFn: (round: number) => string = () => '';
  private readonly proposerCache = new Map<number, string>();

  private rounds = new Map<number, RoundState>();
  private futureRounds = new Map<string, number[]>();
  private buffer: BufferedInput[] = [];
  private bufferedBySender = new Map<string, number>();
  /** Rounds whose messages changed during the current step; only they can newly satisfy lines 49 and 55. */
  private dirty = new Set<number>();

  constructor(config: ConsensusConfig) {
    if (config.self !== null) checkName('self', config.self);
    checkTimeouts(config);
    this.config = config;
  }

  state(): ConsensusState {
    return {
      height: this.height,
      round: this.round,
      step: this.stepNow,
      decided: this.decided,
      lockedValue: this.lockedValue,
      lockedRound: this.lockedRound,
      validValue: this.validValue,
      validRound: this.validRound,
    };
  }

  /** Proposer of `round` at the current height, as told by the `start` input. */
  proposerOf(round: number): string {
    let p = this.proposerCache.get(round);
    if (p === undefined) {
      p = this.proposerFn(round);
      this.proposerCache.set(round, p);
    }
    return p;
  }

  step(input: Input): Output[] {
    const out: Output[] = [];
    switch (input.type) {
      case 'start':
        this.onStart(input, out);
        break;
      case 'proposal':
        this.requireStarted();
        this.onProposal(input);
        break;
      case 'vote':
        this.requireStarted();
        this.onVote(input.vote, out);
        break;
      case 'timeout':
        this.requireStarted();
        this.onTimeout(input.kind, input.height, input.round, out);
        break;
      case 'value':
        this.requireStarted();
        this.onValue(input.height, input.round, input.value, out);
        break;
      default:
        throw new InvalidInputError('input.type', `unknown input ${(input as { type: unknown }).type}`);
    }
    this.evaluate(out);
    this.dirty.clear();
    return out;
  }

  private requireStarted(): void {
    if (!this.started) throw new NotStartedError();
  }

  // ---- inputs -------------------------------------------------------------------------------

  private onStart(input: Extract<Input, { type: 'start' }>, out: Output[]): void {
    checkHeight('start.height', input.height);
    if (this.started && input.height <= this.height) throw new StartHeightError(input.height, this.height);
    if (!Array.isArray(input.validators) || input.validators.length === 0) {
      throw new InvalidInputError('start.validators', 'must be a non-empty array');
    }
    if (typeof input.proposer !== 'function')
      throw new InvalidInputError('start.proposer', 'must be a function');
    const validators = new Map<string, bigint>();
    let total = 0n;
    for (const v of input.validators as Validator[]) {
      checkName('validator.address', v.address);
      if (typeof v.power !== 'bigint' || v.power <= 0n) {
        throw new InvalidInputError(`power of ${v.address}`, 'must be a positive bigint');
      }
      if (validators.has(v.address))
        throw new InvalidInputError('start.validators', `duplicate ${v.address}`);
      validators.set(v.address, v.power);
      total += v.power;
    }

    const buffered = this.started && input.height === this.height + 1n ? this.buffer : [];
    this.started = true;
    this.height = input.height;
    this.validators = validators;
    this.quorum =
      this.config.unsafe?.twoThirdsQuorum === true ? (total * 2n + 2n) / 3n : (total * 2n) / 3n + 1n;
    this.oneThird = total / 3n + 1n;
    this.proposerFn = input.proposer;
    this.proposerCache.clear();
    this.decided = false;
    this.lockedValue = null;
    this.lockedRound = -1;
    this.validValue = null;
    this.validRound = -1;
    this.rounds = new Map();
    this.futureRounds = new Map();
    this.buffer = [];
    this.bufferedBySender = new Map();
    this.startRound(0, out);
    // Each buffered message is evaluated as if it were its own step, so that replaying a WAL that
    // holds `start` followed by these messages (see nextHeightInputs) gives exactly these outputs.
    for (const b of buffered) {
      this.evaluate(out);
      this.dirty.clear();
      if (b.type === 'vote') this.onVote(b.vote, out);
      else this.onProposal(b);
    }
  }

  /**
   * Messages of the next height received so far, in the order `start` of that height will replay
   * them. The engine carries them into the next height's WAL (FileWal.startHeight) so that a replay
   * after a crash sees what the machine saw.
   */
  nextHeightInputs(): Input[] {
    return [...this.buffer];
  }

  private onProposal(input: Extract<Input, { type: 'proposal' }>): void {
    const p = input.proposal;
    checkHeight('proposal.height', p?.height);
    checkRound('proposal.round', p.round);
    checkName('proposal.value', p.value);
    checkName('proposal.proposer', p.proposer);
    if (!Number.isSafeInteger(p.validRound) || p.validRound < -1) {
      throw new InvalidInputError('proposal.validRound', 'must be an integer >= -1');
    }
    if (typeof input.valid !== 'boolean') throw new InvalidInputError('proposal valid', 'must be a boolean');
    if (this.routeHeight(p.height, p.proposer, input)) return;
    if (this.decided || !this.validators.has(p.proposer)) return;
    if (p.round > this.round + PROPOSAL_LOOKAHEAD_ROUNDS) return;
    // Line 22 etc.: only from proposer(h, r).
    if (this.proposerOf(p.round) !== p.proposer && this.config.unsafe?.wrongProposer !== true) return;
    if (!this.admitRound(p.proposer, p.round)) return;
    const rs = this.roundState(p.round);
    if (rs.proposals.has(p.value) || rs.proposals.size >= MAX_PROPOSALS_PER_ROUND) return;
    rs.proposals.set(p.value, { proposal: p, valid: input.valid });
    rs.addSender(p.proposer, this.validators.get(p.proposer)!);
    this.dirty.add(p.round);
  }

  private onVote(vote: Vote, out: Output[]): void {
    checkHeight('vote.height', vote?.height);
    checkRound('vote.round', vote.round);
    checkName('vote.validator', vote.validator);
    if (vote.kind !== 'prevote' && vote.kind !== 'precommit') {
      throw new InvalidInputError('vote.kind', 'must be prevote or precommit');
    }
    if (vote.value !== null && (typeof vote.value !== 'string' || vote.value.length === 0)) {
      throw new InvalidInputError('vote.value', 'must be a non-empty string or null');
    }
    if (this.routeHeight(vote.height, vote.validator, { type: 'vote', vote })) return;
    const power = this.validators.get(vote.validator);
    if (this.decided || power === undefined) return; // votes from non-validators are ignored
    if (!this.admitRound(vote.validator, vote.round)) return;
    const rs = this.roundState(vote.round);
    const set = vote.kind === 'prevote' ? rs.prevotes : rs.precommits;
    const res = set.add(vote, power);
    if (res.kind === 'conflict') {
      const key = `${vote.kind}/${vote.validator}`;
      if (!rs.evidenceSent.has(key)) {
        rs.evidenceSent.add(key);
        out.push({ type: 'evidence', a: res.first, b: vote });
      }
      if (res.counted) this.dirty.add(vote.round);
      return;
    }
    if (res.kind === 'added') {
      rs.addSender(vote.validator, power);
      this.dirty.add(vote.round);
    }
  }

  private onTimeout(kind: TimeoutKind, height: bigint, round: number, out: Output[]): void {
    checkHeight('timeout.height', height);
    checkRound('timeout.round', round);
    if (height !== this.height || round !== this.round || this.decided) return;
    if (kind === 'propose') {
      // lines 57-60
      if (this.stepNow === 'propose') {
        this.vote('prevote', null, out);
        this.stepNow = 'prevote';
      }
    } else if (kind === 'prevote') {
      // lines 61-64
      if (this.stepNow === 'prevote') {
        this.vote('precommit', null, out);
        this.stepNow = 'precommit';
      }
    } else if (kind === 'precommit') {
      // lines 65-67
      this.startRound(this.round + 1, out);
    } else {
      throw new InvalidInputError('timeout.kind', `unknown timeout ${kind as string}`);
    }
  }

  private onValue(height: bigint, round: number, value: ValueId, out: Output[]): void {
    checkHeight('value.height', height);
    checkRound('value.round', round);
    checkName('value.value', value);
    if (height !== this.height || round !== this.round || !this.awaitingValue || this.decided) return;
    this.awaitingValue = false;
    if (this.stepNow !== 'propose') return; // our own propose timeout already moved us on
    out.push({
      type: 'propose',
      proposal: { height, round, value, validRound: -1, proposer: this.config.self! },
    });
  }

  /** True when the message is not for the current height (buffered if it is for the next one). */
  private routeHeight(height: bigint, sender: string, input: BufferedInput): boolean {
    if (height === this.height) return false;
    if (height === this.height + 1n) {
      const n = this.bufferedBySender.get(sender) ?? 0;
      if (n < MAX_BUFFERED_PER_SENDER && this.buffer.length < MAX_BUFFERED) {
        this.bufferedBySender.set(sender, n + 1);
        this.buffer.push(input);
      }
    }
    return true;
  }

  /** Bounds what one validator can make us store for rounds ahead of ours (see MAX_FUTURE_ROUNDS_PER_VALIDATOR). */
  private admitRound(validator: string, round: number): boolean {
    if (round <= this.round) return true;
    let list = this.futureRounds.get(validator);
    if (list === undefined) {
      list = [];
      this.futureRounds.set(validator, list);
    }
    if (list.includes(round)) return true;
    if (list.length < MAX_FUTURE_ROUNDS_PER_VALIDATOR) {
      list.push(round);
      return true;
    }
    let lowest = 0;
    for (let i = 1; i < list.length; i++) if (list[i]! < list[lowest]!) lowest = i;
    const evict = list[lowest]!;
    if (round < evict) return false;
    this.rounds.get(evict)?.forget(validator);
    list[lowest] = round;
    return true;
  }

  private roundState(round: number): RoundState {
    let rs = this.rounds.get(round);
    if (rs === undefined) {
      rs = new RoundState(this.config.unsafe?.doubleCountVotes === true);
      this.rounds.set(round, rs);
    }
    return rs;
  }

  // ---- the algorithm ------------------------------------------------------------------------

  private isVoter(): boolean {
    return this.config.self !== null && this.validators.has(this.config.self);
  }

  private vote(kind: 'prevote' | 'precommit', value: ValueId | null, out: Output[]): void {
    if (!this.isVoter()) return;
    out.push({
      type: 'vote',
      vote: { kind, height: this.height, round: this.round, value, validator: this.config.self! },
    });
  }

  private timeoutMs(kind: TimeoutKind, round: number): number {
    const t = this.config.timeouts[kind];
    return t.baseMs + t.deltaMs * round;
  }

  private schedule(kind: TimeoutKind, out: Output[]): void {
    out.push({
      type: 'scheduleTimeout',
      kind,
      height: this.height,
      round: this.round,
      durationMs: this.timeoutMs(kind, this.round),
    });
  }

  /** Lines 11-21. Also drops the per-validator future-round bookkeeping that is no longer ahead of us. */
  private startRound(round: number, out: Output[]): void {
    this.round = round;
    this.stepNow = 'propose';
    this.awaitingValue = false;
    this.dirty.add(round);
    for (const [validator, list] of this.futureRounds) {
      const ahead = list.filter((r) => r > round);
      if (ahead.length === 0) this.futureRounds.delete(validator);
      else this.futureRounds.set(validator, ahead);
    }
    if (this.isVoter() && this.proposerOf(round) === this.config.self) {
      if (this.validValue !== null && this.config.unsafe?.noLocking !== true) {
        out.push({
          type: 'propose',
          proposal: {
            height: this.height,
            round,
            value: this.validValue,
            validRound: this.validRound,
            proposer: this.config.self,
          },
        });
      } else {
        this.awaitingValue = true;
        out.push({ type: 'getValue', height: this.height, round });
      }
    }
    // Unlike the paper the proposer schedules the propose timeout too: if its engine never answers
    // getValue, it still prevotes nil and the round can end.
    this.schedule('propose', out);
  }

  /** Fires every rule whose condition holds, until none does. */
  private evaluate(out: Output[]): void {
    if (!this.started) return;
    for (let guard = 0; guard < 10_000; guard++) {
      if (this.decided) return;
      for (const r of this.dirty) if (this.tryDecide(r, out)) return;

      // Line 55: f+1 power has sent messages of a higher round: jump to the highest such round.
      let skipTo = -1;
      for (const r of this.dirty) {
        if (r > this.round && r > skipTo && (this.rounds.get(r)?.senderPower ?? 0n) >= this.oneThird)
          skipTo = r;
      }
      if (skipTo >= 0) {
        this.startRound(skipTo, out);
        continue;
      }

      const rs = this.roundState(this.round);
      if (this.stepNow === 'propose' && this.tryPrevote(rs, out)) continue;

      // Line 34.
      if (
        this.stepNow === 'prevote' &&
        !rs.prevoteTimeoutScheduled &&
        rs.prevotes.powerAny() >= this.quorum
      ) {
        rs.prevoteTimeoutScheduled = true;
        this.schedule('prevote', out);
      }
      if (this.stepNow !== 'propose' && !rs.polSeen && this.tryLock(rs, out)) continue;
      // Lines 44-46.
      if (this.stepNow === 'prevote' && rs.prevotes.powerFor(null) >= this.quorum) {
        this.vote('precommit', null, out);
        this.stepNow = 'precommit';
        continue;
      }
      // Lines 47-48.
      if (!rs.precommitTimeoutScheduled && rs.precommits.powerAny() >= this.quorum) {
        rs.precommitTimeoutScheduled = true;
        this.schedule('precommit', out);
      }
      return;
    }
    throw new ConsensusError('consensus rules did not settle (internal bug)');
  }

  /** Lines 22-33: the first proposal of this round that lets us prevote. */
  private tryPrevote(rs: RoundState, out: Output[]): boolean {
    const unsafe = this.config.unsafe;
    const noLocking = unsafe?.noLocking === true;
    for (const { proposal, valid } of rs.proposals.values()) {
      const vr = proposal.validRound;
      const v = proposal.value;
      let accept: boolean;
      if (vr === -1) {
        // Line 23.
        accept = valid && (noLocking || this.lockedRound === -1 || this.lockedValue === v);
      } else if (vr >= 0 && vr < this.round) {
        // Line 28: needs 2f+1 prevotes for v in round vr (the proof of lock), else wait.
        if ((this.rounds.get(vr)?.prevotes.powerFor(v) ?? 0n) < this.quorum) continue;
        // Line 29: a lock from round vr or later than ours justifies unlocking.
        accept =
          valid &&
          (noLocking || unsafe?.noValidRound === true || this.lockedRound <= vr || this.lockedValue === v);
      } else {
        continue; // validRound not below the round: malformed, never acted upon
      }
      this.vote('prevote', accept ? v : null, out);
      this.stepNow = 'prevote';
      return true;
    }
    return false;
  }

  /** Lines 36-43, once per round. */
  private tryLock(rs: RoundState, out: Output[]): boolean {
    for (const v of rs.prevotes.valuesWith(this.quorum)) {
      const stored = rs.proposals.get(v);
      if (stored === undefined || !stored.valid) continue;
      rs.polSeen = true;
      if (this.stepNow === 'prevote') {
        this.lockedValue = v;
        this.lockedRound = this.round;
        this.vote('precommit', v, out);
        this.stepNow = 'precommit';
      }
      this.validValue = v;
      this.validRound = this.round;
      return true;
    }
    return false;
  }

  /** Lines 49-54 for round r: a valid proposal with 2f+1 precommits decides the height. */
  private tryDecide(r: number, out: Output[]): boolean {
    const rs = this.rounds.get(r);
    if (rs === undefined) return false;
    for (const v of rs.precommits.valuesWith(this.quorum)) {
      const stored = rs.proposals.get(v);
      if (stored === undefined || !stored.valid) continue;
      this.decided = true;
      this.awaitingValue = false;
      out.push({
        type: 'decide',
        height: this.height,
        round: r,
        value: v,
        commit: rs.precommits.votesFor(v),
      });
      return true;
    }
    return false;
  }
}
