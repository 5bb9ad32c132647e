// Issue 14, point 6 (the optimistic window): `aivm infer --tier optimistic` names the challenge
// window between "computed" and "finalized" (its length from inference params, its first and last
// block), and prints the MNIST result in the model's units. A real devnet with its provider.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AivmClient } from '@aivm/sdk';
import { runAivm, startDevnet, tempDir } from './helpers.ts';
import { waitFor } from './network-helpers.ts';

describe('optimistic inference names its challenge window (real devnet)', { timeout: 240_000 }, () => {
  it('logs the window with its blocks and finalizes only after it', { timeout: 220_000 }, async () => {
    const dir = await tempDir('aivm-optimistic-window-');
    const node = await startDevnet(join(dir.path, 'devnet'));
    const client = new AivmClient(node.rpcUrl);
    try {
      const command = node.info.inferCommand as string;
      const args = command
        .replace('npm run aivm -- ', '')
        .replace('--tier zk', '--tier optimistic')
        .split(' ');
      await waitFor(
        'the devnet provider to register',
        async () => Boolean(await client.query('inference/provider', { address: node.info.provider })),
        { timeoutMs: 90_000, intervalMs: 500, diagnose: () => node.stderr() },
      );
      const window = Number(
        (await client.query<{ challengeWindowBlocks: string }>('inference/params')).challengeWindowBlocks,
      );
      const r = await runAivm(args);
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}${node.stderr()}`);
      const announced = new RegExp(
        `challenge window: ${window} blocks \\(challengeWindowBlocks\\), from block (\\d+) to (\\d+); anyone may challenge the result until then`,
      ).exec(r.stderr);
      assert.ok(announced, r.stderr);
      const [from, to] = [Number(announced[1]), Number(announced[2])];
      assert.equal(to - from, window);
      const finalizedAt = Number(/block (\d+)\s+finalized/.exec(r.stderr)?.[1]);
      assert.ok(finalizedAt >= to, `finalized at block ${finalizedAt}, window to ${to}\n${r.stderr}`);
      // MNIST ends in a Gemm: scores in the model's units, the class their argmax, no probabilities.
      assert.match(r.stdout, /\nvalues {2}\[-?\d+(\.\d+)?, .*\] {2}\(int32 x scale [\d.e-]+\)\n/);
      assert.match(
        r.stdout,
        /\nclass {3}7 \(argmax of the scores; the model ends in no softmax or sigmoid\)\n/,
      );
    } finally {
      client.close();
      await node.stop();
      await dir.remove();
    }
  });
});
