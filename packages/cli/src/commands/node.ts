// aivm init | start | devnet: create a node home and run a node from it.

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type GenesisDoc, WEI_PER_CGPT } from '@aivm/chain';
import {
  bytesToHex,
  ed25519GenerateKey,
  isAddress,
  mnemonicToPrivateKeys,
  privateKeyToAddress,
} from '@aivm/crypto';
import { AivmNode, createLogger, type LogLevel } from '@aivm/node';
import type { Command } from 'commander';
import { globals, intArg } from '../args.ts';
import {
  DEFAULT_CONFIG,
  loadConfig,
  loadGenesis,
  loadValidatorKey,
  type NodeConfig,
  paths,
  UsageError,
  writeHome,
} from '../home.ts';
import { formatCgpt, parseCgpt, print } from '../output.ts';
import { readPassword } from '../password.ts';

/** The public Hardhat/Anvil test mnemonic: dev accounts only, never for real funds. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEV_CHAIN_ID = 7331;
export const DEV_PASSWORD = 'devnet';
export const DEV_FUNDS_CGPT = 1_000_000n;

export function registerNodeCommands(program: Command): void {
  program
    .command('init')
    .description(
      'create a node home: config, genesis with this node as the only validator, encrypted validator key',
    )
    .requiredOption('--home <dir>', 'node home directory')
    .option('--chain-id <id>', 'chain id (positive integer)', '7332')
    .option('--fund <address=CGPT...>', 'genesis balances, e.g. 0xabc...=1000 (repeatable)', collect, [])
    .option('--rpc-port <port>', 'JSON-RPC port', '8545')
    .option('--password-file <file>', 'file holding the validator key password')
    .action(async (opts, cmd: Command) => {
      const home = resolve(opts.home);
      if (existsSync(paths(home).genesis)) throw new UsageError(`${home} is already initialised`);
      const chainId = intArg(opts.chainId, '--chain-id', 1, Number.MAX_SAFE_INTEGER);
      const balances = (opts.fund as string[]).map((f) => {
        const [address, amount] = f.split('=');
        if (!address || !isAddress(address) || !amount)
          throw new UsageError(`--fund expects address=CGPT, got "${f}"`);
        return { address, amount: parseCgpt(amount).toString() };
      });
      const password = await readPassword({
        passwordFile: opts.passwordFile,
        env: 'AIVM_VALIDATOR_PASSWORD',
        prompt: 'Validator key password: ',
        confirm: true,
      });
      const key = ed25519GenerateKey();
      const genesis: GenesisDoc = {
        chainId,
        genesisTimeMs: Date.now(),
        validators: [{ name: 'validator-0', pubKey: bytesToHex(key.publicKey), power: 1 }],
        app: { bank: { balances } },
      };
      const config: NodeConfig = {
        ...DEFAULT_CONFIG,
        rpc: { ...DEFAULT_CONFIG.rpc, port: intArg(opts.rpcPort, '--rpc-port', 0, 65535) },
      };
      await writeHome(home, config, genesis, key.secretKey, password);
      print(globals(cmd), { home, chainId, validatorPubKey: bytesToHex(key.publicKey) }, () =>
        [
          `Initialised ${home}`,
          `  chain id        ${chainId}`,
          `  validator key   ${bytesToHex(key.publicKey)}`,
          `Start it with: aivm start --home ${home}`,
        ].join('\n'),
      );
    });

  program
    .command('start')
    .description('run a node from its home directory')
    .requiredOption('--home <dir>', 'node home directory')
    .option('--password-file <file>', 'file holding the validator key password (or AIVM_VALIDATOR_PASSWORD)')
    .option('--rpc-port <port>', 'override the JSON-RPC port (0 = any free port)')
    .option('--block-time <ms>', 'override the block interval')
    .option('--no-empty-blocks', 'only make blocks when there are transactions')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .action(async (opts, cmd: Command) => {
      const home = resolve(opts.home);
      await loadConfig(home); // a missing or broken home is reported before asking for a password
      const password = await readPassword({
        passwordFile: opts.passwordFile,
        env: 'AIVM_VALIDATOR_PASSWORD',
        prompt: 'Validator key password: ',
      });
      await runNode(home, password, opts, cmd);
    });

  program
    .command('devnet')
    .description('start a fresh single-validator dev chain whose genesis funds the dev mnemonic accounts')
    .option('--home <dir>', 'where the dev chain lives', '.aivm/devnet')
    .option('--accounts <n>', 'number of funded dev accounts', '10')
    .option('--rpc-port <port>', 'JSON-RPC port (0 = any free port)', '8545')
    .option('--block-time <ms>', 'block interval', '1000')
    .option('--no-empty-blocks', 'only make blocks when there are transactions')
    .option('--keep', 'keep the existing dev chain instead of starting fresh')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .action(async (opts, cmd: Command) => {
      const home = resolve(opts.home);
      const n = intArg(opts.accounts, '--accounts', 1, 1_000);
      if (!opts.keep) await rm(home, { recursive: true, force: true });
      if (!existsSync(paths(home).genesis)) {
        const key = ed25519GenerateKey();
        const accounts = mnemonicToPrivateKeys(DEV_MNEMONIC, 0, n).map(privateKeyToAddress);
        const genesis: GenesisDoc = {
          chainId: DEV_CHAIN_ID,
          genesisTimeMs: Date.now(),
          validators: [{ name: 'devnet', pubKey: bytesToHex(key.publicKey), power: 1 }],
          app: {
            bank: {
              balances: accounts.map((address) => ({
                address,
                amount: (DEV_FUNDS_CGPT * WEI_PER_CGPT).toString(),
              })),
            },
          },
        };
        const config: NodeConfig = {
          ...DEFAULT_CONFIG,
          rpc: { host: '127.0.0.1', port: intArg(opts.rpcPort, '--rpc-port', 0, 65535) },
          blockIntervalMs: intArg(opts.blockTime, '--block-time', 10, 3_600_000),
          emptyBlocks: opts.emptyBlocks,
        };
        // A fast scrypt cost for the dev key: its password is public anyway.
        await writeHome(home, config, genesis, key.secretKey, DEV_PASSWORD, 4096);
      }
      await runNode(home, DEV_PASSWORD, { ...opts, devnet: true }, cmd);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

type RunOptions = {
  rpcPort?: string;
  blockTime?: string;
  emptyBlocks?: boolean;
  logLevel?: string;
  devnet?: boolean;
};

async function runNode(home: string, password: string, opts: RunOptions, cmd: Command): Promise<void> {
  const config = await loadConfig(home);
  const genesis = await loadGenesis(home);
  const validatorKey = await loadValidatorKey(home, password);
  if (opts.rpcPort !== undefined && !opts.devnet)
    config.rpc.port = intArg(opts.rpcPort, '--rpc-port', 0, 65535);
  if (opts.blockTime !== undefined && !opts.devnet)
    config.blockIntervalMs = intArg(opts.blockTime, '--block-time', 10, 3_600_000);
  if (opts.emptyBlocks === false) config.emptyBlocks = false;
  const logger = createLogger((opts.logLevel ?? config.logLevel) as LogLevel);
  const node = await AivmNode.start({
    home,
    genesis,
    validatorKey,
    rpc: config.rpc,
    blockIntervalMs: config.blockIntervalMs,
    emptyBlocks: config.emptyBlocks,
    logger,
  });
  const status = node.status();
  const accounts = opts.devnet
    ? await Promise.all(
        (genesis.app.bank as { balances: { address: string }[] }).balances.map(async (b, i) => ({
          index: i,
          address: b.address,
          balanceWei: (await node.getAccount(b.address as `0x${string}`)).balanceWei,
        })),
      )
    : [];
  print(
    globals(cmd),
    {
      rpcUrl: node.rpcUrl,
      wsUrl: node.wsUrl,
      chainId: status.chainId,
      height: status.height,
      home,
      accounts,
    },
    () =>
      [
        `AIVM node running (chain ${status.chainId}, height ${status.height})`,
        `  JSON-RPC   ${node.rpcUrl}`,
        `  WebSocket  ${node.wsUrl}`,
        `  metrics    ${node.rpcUrl}/metrics`,
        `  home       ${home}`,
        ...(accounts.length
          ? [
              '',
              `Funded dev accounts (mnemonic "${DEV_MNEMONIC}", path m/44'/60'/0'/0/i):`,
              ...accounts.map((a) => `  [${a.index}] ${a.address}  ${formatCgpt(a.balanceWei)} CGPT`),
              '',
              'These keys are public: never send real funds to them.',
            ]
          : []),
        'Press Ctrl-C to stop.',
      ].join('\n'),
  );
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      node.close().then(resolveStop, (err) => {
        logger.error({ err }, 'error while stopping');
        resolveStop();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
