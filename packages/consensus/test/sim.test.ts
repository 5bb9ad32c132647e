import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng, runSimulation, type SimResult } from '../src/sim.ts';
import { BROKEN_VARIANTS, violationKind } from '../src/sim-variants.ts';

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
    let twinRuns = 0;
    let boundaryRuns = 0;
    let planRuns = 0;
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
      if (r.twins > 0) twinRuns++;
      if (r.boundary) boundaryRuns++;
      if (r.roundPlan) planRuns++;
      worstAfterGstMs = Math.max(worstAfterGstMs, r.afterGstMs);
      maxRound = Math.max(maxRound, r.maxRound);
    }
    const ms = Math.round(performance.now() - started);
    console.log(
      `${SEEDS} seeds in ${ms} ms: ${deliveries} deliveries, ${crashes} crashes, ${evidence} evidence, ` +
        `${byzantineRuns} runs with Byzantine validators (${twinRuns} with twins, ${boundaryRuns} holding exactly 1/3), ` +
        `${partitionRuns} with a partition, ${planRuns} with a round plan, ` +
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
    assert.ok(twinRuns > SEEDS / 10 && boundaryRuns > SEEDS / 10 && planRuns > SEEDS / 3);
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

  // Each deliberately broken variant must be caught within the seeds CI runs, by the kind of
  // violation the bug causes, on a seed the correct machine passes.
  for (const variant of BROKEN_VARIANTS) {
    test(`the checks can fail: ${variant.name} (${variant.what}) is caught`, () => {
      let found: SimResult | undefined;
      for (let seed = 1; seed <= SEEDS && found === undefined; seed++) {
        const r = runSimulation({ seed, unsafe: variant.unsafe });
        if (!r.ok) found = r;
      }
      assert.ok(found, `no seed in 1..${SEEDS} caught ${variant.name}`);
      const kind = violationKind(found.violations[0]!);
      assert.ok(variant.expect.includes(kind), `${variant.name} caught as ${kind}: ${found.violations[0]}`);
      console.log(`${variant.name}: first failing seed ${found.seed} (${kind}): ${found.violations[0]}`);
      assert.equal(runSimulation({ seed: found.seed }).ok, true, 'the correct machine fails the same seed');
    });
  }

  test('twinned and Byzantine identities are the only ones evidence names, and twins double-sign', () => {
    let twinEvidence = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const r = runSimulation({ seed });
      assert.ok(r.ok, r.violations.join('; '));
      if (r.twins > 0 && r.evidence > 0) twinEvidence++;
    }
    assert.ok(twinEvidence > 0, 'no twin was ever caught double-signing');
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
