// Package entries: the browser entry must load no Node built-ins; the Node entry picks native secp256k1.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { secp256k1Backend } from '../src/index.node.ts';

const SRC = new URL('../src/', import.meta.url);
// The only files allowed to touch Node APIs; index.ts must never import them.
const NODE_ONLY = new Set(['index.node.ts', 'secp256k1-native.ts']);

/** Runs an ES module snippet in a fresh Node (same binary) and parses its JSON output. */
function runChild(
  script: string,
  opts: { env?: Record<string, string>; args?: string[] } = {},
): Record<string, unknown> {
  const out = execFileSync(process.execPath, [...(opts.args ?? []), '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

describe('package entries', () => {
  it('under the browser condition, @aivm/crypto loads index.ts with no Node built-ins, and works on noble', () => {
    const result = runChild(
      `
      import { registerHooks, isBuiltin } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { seen.push(specifier); return next(specifier, context); } });
      const c = await import('@aivm/crypto');
      const sk = c.mnemonicToPrivateKey('test test test test test test test test test test test junk');
      const digest = c.hashTypedData({ domain: { name: 'AIVM', version: '1', chainId: 1 },
        types: { T: [{ name: 'a', type: 'uint256' }] }, primaryType: 'T', message: { a: 1n } });
      let nativeError;
      try { c.recoverAddressWith('native', digest, c.signDigest(digest, sk)); } catch (e) { nativeError = e.code; }
      console.log(JSON.stringify({
        nativeError,
        url: import.meta.resolve('@aivm/crypto'),
        backend: c.secp256k1Backend(),
        recovered: c.recoverAddress(digest, c.signDigest(digest, sk)),
        forbidden: seen.filter((s) => isBuiltin(s) || s.startsWith('node:') || s.startsWith('secp256k1')),
        modules: seen.length,
      }));`,
      { args: ['--conditions=browser'] },
    );
    assert.ok((result.url as string).endsWith('/packages/crypto/src/index.ts'));
    assert.equal(result.backend, 'noble');
    assert.equal(result.nativeError, 'BACKEND_UNAVAILABLE');
    assert.equal(result.recovered, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    assert.deepEqual(result.forbidden, []);
    assert.ok((result.modules as number) > 5, 'the resolve hook saw the module graph');
  });

  it('browser-safe source files use no node: imports, Buffer, process or require', () => {
    const files = readdirSync(SRC).filter((f) => f.endsWith('.ts'));
    assert.ok(files.includes('index.ts') && files.includes('secp256k1.ts'));
    for (const f of files) {
      if (NODE_ONLY.has(f)) continue;
      const code = readFileSync(new URL(f, SRC), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      assert.doesNotMatch(
        code,
        /from '(node:|secp256k1)|\bBuffer\b|\bprocess\.|\brequire\(|createRequire/,
        f,
      );
    }
  });

  it('in Node, @aivm/crypto is the Node entry and uses native libsecp256k1 unless AIVM_SECP256K1=noble', () => {
    assert.ok(import.meta.resolve('@aivm/crypto').endsWith('/packages/crypto/src/index.node.ts'));
    assert.equal(secp256k1Backend(), 'native');
    const script = `const c = await import('@aivm/crypto'); console.log(JSON.stringify({ backend: c.secp256k1Backend() }));`;
    assert.equal(runChild(script, { env: { AIVM_SECP256K1: 'noble' } }).backend, 'noble');
  });
});
