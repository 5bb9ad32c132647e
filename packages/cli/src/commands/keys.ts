// aivm keys new | import | export | list: named account keys, encrypted at rest as keystore v3.

import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  bytesToHex,
  decryptKeystore,
  encryptKeystore,
  generatePrivateKey,
  hexToBytes,
  type KeystoreV3,
  mnemonicToPrivateKey,
  privateKeyToAddress,
  toChecksumAddress,
} from '@aivm/crypto';
import type { Command } from 'commander';
import { globals, intArg } from '../args.ts';
import { readJson, UsageError, writeFileAtomic } from '../home.ts';
import { print } from '../output.ts';
import { readPassword } from '../password.ts';

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export function keystoreDir(cmd: Command): string {
  const o = cmd.optsWithGlobals() as { keystore?: string };
  return o.keystore ?? process.env.AIVM_KEYSTORE ?? join(homedir(), '.aivm', 'keystore');
}

function keyPath(dir: string, name: string): string {
  if (!NAME_RE.test(name)) throw new UsageError(`key name must match ${NAME_RE}`);
  return join(dir, `${name}.json`);
}

/** Checks the name before any slow key derivation, and again right before writing. */
async function assertFree(cmd: Command, name: string): Promise<string> {
  const path = keyPath(keystoreDir(cmd), name);
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new UsageError(`a key named "${name}" already exists`);
  return path;
}

async function saveKey(cmd: Command, name: string, keystore: KeystoreV3): Promise<void> {
  const path = await assertFree(cmd, name);
  await mkdir(keystoreDir(cmd), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(keystore, null, 2)}\n`);
}

/** Decrypts a named key (or a keystore file path) for signing. */
export async function unlockKey(
  cmd: Command,
  nameOrFile: string,
  passwordFile?: string,
): Promise<Uint8Array> {
  const path = nameOrFile.endsWith('.json') ? nameOrFile : keyPath(keystoreDir(cmd), nameOrFile);
  const json = await readJson<unknown>(path, `key "${nameOrFile}"`);
  const password = await readPassword({ passwordFile, prompt: `Password for ${nameOrFile}: ` });
  return decryptKeystore(json, password);
}

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('manage account keys (keystore v3, encrypted at rest)');

  keys
    .command('new <name>')
    .description('create a new random account key')
    .option('--password-file <file>', 'file holding the new password (or AIVM_PASSWORD)')
    .action(async (name: string, opts, cmd: Command) => {
      const password = await readPassword({
        passwordFile: opts.passwordFile,
        prompt: 'New password: ',
        confirm: true,
      });
      const sk = generatePrivateKey();
      await saveKey(cmd, name, await encryptKeystore(sk, password));
      const address = privateKeyToAddress(sk);
      print(globals(cmd), { name, address }, () => `Created key "${name}": ${address}`);
    });

  keys
    .command('import <name>')
    .description(
      'import a key from a private key file, a mnemonic file, or a keystore v3 file (ethers, geth, MetaMask)',
    )
    .option('--private-key-file <file>', 'file holding a 0x private key')
    .option('--mnemonic-file <file>', "file holding a BIP-39 mnemonic (path m/44'/60'/0'/0/index)")
    .option('--index <i>', 'account index for --mnemonic-file', '0')
    .option('--keystore-file <file>', 'keystore v3 JSON file written by another wallet')
    .option('--source-password-file <file>', 'password of --keystore-file (or AIVM_SOURCE_PASSWORD)')
    .option('--password-file <file>', 'file holding the new password (or AIVM_PASSWORD)')
    .action(async (name: string, opts, cmd: Command) => {
      await assertFree(cmd, name);
      const sources = [opts.privateKeyFile, opts.mnemonicFile, opts.keystoreFile].filter(Boolean);
      if (sources.length !== 1)
        throw new UsageError('give exactly one of --private-key-file, --mnemonic-file, --keystore-file');
      let sk: Uint8Array;
      if (opts.privateKeyFile) {
        const text = (await readFile(opts.privateKeyFile, 'utf8')).trim();
        const hex = text.startsWith('0x') ? text : `0x${text}`;
        try {
          sk = hexToBytes(hex, 32);
        } catch {
          throw new UsageError('the private key file must hold 32 bytes of hex');
        }
      } else if (opts.mnemonicFile) {
        const phrase = (await readFile(opts.mnemonicFile, 'utf8')).trim();
        sk = mnemonicToPrivateKey(phrase, intArg(opts.index, '--index', 0, 2 ** 31 - 1));
      } else {
        const json = await readJson<unknown>(opts.keystoreFile, 'keystore file');
        const sourcePassword = await readPassword({
          passwordFile: opts.sourcePasswordFile,
          env: 'AIVM_SOURCE_PASSWORD',
          prompt: 'Password of the keystore file: ',
        });
        sk = await decryptKeystore(json, sourcePassword);
      }
      const password = await readPassword({
        passwordFile: opts.passwordFile,
        prompt: 'New password: ',
        confirm: true,
      });
      await saveKey(cmd, name, await encryptKeystore(sk, password));
      const address = privateKeyToAddress(sk);
      print(globals(cmd), { name, address }, () => `Imported key "${name}": ${address}`);
    });

  keys
    .command('export <name>')
    .description('print a key as keystore v3 JSON (or, with --private-key, its raw private key)')
    .option('--private-key', 'print the unencrypted private key (asks for the password)')
    .option('--password-file <file>', 'file holding the password (or AIVM_PASSWORD)')
    .action(async (name: string, opts, cmd: Command) => {
      const path = keyPath(keystoreDir(cmd), name);
      const json = await readJson<KeystoreV3>(path, `key "${name}"`);
      if (!opts.privateKey) {
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
        return;
      }
      const sk = await unlockKey(cmd, name, opts.passwordFile);
      const address = privateKeyToAddress(sk);
      print(globals(cmd), { name, address, privateKey: bytesToHex(sk) }, () => bytesToHex(sk));
    });

  keys
    .command('list')
    .description('list the keys in the keystore directory')
    .action(async (_opts, cmd: Command) => {
      const dir = keystoreDir(cmd);
      const files = (await readdir(dir).catch(() => [] as string[]))
        .filter((f) => f.endsWith('.json'))
        .sort();
      const list = await Promise.all(
        files.map(async (f) => {
          const json = await readJson<{ address?: string }>(join(dir, f), f);
          return {
            name: f.slice(0, -5),
            address: json.address ? toChecksumAddress(`0x${json.address.replace(/^0x/, '')}`) : null,
          };
        }),
      );
      print(globals(cmd), list, () =>
        list.length
          ? list.map((k) => `${k.name.padEnd(20)} ${k.address ?? '(address not stored)'}`).join('\n')
          : `no keys in ${dir}`,
      );
    });
}
