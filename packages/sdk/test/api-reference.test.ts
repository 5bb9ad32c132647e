// The committed SDK API reference (docs/sdk/, TypeDoc Markdown) matches the code: TypeDoc runs with
// the repository's typedoc.json into a temporary directory and every file must equal the committed
// one byte for byte, with the same file list. A handful of key symbols must have pages, so an empty
// or truncated reference cannot pass.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const COMMITTED = join(ROOT, 'docs', 'sdk');
const TYPEDOC = join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
const REGENERATE = 'npm run docs:sdk';

/** Pages that must exist: SDK classes and functions, and symbols re-exported from other packages. */
const KEY_PAGES = [
  'classes/AivmClient.md',
  'classes/Wallet.md',
  'functions/requestInference.md',
  'functions/waitForRequest.md',
  'functions/publishModel.md',
  'functions/quantizeInput.md', // @aivm/runtime/core
  'functions/verifyStateProof.md', // @aivm/state/proof
  'variables/TIERS.md', // @aivm/chain
];

/** Relative paths (with /) of every file under dir, sorted; empty when dir does not exist. */
async function listFiles(dir: string): Promise<string[]> {
  let entries: { name: string; parentPath: string; isFile(): boolean }[];
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

describe('SDK API reference (docs/sdk)', () => {
  let out: string;
  let generated: string[];

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'aivm-sdk-docs-'));
    const run = spawnSync(process.execPath, [TYPEDOC, '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(
      run.status,
      0,
      `typedoc failed (status ${run.status}, signal ${run.signal}):\n${run.stdout}\n${run.stderr}`,
    );
    generated = await listFiles(out);
  });

  after(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('has pages for the key symbols, re-exported ones included', async () => {
    const committed = await listFiles(COMMITTED);
    const index = await readFile(join(COMMITTED, 'README.md'), 'utf8').catch(() => '');
    for (const page of KEY_PAGES) {
      assert.ok(generated.includes(page), `typedoc generated no ${page}`);
      assert.ok(committed.includes(page), `docs/sdk/${page} is missing: run \`${REGENERATE}\``);
      assert.ok(index.includes(`](${page})`), `docs/sdk/README.md does not link ${page}`);
    }
  });

  it('is up to date with the code (same files, same bytes)', async () => {
    const committed = await listFiles(COMMITTED);
    const missing = generated.filter((f) => !committed.includes(f));
    const extra = committed.filter((f) => !generated.includes(f));
    const differing: string[] = [];
    for (const f of generated.filter((g) => committed.includes(g))) {
      const [a, b] = await Promise.all([readFile(join(out, f)), readFile(join(COMMITTED, f))]);
      if (!a.equals(b)) differing.push(f);
    }
    const problems = [
      ...differing.map((f) => `  stale:   docs/sdk/${f}`),
      ...missing.map((f) => `  missing: docs/sdk/${f}`),
      ...extra.map((f) => `  extra:   docs/sdk/${f} (no longer generated)`),
    ];
    assert.ok(
      problems.length === 0,
      `docs/sdk/ is out of date with packages/sdk/src; run \`${REGENERATE}\` and commit docs/sdk/:\n${problems.join('\n')}`,
    );
  });
});
