// aivm init | start | devnet: create a node home and run a node from it (testnet: in testnet.ts).

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type GenesisDoc, genesisChainId, WEI_PER_CGPT } from '@aivm/chain';
import {
  bytesToHex,
  ed25519GenerateKey,
  ed25519PublicKey,
  generatePrivateKey as generateAccountKey,
  isAddress,
  mnemonicToPrivateKeys,
  privateKeyToAddress,
} from '@aivm/crypto';
import {
  AivmNode,
  buildGenesis,
  createLogger,
  DEFAULT_SELF_STAKE_WEI,
  type GenesisValidatorSpec,
  type LogLevel,
} from '@aivm/node';
import { generatePrivateKey, peerIdOf } from '@aivm/p2p';
import { type Command, Option } from 'commander';
import { globals, intArg } from '../args.ts';
import {
  DEFAULT_CONFIG,
  type HomeKeys,
  loadConfig,
  loadGenesis,
  loadOperatorKey,
  loadP2pKey,
  loadValidatorKey,
  type NodeConfig,
  paths,
  readJson,
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
      'create a node home: config, genesis (a new chain with this node as its validator, or --genesis to join one), encrypted keys',
    )
    .requiredOption('--home <dir>', 'node home directory')
    .option('--chain-id <id>', 'chain id of a new chain (positive integer)', '7332')
    .option(
      '--fund <address=CGPT...>',
      'genesis balances of a new chain, e.g. 0xabc...=1000 (repeatable)',
      collect,
      [],
    )
    .option(
      '--genesis <file>',
      'join an existing network: its genesis.json (this node starts as a full node)',
    )
    .option('--p2p-port <port>', 'listen for peers on this TCP port (enables the validator network)')
    .option('--peers <multiaddrs>', 'comma-separated peers to dial (multiaddr with /p2p/<id>)')
    .option('--rpc-port <port>', 'JSON-RPC port', '8545')
    .option('--password-file <file>', 'file holding the key password')
    .action(async (opts, cmd: Command) => {
      const home = resolve(opts.home);
      if (existsSync(paths(home).genesis)) throw new UsageError(`${home} is already initialised`);
      const password = await readPassword({
        passwordFile: opts.passwordFile,
        env: 'AIVM_VALIDATOR_PASSWORD',
        prompt: 'Key password: ',
        confirm: true,
      });
      const keys = await generateHomeKeys();
      let genesis: GenesisDoc;
      if (opts.genesis) {
        genesis = await readJson<GenesisDoc>(resolve(opts.genesis), 'genesis');
        genesisChainId(genesis); // a broken file is reported now, not at start
      } else {
        const chainId = intArg(opts.chainId, '--chain-id', 1, Number.MAX_SAFE_INTEGER);
        const balances = (opts.fund as string[]).map((f) => {
          const [address, amount] = f.split('=');
          if (!address || !isAddress(address) || !amount)
            throw new UsageError(`--fund expects address=CGPT, got "${f}"`);
          return { address, amountWei: parseCgpt(amount) };
        });
        genesis = buildGenesis({
          chainId,
          genesisTimeMs: Date.now(),
          validators: [validatorSpec('validator-0', keys)],
          balances,
        });
      }
      const p2pPort = opts.p2pPort ?? (opts.genesis ? '26656' : undefined);
      const config: NodeConfig = {
        ...DEFAULT_CONFIG,
        rpc: { ...DEFAULT_CONFIG.rpc, port: intArg(opts.rpcPort, '--rpc-port', 0, 65535) },
        ...(p2pPort !== undefined
          ? {
              p2p: {
                listen: [`/ip4/0.0.0.0/tcp/${intArg(p2pPort, '--p2p-port', 0, 65535)}`],
                peers: splitList(opts.peers),
                seeds: [],
              },
            }
          : {}),
      };
      await writeHome(home, config, genesis, keys, password);
      const info = homeInfo(keys);
      print(globals(cmd), { home, chainId: String(genesis.chainId), ...info }, () =>
        [
          `Initialised ${home}`,
          `  chain id          ${genesis.chainId}`,
          `  consensus key     ${info.consensusPubKey}`,
          `  operator account  ${info.operator}`,
          `  p2p peer id       ${info.peerId}`,
          opts.genesis
            ? `Fund ${info.operator}, start the node, and once it has synced send staking/createValidator with the consensus key above.`
            : '',
          `Start it with: aivm start --home ${home}`,
        ]
          .filter(Boolean)
          .join('\n'),
      );
    });

  program
    .command('start')
    .description('run a node from its home directory')
    .requiredOption('--home <dir>', 'node home directory')
    .option('--password-file <file>', 'file holding the key password (or AIVM_VALIDATOR_PASSWORD)')
    .option('--rpc-port <port>', 'override the JSON-RPC port (0 = any free port)')
    .option('--p2p-port <port>', 'override the p2p listen port')
    .option('--peers <multiaddrs>', 'comma-separated peers to dial, replacing the configured ones')
    .option('--block-time <ms>', 'override the block interval (network: pause after each commit)')
    .option('--no-empty-blocks', 'only make blocks when there are transactions (single validator)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .addOption(new Option('--equivocate', 'TEST ONLY: double-sign every vote').hideHelp())
    .action(async (opts, cmd: Command) => {
      const home = resolve(opts.home);
      await loadConfig(home); // a missing or broken home is reported before asking for a password
      const password = await readPassword({
        passwordFile: opts.passwordFile,
        env: 'AIVM_VALIDATOR_PASSWORD',
        prompt: 'Key password: ',
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
        const keys = await generateHomeKeys();
        const accounts = mnemonicToPrivateKeys(DEV_MNEMONIC, 0, n).map(privateKeyToAddress);
        const genesis = buildGenesis({
          chainId: DEV_CHAIN_ID,
          genesisTimeMs: Date.now(),
          validators: [validatorSpec('devnet', keys)],
          balances: accounts.map((address) => ({ address, amountWei: DEV_FUNDS_CGPT * WEI_PER_CGPT })),
        });
        const config: NodeConfig = {
          ...DEFAULT_CONFIG,
          rpc: { host: '127.0.0.1', port: intArg(opts.rpcPort, '--rpc-port', 0, 65535) },
          blockIntervalMs: intArg(opts.blockTime, '--block-time', 10, 3_600_000),
          emptyBlocks: opts.emptyBlocks,
        };
        // A fast scrypt cost for the dev key: its password is public anyway.
        await writeHome(home, config, genesis, keys, DEV_PASSWORD, 4096);
      }
      await runNode(home, DEV_PASSWORD, { ...opts, devnet: true }, cmd);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Fresh keys for a node home: consensus (ed25519), operator account (secp256k1), p2p identity. */
export async function generateHomeKeys(): Promise<HomeKeys> {
  return {
    validatorKey: ed25519GenerateKey().secretKey,
    operatorKey: generateAccountKey(),
    p2pKey: await generatePrivateKey(),
  };
}

export function homeInfo(keys: HomeKeys): { consensusPubKey: string; operator: string; peerId: string } {
  return {
    consensusPubKey: bytesToHex(ed25519PublicKey(keys.validatorKey)),
    operator: privateKeyToAddress(keys.operatorKey),
    peerId: peerIdOf(keys.p2pKey),
  };
}

export function validatorSpec(moniker: string, keys: HomeKeys): GenesisValidatorSpec {
  return {
    moniker,
    operator: privateKeyToAddress(keys.operatorKey),
    consensusPubKey: ed25519PublicKey(keys.validatorKey),
    selfStakeWei: DEFAULT_SELF_STAKE_WEI,
  };
}

type RunOptions = {
  rpcPort?: string;
  p2pPort?: string;
  peers?: string;
  equivocate?: boolean;
  blockTime?: string;
  emptyBlocks?: boolean;
  logLevel?: string;
  devnet?: boolean;
};

async function runNode(home: string, password: string, opts: RunOptions, cmd: Command): Promise<void> {
  const config = await loadConfig(home);
  const genesis = await loadGenesis(home);
  const validatorKey = await loadValidatorKey(home, password);
  const operatorKey = await loadOperatorKey(home, password);
  if (opts.rpcPort !== undefined && !opts.devnet)
    config.rpc.port = intArg(opts.rpcPort, '--rpc-port', 0, 65535);
  if (config.p2p && opts.p2pPort !== undefined)
    config.p2p.listen = [`/ip4/0.0.0.0/tcp/${intArg(opts.p2pPort, '--p2p-port', 0, 65535)}`];
  if (config.p2p && opts.peers !== undefined) config.p2p.peers = splitList(opts.peers);
  if (opts.blockTime !== undefined && !opts.devnet)
    config.blockIntervalMs = intArg(opts.blockTime, '--block-time', 10, 3_600_000);
  if (opts.emptyBlocks === false) config.emptyBlocks = false;
  const logger = createLogger((opts.logLevel ?? config.logLevel) as LogLevel);
  const node = await AivmNode.start({
    home,
    genesis,
    validatorKey,
    reporterKey: operatorKey,
    network: config.p2p
      ? {
          p2p: { ...config.p2p, privateKey: await loadP2pKey(home) },
          commitDelayMs: config.blockIntervalMs,
          equivocate: opts.equivocate === true,
        }
      : undefined,
    rpc: config.rpc,
    blockIntervalMs: config.blockIntervalMs,
    emptyBlocks: config.emptyBlocks,
    logger,
  });
  const status = node.status();
  // The dev mnemonic's accounts (genesis also funds the validator's operator, which is not one).
  const operators = new Set(
    ((genesis.app.staking as { validators?: { operator: string }[] } | undefined)?.validators ?? []).map(
      (v) => v.operator.toLowerCase(),
    ),
  );
  const accounts = opts.devnet
    ? await Promise.all(
        (genesis.app.bank as { balances: { address: string }[] }).balances
          .filter((b) => !operators.has(b.address.toLowerCase()))
          .map(async (b, i) => ({
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
      p2p: node.p2p?.multiaddrs() ?? [],
      accounts,
    },
    () =>
      [
        `AIVM node running (chain ${status.chainId}, height ${status.height})`,
        `  JSON-RPC   ${node.rpcUrl}`,
        `  WebSocket  ${node.wsUrl}`,
        `  metrics    ${node.rpcUrl}/metrics`,
        ...(node.p2p ? [`  p2p        ${node.p2p.multiaddrs().join(' ')}`] : []),
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
