// aivm testnet: a local network of N validator processes, each with its own home (keys, database,
// WAL), p2p port and RPC port, all peered with each other, sharing one genesis. With --providers N
// the genesis also publishes the devnet's MNIST model and the first N validators serve inference.

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultModules, Registry, WEI_PER_CGPT } from '@aivm/chain';
import { mnemonicToPrivateKey, mnemonicToPrivateKeys, privateKeyToAddress } from '@aivm/crypto';
import { buildGenesis } from '@aivm/node';
import { modelId } from '@aivm/runtime';
import type { Command } from 'commander';
import { globals, intArg } from '../args.ts';
import { DEFAULT_CONFIG, DEV_MNEMONIC, type NodeConfig, paths, UsageError, writeHome } from '../home.ts';
import { print } from '../output.ts';
import { assertPortsFree, type PortUse, tcpListenAddress } from '../ports.ts';
import { zkKeysDir } from './model.ts';
import {
  DEV_FUNDS_CGPT,
  DEV_PASSWORD,
  DEV_PUBLISHER_INDEX,
  devnetModels,
  generateHomeKeys,
  homeInfo,
  inferCommand,
  MNIST_ARTIFACT,
  validatorSpec,
} from './node.ts';

export const TESTNET_CHAIN_ID = 7333;
/**
 * Extra genesis funds of a provider validator's operator: its self-stake is bonded at genesis, so
 * this pays the provider stake (the chain's minProviderStakeWei, 1,000 CGPT by default) and fees.
 */
export const TESTNET_PROVIDER_FUNDS_CGPT = 10_000n;

/** `provider`: the node also runs `aivm start --role provider` with its operator account. */
export type TestnetNode = {
  name: string;
  home: string;
  rpcUrl: string;
  p2p: string;
  operator: string;
  provider?: boolean;
};

/** Writes the homes of an N-validator local network; returns how to reach each node. */
export async function createTestnet(opts: {
  dir: string;
  validators: number;
  accounts: number;
  p2pBasePort: number;
  rpcBasePort: number;
  blockTimeMs: number;
  /**
   * Validators 0..providers-1 also serve inference; with any, the genesis publishes the MNIST
   * model (its zk verifying key from `zkCache`, set up there the first time).
   */
  providers?: number;
  zkCache?: string;
  /**
   * Address of validator i's p2p listener and of its RPC server (default 127.0.0.1 for both);
   * tests put each validator on its own address in its own network namespace.
   */
  hosts?: (i: number) => { p2p: string; rpc: string };
}): Promise<TestnetNode[]> {
  const hosts = opts.hosts ?? (() => ({ p2p: '127.0.0.1', rpc: '127.0.0.1' }));
  const keys = await Promise.all(Array.from({ length: opts.validators }, () => generateHomeKeys()));
  const accounts = mnemonicToPrivateKeys(DEV_MNEMONIC, 0, opts.accounts).map(privateKeyToAddress);
  const providers = opts.providers ?? 0;
  assertProviderCount(providers, opts.validators);
  if (providers > 0 && new Registry(defaultModules()).message('inference/registerProvider') === undefined)
    throw new UsageError('--providers: this build of the chain has no inference module');
  if (providers > 0 && !opts.zkCache) throw new UsageError('--providers needs a zk key cache directory');
  const providerFunds = keys.slice(0, providers).map((k) => ({
    address: homeInfo(k).operator,
    amountWei: TESTNET_PROVIDER_FUNDS_CGPT * WEI_PER_CGPT,
  }));
  const genesis = buildGenesis({
    chainId: TESTNET_CHAIN_ID,
    genesisTimeMs: Date.now(),
    validators: keys.map((k, i) => validatorSpec(`validator-${i}`, k)),
    balances: [
      ...accounts.map((address) => ({ address, amountWei: DEV_FUNDS_CGPT * WEI_PER_CGPT })),
      ...providerFunds,
    ],
    // In genesis rather than published after the start: every node has the model (and its
    // artifact) from height 0, so no publisher has to wait for blocks and no step can fail
    // half-way; the devnet does the same. The owner is the devnet's publisher (dev mnemonic 101).
    ...(providers > 0
      ? {
          app: {
            models: await devnetModels(
              opts.zkCache!,
              privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, DEV_PUBLISHER_INDEX)),
            ),
          },
        }
      : {}),
  });
  const addr = (i: number) =>
    `/ip4/${hosts(i).p2p}/tcp/${opts.p2pBasePort + i}/p2p/${homeInfo(keys[i]!).peerId}`;
  const nodes: TestnetNode[] = [];
  for (const [i, k] of keys.entries()) {
    const home = join(opts.dir, `validator-${i}`);
    const config: NodeConfig = {
      ...DEFAULT_CONFIG,
      rpc: { host: hosts(i).rpc, port: opts.rpcBasePort + i },
      blockIntervalMs: opts.blockTimeMs,
      p2p: {
        listen: [`/ip4/${hosts(i).p2p}/tcp/${opts.p2pBasePort + i}`],
        peers: keys
          .map((_, j) => j)
          .filter((j) => j !== i)
          .map(addr),
        seeds: [],
      },
    };
    // A fast scrypt cost: testnet keys are for local experiments and their password is public.
    await writeHome(home, config, genesis, k, DEV_PASSWORD, 4096);
    nodes.push({
      name: `validator-${i}`,
      home,
      rpcUrl: `http://${hosts(i).rpc}:${opts.rpcBasePort + i}`,
      p2p: addr(i),
      operator: homeInfo(k).operator,
      ...(i < providers ? { provider: true } : {}),
    });
  }
  const model = providers > 0 ? await mnistModelId() : undefined;
  await writeFile(
    join(opts.dir, 'testnet.json'),
    `${JSON.stringify({ genesis: 'validator-0/genesis.json', nodes, ...(model ? { model } : {}) }, null, 2)}\n`,
  );
  return nodes;
}

export function registerTestnetCommand(program: Command): void {
  program
    .command('testnet')
    .description('start a local network of validator processes (own homes, ports and keys), peered together')
    .option('--validators <n>', 'number of validators', '4')
    .option(
      '--providers <n>',
      'validators that also serve inference (aivm start --role provider); any: the genesis publishes the MNIST model',
      '0',
    )
    .option(
      '--zk-cache <dir>',
      'zk key cache of the providers (or AIVM_ZK_KEYS; default <dir>/../zk-cache, shared with the devnet)',
    )
    .option('--dir <dir>', 'where the homes live', '.aivm/testnet')
    .option('--accounts <n>', 'number of funded dev accounts (dev mnemonic)', '10')
    .option('--p2p-port <port>', 'p2p port of the first validator (then +1 each)', '26656')
    .option('--rpc-port <port>', 'JSON-RPC port of the first validator (then +1 each)', '8545')
    .option('--block-time <ms>', 'pause after each commit before the next height', '200')
    .option('--keep', 'restart the existing testnet instead of creating a fresh one')
    .option('--init-only', 'write the homes and exit (start each with aivm start --home <dir>)')
    .option('--log-level <level>', 'log level of the nodes (logs go to <home>/node.log)', 'info')
    .action(async (opts, cmd: Command) => {
      const dir = resolve(opts.dir);
      const n = intArg(opts.validators, '--validators', 1, 64);
      const providers = intArg(opts.providers, '--providers', 0, 64);
      // Before the old testnet is deleted (createTestnet checks it too, for its other callers).
      assertProviderCount(providers, n);
      const zkCache = resolve(zkKeysDir(opts.zkCache, join(dir, '..', 'zk-cache')));
      const existing = opts.keep && existsSync(paths(join(dir, 'validator-0')).genesis);
      let nodes: TestnetNode[];
      if (existing) {
        nodes = (await import(join(dir, 'testnet.json'), { with: { type: 'json' } })).default.nodes;
        if (!opts.initOnly) await assertPortsFree(nodes.flatMap(testnetPortUses));
      } else {
        if (opts.keep) throw new UsageError(`no testnet in ${dir} to keep`);
        const p2pBasePort = intArg(opts.p2pPort, '--p2p-port', 1, 65_000);
        const rpcBasePort = intArg(opts.rpcPort, '--rpc-port', 1, 65_000);
        // Every validator's ports, before the old testnet is deleted and before any banner.
        if (!opts.initOnly)
          await assertPortsFree(
            Array.from({ length: n }, (_, i) => [
              portUse(i, 'JSON-RPC', '127.0.0.1', rpcBasePort + i, '--rpc-port'),
              portUse(i, 'p2p', '127.0.0.1', p2pBasePort + i, '--p2p-port'),
            ]).flat(),
          );
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        nodes = await createTestnet({
          dir,
          validators: n,
          accounts: intArg(opts.accounts, '--accounts', 1, 1_000),
          p2pBasePort,
          rpcBasePort,
          blockTimeMs: intArg(opts.blockTime, '--block-time', 0, 60_000),
          providers,
          zkCache,
        });
      }
      const model = nodes.some((node) => node.provider) ? await mnistModelId() : undefined;
      const out = { dir, nodes, ...(model ? { model, zkCache } : {}) };
      const g = globals(cmd);
      if (opts.initOnly) {
        print(g, out, () => describe(dir, nodes, false, model, zkCache));
        return;
      }
      const children = nodes.map((node) => startChild(node, opts.logLevel, zkCache));
      print(g, out, () => describe(dir, nodes, true, model, zkCache));
      await new Promise<void>((done) => {
        let exited = 0;
        const stop = () => {
          for (const c of children) c.kill('SIGTERM');
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        for (const [i, c] of children.entries()) {
          c.on('exit', (code, signal) => {
            if (code !== 0 && signal !== 'SIGTERM') {
              const why = c.lastStderrLine();
              process.stderr.write(
                `${nodes[i]!.name} exited (${signal ?? code})${why ? `: ${why}` : ''}; full log: ${nodes[i]!.home}/node.log\n`,
              );
            }
            if (++exited === children.length) done();
          });
        }
      });
    });
}

/** Validator i's port; the flag sets the first validator's port, the others follow it. */
function portUse(i: number, what: string, host: string, port: number, flag: string): PortUse {
  return {
    host,
    port,
    what: `validator-${i}'s ${what}`,
    flag: `${flag} (validator-0's port; validator i uses it + i)`,
  };
}

/** The ports of a kept testnet's validator, from its testnet.json entry: only a new testnet moves them. */
function testnetPortUses(node: TestnetNode, i: number): PortUse[] {
  const rpc = new URL(node.rpcUrl);
  const p2p = tcpListenAddress(node.p2p);
  return [
    { ...portUse(i, 'JSON-RPC', rpc.hostname, Number(rpc.port), ''), flag: '--rpc-port without --keep' },
    ...(p2p ? [{ ...portUse(i, 'p2p', p2p.host, p2p.port, ''), flag: '--p2p-port without --keep' }] : []),
  ];
}

/** A validator process; `lastStderrLine` is what it said last, its error when it failed. */
function startChild(
  node: TestnetNode,
  logLevel: string,
  zkCache: string,
): ChildProcess & { lastStderrLine(): string } {
  const log = createWriteStream(join(node.home, 'node.log'), { flags: 'a' });
  // A provider serves with its operator account (funded for the provider stake in genesis).
  const role = node.provider ? ['--role', 'provider', '--zk-cache', zkCache] : [];
  const child = spawn(
    process.execPath,
    [
      join(import.meta.dirname, '..', 'bin.ts'),
      'start',
      '--home',
      node.home,
      '--log-level',
      logLevel,
      ...role,
    ],
    { env: { ...process.env, AIVM_VALIDATOR_PASSWORD: DEV_PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4096);
  });
  return Object.assign(child, {
    lastStderrLine: () =>
      tail
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .at(-1)
        ?.replace(/^error: /, '') ?? '',
  });
}

/** Providers are validators that also serve inference: there cannot be more of them. */
function assertProviderCount(providers: number, validators: number): void {
  if (providers > validators)
    throw new UsageError(
      `--providers ${providers} is more than --validators ${validators}: providers are validators that also serve inference`,
    );
}

/** The MNIST model's id (the hash of its artifact), as the genesis of a testnet with providers has it. */
async function mnistModelId(): Promise<string> {
  return modelId(new Uint8Array(await readFile(MNIST_ARTIFACT)));
}

function describe(
  dir: string,
  nodes: TestnetNode[],
  running: boolean,
  model: string | undefined,
  zkCache: string,
): string {
  return [
    `AIVM testnet: ${nodes.length} validators in ${dir}${running ? '' : ' (not started)'}`,
    '',
    ...nodes.map(
      (n) => `  ${n.name.padEnd(12)} rpc ${n.rpcUrl}   p2p ${n.p2p}${n.provider ? '   (provider)' : ''}`,
    ),
    '',
    ...(model
      ? [
          `MNIST digit model ${model} (in genesis; tiers onchain, zk, optimistic), served by the providers`,
          'Once they have registered (zk keys load first), run a zk inference of a handwritten 7:',
          `  ${inferCommand(model, nodes[0]!.rpcUrl)}`,
          '',
        ]
      : []),
    running
      ? 'Logs: <home>/node.log. Press Ctrl-C to stop all validators.'
      : `Start each with: AIVM_VALIDATOR_PASSWORD=devnet aivm start --home <home>${model ? ` (providers: add --role provider --zk-cache ${zkCache}, the keys the genesis was made with)` : ''}`,
    `Dev accounts: mnemonic "${DEV_MNEMONIC}" (public keys: never use real funds).`,
  ].join('\n');
}
