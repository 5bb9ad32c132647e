// Genesis: the JSON document every node of a chain starts from, and the state it produces.
// The genesis header (height 0) commits to that state, so block 1's parent hash pins the genesis.

import { toJson } from '@aivm/codec';
import { bytesToHex, concatBytes, type Hex, hexToBytes, isHex, utf8ToBytes } from '@aivm/crypto';
import type { KVScanner } from '@aivm/state';
import { validatorAddress, ZERO_ADDRESS } from './accounts.ts';
import { type Header, type Validator, validatorSetHash } from './block.ts';
import { ChainError, ERR } from './errors.ts';
import type { BlockResult, StateBackend } from './execute.ts';
import { GasMeter } from './gas.ts';
import { merkleRoot } from './merkle.ts';
import { ExecContext, type Module, paramsKey, type Registry, readParams } from './module.ts';
import { StateOverlay } from './overlay.ts';
import {
  readNextValidatorSet,
  readValidatorSet,
  type SetMember,
  writeGenesisValidatorSet,
} from './validators.ts';

export type GenesisValidator = { name?: string; pubKey: Hex; power: string | number };

export type GenesisDoc = {
  chainId: string | number;
  genesisTimeMs: string | number;
  /**
   * Fixed validator set, for a registry WITHOUT the staking module only; with staking, validators
   * come from the staking section (self-stake from genesis balances) and this must be absent.
   */
  validators?: GenesisValidator[];
  /** One section per module name. */
  app: Record<string, unknown>;
};

export class GenesisError extends ChainError {
  constructor(message: string) {
    super(ERR.INVALID_BLOCK, `invalid genesis: ${message}`);
  }
}

const ZERO32 = new Uint8Array(32);

function parseUint(value: unknown, what: string): bigint {
  if (
    (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
    (typeof value === 'string' && /^[0-9]{1,20}$/.test(value))
  ) {
    return BigInt(value);
  }
  throw new GenesisError(`${what} must be a non-negative integer`);
}

export function parseGenesisValidators(doc: GenesisDoc): Validator[] {
  if (!Array.isArray(doc.validators) || doc.validators.length === 0)
    throw new GenesisError('needs at least one validator');
  return doc.validators.map((v, i) => {
    if (!isHex(v.pubKey) || v.pubKey.length !== 66)
      throw new GenesisError(`validators[${i}].pubKey must be 32 bytes hex`);
    const power = parseUint(v.power, `validators[${i}].power`);
    if (power === 0n) throw new GenesisError(`validators[${i}].power must be positive`);
    const pubKey = hexToBytes(v.pubKey);
    return { address: validatorAddress(pubKey), pubKey, power };
  });
}

export function genesisChainId(doc: GenesisDoc): bigint {
  const id = parseUint(doc.chainId, 'chainId');
  if (id === 0n) throw new GenesisError('chainId must be positive');
  return id;
}

/**
 * Runs every module's genesis over empty state and returns the genesis header (height 0) plus the
 * staged state to persist with it.
 */
export async function initGenesis(
  state: StateBackend,
  doc: GenesisDoc,
  registry: Registry,
): Promise<{ header: Header; result: BlockResult; validators: SetMember[] }> {
  const chainId = genesisChainId(doc);
  const timeMs = parseUint(doc.genesisTimeMs, 'genesisTimeMs');
  const withStaking = registry.modules.some((m) => m.name === 'staking');
  const listed =
    doc.validators !== undefined && !(Array.isArray(doc.validators) && doc.validators.length === 0);
  if (withStaking && listed)
    throw new GenesisError('validators come from the staking section; remove the top-level "validators"');
  const fixed = withStaking ? undefined : parseGenesisValidators(doc);
  if (typeof doc.app !== 'object' || doc.app === null) throw new GenesisError('app must be an object');
  for (const name of Object.keys(doc.app)) {
    if (!registry.modules.some((m) => m.name === name))
      throw new GenesisError(`unknown module section "${name}"`);
  }
  const info = {
    chainId,
    height: 0n,
    timeMs,
    proposer: ZERO_ADDRESS,
    parentHash: new Uint8Array(32),
    lastCommit: { round: 0, signers: [] },
  };
  const overlay = new StateOverlay(state);
  for (const m of registry.modules) {
    const ctx = new ExecContext(overlay, info, new GasMeter(2n ** 63n));
    try {
      await m.initGenesis?.(ctx, doc.app[m.name]);
    } catch (err) {
      throw new GenesisError(`module ${m.name}: ${(err as Error).message}`);
    }
  }
  const setCtx = new ExecContext(overlay, info, new GasMeter(2n ** 63n));
  const staked = await readNextValidatorSet(overlay);
  if (withStaking && !staked) throw new GenesisError('the staking section creates no validator');
  let validators: SetMember[];
  try {
    validators = writeGenesisValidatorSet(setCtx, fixed ?? staked!);
  } catch (err) {
    throw new GenesisError(`validator set: ${(err as Error).message}`);
  }
  const staged = await state.stage(overlay.changes(), 0n);
  const empty = merkleRoot([]);
  const header: Header = {
    chainId,
    height: 0n,
    timeMs,
    parentHash: ZERO32,
    stateRoot: staged.root,
    txRoot: empty,
    resultsRoot: empty,
    validatorSetHash: validatorSetHash(validators),
    lastCommitHash: ZERO32,
    gasUsed: 0n,
    proposer: ZERO_ADDRESS,
  };
  const result: BlockResult = {
    stateRoot: staged.root,
    txRoot: empty,
    resultsRoot: empty,
    gasUsed: 0n,
    receipts: [],
    encodedReceipts: [],
    blockEvents: [],
    hookFailures: [],
    validators,
    staged,
  };
  return { header, result, validators };
}

// ---- export: a running chain's state as a genesis file ----
//
// Each module writes its own section (Module.exportGenesis), in the shape its initGenesis reads:
// params as JSON, bank balances and auth nonces as lists, and for the modules whose state is a web
// of records and indexes (staking, distribution, slashing, models, inference, gov) the module's
// committed entries themselves (`state`), so the new chain starts from exactly the same records.
//
// Heights are not rebased. The new chain counts heights from 1 again, and its genesis time is the
// exported block's time, so a time-based date (staking unbonding and redelegation completion, gov
// deposit and voting ends, jails) falls due exactly as on the old chain, while a height-based one
// (models review releases, inference deadlines, challenge windows, dispute steps and provider
// unbonding releases, staking creationHeight of entries) keeps its height number and so comes due
// that many blocks after the new genesis (later by the export height, never earlier, never lost).
// Slashing's downtime window is the exception: its start height is exported as 0, so each
// validator's window restarts at the new genesis (a window starting at an old height would exempt it
// from downtime jailing until the new chain reached that height).

/** One committed entry: the key's leading text up to its last '/', the rest of the key and the value in hex. */
export type StateEntry = [prefix: string, rest: Hex, value: Hex];

/** Splits a key after the last '/' of its leading printable-ASCII run (any split decodes back the same). */
function splitKey(key: Uint8Array): [string, Hex] {
  let run = 0;
  while (run < key.length && key[run]! >= 0x20 && key[run]! <= 0x7e) run++;
  let cut = 0;
  for (let i = 0; i < run; i++) if (key[i] === 0x2f) cut = i + 1;
  return [String.fromCharCode(...key.subarray(0, cut)), bytesToHex(key.subarray(cut))];
}

/** The params section of a module: its current params as JSON (what paramsFromJson reads back). */
export async function exportParams(state: KVScanner, m: Pick<Module, 'name' | 'params'>): Promise<unknown> {
  if (!m.params) return undefined;
  return toJson(m.params.schema, await readParams(state, m.name, m.params));
}

/** `{ params, state }`: the section of a module exported entry by entry (initGenesis: importModuleState). */
export async function exportStateSection(
  state: KVScanner,
  m: Pick<Module, 'name' | 'params'>,
): Promise<{ params: unknown; state: StateEntry[] }> {
  return { params: await exportParams(state, m), state: await exportModuleState(state, m.name) };
}

/** Every committed entry under "<module>/" except its params, in key order. */
export async function exportModuleState(state: KVScanner, module: string): Promise<StateEntry[]> {
  const params = bytesToHex(paramsKey(module));
  const out: StateEntry[] = [];
  for await (const [key, value] of state.scan(utf8ToBytes(`${module}/`))) {
    if (bytesToHex(key) === params) continue;
    out.push([...splitKey(key), bytesToHex(value)]);
  }
  return out;
}

/** Writes entries exported by exportModuleState; each must lie under "<module>/" and not be its params. */
export function importModuleState(ctx: ExecContext, module: string, entries: unknown): void {
  if (entries === undefined) return;
  if (!Array.isArray(entries)) throw new GenesisError(`${module}.state must be an array`);
  const params = bytesToHex(paramsKey(module));
  for (const [i, e] of entries.entries()) {
    if (
      !Array.isArray(e) ||
      e.length !== 3 ||
      typeof e[0] !== 'string' ||
      !e[0].startsWith(`${module}/`) ||
      !isHex(e[1]) ||
      !isHex(e[2])
    )
      throw new GenesisError(`${module}.state[${i}] must be ["${module}/...", "0x..", "0x.."]`);
    const key = concatBytes(utf8ToBytes(e[0]), hexToBytes(e[1]));
    if (bytesToHex(key) === params) throw new GenesisError(`${module}.state[${i}] writes the params key`);
    ctx.set(key, hexToBytes(e[2]));
  }
}

/**
 * A genesis document from committed state: every module's exportGenesis section. Started with
 * initGenesis, it gives a chain with the same balances, supply, validators, delegations, models
 * and open requests (see the height rule above). With the staking module there is no top-level
 * validator list: the set is rebuilt from the staking section.
 */
export async function exportGenesis(
  state: KVScanner,
  registry: Registry,
  opts: { chainId: bigint | string | number; genesisTimeMs: bigint | string | number },
): Promise<GenesisDoc> {
  const app: Record<string, unknown> = {};
  for (const m of registry.modules) {
    if (m.exportGenesis) app[m.name] = await m.exportGenesis(state);
    else if (m.params) app[m.name] = { params: await exportParams(state, m) };
  }
  const doc: GenesisDoc = {
    chainId: opts.chainId.toString(),
    genesisTimeMs: opts.genesisTimeMs.toString(),
    app,
  };
  if (!registry.modules.some((m) => m.name === 'staking')) {
    doc.validators = (await readValidatorSet(state, 'current')).map((v) => ({
      pubKey: bytesToHex(v.pubKey),
      power: v.power.toString(),
    }));
  }
  return doc;
}
