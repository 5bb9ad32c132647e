// aivm zk as a user runs it on the committed MNIST MLP: compile, development setup, prove,
// verify (and refuse a tampered proof), export the Solidity verifier.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';
import { runAivm, tempDir } from './helpers.ts';

const MLP = join(import.meta.dirname, '..', '..', 'runtime', 'models', 'mnist-mlp.onnx');

describe('aivm zk', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  let artifact: string;
  before(async () => {
    dir = await tempDir('aivm-zk-');
    env = { AIVM_ZK_KEYS: join(dir.path, 'keys') };
    const { train, test } = loadMnistSplit();
    const rows = (set: typeof train, n: number) =>
      Array.from({ length: n }, (_, i) => Array.from(imageBatch(set, i, 1)));
    await writeFile(join(dir.path, 'calib.json'), JSON.stringify({ input: rows(train, 100) }));
    await writeFile(join(dir.path, 'digit.json'), JSON.stringify({ input: rows(test, 1) }));
    artifact = join(dir.path, 'mlp.aivm');
    const q = await runAivm([
      'model',
      'quantize',
      MLP,
      '--calibration',
      join(dir.path, 'calib.json'),
      '--out',
      artifact,
    ]);
    assert.equal(q.code, 0, q.stderr);
  });
  after(() => dir.remove());

  it('compiles the model and lists its public signals', async () => {
    const r = await runAivm(['zk', 'compile', artifact, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout);
    assert.ok(c.constraints > 10_000 && c.constraints < 30_000, `${c.constraints} constraints`);
    assert.deepEqual(
      c.publicSignals.map((p: { role: string; name: string; shape: number[] }) => [p.role, p.name, p.shape]),
      [
        ['output', 'logits', [1, 10]],
        ['input', 'input', [1, 784]],
      ],
    );
  });

  it('proves an inference, verifies it, refuses a tampered proof and exports the verifier', async () => {
    const setup = await runAivm(['zk', 'setup', artifact, '--json'], env);
    assert.equal(setup.code, 0, setup.stderr);
    assert.equal(JSON.parse(setup.stdout).mode, 'dev');
    const again = await runAivm(['zk', 'setup', artifact, '--json'], env);
    assert.equal(JSON.parse(again.stdout).cached, true);

    const proofFile = join(dir.path, 'proof.json');
    const p = await runAivm(
      ['zk', 'prove', artifact, '--input', join(dir.path, 'digit.json'), '--out', proofFile, '--json'],
      env,
    );
    assert.equal(p.code, 0, p.stderr);
    const logits = JSON.parse(p.stdout).outputs.logits as number[];
    const run = await runAivm(['model', 'run', artifact, '--input', join(dir.path, 'digit.json'), '--json']);
    assert.deepEqual([logits.indexOf(Math.max(...logits))], JSON.parse(run.stdout).logits.argmax);

    const ok = await runAivm(['zk', 'verify', proofFile, '--model', artifact, '--json'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).valid, true);

    // Claim a different output: the proof no longer verifies.
    const proof = JSON.parse(await readFile(proofFile, 'utf8'));
    proof.publicSignals[0] = String(BigInt(proof.publicSignals[0]) + 1n);
    const forged = join(dir.path, 'forged.json');
    await writeFile(forged, JSON.stringify(proof));
    const bad = await runAivm(['zk', 'verify', forged, '--model', artifact, '--json'], env);
    assert.equal(bad.code, 2);
    assert.equal(JSON.parse(bad.stdout).valid, false);

    const sol = join(dir.path, 'Verifier.sol');
    const v = await runAivm(['zk', 'export-verifier', artifact, '--out', sol], env);
    assert.equal(v.code, 0, v.stderr);
    assert.match(await readFile(sol, 'utf8'), /contract Groth16Verifier/);
  });
});
