import { TIERS, type TierName } from '@aivm/sdk';
import type { Command } from 'commander';
import { UsageError } from './home.ts';
import { type Printer, parseCgpt } from './output.ts';

export function intArg(value: string | number, name: string, min: number, max: number): number {
  const n = typeof value === 'number' ? value : /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${name} must be an integer in ${min}..${max}`);
  return n;
}

/** Global options (--json, --rpc) as seen from any subcommand. */
export function globals(cmd: Command): Printer & { rpc: string } {
  const o = cmd.optsWithGlobals() as { json?: boolean; rpc?: string };
  return { json: Boolean(o.json), rpc: o.rpc ?? process.env.AIVM_RPC ?? 'http://127.0.0.1:8545' };
}

/** True when neither --rpc nor AIVM_RPC chose the endpoint: the default one answers. */
export function rpcIsDefault(cmd: Command): boolean {
  return (cmd.optsWithGlobals() as { rpc?: string }).rpc === undefined && process.env.AIVM_RPC === undefined;
}

export function parseTiers(text: string): number {
  let mask = 0;
  for (const name of text
    .split(/[,|]/)
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(name in TIERS)) throw new UsageError(`unknown tier "${name}" (onchain, zk, optimistic)`);
    mask |= TIERS[name as TierName];
  }
  if (mask === 0) throw new UsageError('give at least one tier');
  return mask;
}

export function cgptArg(value: string, name: string): bigint {
  try {
    return parseCgpt(value);
  } catch (err) {
    throw new UsageError(`${name}: ${(err as Error).message}`);
  }
}
