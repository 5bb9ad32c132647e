// Proving in worker threads (our Groth16 prover, groth16-prove.ts): proofs verify with snarkjs for
// keys from snarkjs' own newZKey (ptau), from setupFromPtau with contributions and from the
// development setup, with public inputs and with committed inputs / private weights; the blinding
// makes every proof different; tampered public signals, a witness that breaks a constraint and a
// wrong key fail; progress is reported (start, steps, end), the main event loop keeps ticking while
// the proof is generated, bad inputs and abort reject cleanly.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runInt } from '@aivm/runtime';
import * as snarkjs from 'snarkjs';
import { compile, type VerificationKey, witnessFromTrace, writeR1cs, writeWtns } from '../src/index.ts';
import { ProveError, type ProveProgress, prove } from '../src/prover.ts';
import { devSetup, setupFromPtau } from '../src/setup.ts';
import { type TinySetup, terminateCurve, tinyModel, tinySetup } from './helpers/tiny.ts';

const quiet = { warn() {}, info() {}, error() {}, debug() {} };
let t: TinySetup;
const dir = mkdtempSync(join(tmpdir(), 'aivm-zk-prover-'));
before(async () => {
  t = await tinySetup();
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await terminateCurve();
});

/** The tiny MLP compiled with the given visibility, its .r1cs and an honest .wtns. */
function tinyCircuit(opts: Parameters<typeof compile>[1] = {}) {
  const { model, x } = tinyModel();
  const circuit = compile(model, opts);
  const run = runInt(model, { x }, { trace: true });
  const w = witnessFromTrace(circuit, run.trace as NonNullable<typeof run.trace>);
  return { r1cs: writeR1cs(circuit.r1cs), wires: w.wires, wtns: writeWtns(w.wires) };
}

async function verify(vk: unknown, publicSignals: string[], proof: unknown): Promise<boolean> {
  return snarkjs.groth16.verify(vk as VerificationKey, publicSignals, proof as never, quiet);
}

/** Two proofs of the same witness: both verify, differ (fresh r, s), fail with a tampered signal. */
async function checkKey(zkey: Uint8Array, vk: unknown, wtns: Uint8Array): Promise<void> {
  const a = await prove(zkey, wtns);
  const b = await prove(zkey, wtns);
  assert.equal(await verify(vk, a.publicSignals, a.proof), true);
  assert.equal(await verify(vk, b.publicSignals, b.proof), true);
  assert.deepEqual(a.publicSignals, b.publicSignals);
  assert.notDeepEqual(a.proof.pi_a, b.proof.pi_a);
  assert.notDeepEqual(a.proof.pi_b, b.proof.pi_b);
  assert.notDeepEqual(a.proof.pi_c, b.proof.pi_c);
  assert.equal(a.proof.protocol, 'groth16');
  assert.equal(a.proof.curve, 'bn128');
  assert.equal(a.proof.pi_a[2], '1');
  assert.deepEqual(a.proof.pi_b[2], ['1', '0']);
  assert.equal(a.proof.pi_c[2], '1');
  for (const s of [...a.publicSignals, ...a.proof.pi_a, ...a.proof.pi_c, ...a.proof.pi_b.flat()])
    assert.match(s, /^[0-9]+$/);
  const s = a.publicSignals.slice();
  s[s.length - 1] = (BigInt(s[s.length - 1]) + 1n).toString();
  assert.equal(await verify(vk, s, a.proof), false);
}

describe('prove() in worker threads', () => {
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
    assert.ok(
      steps.some((s) => /^FFT/.test(s)),
      steps.join('|'),
    );
    assert.ok(ticks >= 3, `${ticks} ticks`);
    assert.ok(res.proveMs > 0 && res.totalMs >= res.proveMs);
    console.log(
      `worker prove: ${res.proveMs.toFixed(0)} ms proving, ${res.totalMs.toFixed(0)} ms total; verify ${verifyMs.toFixed(0)} ms; ` +
        `${ticks} ticks of 5 ms, largest gap ${maxGap.toFixed(0)} ms; ${steps.length} progress steps`,
    );
  });

  it('snarkjs newZKey key (public inputs): proofs verify, differ, tampered signal fails', {
    timeout: 120_000,
  }, async () => {
    await checkKey(t.zkey, t.vk, t.wtns);
  });

  it('development key, public inputs', { timeout: 120_000 }, async () => {
    const c = tinyCircuit();
    const kp = await devSetup(c.r1cs, 'prover-test');
    await checkKey(kp.zkey, kp.vk, c.wtns);
  });

  it('development key, committed inputs and private weights', { timeout: 120_000 }, async () => {
    const c = tinyCircuit({ inputs: 'committed', weights: 'private' });
    const kp = await devSetup(c.r1cs, 'prover-test');
    await checkKey(kp.zkey, kp.vk, c.wtns);
  });

  it('setupFromPtau key with a contribution, public inputs', { timeout: 300_000 }, async () => {
    // (The committed-inputs circuit needs a larger ptau: minutes; its dev key is covered above.)
    const c = tinyCircuit();
    const info = await import('../src/setup.ts');
    const pow = info.domainPower(info.readR1csInfo(c.r1cs));
    const curve = await snarkjs.curves.getCurveFromName('bn128');
    const [p0, p1, pf] = ['p0', 'p1', 'pf'].map((x) => join(dir, `${x}.ptau`));
    await snarkjs.powersOfTau.newAccumulator(curve, pow, p0, quiet);
    await snarkjs.powersOfTau.contribute(p0, p1, 'test', 'entropy for a test only', quiet);
    await snarkjs.powersOfTau.preparePhase2(p1, pf, quiet);
    const kp = await setupFromPtau(c.r1cs, pf, [{ name: 'alice', entropy: 'alice entropy' }]);
    await checkKey(kp.zkey, kp.vk, c.wtns);
  });

  it('a witness that breaks a constraint gives a proof that does not verify', {
    timeout: 120_000,
  }, async () => {
    const c = tinyCircuit();
    const kp = await devSetup(c.r1cs, 'prover-test');
    // A private wire (after the public ones) changed: the witness no longer satisfies the system.
    const wires = c.wires.slice();
    const i = wires.length - 1;
    wires[i] = wires[i] + 1n;
    const bad = await prove(kp.zkey, writeWtns(wires));
    assert.equal(await verify(kp.vk, bad.publicSignals, bad.proof), false);
  });

  it('coefficients in any order (not sorted by constraint) give the same statement', {
    timeout: 120_000,
  }, async () => {
    // Reverse the coefficient entries of section 4 in a copy of the key.
    const z = t.zkey.slice();
    const v = new DataView(z.buffer);
    let p = 12;
    for (let k = 0; k < v.getUint32(8, true); k++) {
      const type = v.getUint32(p, true);
      const size = Number(v.getBigUint64(p + 4, true));
      if (type === 4) {
        const n = v.getUint32(p + 12, true);
        const s = 44;
        const orig = t.zkey.slice(p + 16, p + 16 + n * s);
        for (let e = 0; e < n; e++) z.set(orig.subarray((n - 1 - e) * s, (n - e) * s), p + 16 + e * s);
      }
      p += 12 + size;
    }
    const res = await prove(z, t.wtns);
    assert.equal(await verify(t.vk, res.publicSignals, res.proof), true);
  });

  it('a proof from another circuit key does not verify, a mismatched witness is rejected', {
    timeout: 120_000,
  }, async () => {
    const c = tinyCircuit({ inputs: 'committed', weights: 'private' });
    await assert.rejects(
      prove(t.zkey, c.wtns),
      (e: Error) => e instanceof ProveError && /witness/.test(e.message),
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

  it('aborting mid-proof (at the first task) terminates the workers and rejects', {
    timeout: 60_000,
  }, async () => {
    const ac = new AbortController();
    const steps: string[] = [];
    const t0 = performance.now();
    const p = prove(t.zkey, t.wtns, {
      signal: ac.signal,
      onProgress: (e) => {
        steps.push(e.message);
        if (/start$/.test(e.message)) ac.abort(new Error('stop now'));
      },
    });
    await assert.rejects(p, /stop now/);
    assert.ok(
      steps.some((s) => /start$/.test(s)),
      steps.join('|'),
    );
    assert.ok(!steps.some((s) => /^finish/.test(s)), steps.join('|'));
    assert.ok(performance.now() - t0 < 30_000);
  });
});
