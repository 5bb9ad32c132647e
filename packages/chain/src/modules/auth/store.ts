// Typed accessors over the auth key prefix "auth/": the per-account nonce (replay protection).

import {
  type Address,
  addressToBytes,
  bigintToBytes,
  bytesToBigint,
  concatBytes,
  utf8ToBytes,
} from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import type { ExecContext } from '../../module.ts';

/** The module's name: its key prefix, its events' module and its account seed. */
export const M = 'auth';

const NONCE = utf8ToBytes('auth/nonce/');

export function nonceKey(address: Address): Uint8Array {
  return concatBytes(NONCE, addressToBytes(address));
}

export async function getNonce(state: KVReader, address: Address): Promise<bigint> {
  const raw = await state.get(nonceKey(address));
  return raw ? bytesToBigint(raw) : 0n;
}

export function setNonce(ctx: ExecContext, address: Address, nonce: bigint): void {
  ctx.set(nonceKey(address), bigintToBytes(nonce));
}
