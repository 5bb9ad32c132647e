// Genesis: the JSON document every node of a chain starts from, and the state it produces.
// The genesis header (height 0) commits to that state, so block 1's parent hash pins the genesis.

import { type Address, type Hex, hexToBytes, isHex } from '@aivm/crypto';
import { validatorAddress } from './accounts.ts';
import { type Header, type Validator, validatorSetHash } from './block.ts';
import { ChainError, ERR } from './errors.ts';
import type { BlockResult, StateBackend } from './execute.ts';
import { GasMeter } from './gas.ts';
import { merkleRoot } from './merkle.ts';
import { ExecContext, type Registry } from './module.ts';
import { StateOverlay } from './overlay.ts';
import { readNextValidatorSet, type SetMember, writeGenesisValidatorSet } from './validators.ts';

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
const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000' as Address;

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
