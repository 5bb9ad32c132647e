// A small digit-classifier-shaped model (Gemm 8→6, Relu, Gemm 6→10: ten scores, like MNIST) run
// through AIVM's own zk pipeline: compiled to R1CS by @aivm/zk, a development Groth16 key (cached
// in os.tmpdir()), honest proofs for given inputs, and the model's Solidity verifier
// (exportSolidityVerifier + compileVerifier, as `aivm zk export-verifier` writes it).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keccak256 } from '@aivm/crypto';
import { type QuantModel, quantize, runInt } from '@aivm/runtime';
import {
  commitInputs,
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
import {
  bytes,
  type Env,
  encodeInput,
  hex,
  oracleAbi,
  registerModel,
  TestConsumer,
  TIER_ZK,
} from './helpers.ts';

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

/**
 * Deploys `z`'s verifier and registers it on `oracle` as zk-tier model `modelId` (8 input bytes,
 * 10 scores, 1 CGPT, no AIVM gas); returns the verifier's address.
 */
export async function registerZkModel(env: Env, oracle: Hex, modelId: Hex, z: ZkFixture): Promise<Hex> {
  const verifier = await env.deploy(z.verifier as never);
  await registerModel(env, oracle, modelId, {
    verifier,
    inputMode: z.mode.inputs === 'public' ? 0 : 1,
    hasWeightCommitment: z.weightCommitment !== undefined,
    weightCommitment: z.weightCommitment ?? 0n,
    tiers: TIER_ZK,
    aivmPriceWei: 10n ** 18n,
    aivmGasWei: 0n,
    aivmOnchainGasWei: 0n,
  });
  return verifier;
}

/**
 * Asks for a zk-tier run of `modelId` on `p`'s input through `consumer` (paying the quote): the
 * input itself for a public-input model, else its commitment, hash and `uri`. Returns the request id.
 */
export async function requestZk(
  env: Env,
  stack: { oracle: Hex; consumer: Hex },
  modelId: Hex,
  z: ZkFixture,
  p: Proven,
  callbackGas: number,
  uri: string,
): Promise<bigint> {
  const { oracle, consumer } = stack;
  const q = await env.read<bigint>({
    address: oracle,
    abi: oracleAbi,
    functionName: 'quote',
    args: [modelId, TIER_ZK, callbackGas],
  });
  const input = encodeInput(p.input);
  if (z.mode.inputs === 'public')
    await env.write({
      address: consumer,
      abi: TestConsumer.abi,
      functionName: 'request',
      args: [modelId, input, TIER_ZK, callbackGas, '0x'],
      value: q,
    });
  else
    await env.write({
      address: consumer,
      abi: TestConsumer.abi,
      functionName: 'requestCommitted',
      args: [modelId, commitInputs(p.input), hex(keccak256(bytes(input))), uri, TIER_ZK, callbackGas, '0x'],
      value: q,
    });
  return (await env.read<bigint>({ address: oracle, abi: oracleAbi, functionName: 'nextRequestId' })) - 1n;
}

/** Ends snarkjs' bn128 worker threads so that the test process can exit. */
export async function terminateCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  await g.curve_bn128?.terminate();
  g.curve_bn128 = undefined;
}
