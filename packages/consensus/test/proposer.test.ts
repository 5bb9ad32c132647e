import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  advancePriorities,
  carryPriorities,
  joiningPriority,
  type PrioritizedValidator,
  proposerFor,
} from '../src/proposer.ts';

const set = (...powers: number[]): PrioritizedValidator[] =>
  powers.map((p, i) => ({ address: `0x${String(i).padStart(40, '0')}`, power: BigInt(p), priority: 0n }));

/** Runs the chain's per-block advance `blocks` times and counts who proposed round 0. */
function rotation(start: PrioritizedValidator[], blocks: number): string[] {
  const order: string[] = [];
  let s = start;
  for (let i = 0; i < blocks; i++) {
    order.push(proposerFor(s, 0));
    s = advancePriorities(s).set;
  }
  return order;
}

describe('proposer selection', () => {
  it('proposes in proportion to voting power', () => {
    const vals = set(1, 2, 3, 4);
    const order = rotation(vals, 1_000);
    const counts = vals.map((v) => order.filter((a) => a === v.address).length);
    // Total power 10: over 1,000 blocks each validator proposes power * 100 times, within one.
    for (const [i, v] of vals.entries())
      assert.ok(Math.abs(counts[i]! - Number(v.power) * 100) <= 1, `${counts}`);
  });

  it('interleaves instead of giving a heavy validator a run of blocks', () => {
    const vals = set(3, 1);
    assert.deepEqual(
      rotation(vals, 8).map((a) => a.slice(-1)),
      ['0', '0', '1', '0', '0', '0', '1', '0'],
    );
  });

  it('equal powers rotate through every validator, ties broken by the lower address', () => {
    const vals = set(5, 5, 5);
    assert.deepEqual(
      rotation(vals, 6).map((a) => a.slice(-1)),
      ['0', '1', '2', '0', '1', '2'],
    );
  });

  it('later rounds move to the next proposer without changing the stored priorities', () => {
    const vals = set(1, 1, 1, 1);
    const r = [0, 1, 2, 3].map((round) => proposerFor(vals, round));
    assert.equal(new Set(r).size, 4);
    assert.deepEqual(
      vals.map((v) => v.priority),
      [0n, 0n, 0n, 0n],
    );
  });

  it('keeps priorities bounded over a long run with skewed powers', () => {
    let s = set(1, 1_000_000, 7);
    for (let i = 0; i < 5_000; i++) s = advancePriorities(s).set;
    const total = 1_000_008n;
    for (const v of s) assert.ok(v.priority <= 2n * total && v.priority >= -2n * total, `${v.priority}`);
  });

  it('a joining validator waits behind the others', () => {
    const vals = advancePriorities(set(10, 10, 10), 5).set;
    const next = carryPriorities(vals, [...vals, { address: `0x${'9'.repeat(40)}`, power: 10n }]);
    assert.equal(next[3]!.priority < Math.min(...next.slice(0, 3).map((v) => Number(v.priority))), true);
    const order = rotation(next, 3);
    assert.equal(order.includes(`0x${'9'.repeat(40)}`), false);
    assert.equal(joiningPriority(80n), -90n);
  });

  it('rejects an empty set and non-positive power', () => {
    assert.throws(() => proposerFor([], 0), /empty/);
    assert.throws(() => proposerFor(set(1, 0), 0), /non-positive/);
    assert.throws(() => proposerFor(set(1), -1), /round/);
  });
});
