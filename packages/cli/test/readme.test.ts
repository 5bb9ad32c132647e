// Issue 14 ("the README's 'Using the chain' still works line by line"): the section's shell block
// and TypeScript snippets, taken from README.md as a reader copies them, run against a real devnet.
// Only the endpoint changes (the test's devnet listens on a free port: AIVM_RPC for the shell, the
// URL replaced in the snippets); the keystore lives in a temporary HOME.

import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningNode, startDevnet, tempDir } from './helpers.ts';
import { runCommand } from './packed-sdk.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DEFAULT_RPC = 'http://127.0.0.1:8545';

/** The fenced code blocks of one `## ` section of README.md, with their language. */
function sectionBlocks(title: string): { lang: string; code: string }[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README.md has a "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  // Sub-sections (### ...) about other set-ups (an SDK outside this repository) are not run.
  const body = readme.slice(start, end < 0 ? undefined : end).split('\n### ')[0]!;
  return [...body.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

describe('README "Using the chain", line by line against a devnet', { timeout: 300_000 }, () => {
  let dir: { path: string; remove(): Promise<void> };
  let node: RunningNode;
  const blocks = sectionBlocks('Using the chain');

  before(async () => {
    // As `npm start` runs it: with the MNIST model in its genesis and an inference provider.
    dir = await tempDir('aivm-readme-');
    node = await startDevnet(join(dir.path, 'devnet'));
  });

  after(async () => {
    await node?.stop();
    await dir?.remove();
  });

  it('the shell block: status, balance, key import, a 1.5 CGPT transfer', async () => {
    const sh = blocks.filter((b) => b.lang === 'sh');
    assert.equal(sh.length, 1, 'one shell block');
    const env = {
      ...process.env,
      AIVM_RPC: node.rpcUrl,
      HOME: dir.path,
      AIVM_PASSWORD: 'readme-test-password',
    };
    const r = await runCommand('bash', ['-euo', 'pipefail', '-c', sh[0]!.code], { cwd: ROOT, env });
    const out = `${r.stdout}\n${r.stderr}\n--- devnet:\n${node.stderr()}`;
    assert.equal(r.code, 0, out);
    assert.match(r.stdout, /height/i, out);
    // The transfer committed: the recipient holds its devnet funding plus 1.5 CGPT.
    const bal = await runCommand(
      process.execPath,
      [
        join(ROOT, 'packages', 'cli', 'src', 'bin.ts'),
        '--json',
        'query',
        'balance',
        '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      ],
      { env },
    );
    assert.equal(bal.code, 0, bal.stderr);
    const wei = BigInt((JSON.parse(bal.stdout) as { balanceWei: string }).balanceWei);
    assert.equal(wei % 10n ** 18n, 5n * 10n ** 17n, `balance ${wei} ends in .5 CGPT`);
  });

  it('the TypeScript snippets: a transfer and an on-chain MNIST inference of the sample 7', async () => {
    const ts = blocks.filter((b) => b.lang === 'ts');
    assert.equal(ts.length, 2, 'two TypeScript snippets (the second uses the first one`s client)');
    const code = ts.map((b) => b.code.replaceAll(DEFAULT_RPC, node.rpcUrl)).join('\n');
    assert.ok(code.includes(node.rpcUrl), 'the snippet names the default endpoint');
    // Beside the repository's packages, as a file of the reader's own would be (Node strips the types).
    const file = join(ROOT, 'packages', 'cli', `.readme-snippet-${process.pid}.ts`);
    writeFileSync(file, code);
    try {
      const r = await runCommand(process.execPath, [file], { cwd: ROOT });
      const out = `${r.stdout}\n${r.stderr}\n--- devnet:\n${node.stderr()}`;
      assert.equal(r.code, 0, out);
      // waitForTx's record: committed, successful.
      assert.match(r.stdout, /success: true/, out);
      // done.status, argmax, values: the sample is a 7.
      assert.match(r.stdout, /^finalized 7 \[/m, out);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
