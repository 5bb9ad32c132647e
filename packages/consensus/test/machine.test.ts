import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  InvalidInputError,
  MAX_BUFFERED_PER_SENDER,
  NotStartedError,
  StartHeightError,
} from '../src/index.ts';
import {
  feed,
  machine,
  ofType,
  proposal,
  start,
  stepWithEcho,
  TIMEOUTS,
  timeout,
  vote,
  votesOf,
} from './helpers.ts';

// Four validators A..D of power 1 unless said: 2f+1 = 3, f+1 = 2. Round r's proposer is A, B, C, D, A, ...

/** D prevotes and precommits v in round 0 (it sees A, B, D prevote v) and so locks v at round 0. */
function lockedD(unsafe?: { noLocking?: boolean }) {
  const m = machine('D', unsafe);
  feed(m, [start(), proposal(0, 'v')]);
  const outs = feed(m, [
    vote('prevote', 'D', 0, 'v'),
    vote('prevote', 'A', 0, 'v'),
    vote('prevote', 'B', 0, 'v'),
  ]);
  assert.deepEqual(votesOf(outs), ['precommit:0:v']);
  return m;
}

describe('Consensus machine', () => {
  test('the proposer asks for a value, proposes it and prevotes it once it comes back', () => {
    const m = machine('A');
    const first = m.step(start());
    assert.deepEqual(first, [
      { type: 'getValue', height: 1n, round: 0 },
      { type: 'scheduleTimeout', kind: 'propose', height: 1n, round: 0, durationMs: 1000 },
    ]);
    const outs = stepWithEcho(m, { type: 'value', height: 1n, round: 0, value: 'blk' });
    assert.deepEqual(ofType(outs, 'propose'), [
      { type: 'propose', proposal: { height: 1n, round: 0, value: 'blk', validRound: -1, proposer: 'A' } },
    ]);
    assert.deepEqual(votesOf(outs), ['prevote:0:blk']);
    assert.equal(m.state().step, 'prevote');
  });

  test('a valid proposal from the round proposer gets a prevote; an invalid one gets nil', () => {
    const ok = machine('B');
    ok.step(start());
    assert.deepEqual(votesOf(ok.step(proposal(0, 'v'))), ['prevote:0:v']);
    const bad = machine('B');
    bad.step(start());
    assert.deepEqual(votesOf(bad.step(proposal(0, 'v', -1, false))), ['prevote:0:nil']);
  });

  test('a proposal from anyone but the round proposer is ignored', () => {
    const m = machine('C');
    m.step(start());
    const forged = {
      type: 'proposal' as const,
      proposal: { height: 1n, round: 0, value: 'x', validRound: -1, proposer: 'B' },
      valid: true,
    };
    assert.deepEqual(m.step(forged), []);
    assert.equal(m.state().step, 'propose');
    // Timing out the propose step prevotes nil (lines 57-60).
    assert.deepEqual(votesOf(m.step(timeout('propose', 0))), ['prevote:0:nil']);
  });

  test('timeouts grow by their delta every round', () => {
    const m = machine('D');
    const durations: number[] = [];
    let outs = m.step(start());
    for (let r = 0; r < 3; r++) {
      durations.push(...ofType(outs, 'scheduleTimeout').map((o) => o.durationMs));
      // Round r: everyone precommits nil, the precommit timeout ends the round.
      outs = feed(m, [
        vote('precommit', 'A', r, null),
        vote('precommit', 'B', r, null),
        vote('precommit', 'C', r, null),
      ]);
      durations.push(...ofType(outs, 'scheduleTimeout').map((o) => o.durationMs));
      outs = m.step(timeout('precommit', r));
      assert.equal(m.state().round, r + 1);
    }
    const { propose, precommit } = TIMEOUTS;
    assert.deepEqual(durations, [
      propose.baseMs,
      precommit.baseMs,
      propose.baseMs + propose.deltaMs,
      precommit.baseMs + precommit.deltaMs,
      propose.baseMs + 2 * propose.deltaMs,
      precommit.baseMs + 2 * precommit.deltaMs,
    ]);
  });

  test('2f+1 prevotes of any kind schedule the prevote timeout, which precommits nil', () => {
    const m = machine('D');
    feed(m, [start(), timeout('propose', 0)]);
    const outs = feed(m, [
      vote('prevote', 'A', 0, 'x'),
      vote('prevote', 'B', 0, null),
      vote('prevote', 'D', 0, null),
    ]);
    assert.deepEqual(ofType(outs, 'scheduleTimeout'), [
      { type: 'scheduleTimeout', kind: 'prevote', height: 1n, round: 0, durationMs: 500 },
    ]);
    assert.deepEqual(votesOf(m.step(timeout('prevote', 0))), ['precommit:0:nil']);
  });

  test('2f+1 nil prevotes precommit nil at once (lines 44-46)', () => {
    const m = machine('D');
    feed(m, [start(), timeout('propose', 0)]);
    const outs = feed(m, [
      vote('prevote', 'A', 0, null),
      vote('prevote', 'B', 0, null),
      vote('prevote', 'D', 0, null),
    ]);
    assert.deepEqual(votesOf(outs), ['precommit:0:nil']);
  });

  test('locking: a validator locked on v prevotes nil for another value in a later round (line 23)', () => {
    const m = lockedD();
    assert.equal(m.state().lockedValue, 'v');
    assert.equal(m.state().lockedRound, 0);
    feed(m, [
      vote('precommit', 'B', 0, null),
      vote('precommit', 'C', 0, null),
      vote('precommit', 'D', 0, 'v'),
    ]);
    m.step(timeout('precommit', 0));
    assert.equal(m.state().round, 1);
    assert.deepEqual(votesOf(m.step(proposal(1, 'w'))), ['prevote:1:nil']);
    // Re-proposed locked value: prevoted.
    const m2 = lockedD();
    feed(m2, [
      vote('precommit', 'B', 0, null),
      vote('precommit', 'C', 0, null),
      vote('precommit', 'D', 0, 'v'),
    ]);
    m2.step(timeout('precommit', 0));
    assert.deepEqual(votesOf(m2.step(proposal(1, 'v', 0))), ['prevote:1:v']);
  });

  test('a proof of lock seen in the prevote step moves the lock to the new value (lines 36-41)', () => {
    const m = lockedD();
    feed(m, [
      vote('precommit', 'B', 0, null),
      vote('precommit', 'C', 0, null),
      vote('precommit', 'D', 0, 'v'),
    ]);
    m.step(timeout('precommit', 0));
    assert.deepEqual(votesOf(m.step(proposal(1, 'w'))), ['prevote:1:nil']);
    const outs = feed(m, [
      vote('prevote', 'A', 1, 'w'),
      vote('prevote', 'B', 1, 'w'),
      vote('prevote', 'C', 1, 'w'),
    ]);
    assert.deepEqual(votesOf(outs), ['precommit:1:w']);
    const s = m.state();
    assert.deepEqual([s.lockedValue, s.lockedRound, s.validValue, s.validRound], ['w', 1, 'w', 1]);
  });

  test('unlock via validRound: a proof of lock from a round after ours (lines 28-33, 42-43)', () => {
    const m = lockedD();
    feed(m, [
      vote('precommit', 'B', 0, null),
      vote('precommit', 'C', 0, null),
      vote('precommit', 'D', 0, 'v'),
    ]);
    m.step(timeout('precommit', 0));
    // Round 1: B proposes w; D (locked on v) prevotes nil; A and B prevote w: no proof of lock yet,
    // the prevote timeout makes D precommit nil.
    assert.deepEqual(votesOf(m.step(proposal(1, 'w'))), ['prevote:1:nil']);
    const o1 = feed(m, [
      vote('prevote', 'D', 1, null),
      vote('prevote', 'A', 1, 'w'),
      vote('prevote', 'B', 1, 'w'),
    ]);
    assert.equal(ofType(o1, 'scheduleTimeout')[0]?.kind, 'prevote');
    assert.deepEqual(votesOf(m.step(timeout('prevote', 1))), ['precommit:1:nil']);
    // C's prevote completes 2f+1 for w after D precommitted: validValue moves, the lock does not.
    m.step(vote('prevote', 'C', 1, 'w'));
    const s = m.state();
    assert.deepEqual([s.lockedValue, s.lockedRound, s.validValue, s.validRound], ['v', 0, 'w', 1]);
    feed(m, [
      vote('precommit', 'A', 1, null),
      vote('precommit', 'B', 1, null),
      vote('precommit', 'C', 1, null),
    ]);
    m.step(timeout('precommit', 1));
    // Round 2: C re-proposes w with validRound 1; that proof of lock is newer than D's lock (0 <= 1).
    assert.deepEqual(votesOf(m.step(proposal(2, 'w', 1))), ['prevote:2:w']);
  });

  test('a proof of lock older than our lock does not unlock (line 29)', () => {
    const m = lockedD();
    feed(m, [
      vote('precommit', 'B', 0, null),
      vote('precommit', 'C', 0, null),
      vote('precommit', 'D', 0, 'v'),
    ]);
    m.step(timeout('precommit', 0));
    // D relocks on v in round 1.
    m.step(proposal(1, 'v', 0));
    const o = feed(m, [
      vote('prevote', 'D', 1, 'v'),
      vote('prevote', 'A', 1, 'v'),
      vote('prevote', 'C', 1, 'v'),
    ]);
    assert.deepEqual(votesOf(o), ['precommit:1:v']);
    feed(m, [
      vote('precommit', 'B', 1, null),
      vote('precommit', 'C', 1, null),
      vote('precommit', 'D', 1, 'v'),
    ]);
    m.step(timeout('precommit', 1));
    // Round 2 proposes w with a (hypothetical) proof of lock from round 0: older than D's round-1 lock.
    feed(m, [vote('prevote', 'A', 0, 'w'), vote('prevote', 'B', 0, 'w'), vote('prevote', 'C', 0, 'w')]);
    assert.deepEqual(votesOf(m.step(proposal(2, 'w', 0))), ['prevote:2:nil']);
  });

  test('a proposal with validRound waits for the proof of lock, and a later own lock keeps nil', () => {
    const m = lockedD();
    feed(m, [
      vote('precommit', 'B', 0, null),
      vote('precommit', 'C', 0, null),
      vote('precommit', 'D', 0, 'v'),
    ]);
    m.step(timeout('precommit', 0));
    // Round 1's proposer claims w had a proof of lock in round 0, which D never saw: no prevote yet.
    assert.deepEqual(votesOf(m.step(proposal(1, 'w', 0))), []);
    assert.equal(m.state().step, 'propose');
    // The prevotes arrive (one of them equivocating): now 2f+1 for w in round 0, but D's lock is
    // also from round 0 and is on v: lockedRound (0) <= vr (0) allows w (line 29).
    const outs = feed(m, [
      vote('prevote', 'C', 0, 'w'),
      vote('prevote', 'A', 0, 'w'),
      vote('prevote', 'B', 0, 'w'),
    ]);
    assert.deepEqual(votesOf(outs), ['prevote:1:w']);
  });

  test('2f+1 prevotes seen after precommitting nil still set validValue, not the lock (lines 36-43)', () => {
    const m = machine('D');
    feed(m, [start(), timeout('propose', 0)]);
    const outs = feed(m, [
      vote('prevote', 'A', 0, null),
      vote('prevote', 'B', 0, null),
      vote('prevote', 'D', 0, null),
    ]);
    assert.deepEqual(votesOf(outs), ['precommit:0:nil']);
    feed(m, [proposal(0, 'v'), vote('prevote', 'C', 0, 'v')]);
    assert.equal(m.state().validValue, null, 'one prevote for v is not a proof of lock');
    const m2 = machine('D');
    feed(m2, [start(), timeout('propose', 0)]);
    feed(m2, [vote('prevote', 'A', 0, 'v'), vote('prevote', 'B', 0, 'v'), vote('prevote', 'D', 0, null)]);
    m2.step(timeout('prevote', 0));
    assert.equal(m2.state().step, 'precommit');
    m2.step(vote('prevote', 'C', 0, 'v'));
    assert.equal(m2.state().validValue, null, 'no proposal for v yet');
    m2.step(proposal(0, 'v'));
    assert.deepEqual(
      { ...m2.state() },
      {
        height: 1n,
        round: 0,
        step: 'precommit',
        decided: false,
        lockedValue: null,
        lockedRound: -1,
        validValue: 'v',
        validRound: 0,
      },
    );
  });

  test('f+1 messages of a higher round make the machine skip to it (line 55)', () => {
    const m = machine('D');
    m.step(start());
    assert.deepEqual(m.step(vote('prevote', 'A', 3, null)), [], 'one validator (1/4) is not f+1');
    const outs = m.step(vote('precommit', 'B', 3, null));
    assert.equal(m.state().round, 3);
    assert.deepEqual(ofType(outs, 'scheduleTimeout'), [
      { type: 'scheduleTimeout', kind: 'propose', height: 1n, round: 3, durationMs: 1000 + 3 * 100 },
    ]);
  });

  test('messages a validator sends for many future rounds are bounded: only its two highest count', () => {
    const m = machine('D');
    m.step(start());
    feed(m, [
      vote('prevote', 'A', 100, null),
      vote('prevote', 'A', 101, null),
      vote('prevote', 'A', 102, null),
    ]);
    m.step(vote('prevote', 'B', 100, null));
    assert.equal(m.state().round, 0, "A's vote for round 100 was evicted: B alone is not f+1");
    m.step(vote('prevote', 'B', 102, null));
    assert.equal(m.state().round, 102);
  });

  test('duplicate votes count once', () => {
    const m = machine('D');
    feed(m, [start(), proposal(0, 'v')]);
    const outs = feed(m, [
      vote('prevote', 'D', 0, 'v'),
      vote('prevote', 'A', 0, 'v'),
      vote('prevote', 'A', 0, 'v'),
      vote('prevote', 'A', 0, 'v'),
    ]);
    assert.deepEqual(votesOf(outs), [], 'D and A are 2 of 4, not 2f+1');
    assert.deepEqual(votesOf(m.step(vote('prevote', 'B', 0, 'v'))), ['precommit:0:v']);
  });

  test('equivocation produces evidence once, naming both votes', () => {
    const m = machine('D');
    m.step(start());
    const first = vote('prevote', 'A', 0, 'x');
    const second = vote('prevote', 'A', 0, 'y');
    m.step(first);
    const outs = m.step(second);
    assert.equal(outs.length, 1);
    const [ev] = ofType(outs, 'evidence');
    assert.deepEqual(ev, {
      type: 'evidence',
      a: { kind: 'prevote', height: 1n, round: 0, value: 'x', validator: 'A' },
      b: { kind: 'prevote', height: 1n, round: 0, value: 'y', validator: 'A' },
    });
    assert.deepEqual(ofType(m.step(vote('prevote', 'A', 0, null)), 'evidence'), []);
    // Precommits are a different vote kind: a conflict there is reported separately.
    m.step(vote('precommit', 'A', 0, 'x'));
    assert.equal(ofType(m.step(vote('precommit', 'A', 0, null)), 'evidence').length, 1);
  });

  test('the decision commit holds precommits of more than 2/3 of the power', () => {
    // A has 5 of 8: B, C, D together (3) cannot decide; A and B (6 > 16/3) can.
    const m = machine(null);
    feed(m, [start(1n, [5n, 1n, 1n, 1n]), proposal(0, 'v')]);
    const none = feed(m, [
      vote('precommit', 'B', 0, 'v'),
      vote('precommit', 'C', 0, 'v'),
      vote('precommit', 'D', 0, 'v'),
    ]);
    assert.deepEqual(ofType(none, 'decide'), []);
    const outs = m.step(vote('precommit', 'A', 0, 'v'));
    const [d] = ofType(outs, 'decide');
    assert.ok(d);
    assert.equal(d.value, 'v');
    assert.equal(d.round, 0);
    assert.deepEqual(
      d.commit.map((v) => v.validator),
      ['B', 'C', 'D', 'A'],
    );
    assert.ok(m.state().decided);
    assert.deepEqual(m.step(vote('precommit', 'A', 1, 'w')), [], 'a decided height takes no more input');
  });

  test('a decision needs the valid proposal: precommits alone do not decide (line 49)', () => {
    const m = machine(null);
    m.step(start());
    const outs = feed(m, [
      vote('precommit', 'A', 0, 'v'),
      vote('precommit', 'B', 0, 'v'),
      vote('precommit', 'C', 0, 'v'),
    ]);
    assert.deepEqual(ofType(outs, 'decide'), []);
    const late = m.step(proposal(0, 'v'));
    assert.equal(ofType(late, 'decide')[0]?.value, 'v');
    // The same with an invalid block never decides.
    const bad = machine(null);
    feed(bad, [start(), proposal(0, 'v', -1, false)]);
    const o2 = feed(bad, [
      vote('precommit', 'A', 0, 'v'),
      vote('precommit', 'B', 0, 'v'),
      vote('precommit', 'C', 0, 'v'),
    ]);
    assert.deepEqual(ofType(o2, 'decide'), []);
  });

  test('a decision in an older round still counts (line 49 for any round)', () => {
    const m = machine(null);
    feed(m, [start(), proposal(0, 'v')]);
    m.step(vote('prevote', 'A', 4, null));
    m.step(vote('prevote', 'B', 4, null));
    assert.equal(m.state().round, 4);
    const outs = feed(m, [
      vote('precommit', 'A', 0, 'v'),
      vote('precommit', 'B', 0, 'v'),
      vote('precommit', 'C', 0, 'v'),
    ]);
    assert.equal(ofType(outs, 'decide')[0]?.round, 0);
  });

  test('votes from non-validators are ignored', () => {
    const m = machine('D');
    feed(m, [start(), proposal(0, 'v'), vote('prevote', 'D', 0, 'v'), vote('prevote', 'A', 0, 'v')]);
    const outs = m.step({
      type: 'vote',
      vote: { kind: 'prevote', height: 1n, round: 0, value: 'v', validator: 'Z' },
    });
    assert.deepEqual(outs, []);
    assert.equal(m.state().step, 'prevote');
  });

  test('messages for the next height are buffered (bounded) and replayed on its start; others dropped', () => {
    const m = machine('D');
    m.step(start(1n));
    feed(m, [
      proposal(0, 'n', -1, true, 2n),
      vote('prevote', 'A', 0, 'n', 2n),
      vote('prevote', 'B', 0, 'n', 2n),
    ]);
    m.step(vote('prevote', 'C', 0, 'n', 3n)); // two heights ahead: dropped
    assert.equal(m.nextHeightInputs().length, 3);
    for (let r = 0; r < 2 * MAX_BUFFERED_PER_SENDER; r++) m.step(vote('precommit', 'C', r, null, 2n));
    assert.equal(m.nextHeightInputs().length, 3 + MAX_BUFFERED_PER_SENDER, 'C can buffer only its share');
    const outs = m.step(start(2n));
    // Proposal + A, B prevotes replayed: D prevotes n; its own prevote comes back through the engine.
    assert.deepEqual(votesOf(outs), ['prevote:0:n']);
    assert.deepEqual(votesOf(m.step(vote('prevote', 'D', 0, 'n', 2n))), ['precommit:0:n']);
    assert.deepEqual(m.step(vote('prevote', 'C', 0, 'x', 1n)), [], 'a past height is dropped');
  });

  test('an observer (self null) decides but never votes or proposes', () => {
    const m = machine(null);
    const outs = feed(m, [start(), proposal(0, 'v'), timeout('propose', 0)]);
    assert.deepEqual(votesOf(outs), []);
  });

  test('contract errors are typed', () => {
    assert.throws(() => machine('A').step(vote('prevote', 'A', 0, 'v')), NotStartedError);
    const m = machine('A');
    m.step(start(5n));
    assert.throws(() => m.step(start(5n)), StartHeightError);
    assert.throws(() => m.step(vote('prevote', 'A', -1, 'v', 5n)), InvalidInputError);
    assert.throws(() => m.step({ ...start(6n), validators: [] }), InvalidInputError);
    assert.throws(
      () => m.step({ ...start(6n), validators: [{ address: 'A', power: 0n }] }),
      InvalidInputError,
    );
    assert.throws(
      () =>
        machine('A').step({
          ...start(),
          validators: [
            { address: 'A', power: 1n },
            { address: 'A', power: 1n },
          ],
        }),
      InvalidInputError,
    );
    assert.throws(
      () =>
        m.step({
          type: 'proposal',
          proposal: { height: 5n, round: 0, value: 'v', validRound: -2, proposer: 'A' },
          valid: true,
        }),
      InvalidInputError,
    );
  });

  test('the noLocking flag really removes the lock (the broken variant the simulator must catch)', () => {
    const m = lockedD({ noLocking: true });
    feed(m, [
      vote('precommit', 'B', 0, null),
      vote('precommit', 'C', 0, null),
      vote('precommit', 'D', 0, 'v'),
    ]);
    m.step(timeout('precommit', 0));
    assert.deepEqual(votesOf(m.step(proposal(1, 'w'))), ['prevote:1:w']);
  });
});
