// Shared test setup: the tiny MLP of circuit.test.ts (Gemm 8→4, Relu, Gemm 4→3: 3 public outputs,
// 8 public inputs), its .r1cs/.wtns, a throwaway development Groth16 key and one honest proof.
// Made once per test file (each call does a fresh tiny powers-of-tau; about a second).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantize, runInt } from '@aivm/runtime';
import * as snarkjs from 'snarkjs';
import { buildGraph, randTensor, rng } from '../../../runtime/test/quant-helpers.ts';
import { compile, witnessFromTrace, writeR1cs, writeWtns } from '../../src/index.ts';
import type { Groth16Proof, VerificationKey } from '../../src/proof.ts';

export type TinySetup = {
  zkey: Uint8Array;
  wtns: Uint8Array;
  vk: VerificationKey;
  proof: Groth16Proof;
  publicSignals: string[];
  nConstraints: number;
};

/**
 * The tiny MLP (Gemm K->4, Relu, Gemm 4->3; K = 8 by default) and an input beyond its calibrated
 * range, so some outputs saturate.
 */
export function tinyModel(opts: { inputs?: number; seed?: number; xRange?: number } = {}) {
  const { inputs: K = 8, seed = 7, xRange = 2.5 } = opts;
  const r = rng(seed);
  const graph = buildGraph({
    inputs: { x: ['N', K] },
    initializers: {
      w1: randTensor([K, 4], r, -0.6, 0.6),
      b1: randTensor([4], r, -0.2, 0.2),
      w2: randTensor([4, 3], r, -0.6, 0.6),
      b2: randTensor([3], r, -0.2, 0.2),
    },
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'] },
      { op: 'Relu', inputs: ['h'], outputs: ['hr'] },
      { op: 'Gemm', inputs: ['hr', 'w2', 'b2'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const calib = randTensor([16, K], r, -1, 1);
  const model = quantize(graph, [{ x: calib }]);
  const x = randTensor([1, K], r, -xRange, xRange);
  return { model, x };
}

/** Builds the tiny circuit, a development key for it and one honest proof. */
export async function tinySetup(): Promise<TinySetup> {
  const { model, x } = tinyModel();
  const circuit = compile(model);
  const run = runInt(model, { x }, { trace: true });
  const witness = witnessFromTrace(circuit, run.trace as NonNullable<typeof run.trace>);
  const r1 = circuit.r1cs;
  const n = r1.constraints.length + r1.nOutputs + r1.nPubInputs + 1;
  let power = 1;
  while (1 << power < n) power++;
  const dir = mkdtempSync(join(tmpdir(), 'aivm-zk-tiny-'));
  try {
    const curve = await snarkjs.curves.getCurveFromName('bn128');
    const p = (f: string) => join(dir, f);
    await snarkjs.powersOfTau.newAccumulator(curve, power, p('p0.ptau'));
    await snarkjs.powersOfTau.contribute(p('p0.ptau'), p('p1.ptau'), 'test', 'entropy for a test only');
    await snarkjs.powersOfTau.preparePhase2(p('p1.ptau'), p('pf.ptau'));
    writeFileSync(p('c.r1cs'), writeR1cs(r1));
    writeFileSync(p('c.wtns'), writeWtns(witness.wires));
    await snarkjs.zKey.newZKey(p('c.r1cs'), p('pf.ptau'), p('c.zkey'));
    const vk = (await snarkjs.zKey.exportVerificationKey(p('c.zkey'))) as VerificationKey;
    const { proof, publicSignals } = await snarkjs.groth16.prove(p('c.zkey'), p('c.wtns'));
    return {
      zkey: new Uint8Array(readFileSync(p('c.zkey'))),
      wtns: new Uint8Array(readFileSync(p('c.wtns'))),
      vk,
      proof,
      publicSignals,
      nConstraints: r1.constraints.length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Ends snarkjs' bn128 worker threads so that the test process can exit. */
export async function terminateCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  await g.curve_bn128?.terminate();
  g.curve_bn128 = undefined;
}
