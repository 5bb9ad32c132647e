// A small digit-classifier-shaped model (Gemm 8→6, Relu, Gemm 6→10: ten scores, like MNIST) run
// through AIVM's own zk pipeline: compiled to R1CS by @aivm/zk, a development Groth16 key (cached
// in os.tmpdir()), honest proofs for given inputs, and the model's Solidity verifier
// (exportSolidityVerifier + compileVerifier, as `aivm zk export-verifier` writes it).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type QuantModel, quantize, runInt } from '@aivm/runtime';
import {
  compile,
  encodeProofPoints,
  type ProofArtifact,
  type VerificationKey,
  weightCommitment,
  witnessFromTrace,
  writeR1cs,
  writeWtns,
} from '@aivm/zk';
import { compileVerifier, exportSolidityVerifier, loadOrCreateKeys } from '@aivm/zk/node';
import * as snarkjs from 'snarkjs';
import type { Hex } from 'viem';
import { buildGraph, randTensor, rng } from '../../runtime/test/quant-helpers.ts';

export const KEY_CACHE = join(tmpdir(), 'aivm-contracts-zk-keys');
const quiet = { warn() {}, info() {}, error() {}, debug() {} };

export function digitModel(seed = 11): QuantModel {
  const r = rng(seed);
  const graph = buildGraph({
    inputs: { x: ['N', 8] },
    initializers: {
      w1: randTensor([8, 6], r, -0.6, 0.6),
      b1: randTensor([6], r, -0.2, 0.2),
      w2: randTensor([6, 10], r, -0.6, 0.6),
      b2: randTensor([10], r, -0.2, 0.2),
    },
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'] },
      { op: 'Relu', inputs: ['h'], outputs: ['hr'] },
      { op: 'Gemm', inputs: ['hr', 'w2', 'b2'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  return quantize(graph, [{ x: randTensor([16, 8], r, -1, 1) }]);
}

export type ZkMode = { inputs: 'public' | 'committed'; weights?: 'private' };

export type Proven = {
  /** The quantized input (int8 values). */
  input: number[];
  /** The output values (int32). */
  output: number[];
  /** The 8 proof words in AIVM's order (encodeProofPoints). */
  proof: readonly [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  artifact: ProofArtifact;
};

export type ZkFixture = {
  model: QuantModel;
  mode: ZkMode;
  verifier: { abi: readonly unknown[]; bytecode: Hex };
  nPublic: number;
  weightCommitment?: bigint;
  prove(seed: number): Promise<Proven>;
};

export async function zkFixture(mode: ZkMode): Promise<ZkFixture> {
  const model = digitModel();
  const circuit = compile(model, mode);
  const keys = await loadOrCreateKeys(KEY_CACHE, writeR1cs(circuit.r1cs), { kind: 'dev' });
  const compiled = compileVerifier(await exportSolidityVerifier(keys.vk as unknown as VerificationKey));
  return {
    model,
    mode,
    verifier: { abi: compiled.abi, bytecode: `0x${Buffer.from(compiled.bytecode).toString('hex')}` },
    nPublic: Number(keys.vk.nPublic),
    weightCommitment: mode.weights === 'private' ? weightCommitment(model) : undefined,
    async prove(seed) {
      const x = randTensor([1, 8], rng(seed), -1.5, 1.5);
      const run = runInt(model, { x }, { trace: true });
      const trace = run.trace as NonNullable<typeof run.trace>;
      const w = witnessFromTrace(circuit, trace);
      const r = await snarkjs.groth16.prove(
        { type: 'mem', data: keys.zkey } as never,
        writeWtns(w.wires),
        quiet,
      );
      const words = encodeProofPoints(r.proof);
      const proof = Array.from({ length: 8 }, (_, i) =>
        BigInt(`0x${Buffer.from(words.subarray(i * 32, i * 32 + 32)).toString('hex')}`),
      );
      return {
        input: Array.from(trace.get(model.inputs[0] as string)?.data as ArrayLike<number>),
        output: Array.from(run.outputs[model.outputs[0] as string]?.data as ArrayLike<number>),
        proof: proof as unknown as Proven['proof'],
        artifact: { proof: r.proof, publicSignals: r.publicSignals },
      };
    },
  };
}

/** Ends snarkjs' bn128 worker threads so that the test process can exit. */
export async function terminateCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  await g.curve_bn128?.terminate();
  g.curve_bn128 = undefined;
}
