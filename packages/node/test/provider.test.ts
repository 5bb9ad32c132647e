// The provider's execution helpers: request input bytes, outputs and layer commitments exactly as
// the inference module defines them, and the faulty provider's perturbed run (one wrong step, every
// later layer consistent with it), on the devnet's MNIST model. The provider end to end (jobs,
// proofs, disputes, slashing) is tested with real processes in packages/cli/test/inference.test.ts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { merkleRoot, verifyMerkleProof } from '@aivm/chain';
import { decodeArtifact, decodeOutput, layerLeaves, runIntNode } from '@aivm/runtime';
import {
  endProofs,
  execute,
  inputTensor,
  layerRun,
  parseRequest,
  quantizeInput,
} from '../src/provider/index.ts';

const ASSETS = join(import.meta.dirname, '..', '..', 'cli', 'assets');
const model = decodeArtifact(new Uint8Array(readFileSync(join(ASSETS, 'mnist-mlp.aivm'))));
const digit = (JSON.parse(readFileSync(join(ASSETS, 'mnist-digit-7.json'), 'utf8')) as number[][])[0]!;

describe('provider execution', () => {
  it('quantizes an input to int8 bytes and runs it to the int32 output and class', () => {
    const input = quantizeInput(model, digit);
    assert.equal(input.length, 784);
    assert.ok(!new Int8Array(input.buffer).includes(-128));
    const run = execute(model, input);
    assert.equal(run.cls, 7);
    assert.equal(run.output.length, 40);
    assert.deepEqual(Array.from(decodeOutput(run.output)), Array.from(run.values));
    assert.throws(() => inputTensor(model, input.subarray(1)), /784/);
  });

  it('commits to the layers like layerLeaves over a traced run, with proofs of both ends', () => {
    const input = quantizeInput(model, digit);
    const run = layerRun(model, input);
    const traced = execute(model, input);
    assert.deepEqual(run.leaves, layerLeaves(model, traced.trace));
    assert.deepEqual(run.root, merkleRoot(run.leaves));
    assert.deepEqual(run.output, traced.output);
    const n = run.leaves.length - 1;
    assert.equal(n, model.nodes.length);
    const { inputProof, outputProof } = endProofs(run);
    assert.ok(verifyMerkleProof(run.root, 0, n + 1, run.leaves[0]!, inputProof));
    assert.ok(verifyMerkleProof(run.root, n, n + 1, run.leaves[n]!, outputProof));
  });

  it('a perturbed run differs at one step only: the one-step check finds it', () => {
    const input = quantizeInput(model, digit);
    const good = layerRun(model, input);
    const last = model.nodes.length - 1;
    const bad = layerRun(model, input, last);
    assert.notEqual(bad.cls, good.cls);
    assert.deepEqual(bad.leaves.slice(0, -1), good.leaves.slice(0, -1));
    assert.notDeepEqual(bad.leaves.at(-1), good.leaves.at(-1));
    // Re-running the disputed node on the agreed tensor gives the honest leaf, not the faulty one.
    const prevName = last === 0 ? model.inputs[0]! : model.nodes[last - 1]!.outputs[0]!;
    const rerun = runIntNode(model, last, { [prevName]: bad.tensors[last]! });
    assert.deepEqual(Array.from(rerun.data), Array.from(good.tensors[last + 1]!.data));
  });

  it('parses request records in the JSON form of the inference/request query', () => {
    const r = parseRequest({
      id: '5',
      modelId: 'bafk',
      tier: 4,
      status: 'assigned',
      slots: [
        {
          status: 'computed',
          provider: '0xab',
          output: '0x01000000',
          layerRoot: `0x${'00'.repeat(32)}`,
          deadline: '9',
        },
      ],
    });
    assert.equal(r.id, 5n);
    assert.equal(r.tier, 4);
    assert.deepEqual(Array.from(r.slots[0]!.output), [1, 0, 0, 0]);
    assert.equal(r.slots[0]!.deadline, 9n);
  });
});
