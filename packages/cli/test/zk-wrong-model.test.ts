// aivm zk verify given the wrong model: it says the proof is about another model, before compiling
// that model's circuit (whose operators zk may not even support), rather than a compile error.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeArtifact, modelId, quantize } from '@aivm/runtime';
import { buildGraph, randTensor, rng } from '../../runtime/test/quant-helpers.ts';
import { tinyModel } from '../../zk/test/helpers/tiny.ts';
import { runAivm, tempDir } from './helpers.ts';

/** The tiny MLP's shape with a Sigmoid: the runtime runs it, the zk compiler refuses it. */
function sigmoidModel() {
  const r = rng(11);
  const graph = buildGraph({
    inputs: { x: ['N', 8] },
    initializers: { w1: randTensor([8, 4], r, -0.6, 0.6), b1: randTensor([4], r, -0.2, 0.2) },
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'] },
      { op: 'Sigmoid', inputs: ['h'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  return quantize(graph, [{ x: randTensor([16, 8], r, -1, 1) }]);
}

describe('aivm zk verify against the wrong model', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  let tiny: string;
  let proofFile: string;
  before(async () => {
    dir = await tempDir('aivm-zk-wrong-');
    env = { AIVM_ZK_KEYS: join(dir.path, 'keys') };
    const { model, x } = tinyModel();
    tiny = join(dir.path, 'tiny.aivm');
    await writeFile(tiny, encodeArtifact(model));
    const input = join(dir.path, 'x.json');
    await writeFile(input, JSON.stringify({ x: [Array.from(x.data)] }));
    proofFile = join(dir.path, 'proof.json');
    const p = await runAivm(['zk', 'prove', tiny, '--input', input, '--out', proofFile, '--json'], env);
    assert.equal(p.code, 0, p.stderr);
  });
  after(() => dir.remove());

  it('the proof file names its model, and verifies against that model', async () => {
    const proof = JSON.parse(await readFile(proofFile, 'utf8'));
    assert.equal(proof.model, modelId(new Uint8Array(await readFile(tiny))));
    const ok = await runAivm(['zk', 'verify', proofFile, '--model', tiny, '--json'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).valid, true);
  });

  it('says the proof is for another model, not that Sigmoid cannot be compiled', async () => {
    const bytes = encodeArtifact(sigmoidModel());
    const other = join(dir.path, 'sigmoid.aivm');
    await writeFile(other, bytes);
    const r = await runAivm(['zk', 'verify', proofFile, '--model', other], env);
    assert.equal(r.code, 2, r.stderr);
    const tinyId = modelId(new Uint8Array(await readFile(tiny)));
    assert.equal(
      r.stdout,
      `INVALID proof for model ${modelId(bytes)}: the proof is for model ${tinyId}, not ${other} (${modelId(bytes)})\n`,
    );
    assert.doesNotMatch(r.stderr, /Sigmoid/);
  });

  it('a proof without its model id: the public signal count tells another circuit apart', async () => {
    // As snarkjs writes it ({ proof, publicSignals }), checked against the committed-input circuit.
    const { model: _model, ...bare } = JSON.parse(await readFile(proofFile, 'utf8'));
    const bareFile = join(dir.path, 'bare.json');
    await writeFile(bareFile, JSON.stringify(bare));
    const r = await runAivm(
      ['zk', 'verify', bareFile, '--model', tiny, '--inputs', 'committed', '--json'],
      env,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      JSON.parse(r.stdout).reason,
      `the proof has 11 public signals, the circuit of ${tiny} (inputs committed, weights public) has 4: it is for another model or other --inputs/--weights`,
    );
  });
});
