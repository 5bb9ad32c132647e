// The key commands as a user runs them: real processes, a temporary keystore directory.

import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decryptKeystore, hexToBytes, mnemonicToPrivateKey, privateKeyToAddress } from '@aivm/crypto';
import { encryptKeystoreJson, Wallet } from 'ethers';
import { DEV_MNEMONIC } from '../src/index.ts';
import { runAivm, tempDir } from './helpers.ts';

describe('aivm keys', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  before(async () => {
    dir = await tempDir('aivm-keys-');
    env = { AIVM_KEYSTORE: join(dir.path, 'ks'), AIVM_PASSWORD: 'correct horse' };
  });
  after(() => dir.remove());

  it('creates a key encrypted at rest, lists it and exports it', async () => {
    const created = await runAivm(['keys', 'new', 'k1', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const { address } = JSON.parse(created.stdout) as { address: string };
    const file = join(env.AIVM_KEYSTORE!, 'k1.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const json = JSON.parse(await readFile(file, 'utf8'));
    assert.equal(json.version, 3);
    assert.equal(json.crypto.kdf, 'scrypt');
    // The private key is not in the file in the clear, and the password opens it.
    assert.equal(privateKeyToAddress(await decryptKeystore(json, 'correct horse')), address);

    const list = await runAivm(['keys', 'list', '--json'], env);
    assert.deepEqual(JSON.parse(list.stdout), [{ name: 'k1', address }]);

    const exported = await runAivm(['keys', 'export', 'k1'], env);
    assert.deepEqual(JSON.parse(exported.stdout), json);
    const raw = await runAivm(['keys', 'export', 'k1', '--private-key', '--json'], env);
    assert.equal(privateKeyToAddress(hexToBytes(JSON.parse(raw.stdout).privateKey)), address);

    const wrong = await runAivm(['keys', 'export', 'k1', '--private-key'], { ...env, AIVM_PASSWORD: 'nope' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /password/i);
    const dup = await runAivm(['keys', 'new', 'k1'], env);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);
  });

  it('imports a keystore written by ethers and a mnemonic account', async () => {
    const wallet = Wallet.createRandom();
    const ethersJson = await encryptKeystoreJson(
      { address: wallet.address, privateKey: wallet.privateKey },
      'ethers-pw',
      {
        scrypt: { N: 1024 },
      },
    );
    const src = join(dir.path, 'ethers.json');
    await writeFile(src, ethersJson);
    const pw = join(dir.path, 'ethers-pw');
    await writeFile(pw, 'ethers-pw\n');
    const imported = await runAivm(
      ['keys', 'import', 'fromEthers', '--keystore-file', src, '--source-password-file', pw, '--json'],
      env,
    );
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(JSON.parse(imported.stdout).address, wallet.address);
    // And ethers reads the file the CLI wrote back.
    const ours = await readFile(join(env.AIVM_KEYSTORE!, 'fromEthers.json'), 'utf8');
    assert.equal((await Wallet.fromEncryptedJson(ours, 'correct horse')).address, wallet.address);

    const mn = join(dir.path, 'mnemonic');
    await writeFile(mn, `${DEV_MNEMONIC}\n`);
    const fromMnemonic = await runAivm(
      ['keys', 'import', 'dev3', '--mnemonic-file', mn, '--index', '3', '--json'],
      env,
    );
    assert.equal(
      JSON.parse(fromMnemonic.stdout).address,
      privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, 3)),
    );

    const bad = await runAivm(
      ['keys', 'import', 'x', '--keystore-file', src, '--source-password-file', mn],
      env,
    );
    assert.equal(bad.code, 1);
    assert.equal((await readdir(env.AIVM_KEYSTORE!)).includes('x.json'), false);
  });

  it('refuses bad arguments with a clear message', async () => {
    const noSource = await runAivm(['keys', 'import', 'y'], env);
    assert.equal(noSource.code, 1);
    assert.match(noSource.stderr, /exactly one of/);
    const badName = await runAivm(['keys', 'new', '../escape'], env);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /key name must match/);
  });
});
