import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng, runSimulation, type SimResult } from '../src/sim.ts';

const SEEDS = 1000;

describe('consensus simulator', () => {
  test(`${SEEDS} seeded runs keep agreement, validity and progress after GST`, () => {
    const started = performance.now();
    const failures: SimResult[] = [];
    let deliveries = 0;
    let crashes = 0;
    let evidence = 0;
    let byzantineRuns = 0;
    let partitionRuns = 0;
    let worstAfterGstMs = 0;
    let maxRound = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = runSimulation({ seed });
      if (!r.ok) failures.push(r);
      deliveries += r.deliveries;
      crashes += r.crashes;
      evidence += r.evidence;
      if (r.byzantine > 0) byzantineRuns++;
      if (r.scenario.includes('partition ')) partitionRuns++;
      worstAfterGstMs = Math.max(worstAfterGstMs, r.afterGstMs);
      maxRound = Math.max(maxRound, r.maxRound);
    }
    const ms = Math.round(performance.now() - started);
    console.log(
      `${SEEDS} seeds in ${ms} ms: ${deliveries} deliveries, ${crashes} crashes, ${evidence} evidence, ` +
        `${byzantineRuns} runs with Byzantine validators, ${partitionRuns} with a partition, ` +
        `highest round ${maxRound}, slowest finish ${worstAfterGstMs} ms after GST`,
    );
    for (const f of failures) {
      console.log(`FAILED ${f.scenario}\n  ${f.violations.join('\n  ')}`);
      console.log(`  replay: node packages/consensus/bin/sim.ts --seed ${f.seed} --verbose`);
    }
    assert.deepEqual(
      failures.map((f) => f.seed),
      [],
    );
    // The scenarios really exercise the faults they claim to.
    assert.ok(crashes > SEEDS / 2, `crashes ${crashes}`);
    assert.ok(evidence > 0 && byzantineRuns > SEEDS / 3 && partitionRuns > SEEDS / 3);
  });

  test('a seed replays exactly', () => {
    const a = runSimulation({ seed: 4242 });
    const b = runSimulation({ seed: 4242 });
    assert.deepEqual(a, b);
    const lines: string[] = [];
    runSimulation({ seed: 4242, log: (l) => lines.push(l) });
    const again: string[] = [];
    runSimulation({ seed: 4242, log: (l) => again.push(l) });
    assert.deepEqual(lines, again);
    assert.ok(lines.some((l) => l.includes('DECIDES')));
  });

  test('the checks can fail: without locking some seed breaks agreement', () => {
    // Same seed range as the main run; the broken machine (noLocking: no lock on prevote, no
    // re-proposal of validValue) lets two different blocks be decided at one height.
    let found: SimResult | undefined;
    for (let seed = 1; seed <= SEEDS && found === undefined; seed++) {
      const r = runSimulation({ seed, unsafe: { noLocking: true } });
      if (!r.ok) found = r;
    }
    assert.ok(found, 'no seed caught the broken locking rule');
    assert.match(found.violations[0]!, /^agreement: height \d+ decided/);
    console.log(`noLocking caught by seed ${found.seed}: ${found.violations[0]}`);
    // The same seed with the real machine passes.
    assert.equal(runSimulation({ seed: found.seed }).ok, true);
  });

  test('the checks can fail: restarting without the WAL makes an honest validator sign conflicting votes', () => {
    let found: SimResult | undefined;
    for (let seed = 1; seed <= SEEDS && found === undefined; seed++) {
      const r = runSimulation({ seed, unsafe: { forgetWal: true } });
      if (!r.ok) found = r;
    }
    assert.ok(found, 'no seed caught the missing WAL');
    assert.match(found.violations[0]!, /^honest val\d+ signed conflicting (prevote|precommit)s/);
    console.log(`forgetWal caught by seed ${found.seed}: ${found.violations[0]}`);
  });

  test('the PRNG is deterministic and spreads its output', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const xs = Array.from({ length: 1000 }, () => a.int(10));
    assert.deepEqual(
      xs,
      Array.from({ length: 1000 }, () => b.int(10)),
    );
    const counts = new Array(10).fill(0);
    for (const x of xs) counts[x]++;
    for (const c of counts) assert.ok(c > 60 && c < 140, `bucket ${c}`);
    assert.notDeepEqual(
      Array.from({ length: 8 }, () => new Rng(8).next()),
      Array.from({ length: 8 }, () => new Rng(7).next()),
    );
  });
});
