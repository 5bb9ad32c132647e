// The zk path on a real anvil with real Groth16 proofs from AIVM's own pipeline: the model's
// exported Solidity verifier is registered on AivmOracle, which rebuilds the public signals from
// the request (outputs, then the input or its commitment, then the weight commitment) and accepts
// the honest proof; a forged proof, another output, a proof for another input and a result for
// another request are refused. Committed-input (private weights) and public-input models.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keccak256 } from '@aivm/crypto';
import { zkPublicSignals } from '@aivm/zk';
import type { Hex } from 'viem';
import {
  bytes,
  deployStack,
  type Env,
  encodeInput,
  encodeOutput,
  hex,
  oracleAbi,
  rejectsWith,
  Status,
  startEnv,
  TestConsumer,
  validators,
} from './helpers.ts';
import {
  type Proven,
  registerZkModel,
  requestZk,
  terminateCurve,
  type ZkFixture,
  zkFixture,
} from './zk-fixture.ts';

let env: Env;
let oracle: Hex;
let consumer: Hex;
before(async () => {
  env = await startEnv();
  ({ oracle, consumer } = await deployStack(env, validators(4, 'zk')));
});
after(async () => {
  await terminateCurve();
  await env?.stop();
});

const argmax = (v: number[]) => v.reduce((best, x, i) => (x > (v[best] as number) ? i : best), 0);
const read = <T>(
  functionName: string,
  args: unknown[] = [],
  address = oracle,
  abi: typeof oracleAbi | typeof TestConsumer.abi = oracleAbi,
) => env.read<T>({ address, abi, functionName, args });

const requestFor = (modelId: Hex, z: ZkFixture, p: Proven) =>
  requestZk(env, { oracle, consumer }, modelId, z, p, 300_000, 'ipfs://drawing');

for (const mode of [{ inputs: 'committed', weights: 'private' }, { inputs: 'public' }] as const) {
  describe(`fulfillZk, ${mode.inputs} input${'weights' in mode ? ', private weights' : ''}`, () => {
    let z: ZkFixture;
    let a: Proven;
    let b: Proven;
    const modelId: Hex = mode.inputs === 'public' ? `0x${'0a'.repeat(32)}` : `0x${'0c'.repeat(32)}`;
    const inputArg = (p: Proven): Hex => (mode.inputs === 'public' ? encodeInput(p.input) : '0x');
    const fulfill = (
      id: bigint,
      p: Proven,
      proof = p.proof,
      output = encodeOutput(p.output),
      input = inputArg(p),
    ) =>
      env.write(
        { address: oracle, abi: oracleAbi, functionName: 'fulfillZk', args: [id, output, proof, input] },
        2,
      );

    before(async () => {
      z = await zkFixture(mode);
      a = await z.prove(1);
      b = await z.prove(2);
      await registerZkModel(env, oracle, modelId, z);
    });

    it('the proofs are of two different inputs and their signals are zkPublicSignals', () => {
      assert.notDeepEqual(a.input, b.input);
      for (const p of [a, b])
        assert.deepEqual(
          p.artifact.publicSignals,
          zkPublicSignals({
            output: p.output,
            input: p.input,
            inputs: mode.inputs,
            weightCommitment: z.weightCommitment,
          }),
        );
      assert.equal(
        z.nPublic,
        10 + (mode.inputs === 'public' ? 8 : 1) + (z.weightCommitment === undefined ? 0 : 1),
      );
    });

    it('refuses a forged proof, another output, a proof for another input, then accepts the honest one', async () => {
      const id = await requestFor(modelId, z, a);
      const forged = [...a.proof] as unknown as Proven['proof'];
      (forged as unknown as bigint[])[6] = b.proof[6]; // C of another proof
      await rejectsWith(fulfill(id, a, forged), 'InvalidProof');
      const swappedB = [
        a.proof[0],
        a.proof[1],
        a.proof[3],
        a.proof[2],
        a.proof[5],
        a.proof[4],
        a.proof[6],
        a.proof[7],
      ] as const;
      await rejectsWith(fulfill(id, a, swappedB), 'InvalidProof');
      const out = [...a.output];
      out[3] = (out[3] as number) + 1;
      await rejectsWith(fulfill(id, a, a.proof, encodeOutput(out)), 'InvalidProof');
      // b's honest proof and output, for a's request: the contract's signals carry a's input.
      if (mode.inputs === 'public') {
        await rejectsWith(fulfill(id, b), 'InputMismatch'); // b's input bytes do not hash to a's
        await rejectsWith(
          fulfill(id, b, b.proof, encodeOutput(b.output), encodeInput(a.input)),
          'InvalidProof',
        );
      } else {
        await rejectsWith(fulfill(id, b), 'InvalidProof');
        await rejectsWith(
          fulfill(id, a, a.proof, encodeOutput(a.output), encodeInput(a.input)),
          'InputMismatch',
        );
      }
      assert.equal(await read('statusOf', [id]), Status.Pending);
      await fulfill(id, a);
      const req = await read<{ status: number; outputHash: Hex }>('getRequest', [id]);
      assert.equal(req.status, Status.Fulfilled);
      assert.equal(req.outputHash, hex(keccak256(bytes(encodeOutput(a.output)))));
      assert.equal(await read('lastOutput', [], consumer, TestConsumer.abi), encodeOutput(a.output));
      assert.equal(await read('lastArgmax', [], consumer, TestConsumer.abi), BigInt(argmax(a.output)));
      await rejectsWith(fulfill(id, a), 'WrongStatus');
    });

    it("refuses one request's result for another request, and delivers each its own", async () => {
      const idA = await requestFor(modelId, z, a);
      const idB = await requestFor(modelId, z, b);
      await rejectsWith(
        fulfill(
          idB,
          a,
          a.proof,
          encodeOutput(a.output),
          mode.inputs === 'public' ? encodeInput(b.input) : '0x',
        ),
        'InvalidProof',
      );
      await rejectsWith(
        fulfill(
          idA,
          b,
          b.proof,
          encodeOutput(b.output),
          mode.inputs === 'public' ? encodeInput(a.input) : '0x',
        ),
        'InvalidProof',
      );
      await fulfill(idB, b);
      await fulfill(idA, a);
      assert.equal(await read('statusOf', [idA]), Status.Fulfilled);
      assert.equal(await read('statusOf', [idB]), Status.Fulfilled);
      assert.equal(
        (await read<{ outputHash: Hex }>('getRequest', [idB])).outputHash,
        hex(keccak256(bytes(encodeOutput(b.output)))),
      );
    });
  });
}
