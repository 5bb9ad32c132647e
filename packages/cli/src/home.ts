// The node home directory: config.json, genesis.json, the encrypted keys (consensus, operator,
// attestation) and the database.

import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GenesisDoc } from '@aivm/chain';
import { bytesToHex, decryptKeystore, encryptKeystore, hexToBytes, isHex } from '@aivm/crypto';
import type { LogLevel } from '@aivm/node';

export type NodeConfig = {
  rpc: { host: string; port: number };
  /** Single validator: block interval. Network: pause after each commit before the next height. */
  blockIntervalMs: number;
  emptyBlocks: boolean;
  logLevel: LogLevel;
  /** Present when the node is part of a validator network (BFT consensus over p2p). */
  p2p?: { listen: string[]; peers: string[]; seeds: string[] };
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
  operatorKey: join(home, 'operator-key.json'),
  attestationKey: join(home, 'attestation.json'),
  p2pKey: join(home, 'p2p-key.json'),
  db: join(home, 'db'),
});

/** The keys of a node home. */
export type HomeKeys = {
  /** ed25519 consensus key (keystore v3, encrypted with the node password). */
  validatorKey: Uint8Array;
  /** secp256k1 account that owns the validator and pays for evidence (keystore v3, same password). */
  operatorKey: Uint8Array;
  /**
   * secp256k1 key the validator signs attestations for EVM chains with (keystore v3, same
   * password; docs/evm.md). Homes made before attestations have none.
   */
  attestationKey?: Uint8Array;
  /** libp2p identity (protobuf-encoded ed25519), stored in the clear like Tendermint's node_key: it only names the node. */
  p2pKey: Uint8Array;
};

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
  if (!Number.isInteger(config.blockIntervalMs) || config.blockIntervalMs < 0) {
    throw new UsageError('config blockIntervalMs must be a non-negative integer');
  }
  if (config.p2p !== undefined) {
    const p = config.p2p;
    const strings = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === 'string');
    if (!strings(p.listen) || !strings(p.peers ?? []) || !strings(p.seeds ?? []))
      throw new UsageError('config p2p.listen, p2p.peers and p2p.seeds must be arrays of multiaddr strings');
    config.p2p = { listen: p.listen, peers: p.peers ?? [], seeds: p.seeds ?? [] };
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
  keys: HomeKeys,
  password: string,
  scryptN?: number,
): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const p = paths(home);
  await writeFileAtomic(p.config, `${JSON.stringify(config, null, 2)}\n`, 0o644);
  await writeFileAtomic(p.genesis, `${JSON.stringify(genesis, null, 2)}\n`, 0o644);
  const validator = await encryptKeystore(keys.validatorKey, password, { scryptN, address: false });
  await writeFileAtomic(p.validatorKey, `${JSON.stringify(validator, null, 2)}\n`);
  const operator = await encryptKeystore(keys.operatorKey, password, { scryptN });
  await writeFileAtomic(p.operatorKey, `${JSON.stringify(operator, null, 2)}\n`);
  if (keys.attestationKey) {
    const attestation = await encryptKeystore(keys.attestationKey, password, { scryptN });
    await writeFileAtomic(p.attestationKey, `${JSON.stringify(attestation, null, 2)}\n`);
  }
  await writeFileAtomic(p.p2pKey, `${JSON.stringify({ privateKey: bytesToHex(keys.p2pKey) }, null, 2)}\n`);
}

/** Loads the operator key when the home has one (homes made before staking do not). */
export async function loadOperatorKey(home: string, password: string): Promise<Uint8Array | undefined> {
  if (!existsSync(paths(home).operatorKey)) return undefined;
  return decryptKeystore(await readJson<unknown>(paths(home).operatorKey, 'operator key'), password);
}

/** Loads the attestation key when the home has one (homes made before attestations do not). */
export async function loadAttestationKey(home: string, password: string): Promise<Uint8Array | undefined> {
  if (!existsSync(paths(home).attestationKey)) return undefined;
  return decryptKeystore(await readJson<unknown>(paths(home).attestationKey, 'attestation key'), password);
}

export async function loadP2pKey(home: string): Promise<Uint8Array> {
  const json = await readJson<{ privateKey?: unknown }>(paths(home).p2pKey, 'p2p key');
  if (typeof json.privateKey !== 'string' || !isHex(json.privateKey))
    throw new UsageError(`p2p key at ${paths(home).p2pKey} is malformed`);
  return hexToBytes(json.privateKey);
}

export async function loadValidatorKey(home: string, password: string): Promise<Uint8Array> {
  const json = await readJson<unknown>(paths(home).validatorKey, 'validator key');
  return decryptKeystore(json, password);
}

/** The public Hardhat/Anvil test mnemonic (the SDK's): dev accounts only, never for real funds. */
export { DEV_MNEMONIC } from '@aivm/sdk';
