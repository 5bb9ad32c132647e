// verifyProof (cached-key Groth16 on snarkjs' BN254 wasm, verify-groth16.ts) against
// snarkjs.groth16.verify: the same answer for honest and tampered proofs (signals, points, keys,
// points at infinity, signal counts, non-canonical encodings), the same public-input commitment
// byte for byte, and the warm timing of both (median of 20) on a 12-signal proof.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runInt } from '@aivm/runtime';
import * as snarkjs from 'snarkjs';
import { rng } from '../../runtime/test/quant-helpers.ts';
import {
  compile,
  type ProofArtifact,
  ProofFormatError,
  type VerificationKey,
  witnessFromTrace,
  writeR1cs,
  writeWtns,
} from '../src/index.ts';
import { devSetup } from '../src/setup.ts';
import { releaseCurve, verifyProof } from '../src/verify.ts';
import { _publicCommitment, groth16Verify } from '../src/verify-groth16.ts';
import { tinyModel } from './helpers/tiny.ts';

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const quiet = { warn() {}, info() {}, error() {}, debug() {} };

/** Gemm 9→4, Relu, Gemm 4→3 with public inputs: 3 outputs + 9 inputs = 12 public signals. */
const model12 = () => tinyModel({ inputs: 9, seed: 12, xRange: 1.5 });

let vkA: VerificationKey;
let vkB: VerificationKey;
let proof1: ProofArtifact; // key A
let proof2: ProofArtifact; // key A, same statement, other randomness
let proofB: ProofArtifact; // key B

before(async () => {
  const { model, x } = model12();
  const circuit = compile(model);
  const run = runInt(model, { x }, { trace: true });
  const wtns = writeWtns(witnessFromTrace(circuit, run.trace as NonNullable<typeof run.trace>).wires);
  const r1cs = writeR1cs(circuit.r1cs);
  const a = await devSetup(r1cs, 'verify-speed-a');
  const b = await devSetup(r1cs, 'verify-speed-b');
  vkA = a.vk as unknown as VerificationKey;
  vkB = b.vk as unknown as VerificationKey;
  const prove = async (zkey: Uint8Array): Promise<ProofArtifact> => {
    const p = await snarkjs.groth16.prove({ type: 'mem', data: zkey } as never, wtns, quiet);
    return { proof: p.proof, publicSignals: p.publicSignals };
  };
  proof1 = await prove(a.zkey);
  proof2 = await prove(a.zkey);
  proofB = await prove(b.zkey);
});
after(releaseCurve);

const snark = (vk: unknown, a: ProofArtifact) =>
  snarkjs.groth16.verify(vk as never, a.publicSignals as never, a.proof as never);
const signals = (a: ProofArtifact, f: (s: string[]) => unknown[]): ProofArtifact => ({
  ...a,
  publicSignals: f(a.publicSignals.slice()) as string[],
});
const point = (a: ProofArtifact, k: 'pi_a' | 'pi_b' | 'pi_c', v: unknown): ProofArtifact => ({
  ...a,
  proof: { ...a.proof, [k]: v },
});
const outcome = (p: Promise<boolean>) =>
  p.then(
    (v) => v,
    (e: Error) => `throws ${e.constructor.name}`,
  );

/** groth16Verify answers (or throws) exactly as snarkjs does; returns the answer. */
async function same(vk: unknown, a: ProofArtifact, what: string): Promise<boolean | string> {
  const want = await outcome(snark(vk, a));
  assert.equal(await outcome(groth16Verify(vk, a.publicSignals, a.proof)), want, what);
  return want;
}

describe('verifyProof with a prepared key', () => {
  it('12 public signals; honest proofs verify, as with snarkjs', async () => {
    assert.equal(proof1.publicSignals.length, 12);
    assert.equal(vkA.nPublic, 12);
    for (const [vk, p] of [
      [vkA, proof1],
      [vkA, proof2],
      [vkB, proofB],
    ] as const) {
      assert.equal(await snark(vk, p), true);
      assert.equal(await verifyProof(vk, p), true);
      assert.equal(await verifyProof(structuredClone(vk), structuredClone(p)), true);
    }
    assert.notDeepEqual(proof1.proof.pi_a, proof2.proof.pi_a);
  });

  it('tampered signals, points and keys: the same answer as snarkjs (false)', async () => {
    const cases: [VerificationKey, ProofArtifact, string][] = [];
    for (let i = 0; i < 12; i++) {
      const bump = signals(proof1, (s) => {
        s[i] = ((BigInt(s[i]) + 1n) % R).toString();
        return s;
      });
      cases.push([vkA, bump, `signal ${i} + 1`]);
    }
    for (const k of ['pi_a', 'pi_b', 'pi_c'] as const) {
      cases.push([vkA, point(proof1, k, proof2.proof[k]), `${k} of another proof`]);
      cases.push([vkA, point(proof1, k, proofB.proof[k]), `${k} of another key's proof`]);
    }
    cases.push([vkA, proofB, 'proof of key B, key A']);
    cases.push([vkB, proof1, 'proof of key A, key B']);
    cases.push([vkA, signals(proof1, (s) => s.reverse()), 'signals reversed']);
    for (const [vk, p, what] of cases) {
      assert.equal(await same(vk, p, what), false, what);
      assert.equal(await verifyProof(vk, p), false, what);
    }
    // The prepared key of A still serves A after B's was used.
    assert.equal(await verifyProof(vkA, proof1), true);
  });

  it('a signal ≥ r: false like snarkjs; verifyProof throws ProofFormatError first, as before', async () => {
    for (const v of [R, R + 1n, R + BigInt(proof1.publicSignals[0]), 1n << 256n]) {
      const p = signals(proof1, (s) => {
        s[0] = v.toString();
        return s;
      });
      assert.equal(await same(vkA, p, `signal ${v}`), false);
      await assert.rejects(verifyProof(vkA, p), ProofFormatError);
    }
  });

  it('points off the curve: false like snarkjs; verifyProof throws ProofFormatError, as before', async () => {
    const [ax, ay] = proof1.proof.pi_a;
    const [bx, by] = proof1.proof.pi_b;
    const [cx, cy] = proof1.proof.pi_c;
    const bumped = (v: string) => (BigInt(v) + 1n).toString();
    const cases = [
      point(proof1, 'pi_a', [ax, bumped(ay), '1']),
      point(proof1, 'pi_b', [bx, [by[0], bumped(by[1])], ['1', '0']]),
      point(proof1, 'pi_c', [bumped(cx), cy, '1']),
    ];
    for (const p of cases) {
      assert.equal(await same(vkA, p, 'off curve'), false);
      await assert.rejects(verifyProof(vkA, p), ProofFormatError);
    }
  });

  it('edge cases answer as snarkjs does (infinity, signal counts, encodings)', async () => {
    const inf1 = ['0', '1', '0'];
    const inf2 = [
      ['0', '0'],
      ['1', '0'],
      ['0', '0'],
    ];
    const edge: [unknown, ProofArtifact, string][] = [
      [vkA, point(proof1, 'pi_a', inf1), 'A at infinity'],
      [vkA, point(proof1, 'pi_b', inf2), 'B at infinity'],
      [vkA, point(proof1, 'pi_c', inf1), 'C at infinity'],
      [vkA, signals(proof1, (s) => s.slice(0, 11)), '11 signals'],
      [vkA, signals(proof1, () => []), 'no signals'],
      [vkA, signals(proof1, (s) => [...s, '0']), '13 signals (snarkjs throws)'],
      [vkA, signals(proof1, (s) => s.map((v) => `00${v}`)), 'leading zeros'],
      [vkA, signals(proof1, (s) => s.map((v) => `0x${BigInt(v).toString(16)}`)), 'hex signals'],
      [vkA, signals(proof1, (s) => s.map((v) => BigInt(v))), 'bigint signals'],
      [{ ...vkA, nPublic: 3 }, proof1, 'nPublic ignored'],
      [{ ...vkA, IC: vkA.IC.slice(0, 12) }, proof1, 'IC one short'],
    ];
    const got: string[] = [];
    for (const [vk, p, what] of edge) got.push(`${what}: ${await same(vk, p, what)}`);
    console.log(`  ${got.join('\n  ')}`);
    assert.equal(
      await same(
        vkA,
        signals(proof1, (s) => s.map((v) => `00${v}`)),
        'zeros',
      ),
      true,
    );
  });

  it('the public-input commitment is byte-identical to snarkjs (multiExpAffine + IC[0])', async () => {
    const curve = (await snarkjs.curves.getCurveFromName('bn128')) as unknown as {
      G1: {
        fromObject(o: unknown): Uint8Array;
        add(a: Uint8Array, b: Uint8Array): Uint8Array;
        multiExpAffine(b: Uint8Array, s: Uint8Array): Promise<Uint8Array>;
      };
    };
    const r = rng(5);
    const big = () => BigInt(Math.floor(r() * 2 ** 52)) * BigInt(Math.floor(r() * 2 ** 52)) * 7919n;
    const vectors = [
      proof1.publicSignals.map(BigInt),
      Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? R - 1n : 0n)),
      Array.from({ length: 12 }, () => big() % R),
      Array.from({ length: 5 }, () => (big() * big()) % R),
      [1n],
      [],
    ];
    for (const s of vectors) {
      const ic = new Uint8Array(64 * s.length);
      const w = new Uint8Array(32 * s.length);
      s.forEach((v, i) => {
        ic.set(curve.G1.fromObject(vkA.IC[i + 1].map(BigInt)), 64 * i);
        for (let b = 0; b < 32; b++) w[32 * i + b] = Number((v >> BigInt(8 * b)) & 0xffn);
      });
      const want = curve.G1.add(
        await curve.G1.multiExpAffine(ic, w),
        curve.G1.fromObject(vkA.IC[0].map(BigInt)),
      );
      assert.deepEqual(await _publicCommitment(vkA, s), want, `${s.length} signals`);
    }
  });

  it('survives releaseCurve (a fresh curve, a fresh cache)', async () => {
    await releaseCurve();
    assert.equal(await verifyProof(vkA, proof1), true);
    assert.equal(await verifyProof(vkA, proof2), true);
    assert.equal(await verifyProof(vkB, proof1), false);
  });
  // Speed is measured by `npm run bench:zk` (verification column), not asserted here: tests never
  // assert wall-clock times on this shared machine.
});
