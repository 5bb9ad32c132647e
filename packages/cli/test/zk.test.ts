// aivm zk as a user runs it on the committed MNIST MLP: compile, development setup, prove,
// verify (and refuse a tampered proof), export the Solidity verifier. Then private weights with
// committed inputs on the tiny test model: commit, compile, setup (keys apart from the public
// mode), prove, verify against the published commitment, export the verifier.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeArtifact } from '@aivm/runtime';
import { compile, weightCommitment, writeR1cs } from '@aivm/zk';
import { circuitHash } from '@aivm/zk/node';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';
import { tinyModel } from '../../zk/test/helpers/tiny.ts';
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

describe('aivm zk --weights private (tiny model, inputs committed)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  let artifact: string;
  let input: string;
  const { model, x } = tinyModel();
  const hex = (v: bigint) => `0x${v.toString(16).padStart(64, '0')}`;
  const modes = ['--weights', 'private', '--inputs', 'committed'];
  before(async () => {
    dir = await tempDir('aivm-zk-private-');
    env = { AIVM_ZK_KEYS: join(dir.path, 'keys') };
    artifact = join(dir.path, 'tiny.aivm');
    await writeFile(artifact, encodeArtifact(model));
    input = join(dir.path, 'x.json');
    await writeFile(input, JSON.stringify({ x: [Array.from(x.data)] }));
  });
  after(() => dir.remove());

  it('commit prints the weight commitment; compile lists the public signals of the mode', async () => {
    const c = await runAivm(['zk', 'commit', artifact, '--json'], env);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout).weightCommitment, hex(weightCommitment(model)));
    const r = await runAivm(['zk', 'compile', artifact, ...modes, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(
      out.publicSignals.map((p: { role: string; name: string }) => [p.role, p.name]),
      [
        ['output', 'y'],
        ['inputCommitment', 'x'],
        ['weightCommitment', 'weights'],
      ],
    );
    assert.equal(out.weightCommitment, hex(weightCommitment(model)));
    const bad = await runAivm(['zk', 'compile', artifact, '--weights', 'secret'], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--weights must be public or private/);
  });

  it('sets up apart from public weights, proves, verifies against the commitment only', async () => {
    const s = await runAivm(['zk', 'setup', artifact, ...modes, '--json'], env);
    assert.equal(s.code, 0, s.stderr);
    // Keys are cached by circuit hash: the modes never share keys.
    const hash = JSON.parse(s.stdout).circuitHash;
    assert.equal(
      hash,
      circuitHash(writeR1cs(compile(model, { weights: 'private', inputs: 'committed' }).r1cs)),
    );
    assert.notEqual(hash, circuitHash(writeR1cs(compile(model).r1cs)));

    const proofFile = join(dir.path, 'proof.json');
    const p = await runAivm(
      ['zk', 'prove', artifact, ...modes, '--input', input, '--out', proofFile, '--json'],
      env,
    );
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).weightCommitment, hex(weightCommitment(model)));
    const proof = JSON.parse(await readFile(proofFile, 'utf8'));
    assert.equal(proof.publicSignals.length, 5);

    const ok = await runAivm(['zk', 'verify', proofFile, '--model', artifact, ...modes, '--json'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).valid, true);

    // A published commitment of other weights: the proof is not about them (a proof whose
    // commitment signal was replaced fails Groth16 itself: packages/zk/test/private-proof.test.ts).
    const other = await runAivm(
      ['zk', 'verify', proofFile, '--model', artifact, ...modes, '--commitment', '12345', '--json'],
      env,
    );
    assert.equal(other.code, 2);
    assert.match(JSON.parse(other.stdout).reason, /other weights/);

    const sol = join(dir.path, 'Verifier.sol');
    const v = await runAivm(['zk', 'export-verifier', artifact, ...modes, '--out', sol], env);
    assert.equal(v.code, 0, v.stderr);
    assert.match(await readFile(sol, 'utf8'), /uint\[5\] calldata _pubSignals/);
  });
});
