// Issue 14, points 3 and 4, as a user meets them with real `aivm` processes: tier support reported
// by model inspect and quantize before any publication, publish defaulting its tiers to what the
// model supports (and refusing an unsupported one before any transaction), model run taking a flat
// input as infer does, and infer printing results in the model's units (human and --json).

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mnemonicToPrivateKey, privateKeyToAddress } from '@aivm/crypto';
import { decodeArtifact, inputTensor, quantizeInput, runInt } from '@aivm/runtime';
import { DEV_MNEMONIC } from '../src/home.ts';
import { runAivm, tempDir, useDevnet } from './helpers.ts';
import { writeTanhSigmoid } from './tiny-models.ts';

const SAMPLE = [0.1, 0.2, 0.3, 0.4, -0.5, 0.6, 0.7, 0.8];
const ZK_REFUSAL =
  'the zk circuit compiler has no circuit for Tanh (table kernel), Sigmoid (table kernel); publish with --tiers onchain,optimistic';

type TierReport = { tier: string; supported: boolean; reason?: string; blockers?: string[] };

let dir: Awaited<ReturnType<typeof tempDir>>;
let files: { onnx: string; calibration: string };
let artifact = '';

before(async () => {
  dir = await tempDir('aivm-results-');
  files = await writeTanhSigmoid(dir.path);
  await writeFile(join(dir.path, 'flat.json'), JSON.stringify(SAMPLE));
  await writeFile(join(dir.path, 'nested.json'), JSON.stringify([SAMPLE]));
  await writeFile(join(dir.path, 'short.json'), JSON.stringify(SAMPLE.slice(1)));
});
after(() => dir.remove());

describe('tier support up front', () => {
  it('model inspect reports per tier what can serve a Tanh/Sigmoid model and what stops zk', async () => {
    const r = await runAivm(['model', 'inspect', files.onnx, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const tiers = (JSON.parse(r.stdout) as { tiers: TierReport[] }).tiers;
    assert.deepEqual(tiers, [
      { tier: 'onchain', supported: true },
      {
        tier: 'zk',
        supported: false,
        blockers: ['Tanh -> table kernel', 'Sigmoid -> table kernel'],
        reason: ZK_REFUSAL,
      },
      { tier: 'optimistic', supported: true },
    ]);
    const human = await runAivm(['model', 'inspect', files.onnx]);
    assert.match(human.stdout, /\n {4}onchain {4}supported\n/);
    assert.ok(human.stdout.includes(`\n    zk         not supported: ${ZK_REFUSAL}\n`), human.stdout);
    assert.match(human.stdout, /\n {4}optimistic supported\n/);
  });

  it('model quantize reports the same for the artifact it writes', async () => {
    artifact = join(dir.path, 'tanh-sigmoid.aivm');
    const r = await runAivm([
      'model',
      'quantize',
      files.onnx,
      '--calibration',
      files.calibration,
      '--out',
      artifact,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const tiers = (JSON.parse(r.stdout) as { tiers: TierReport[] }).tiers;
    assert.deepEqual(
      tiers.map((t) => [t.tier, t.supported]),
      [
        ['onchain', true],
        ['zk', false],
        ['optimistic', true],
      ],
    );
    assert.equal(tiers[1]!.reason, ZK_REFUSAL);
  });
});

describe('model run takes a flat input as infer does', () => {
  it('runs [8] for a [N,8] input like [[...8]], and names the count a wrong input should have', async () => {
    const flat = await runAivm(['model', 'run', artifact, '--input', join(dir.path, 'flat.json'), '--json']);
    const nested = await runAivm([
      'model',
      'run',
      artifact,
      '--input',
      join(dir.path, 'nested.json'),
      '--json',
    ]);
    assert.equal(flat.code, 0, flat.stderr);
    assert.equal(nested.code, 0, nested.stderr);
    const out = JSON.parse(flat.stdout) as { y: { shape: number[]; data: number[] } };
    assert.deepEqual(out, JSON.parse(nested.stdout));
    assert.deepEqual(out.y.shape, [1, 3]);
    const short = await runAivm(['model', 'run', artifact, '--input', join(dir.path, 'short.json')]);
    assert.equal(short.code, 1);
    assert.match(
      short.stderr,
      /input "x" of the model is \[N, 8\] \(8 elements per sample\); got shape \[7\] with 7 elements: give 8 numbers, or the shape \[1, 8\]/,
    );
  });
});

describe('publish and infer on a devnet (real processes)', { timeout: 180_000 }, () => {
  const devnet = useDevnet(['--no-provider']);
  let id = '';

  it('publish with --tiers zk on a model zk cannot serve fails before any transaction', async () => {
    const r = await runAivm([
      '--rpc',
      devnet.node.rpcUrl,
      'model',
      'publish',
      artifact,
      '--name',
      'tanh-sigmoid',
      '--tiers',
      'zk',
      '--dev-account',
      '1',
    ]);
    assert.equal(r.code, 1, r.stdout);
    assert.ok(r.stderr.includes(`cannot publish with the zk tier: ${ZK_REFUSAL}`), r.stderr);
    const account = await devnet.client.getAccount(
      privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, 1)),
    );
    assert.equal(account.nonce, 0n);
  });

  it('publish without --tiers takes every tier the model supports and says why', async () => {
    const r = await runAivm([
      '--rpc',
      devnet.node.rpcUrl,
      'model',
      'publish',
      artifact,
      '--name',
      'tanh-sigmoid',
      '--dev-account',
      '0',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stderr.includes(`tiers onchain, optimistic: every tier the model supports (zk: ${ZK_REFUSAL})`),
      r.stderr,
    );
    id = /published model (\S+) \(active\)/.exec(r.stdout)?.[1] ?? '';
    assert.notEqual(id, '');
    const json = await runAivm(['--rpc', devnet.node.rpcUrl, 'model', 'show', id, '--json']);
    assert.deepEqual((JSON.parse(json.stdout) as { tierNames: string[] }).tierNames, [
      'onchain',
      'optimistic',
    ]);
  });

  it("infer prints the result in the model's units, with the int32 output and its scale in --json", async () => {
    const model = decodeArtifact(new Uint8Array(await readFile(artifact)));
    const local = runInt(model, { x: inputTensor(model, quantizeInput(model, SAMPLE)) }).outputs.y!;
    const values = Array.from(local.data, (q) => Math.fround(q * local.scale));
    const args = [
      '--rpc',
      devnet.node.rpcUrl,
      'infer',
      id,
      '--input',
      join(dir.path, 'flat.json'),
      '--tier',
      'onchain',
    ];
    const r = await runAivm([...args, '--dev-account', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      status: string;
      values: number[];
      probabilities: number[];
      output: number[];
      scale: number;
      outputKind: string;
      class: number;
      transitions: { status: string; height?: string }[];
    };
    assert.equal(out.status, 'finalized');
    assert.deepEqual(out.output, Array.from(local.data));
    assert.equal(out.scale, local.scale);
    assert.deepEqual(out.values, values);
    assert.deepEqual(out.probabilities, values);
    assert.equal(out.outputKind, 'sigmoid');
    assert.equal(out.class, values.indexOf(Math.max(...values)));
    assert.deepEqual(
      out.transitions.map((t) => t.status),
      ['pending', 'computed', 'finalized'],
    );
    assert.ok(out.transitions.every((t) => /^\d+$/.test(t.height ?? '')));

    const human = await runAivm([...args, '--dev-account', '3']);
    assert.equal(human.code, 0, human.stderr);
    const shown = values.map((v) => String(Number(v.toPrecision(4)))).join(', ');
    assert.ok(
      human.stdout.includes(`values  [${shown}]  (int32 x scale ${Number(local.scale.toPrecision(6))})`),
      human.stdout,
    );
    assert.ok(
      human.stdout.includes(
        `class   ${out.class} (probability ${Number(values[out.class]!.toPrecision(4))}, sigmoid output)`,
      ),
      human.stdout,
    );
    assert.ok(
      human.stdout.includes(`output  [${out.output.join(', ')}]  (int32, as stored on chain)`),
      human.stdout,
    );
  });

  it('an unknown model id is said once, with where to find the published ones', async () => {
    const unknown = 'bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const want = `error: model ${unknown} is not published on this chain: list the published ones with "aivm model list" (--all for inactive ones)\n`;
    const show = await runAivm(['--rpc', devnet.node.rpcUrl, 'model', 'show', unknown]);
    assert.equal(show.code, 1);
    assert.equal(show.stderr, want);
    const infer = await runAivm([
      '--rpc',
      devnet.node.rpcUrl,
      'infer',
      unknown,
      '--input',
      join(dir.path, 'flat.json'),
      '--tier',
      'onchain',
      '--dev-account',
      '4',
    ]);
    assert.equal(infer.code, 1);
    assert.equal(
      infer.stderr
        .split('\n')
        .filter((l) => l.startsWith('error:'))
        .join('\n'),
      want.trimEnd(),
    );
  });
});
