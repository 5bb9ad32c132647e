// @aivm/evm's main entry must load in a browser (a dApp's page): resolved with browser export
// conditions, its whole import graph may not touch a Node built-in module. The relayer and the
// verifier compiler are separate entries (@aivm/evm/relayer, @aivm/evm/node), which may.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { probeBrowserImport } from '../../../test-support/browser-probe.ts';

const entry = (file: string) => fileURLToPath(new URL(`../src/${file}`, import.meta.url));

it('the main entry imports no Node built-in module under browser conditions', () => {
  const out = probeBrowserImport(entry('index.ts'));
  assert.deepEqual(out.builtins, []);
  for (const name of [
    'connectEvm',
    'requestInference',
    'watchRequest',
    'verifyDeliveredProof',
    'modelIdToBytes32',
  ])
    assert.ok(out.exports.includes(name), `${name} is exported`);
});

it('the relayer entry is the Node one: it uses the file system (LevelDB)', () => {
  // The probe must be able to see built-ins at all, or the check above proves nothing.
  const out = probeBrowserImport(entry('relayer.ts'));
  assert.ok(
    out.builtins.some((b) => b.startsWith('node:fs')),
    out.builtins.join('\n'),
  );
});
