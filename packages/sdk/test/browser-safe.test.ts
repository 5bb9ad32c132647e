// The SDK must load in a browser: resolved with browser export conditions, its whole import graph
// may not touch a Node built-in module.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { probeBrowserImport } from '../../../test-support/browser-probe.ts';

const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

it('imports no Node built-in module under browser conditions', () => {
  const out = probeBrowserImport(ENTRY);
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
