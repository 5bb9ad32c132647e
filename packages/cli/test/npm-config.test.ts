// The project's npm setup, as a user meets it: no npm command warns about the project's config, and
// every dependency install script is reviewed in package.json's allowScripts, onnxruntime-node's
// CUDA download denied (it reaches for a host a clean machine may not reach, and the CPU build it
// ships is enough).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const run = promisify(execFile);

async function npm(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('npm', args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
}

describe('npm setup', () => {
  it('an npm command prints no warning about the project config', async () => {
    const { stdout, stderr } = await npm('pkg', 'get', 'name');
    assert.equal(stdout.trim(), '"aivm"');
    assert.doesNotMatch(stderr, /Unknown project config/);
    assert.equal(stderr, '');
  });

  it("allowScripts denies onnxruntime-node's install script and covers every other one", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.allowScripts['onnxruntime-node'], false);
    const { stdout } = await npm('approve-scripts', '--allow-scripts-pending');
    assert.equal(stdout.trim(), 'No packages with unreviewed install scripts.');
  });
});
