// The circuit compiler on a tiny MLP: the runtime's trace satisfies every constraint, perturbing any
// private signal by one unit violates one, the binary files are read by snarkjs itself, and a
// Groth16 proof made by snarkjs from our .r1cs/.wtns verifies (and fails for a tampered output).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ModelError, runInt } from '@aivm/runtime';
import * as snarkjs from 'snarkjs';
import {
  BN254_R,
  compile,
  firstViolation,
  fmod,
  witnessFromTrace,
  writeR1cs,
  writeWtns,
} from '../src/index.ts';
import { tinyModel } from './helpers/tiny.ts';

const { model, x } = tinyModel();
const circuit = compile(model);
const run = runInt(model, { x }, { trace: true });
const witness = witnessFromTrace(circuit, run.trace as NonNullable<typeof run.trace>);

const dir = mkdtempSync(join(tmpdir(), 'aivm-zk-'));
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  await g.curve_bn128?.terminate();
});

describe('circuit of a tiny MLP (Gemm 8→4, Relu, Gemm 4→3)', () => {
  it('uses snarkjs bn128 scalar field', async () => {
    const curve = await snarkjs.curves.getCurveFromName('bn128');
    assert.equal(BigInt(curve.r.toString()), BN254_R);
  });

  it('the trace satisfies every constraint and the public signals are outputs then inputs', () => {
    const r = circuit.r1cs;
    assert.equal(firstViolation(r, witness.wires), -1);
    assert.equal(r.nOutputs, 3);
    assert.equal(r.nPubInputs, 8);
    const y = run.outputs.y.data;
    const xq = (run.trace as Map<string, { data: ArrayLike<number> }>).get('x')?.data as ArrayLike<number>;
    assert.deepEqual(
      witness.publicSignals,
      [...Array.from(y), ...Array.from(xq)].map((v) => fmod(BigInt(v))),
    );
    // The chosen input exercises the saturating clamp and both relu branches.
    const h = (run.trace as Map<string, { data: ArrayLike<number> }>).get('h')?.data as ArrayLike<number>;
    assert.ok(Array.from(h).some((v) => v < 0) && Array.from(h).some((v) => v > 0));
    assert.ok(
      [...Array.from(y), ...Array.from(h)].some((v) => Math.abs(v) === 127),
      'some value saturates',
    );
  });

  it('perturbing any private signal by one unit violates a constraint', () => {
    const r = circuit.r1cs;
    const uses: number[][] = Array.from({ length: r.nWires }, () => []);
    r.constraints.forEach((c, i) => {
      for (const l of [c.a, c.b, c.c]) for (const s of l.keys()) if (uses[s].at(-1) !== i) uses[s].push(i);
    });
    const first = 1 + r.nOutputs + r.nPubInputs;
    let checked = 0;
    for (let s = first; s < r.nWires; s++)
      for (const delta of [1n, -1n]) {
        const w = witness.wires.slice();
        w[s] = fmod(w[s] + delta);
        assert.notEqual(firstViolation(r, w, uses[s]), -1, `${r.labels[s]} ${delta > 0 ? '+1' : '-1'}`);
        checked++;
      }
    assert.ok(checked > 200, `${checked} mutations`);
    console.log(`${r.constraints.length} constraints, ${r.nWires} wires, ${checked} mutations`);
  });

  it('refuses a trace that does not follow the semantics', () => {
    const trace = new Map(run.trace);
    // The first Gemm is fused with the ReLU that alone reads it (its rescale clamps to [0, 127]):
    // its ReLU output 'hr' is a wire, checked; the Gemm's own value 'h' is not.
    for (let i = 0; i < 4; i++) {
      const hr = trace.get('hr') as NonNullable<ReturnType<typeof trace.get>>;
      const bad = Int8Array.from(hr.data);
      bad[i] = bad[i] === 127 ? 126 : bad[i] + 1;
      trace.set('hr', { ...hr, data: bad });
      assert.throws(() => witnessFromTrace(circuit, trace), /violates constraint/);
      trace.set('hr', hr);
    }
    const y = trace.get('y') as NonNullable<ReturnType<typeof trace.get>>;
    trace.set('y', {
      ...y,
      data: Int8Array.from(y.data, (v, i) => (i === 1 ? (v === 127 ? 126 : v + 1) : v)),
    });
    assert.throws(() => witnessFromTrace(circuit, trace), /violates constraint/);
  });

  it('fusing the ReLU drops its gadget and its input wires, not the outputs', () => {
    const unfused = compile(model, { fuseRelu: false });
    const w = witnessFromTrace(unfused, run.trace as NonNullable<typeof run.trace>);
    assert.deepEqual(w.publicSignals, witness.publicSignals);
    const relu = unfused.constraintsByNode.find((n) => n.kernel === 'relu');
    assert.ok(relu && relu.constraints > 0);
    assert.equal(circuit.constraintsByNode.find((n) => n.kernel === 'relu')?.constraints, 0);
    assert.ok(circuit.r1cs.constraints.length < unfused.r1cs.constraints.length);
    // The fused circuit has no wire for the Gemm's own value 'h'; the unfused one does.
    assert.deepEqual(
      circuit.traceSignals.map((t) => t.value),
      ['x', 'hr', 'y'],
    );
    assert.deepEqual(
      unfused.traceSignals.map((t) => t.value),
      ['x', 'h', 'hr', 'y'],
    );
  });

  it('refuses an unsupported kernel at compile time, naming node and kernel', () => {
    const bad = structuredClone(model);
    bad.nodes[1] = { ...bad.nodes[1], kernel: 'softmax', name: 'sm' };
    assert.throws(
      () => compile(bad),
      (e: Error) => e instanceof ModelError && /"softmax".*"sm"/.test(e.message),
    );
  });

  it('snarkjs reads the .r1cs and checks the .wtns', async () => {
    writeFileSync(join(dir, 'c.r1cs'), writeR1cs(circuit.r1cs));
    writeFileSync(join(dir, 'c.wtns'), writeWtns(witness.wires));
    const info = await snarkjs.r1cs.info(join(dir, 'c.r1cs'));
    assert.equal(info.nConstraints, circuit.r1cs.constraints.length);
    assert.equal(info.nOutputs, 3);
    assert.equal(info.nPubInputs, 8);
    assert.equal(await snarkjs.wtns.check(join(dir, 'c.r1cs'), join(dir, 'c.wtns')), true);
    const tampered = witness.wires.slice();
    tampered[tampered.length - 1] = fmod(tampered[tampered.length - 1] + 1n);
    writeFileSync(join(dir, 'bad.wtns'), writeWtns(tampered));
    const quiet = { warn() {}, info() {}, error() {}, debug() {} };
    assert.equal(await snarkjs.wtns.check(join(dir, 'c.r1cs'), join(dir, 'bad.wtns'), quiet), false);
  });

  it('proves and verifies with Groth16; a tampered output or input fails', { timeout: 120_000 }, async () => {
    const n = circuit.r1cs.constraints.length + circuit.r1cs.nOutputs + circuit.r1cs.nPubInputs + 1;
    let power = 1;
    while (1 << power < n) power++;
    const curve = await snarkjs.curves.getCurveFromName('bn128');
    const p0 = join(dir, 'p0.ptau');
    const p1 = join(dir, 'p1.ptau');
    const pf = join(dir, 'pf.ptau');
    await snarkjs.powersOfTau.newAccumulator(curve, power, p0);
    await snarkjs.powersOfTau.contribute(p0, p1, 'test', 'entropy for a test only');
    await snarkjs.powersOfTau.preparePhase2(p1, pf);
    const zkey = join(dir, 'c.zkey');
    writeFileSync(join(dir, 'c.r1cs'), writeR1cs(circuit.r1cs));
    writeFileSync(join(dir, 'c.wtns'), writeWtns(witness.wires));
    await snarkjs.zKey.newZKey(join(dir, 'c.r1cs'), pf, zkey);
    const vk = await snarkjs.zKey.exportVerificationKey(zkey);
    const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, join(dir, 'c.wtns'));
    assert.deepEqual(
      publicSignals,
      witness.publicSignals.map((v) => v.toString()),
    );
    assert.equal(await snarkjs.groth16.verify(vk, publicSignals, proof), true);
    const badOut = publicSignals.slice();
    badOut[0] = fmod(BigInt(badOut[0]) + 1n).toString();
    assert.equal(await snarkjs.groth16.verify(vk, badOut, proof), false);
    const badIn = publicSignals.slice();
    badIn[5] = fmod(BigInt(badIn[5]) - 1n).toString();
    assert.equal(await snarkjs.groth16.verify(vk, badIn, proof), false);
  });
});
