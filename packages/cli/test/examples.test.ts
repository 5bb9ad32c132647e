// Issue 14 (examples run in CI against a devnet): examples/node-dapp/index.ts as a user runs it,
// a child process pointed with --rpc at a real `aivm devnet` with its provider. It must commit a
// transfer, publish its tiny model and get it active, run an on-chain inference whose values match
// the runtime's own integer run of that artifact, and get a zk MNIST inference of the sample 7
// proven, finalized and verified locally.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeArtifact, inputTensor, modelId, quantizeInput, runInt } from '@aivm/runtime';
import { AivmClient } from '@aivm/sdk';
import { startAivm, tempDir } from './helpers.ts';
import { waitFor } from './network-helpers.ts';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples');
/** The zk key cache inference.test.ts uses too: the devnet's MNIST keys are set up once. */
const ZK_KEYS = join(tmpdir(), 'aivm-inference-test-zk-keys');
/** The features examples/node-dapp/index.ts sends to its model (step 4). */
const FEATURES = [0.5, -0.25, 0.75, 0.1];

function runExample(
  file: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The example's line for one step (each starts with the step's name and a colon). */
function step(stdout: string, name: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(`${name}: `));
  assert.ok(line, `no "${name}:" line in:\n${stdout}`);
  return line;
}

describe('examples run against a devnet (real processes)', { timeout: 300_000 }, () => {
  it('node-dapp: transfer, publish, on-chain and zk inference, local proof check', {
    timeout: 280_000,
  }, async () => {
    mkdirSync(ZK_KEYS, { recursive: true });
    const dir = await tempDir('aivm-examples-');
    const node = await startAivm(
      [
        'devnet',
        '--home',
        join(dir.path, 'devnet'),
        '--rpc-port',
        '0',
        '--block-time',
        '200',
        '--log-level',
        'warn',
      ],
      { AIVM_ZK_KEYS: ZK_KEYS },
    );
    const client = new AivmClient(node.rpcUrl);
    try {
      // The example's zk request needs an eligible provider: the devnet's registers after start.
      await waitFor(
        'the devnet provider to register',
        async () => Boolean(await client.query('inference/provider', { address: node.info.provider })),
        { timeoutMs: 90_000, intervalMs: 500, diagnose: () => node.stderr() },
      );
      const r = await runExample(join(EXAMPLES, 'node-dapp', 'index.ts'), ['--rpc', node.rpcUrl]);
      const all = `${r.stdout}${r.stderr}\n--- devnet:\n${node.stderr()}`;
      assert.equal(r.code, 0, all);

      assert.match(
        step(r.stdout, 'transfer'),
        /^transfer: committed in block \d+, gas \d+, bob received 1500000000000000000 wei$/,
      );

      const bytes = new Uint8Array(await readFile(join(EXAMPLES, 'node-dapp', 'tiny-scorer.aivm')));
      const id = modelId(bytes);
      assert.equal(step(r.stdout, 'publish'), `publish: model ${id} active, tiers onchain`);

      // The chain's result equals the runtime's own integer run of the artifact on the same input.
      const model = decodeArtifact(bytes);
      const local = runInt(model, { x: inputTensor(model, quantizeInput(model, FEATURES)) }).outputs.y!;
      const onchain = /^onchain: request \d+ finalized, output (\S+) x scale (\S+) = values (\S+)$/.exec(
        step(r.stdout, 'onchain'),
      );
      assert.ok(onchain, r.stdout);
      assert.deepEqual(JSON.parse(onchain[1]!), Array.from(local.data));
      assert.equal(Number(onchain[2]), local.scale);
      assert.deepEqual(
        JSON.parse(onchain[3]!),
        Array.from(local.data, (q) => Math.fround(q * local.scale)),
      );

      const zk = /^zk: request (\d+) finalized, class (\d+), scores (\S+)$/.exec(step(r.stdout, 'zk'));
      assert.ok(zk, r.stdout);
      assert.equal(Number(zk[2]), 7);
      const scores = JSON.parse(zk[3]!) as number[];
      assert.equal(scores.length, 10);
      assert.equal(scores.indexOf(Math.max(...scores)), 7);
      // The statuses the example followed: accepted, then a proof verified on chain, then paid.
      const statuses = r.stdout
        .split('\n')
        .filter((l) => l.startsWith(`  zk request ${zk[1]}: `))
        .map((l) => l.split(': ')[1]!.split(' ')[0]);
      assert.equal(statuses[0], 'pending', r.stdout);
      assert.ok(statuses.indexOf('proven') > 0, r.stdout);
      assert.equal(statuses.at(-1), 'finalized', r.stdout);
      assert.match(step(r.stdout, 'verify'), /^verify: proof in 0x[0-9a-f]{64} verified$/);

      // The chain agrees: the model is there, published by dev account 0.
      const onChain = (await client.query('models/model', { id })) as { owner: string; status: string };
      assert.equal(onChain.status, 'active');
      assert.equal(onChain.owner.toLowerCase(), '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266');
    } finally {
      client.close();
      await node.stop();
      await dir.remove();
    }
  });
});
