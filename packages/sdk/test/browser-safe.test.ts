// The SDK must load in a browser: resolved with browser export conditions, its whole import graph
// may not touch a Node built-in module.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

// Runs in a child process so the resolve hook sees the SDK's graph from scratch.
const PROBE = `
import { builtinModules, registerHooks } from 'node:module';
const builtins = new Set();
const loaded = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const conditions = [...context.conditions.filter((c) => c !== 'node'), 'browser'];
    const r = next(specifier, { ...context, conditions });
    if (r.url.startsWith('node:') || builtinModules.includes(specifier)) builtins.add(specifier + ' <- ' + context.parentURL);
    else loaded.add(r.url);
    return r;
  },
});
const sdk = await import(process.argv[1]);
console.log(JSON.stringify({ exports: Object.keys(sdk).sort(), builtins: [...builtins], loaded: loaded.size }));
`;

it('imports no Node built-in module under browser conditions', () => {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, ENTRY], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { exports: string[]; builtins: string[]; loaded: number };
  assert.deepEqual(out.builtins, []);
  assert.deepEqual(out.exports, [
    'AivmClient',
    'MalformedResponseError',
    'RpcError',
    'RpcTimeoutError',
    'Wallet',
    'verifyStateProof',
  ]);
  assert.ok(out.loaded > 10, `only ${out.loaded} modules seen: the probe did not follow the graph`);
});
