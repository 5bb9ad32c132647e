// The account that signs a command's transactions (--from keystore key or --dev-account n) and the
// JSON-RPC client it talks through, shared by every command that sends transactions.

import { mnemonicToPrivateKey } from '@aivm/crypto';
import { AivmClient, Wallet } from '@aivm/sdk';
import type { Command } from 'commander';
import { globals, intArg } from './args.ts';
import { unlockKey } from './commands/keys.ts';
import { DEV_MNEMONIC, UsageError } from './home.ts';

export function rpcClient(cmd: Command, timeoutMs = 30_000): AivmClient {
  return new AivmClient(globals(cmd).rpc, { timeoutMs });
}

export type SignerOpts = { from?: string; devAccount?: string; passwordFile?: string };

/** Adds --from / --dev-account / --password-file to a command. */
export function withSigner(c: Command): Command {
  return c
    .option('--from <key>', 'signing key name in the keystore (or a keystore .json file)')
    .option('--dev-account <n>', 'sign with dev mnemonic account n (devnet only: the keys are public)')
    .option('--password-file <file>', 'file holding the key password (or AIVM_PASSWORD)');
}

export async function signerWallet(cmd: Command, opts: SignerOpts, client: AivmClient): Promise<Wallet> {
  if (opts.from !== undefined && opts.devAccount !== undefined)
    throw new UsageError('give either --from or --dev-account');
  if (opts.devAccount !== undefined) {
    const i = intArg(opts.devAccount, '--dev-account', 0, 1_000);
    return Wallet.fromPrivateKey(mnemonicToPrivateKey(DEV_MNEMONIC, i), client);
  }
  if (opts.from === undefined) throw new UsageError('give --from <key> (or --dev-account <n> on a devnet)');
  return Wallet.fromPrivateKey(await unlockKey(cmd, opts.from, opts.passwordFile), client);
}
