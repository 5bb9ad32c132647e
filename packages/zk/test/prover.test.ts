// Proving in a worker thread: the proof verifies, progress is reported (start, snarkjs steps,
// end), the main event loop keeps ticking while the proof is generated, bad inputs and abort
// reject cleanly.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as snarkjs from 'snarkjs';
import { ProveError, type ProveProgress, prove } from '../src/prover.ts';
import { type TinySetup, terminateCurve, tinySetup } from './helpers/tiny.ts';

let t: TinySetup;
before(async () => {
  t = await tinySetup();
});
after(terminateCurve);

describe('prove() in a worker thread', () => {
  it('returns a proof that verifies, reports progress, keeps the event loop ticking', {
    timeout: 120_000,
  }, async () => {
    const events: ProveProgress[] = [];
    let ticks = 0;
    let last = performance.now();
    let maxGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 5);
    let res: Awaited<ReturnType<typeof prove>>;
    try {
      res = await prove(t.zkey, t.wtns, { onProgress: (p) => events.push(p) });
    } finally {
      clearInterval(timer);
    }
    assert.deepEqual(res.publicSignals, t.publicSignals);
    const t0 = performance.now();
    assert.equal(await snarkjs.groth16.verify(t.vk, res.publicSignals, res.proof), true);
    const verifyMs = performance.now() - t0;
    assert.equal(events[0].stage, 'start');
    assert.equal(events.at(-1)?.stage, 'end');
    const steps = events.filter((e) => e.stage === 'step').map((e) => e.message);
    assert.ok(steps.includes('Reading Wtns'), steps.join('|'));
    assert.ok(
      steps.some((s) => /multiexp/.test(s) || /Reading . Points/.test(s)),
      steps.join('|'),
    );
    assert.ok(ticks >= 3, `${ticks} ticks`);
    console.log(
      `worker prove: ${res.proveMs.toFixed(0)} ms in snarkjs, ${res.totalMs.toFixed(0)} ms total; verify ${verifyMs.toFixed(0)} ms; ` +
        `${ticks} ticks of 5 ms, largest gap ${maxGap.toFixed(0)} ms; ${steps.length} progress steps`,
    );
  });

  it('rejects with ProveError for garbage key bytes', { timeout: 60_000 }, async () => {
    await assert.rejects(prove(new Uint8Array(100), t.wtns), ProveError);
  });

  it('aborting terminates the worker and rejects', { timeout: 60_000 }, async () => {
    const ac = new AbortController();
    const p = prove(t.zkey, t.wtns, { signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
  });
});
