// aivm relayer: carries an EVM oracle's inference requests to AIVM and their results back
// (docs/evm.md, "Relayer"; @aivm/evm/relayer). Its cursor and in-flight work live in LevelDB
// under --home: killed at any point and started again, it delivers each request exactly once.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { mnemonicToPrivateKey } from '@aivm/crypto';
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { intArg } from '../args.ts';
import { DEV_MNEMONIC, UsageError } from '../home.ts';
import { rpcClient, signerWallet, withSigner } from '../signer.ts';

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const KEY_RE = /^0x[0-9a-fA-F]{64}$/;

/** The EVM private key of --evm-key-file (0x + 64 hex, whitespace around allowed) or --evm-dev-account. */
export async function evmKey(
  opts: { keyFile?: string; devAccount?: string },
  flags: [string, string],
): Promise<Hex> {
  const [fileFlag, devFlag] = flags;
  if (opts.keyFile !== undefined && opts.devAccount !== undefined)
    throw new UsageError(`give either ${fileFlag} or ${devFlag}`);
  if (opts.devAccount !== undefined) {
    const i = intArg(opts.devAccount, devFlag, 0, 1_000);
    return `0x${Buffer.from(mnemonicToPrivateKey(DEV_MNEMONIC, i)).toString('hex')}`;
  }
  if (opts.keyFile === undefined)
    throw new UsageError(`give ${fileFlag} <file> (or ${devFlag} <i> on a dev chain)`);
  let text: string;
  try {
    text = (await readFile(opts.keyFile, 'utf8')).trim();
  } catch {
    throw new UsageError(`cannot read the key file ${opts.keyFile}`);
  }
  const key = text.startsWith('0x') ? text : `0x${text}`;
  // Never echo the file's content: it is a key.
  if (!KEY_RE.test(key)) throw new UsageError(`${opts.keyFile} does not hold a 32-byte hex private key`);
  return key as Hex;
}

export function addressArg(value: string, flag: string): Hex {
  if (!ADDRESS_RE.test(value))
    throw new UsageError(`${flag} must be a 0x address of 40 hex digits, got "${value}"`);
  return value as Hex;
}

export function urlArg(value: string, flag: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UsageError(`${flag} must be an http(s) URL, got "${value}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`${flag} must be an http(s) URL, got "${value}"`);
  return value;
}

export function registerRelayerCommand(program: Command): void {
  withSigner(
    program
      .command('relayer')
      .description(
        "carry an EVM AivmOracle's inference requests to AIVM (paid from the AIVM account of --from/--dev-account) and deliver each result with its zk proof or the validators' attestation; cursor and in-flight work in LevelDB under --home",
      )
      .requiredOption('--evm-rpc <url>', 'JSON-RPC endpoint of the EVM chain')
      .requiredOption('--oracle <address>', 'the AivmOracle contract')
      .requiredOption('--home <dir>', "the relayer's directory (its LevelDB store)")
      .option('--evm-key-file <file>', 'file holding the EVM private key that sends deliveries (0x hex)')
      .option(
        '--evm-dev-account <i>',
        'EVM key: dev mnemonic account i (anvil and devnets only: the keys are public)',
      )
      .option('--confirmations <n>', 'act on a request once its block has n confirmations', '2')
      .option('--from-block <n>', 'first EVM block to scan when the store has no cursor', '0')
      .option('--poll-ms <ms>', 'EVM polling interval', '500')
      .option('--no-mark-relayed', 'do not note the AIVM request id on the oracle (markRelayed)'),
  ).action(async (opts, cmd: Command) => {
    const json = Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
    const evmRpc = urlArg(opts.evmRpc, '--evm-rpc');
    const oracle = addressArg(opts.oracle, '--oracle');
    const confirmations = intArg(opts.confirmations, '--confirmations', 1, 1_000);
    const pollMs = intArg(opts.pollMs, '--poll-ms', 20, 600_000);
    if (!/^[0-9]+$/.test(opts.fromBlock)) throw new UsageError('--from-block must be a block number');
    const key = await evmKey({ keyFile: opts.evmKeyFile, devAccount: opts.evmDevAccount }, [
      '--evm-key-file',
      '--evm-dev-account',
    ]);
    const aivm = rpcClient(cmd);
    const aivmWallet = await signerWallet(cmd, opts, aivm);
    const { connectEvm } = await import('@aivm/evm');
    const { Relayer } = await import('@aivm/evm/relayer');
    const { pub } = await connectEvm(evmRpc, undefined, { pollingInterval: Math.min(pollMs, 250) });
    const crash = process.env.AIVM_RELAYER_CRASH_AT;
    const { CRASH_STAGES } = await import('@aivm/evm/relayer');
    if (crash !== undefined && !(CRASH_STAGES as readonly string[]).includes(crash))
      throw new UsageError(`AIVM_RELAYER_CRASH_AT must be one of ${CRASH_STAGES.join(', ')}`);
    const relayer = new Relayer({
      pub,
      evmAccount: privateKeyToAccount(key),
      oracle,
      aivm,
      aivmWallet,
      dbPath: join(resolve(opts.home), 'relayer-db'),
      confirmations,
      fromBlock: BigInt(opts.fromBlock),
      pollMs,
      markRelayed: opts.markRelayed !== false,
      ...(crash ? { crashAt: crash as never } : {}),
      onEvent: (e) => {
        if (json) process.stdout.write(`${JSON.stringify({ ...e, atMs: Date.now() })}\n`);
        else {
          const { event, ...rest } = e;
          process.stdout.write(
            `${event}${Object.entries(rest)
              .map(([k, v]) => ` ${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
              .join('')}\n`,
          );
        }
      },
    });
    await new Promise<void>((resolveStop, reject) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        relayer
          .stop()
          .then(() => aivm.close())
          .then(async () => (await import('@aivm/zk/verify')).releaseCurve())
          .then(resolveStop, reject);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      relayer.start().catch((err) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        reject(err);
      });
    });
  });
}
