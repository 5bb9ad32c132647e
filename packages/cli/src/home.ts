// The node home directory: config.json, genesis.json, the encrypted validator key and the database.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GenesisDoc } from '@aivm/chain';
import { decryptKeystore, encryptKeystore } from '@aivm/crypto';
import type { LogLevel } from '@aivm/node';

export type NodeConfig = {
  rpc: { host: string; port: number };
  blockIntervalMs: number;
  emptyBlocks: boolean;
  logLevel: LogLevel;
};

export const DEFAULT_CONFIG: NodeConfig = {
  rpc: { host: '127.0.0.1', port: 8545 },
  blockIntervalMs: 1_000,
  emptyBlocks: true,
  logLevel: 'info',
};

export class UsageError extends Error {}

export const paths = (home: string) => ({
  config: join(home, 'config.json'),
  genesis: join(home, 'genesis.json'),
  validatorKey: join(home, 'validator-key.json'),
  db: join(home, 'db'),
});

/** Writes through a temporary file and a rename, so a crash never leaves half a file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

export async function readJson<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${what} at ${path} (run "aivm init" first?)`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new UsageError(`${what} at ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

export async function loadConfig(home: string): Promise<NodeConfig> {
  const raw = await readJson<Partial<NodeConfig>>(paths(home).config, 'config');
  const config = { ...DEFAULT_CONFIG, ...raw, rpc: { ...DEFAULT_CONFIG.rpc, ...raw.rpc } };
  if (!Number.isInteger(config.rpc.port) || config.rpc.port < 0 || config.rpc.port > 65535) {
    throw new UsageError(`config rpc.port must be 0..65535, got ${config.rpc.port}`);
  }
  if (!Number.isInteger(config.blockIntervalMs) || config.blockIntervalMs < 10) {
    throw new UsageError('config blockIntervalMs must be an integer >= 10');
  }
  return config;
}

export async function loadGenesis(home: string): Promise<GenesisDoc> {
  return readJson<GenesisDoc>(paths(home).genesis, 'genesis');
}

export async function writeHome(
  home: string,
  config: NodeConfig,
  genesis: GenesisDoc,
  validatorKey: Uint8Array,
  password: string,
  scryptN?: number,
): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const p = paths(home);
  await writeFileAtomic(p.config, `${JSON.stringify(config, null, 2)}\n`, 0o644);
  await writeFileAtomic(p.genesis, `${JSON.stringify(genesis, null, 2)}\n`, 0o644);
  const keystore = await encryptKeystore(validatorKey, password, { scryptN, address: false });
  await writeFileAtomic(p.validatorKey, `${JSON.stringify(keystore, null, 2)}\n`);
}

export async function loadValidatorKey(home: string, password: string): Promise<Uint8Array> {
  const json = await readJson<unknown>(paths(home).validatorKey, 'validator key');
  return decryptKeystore(json, password);
}
