// Poseidon gadget vs poseidon-lite: parameters equal poseidon-lite's constants for every width, the
// native permutation and the circuit agree with poseidonN, every intermediate wire is pinned
// (±1 violates a constraint), and the documented commitment scheme matches in and out of circuit.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import * as lite from 'poseidon-lite';
import {
  commitConstraints,
  commitGadget,
  commitInputs,
  lcSignal,
  poseidonConstraints,
  poseidonNative,
  poseidonParams,
  poseidonSignal,
} from '../src/poseidon.ts';
import { BN254_R, finalize, firstViolation, fmod, type LC, R1csBuilder, sig } from '../src/r1cs.ts';

const require = createRequire(import.meta.url);
const liteDir = require.resolve('poseidon-lite').replace(/index\.js$/, '');
const fromB64 = (s: string): bigint => BigInt(`0x${Buffer.from(s, 'base64').toString('hex')}`);
const liteFn = (n: number) => (lite as unknown as Record<string, (x: bigint[]) => bigint>)[`poseidon${n}`];

let seed = 12345n;
function rand(): bigint {
  // A deterministic 256-bit LCG reduced into the field.
  seed = (seed * 6364136223846793005n + 1442695040888963407n) % (1n << 256n);
  return seed % BN254_R;
}

/** A circuit hashing n public-input wires; returns what a test needs. */
function build(n: number) {
  const b = new R1csBuilder();
  const ins = Array.from({ length: n }, (_, i) => b.signal(`in[${i}]`, 'input'));
  const out = poseidonSignal(
    b,
    ins.map((id) => sig(id)),
    'h',
  );
  const r1 = finalize(b);
  const witness = (vals: bigint[]): bigint[] => {
    const w: (bigint | undefined)[] = new Array(b.labels.length);
    w[0] = 1n;
    ins.forEach((id, i) => {
      w[id] = vals[i];
    });
    for (const h of b.hints) h(w);
    const wires: bigint[] = new Array(r1.nWires);
    w.forEach((v, id) => {
      wires[r1.wireOf[id]] = v as bigint;
    });
    return wires;
  };
  return { b, r1, out, outWire: r1.wireOf[out], witness };
}

describe('Poseidon parameters', () => {
  it('equal poseidon-lite constants (C and M) for t = 2..17', () => {
    for (let t = 2; t <= 17; t++) {
      const ref = require(`${liteDir}constants/${t - 1}.js`).default as { C: string[]; M: string[][] };
      const p = poseidonParams(t);
      assert.deepEqual(p.C, ref.C.map(fromB64), `C of t = ${t}`);
      assert.deepEqual(
        p.M,
        ref.M.map((r) => r.map(fromB64)),
        `M of t = ${t}`,
      );
    }
  });

  it('native permutation equals poseidonN for N = 1..16', () => {
    for (let n = 1; n <= 16; n++) {
      const xs = Array.from({ length: n }, rand);
      assert.equal(poseidonNative(xs), liteFn(n)(xs), `N = ${n}`);
    }
  });
});

describe('Poseidon gadget', () => {
  for (const n of [1, 2, 16]) {
    it(`arity ${n}: output wire equals poseidon${n}, constraints hold, ±1 on any intermediate wire fails`, () => {
      const c = build(n);
      assert.equal(c.r1.constraints.length, poseidonConstraints(n + 1) + 1);
      for (let rep = 0; rep < 3; rep++) {
        const xs = Array.from({ length: n }, rand);
        const w = c.witness(xs);
        assert.equal(w[c.outWire], liteFn(n)(xs));
        assert.equal(firstViolation(c.r1, w), -1);
        if (rep > 0) continue;
        const firstPrivate = 1 + c.r1.nOutputs + c.r1.nPubInputs;
        for (let wire = firstPrivate; wire < c.r1.nWires; wire++)
          for (const d of [1n, -1n]) {
            const bad = w.slice();
            bad[wire] = fmod(bad[wire] + d);
            assert.notEqual(firstViolation(c.r1, bad), -1, `${c.r1.labels[wire]} ${d > 0n ? '+1' : '-1'}`);
          }
      }
    });
  }

  it('constant inputs fold into constants and still match', () => {
    const b = new R1csBuilder();
    const x = b.signal('x', 'input');
    const out = poseidonSignal(b, [sig(x), new Map([[0, 7n]]) as LC], 'h');
    const r1 = finalize(b);
    const w: (bigint | undefined)[] = [1n, 5n];
    for (const h of b.hints) h(w);
    assert.equal(w[out], lite.poseidon2([5n, 7n]));
    assert.equal(r1.constraints.length, poseidonConstraints(3) + 1 - 3);
  });

  it('constraints per permutation: t = 3 → 240, t = 17 → 609', () => {
    assert.equal(poseidonConstraints(3), 240);
    assert.equal(poseidonConstraints(17), 609);
    assert.equal(build(2).r1.constraints.length - 1, 240);
    assert.equal(build(16).r1.constraints.length - 1, 609);
  });
});

describe('commitInputs', () => {
  it('is the documented chain of poseidon16 over chunks of 15', () => {
    const vals = Array.from({ length: 20 }, (_, i) => BigInt(i - 10));
    const f = vals.map(fmod);
    const c0 = lite.poseidon16([20n, ...f.slice(0, 15)]);
    const expected = lite.poseidon16([c0, ...f.slice(15), ...new Array(10).fill(0n)]);
    assert.equal(commitInputs(vals), expected);
    // Zero padding is disambiguated by the length.
    assert.notEqual(commitInputs([1n]), commitInputs([1n, 0n]));
    assert.throws(() => commitInputs([]));
  });

  for (const n of [1, 15, 16, 40]) {
    it(`circuit commitment of ${n} elements equals commitInputs; ±1 on an input changes it`, () => {
      const b = new R1csBuilder();
      const ins = Array.from({ length: n }, (_, i) => b.signal(`in[${i}]`, 'input'));
      const out = lcSignal(
        b,
        commitGadget(
          b,
          ins.map((id) => sig(id)),
        ),
        'c',
        'output',
      );
      const r1 = finalize(b);
      assert.equal(r1.constraints.length, commitConstraints(n) + 1);
      const vals = Array.from({ length: n }, (_, i) => BigInt(((i * 37) % 255) - 127));
      const run = (vs: bigint[]) => {
        const w: (bigint | undefined)[] = new Array(b.labels.length);
        w[0] = 1n;
        ins.forEach((id, i) => {
          w[id] = fmod(vs[i]);
        });
        for (const h of b.hints) h(w);
        const wires: bigint[] = new Array(r1.nWires);
        w.forEach((v, id) => {
          wires[r1.wireOf[id]] = v as bigint;
        });
        return { wires, out: w[out] as bigint };
      };
      const honest = run(vals);
      assert.equal(honest.out, commitInputs(vals));
      assert.equal(firstViolation(r1, honest.wires), -1);
      const changed = vals.slice();
      changed[n - 1] += 1n;
      const other = run(changed);
      assert.notEqual(other.out, honest.out);
      assert.equal(other.out, commitInputs(changed));
      // The old commitment with the new input violates a constraint.
      const forged = other.wires.slice();
      forged[r1.wireOf[out]] = honest.out;
      assert.notEqual(firstViolation(r1, forged), -1);
    });
  }
});
