// Typed accessors over the bank's key prefix "bank/".

import type { Address } from '@aivm/crypto';
import { addressToBytes, bigintToBytes, bytesToBigint, concatBytes, utf8ToBytes } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { InsufficientFunds } from '../../errors.ts';
import type { ExecContext } from '../../module.ts';

/** The module's name: its key prefix, its events' module and its account seed. */
export const M = 'bank';

const BALANCE = utf8ToBytes('bank/bal/');
const SUPPLY = utf8ToBytes('bank/supply');

export function balanceKey(address: Address): Uint8Array {
  return concatBytes(BALANCE, addressToBytes(address));
}

export async function getBalance(state: KVReader, address: Address): Promise<bigint> {
  const raw = await state.get(balanceKey(address));
  return raw ? bytesToBigint(raw) : 0n;
}

export async function getSupply(state: KVReader): Promise<bigint> {
  const raw = await state.get(SUPPLY);
  return raw ? bytesToBigint(raw) : 0n;
}

function setBalance(ctx: ExecContext, address: Address, amount: bigint): void {
  if (amount === 0n) ctx.delete(balanceKey(address));
  else ctx.set(balanceKey(address), bigintToBytes(amount));
}

/** Moves CGPT between accounts; the only way balances change besides mint and burn. */
export async function transfer(
  ctx: ExecContext,
  from: Address,
  to: Address,
  amountWei: bigint,
): Promise<void> {
  if (amountWei === 0n) return;
  const fromBalance = await getBalance(ctx, from);
  if (fromBalance < amountWei) throw new InsufficientFunds(amountWei, fromBalance);
  setBalance(ctx, from, fromBalance - amountWei);
  setBalance(ctx, to, (await getBalance(ctx, to)) + amountWei);
}

export async function mint(ctx: ExecContext, to: Address, amountWei: bigint): Promise<void> {
  setBalance(ctx, to, (await getBalance(ctx, to)) + amountWei);
  ctx.set(SUPPLY, bigintToBytes((await getSupply(ctx)) + amountWei));
}

export async function burn(ctx: ExecContext, from: Address, amountWei: bigint): Promise<void> {
  const balance = await getBalance(ctx, from);
  if (balance < amountWei) throw new InsufficientFunds(amountWei, balance);
  setBalance(ctx, from, balance - amountWei);
  ctx.set(SUPPLY, bigintToBytes((await getSupply(ctx)) - amountWei));
}
