// The runtime runs in the web IDE: under browser export conditions its import graph may not touch
// a Node built-in module.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { probeBrowserImport } from '../../../test-support/browser-probe.ts';

it('imports no Node built-in module under browser conditions', () => {
  const out = probeBrowserImport(fileURLToPath(new URL('../src/index.ts', import.meta.url)));
  // protobufjs (under onnx-proto) feature-tests for Buffer with a guarded require that simply
  // fails in a browser; that probe is the only Node module the graph may name.
  const optionalProbe = /^buffer <- .*@protobufjs\/inquire\/index\.js$/;
  assert.deepEqual(
    out.builtins.filter((b) => !optionalProbe.test(b)),
    [],
  );
  for (const name of [
    'importOnnx',
    'runFloat',
    'quantize',
    'runInt',
    'encodeArtifact',
    'modelId',
    'estimateGas',
  ]) {
    assert.ok(out.exports.includes(name), name);
  }
  assert.ok(out.loaded > 10, `only ${out.loaded} modules seen: the probe did not follow the graph`);
});
