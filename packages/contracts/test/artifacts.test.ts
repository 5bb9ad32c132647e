// src/artifacts.ts is what a fresh solc-js build of contracts/ gives (values compared, so the
// formatter's layout does not matter), the build has no warnings, and every source is
// self-contained for Remix: pragma 0.8, SPDX line, only relative imports inside the folder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as artifacts from '../src/artifacts.ts';
import { compileContracts, readSources } from '../src/compile.ts';

describe('artifacts', () => {
  it('src/artifacts.ts equals a fresh compile (run npm run build:contracts when this fails)', () => {
    const { contracts, warnings } = compileContracts();
    assert.deepEqual(warnings, []);
    const fresh = Object.fromEntries(contracts.map((c) => [c.name, { abi: c.abi, bytecode: c.bytecode }]));
    const stored = Object.fromEntries(
      Object.entries(artifacts).map(([name, a]) => [
        name,
        { abi: JSON.parse(JSON.stringify(a.abi)), bytecode: a.bytecode },
      ]),
    );
    assert.deepEqual(Object.keys(stored).sort(), Object.keys(fresh).sort());
    for (const name of Object.keys(fresh)) {
      assert.deepEqual(stored[name]?.abi, fresh[name]?.abi, `${name} abi`);
      assert.equal(stored[name]?.bytecode, fresh[name]?.bytecode, `${name} bytecode`);
    }
    assert.deepEqual(Object.keys(fresh).sort(), [
      'AivmLightClient',
      'AivmOracle',
      'DigitGame',
      'OutputReader',
      'TestConsumer',
    ]);
  });

  it('sources are Remix-ready: SPDX, pragma ^0.8, relative imports only', () => {
    const sources = readSources();
    assert.ok(Object.keys(sources).length >= 8);
    for (const [path, { content }] of Object.entries(sources)) {
      assert.match(content, /^\/\/ SPDX-License-Identifier: /, path);
      assert.match(content, /pragma solidity \^0\.8\.\d+;/, path);
      for (const m of content.matchAll(/import\s+\{[^}]*\}\s+from\s+"([^"]+)"/g)) {
        assert.match(m[1] as string, /^\.\.?\//, `${path}: ${m[1]}`);
        const target = new URL(m[1] as string, `file:///c/${path}`).pathname.slice(3);
        assert.ok(target in sources, `${path} imports ${m[1]} which is not in the folder`);
      }
    }
  });
});
