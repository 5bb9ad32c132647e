// The main entry of @aivm/zk (compiler, witness, proof formats) must load in a browser; setup,
// proving workers and the Solidity toolchain live behind @aivm/zk/node.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { probeBrowserImport } from '../../../test-support/browser-probe.ts';

it('imports no Node built-in module under browser conditions', () => {
  const out = probeBrowserImport(fileURLToPath(new URL('../src/index.ts', import.meta.url)));
  // protobufjs (via the runtime's ONNX importer) probes for Buffer with a guarded require.
  const optionalProbe = /^buffer <- .*@protobufjs\/inquire\/index\.js$/;
  assert.deepEqual(
    out.builtins.filter((b) => !optionalProbe.test(b)),
    [],
  );
  for (const name of [
    'compile',
    'witnessFromTrace',
    'writeR1cs',
    'writeWtns',
    'encodeProof',
    'proofFromJson',
    'weightCommitment',
    'commitInputs',
  ]) {
    assert.ok(out.exports.includes(name), name);
  }
});
