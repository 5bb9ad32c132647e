// aivm init | start | devnet: create a node home and run a node from it (testnet: in testnet.ts).

import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  defaultModules,
  type GenesisDoc,
  genesisChainId,
  type Module,
  Registry,
  WEI_PER_CGPT,
} from '@aivm/chain';
import {
  bytesToHex,
  ed25519GenerateKey,
  ed25519PublicKey,
  generatePrivateKey as generateAccountKey,
  isAddress,
  mnemonicToPrivateKey,
  mnemonicToPrivateKeys,
  privateKeyToAddress,
} from '@aivm/crypto';
import {
  AivmNode,
  buildGenesis,
  createLogger,
  DEFAULT_SELF_STAKE_WEI,
  defaultLogFormat,
  type FaultMode,
  type GenesisValidatorSpec,
  LOG_FORMATS,
  type LogFormat,
  type LogLevel,
  PolicyError,
  Provider,
  type RpcClientLimits,
  type ServingPolicy,
  servingPolicy,
} from '@aivm/node';
import { generatePrivateKey, peerIdOf } from '@aivm/p2p';
import { decodeArtifact, modelId } from '@aivm/runtime';
import { type Command, Option } from 'commander';
import { globals, intArg, parseTiers } from '../args.ts';
import {
  DEFAULT_CONFIG,
  DEV_MNEMONIC,
  type HomeKeys,
  loadAttestationKey,
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
import { assertPortsFree, type PortUse, tcpListenAddress } from '../ports.ts';
import { registerExportGenesisCommand } from './export-genesis.ts';
import { shapeSchema, zkKeysDir, zkPublication } from './model.ts';

export const DEV_CHAIN_ID = 7331;
export const DEV_PASSWORD = 'devnet';
export const DEV_FUNDS_CGPT = 1_000_000n;
/** Dev mnemonic index of the devnet's inference provider, and of the MNIST model's publisher. */
export const DEV_PROVIDER_INDEX = 100;
export const DEV_PUBLISHER_INDEX = 101;
/** The devnet's MNIST model (quantized as `aivm model quantize` does; see assets/generate.ts). */
export const MNIST_ARTIFACT = join(import.meta.dirname, '..', '..', 'assets', 'mnist-mlp.aivm');
export const MNIST_DIGIT = join(import.meta.dirname, '..', '..', 'assets', 'mnist-digit-7.json');
const MNIST_PRICE_WEI = WEI_PER_CGPT / 100n;
/** AIVM Studio's static build (`npm run build -w @aivm/studio`; the root's prepare makes it on `npm ci`). */
export const STUDIO_DIST = join(import.meta.dirname, '..', '..', '..', 'studio', 'dist');
const STUDIO_BUILD_HINT = 'npm run build -w @aivm/studio';

/** The models genesis section of the devnet (and of `aivm testnet --providers`): the MNIST MLP with every tier, public inputs and weights. */
export async function devnetModels(zkCache: string, owner: string): Promise<Record<string, unknown>> {
  const artifact = new Uint8Array(await readFile(MNIST_ARTIFACT));
  const model = decodeArtifact(artifact);
  // Derived from the key cache (a setup the first time): always the keys the provider proves with.
  const { vk, constraints } = await zkPublication(model, { inputs: 'public', weights: 'public' }, zkCache);
  await (await import('@aivm/zk/node')).releaseCurve();
  return {
    models: [
      {
        name: 'mnist-mlp',
        owner,
        task: 'image-classification',
        inputSchema: shapeSchema(model, model.inputs[0]!),
        outputSchema: shapeSchema(model, model.outputs[0]!),
        license: 'Apache-2.0',
        version: '1',
        description: 'MNIST handwritten digit classifier: 784-128-10 MLP, int8 (AIVM runtime)',
        priceWei: MNIST_PRICE_WEI.toString(),
        tiers: 7,
        zkInputs: 0,
        zkWeights: 0,
        zkConstraints: constraints.toString(),
        artifact: bytesToHex(artifact),
        vk: bytesToHex(vk),
      },
    ],
  };
}

export function registerNodeCommands(program: Command): void {
  registerExportGenesisCommand(program);
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
          ...(info.attestationKey ? [`  attestation key   ${info.attestationKey}`] : []),
          `  p2p peer id       ${info.peerId}`,
          opts.genesis
            ? `Fund ${info.operator}, start the node, and once it has synced run: aivm tx create-validator --home ${home} --amount <CGPT> (it stakes with the consensus key above and registers the attestation key).`
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
    .addOption(logFormatOption())
    .option(
      '--rpc-max-connections-per-client <n>',
      'WebSocket connections one client (remote IP) may hold (default 32)',
    )
    .option(
      '--rpc-max-subscriptions-per-client <n>',
      "subscriptions over all of one client's connections (default 256)",
    )
    .option('--rpc-max-uploads-per-client <n>', 'blob uploads one client may have in progress (default 1)')
    .option(
      '--rpc-cors <origin>',
      'let web pages of this origin (e.g. http://localhost:8080, or * for any) call the JSON-RPC (default: none)',
    )
    .option(
      '--check-invariants <n>',
      "check every module's invariants every n blocks; a broken one stops the node (exit code 3)",
    )
    .option('--studio', 'serve AIVM Studio (the web app) at the JSON-RPC URL, GET /')
    .addOption(new Option('--equivocate', 'TEST ONLY: double-sign every vote').hideHelp())
    .addOption(
      new Option(
        '--inject-fault <msgType>',
        'TEST ONLY: this node cannot execute <msgType> (its handler throws a RangeError)',
      ).hideHelp(),
    )
    .option(
      '--role <role>',
      'node (default) or provider: also serve inference jobs with the operator account',
      'node',
    )
    .option('--provider-stake <CGPT>', 'provider: stake to register with (default: the chain minimum)')
    .option('--capacity <n>', 'provider: jobs run at once', '2')
    .option('--tiers <list>', 'provider: tiers served (zk, optimistic)', 'zk,optimistic')
    .option('--allow-models <ids>', 'provider: serve only these comma-separated model ids (default: any)')
    .option(
      '--allow-owners <addresses>',
      'provider: serve only models of these comma-separated owners (default: any)',
    )
    .option('--deny-models <ids>', 'provider: never serve these comma-separated model ids')
    .option(
      '--max-constraints <n>',
      'provider: largest zk circuit (constraints) it sets up keys for (default 65536)',
    )
    .option(
      '--min-price-per-constraint-wei <wei>',
      "provider: serve a zk model only if its price >= this x its circuit's constraints (default 0)",
    )
    .option(
      '--max-loaded-keys <n>',
      'provider: zk circuits and proving keys kept in memory, least recently used evicted (default 2; 0: load per job)',
    )
    .option('--zk-cache <dir>', 'provider: zk key cache (or AIVM_ZK_KEYS; default <home>/zk-keys)')
    .option('--no-watch', "provider: do not re-check and challenge other providers' optimistic results")
    .addOption(
      new Option('--faulty <mode>', 'TEST ONLY: misbehaving provider')
        .choices(['wrong-output', 'forged-proof', 'silent'])
        .hideHelp(),
    )
    .action(async (opts, cmd: Command) => {
      const home = resolve(opts.home);
      if (opts.role !== 'node' && opts.role !== 'provider')
        throw new UsageError('--role must be node or provider');
      corsOriginArg(opts.rpcCors); // checked again by runNode; a wrong value is reported now
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
    .description(
      'run a single-validator dev chain whose genesis funds the dev mnemonic accounts: resumed from --home when there is one, else fresh',
    )
    .option('--home <dir>', 'where the dev chain lives', '.aivm/devnet')
    .option('--accounts <n>', 'number of funded dev accounts', '10')
    .option('--rpc-port <port>', 'JSON-RPC port (0 = any free port)', '8545')
    .option('--block-time <ms>', 'block interval', '1000')
    .option('--no-empty-blocks', 'only make blocks when there are transactions')
    .option('--reset', 'delete the dev chain in --home (blocks, transfers, models) and start a fresh one')
    // Resuming became the default; the old flag still parses so scripts that pass it keep working.
    .addOption(new Option('--keep', 'resume the dev chain in --home (the default)').hideHelp())
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .addOption(logFormatOption())
    .option('--no-provider', 'no MNIST model and inference provider')
    .option(
      '--rpc-cors <origin>',
      'web pages of this origin may call the JSON-RPC (CORS); the default * lets a page on any origin use the dev chain (its RPC listens on 127.0.0.1, its keys are public)',
      '*',
    )
    .option('--no-rpc-cors', 'no CORS headers: web pages of other origins cannot call the JSON-RPC')
    .option('--no-studio', 'do not serve AIVM Studio (the web app) at the JSON-RPC URL')
    .option(
      '--zk-cache <dir>',
      'zk key cache (or AIVM_ZK_KEYS; default <home>/../zk-cache, kept across fresh devnets)',
    )
    .action(async (opts, cmd: Command) => {
      const home = resolve(opts.home);
      const n = intArg(opts.accounts, '--accounts', 1, 1_000);
      if (opts.reset && opts.keep) throw new UsageError('--reset and --keep contradict each other: give one');
      const rpcPort = intArg(opts.rpcPort, '--rpc-port', 0, 65535);
      corsOriginArg(opts.rpcCors); // checked again by runNode; a wrong value is reported now
      // Before a zk setup or a genesis that could take a while: the port is the likelier problem.
      await assertPortsFree([{ host: '127.0.0.1', port: rpcPort, what: 'JSON-RPC', flag: '--rpc-port' }]);
      const zkCache = resolve(zkKeysDir(opts.zkCache, join(home, '..', 'zk-cache')));
      // Only when this build's chain has the inference modules.
      const inference =
        opts.provider !== false &&
        new Registry(defaultModules()).message('inference/registerProvider') !== undefined;
      const extra = inference
        ? [DEV_PROVIDER_INDEX, DEV_PUBLISHER_INDEX].map((i) =>
            privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, i)),
          )
        : [];
      // Every input of the dev genesis but its keys and time, so a resumed chain can be checked.
      const devGenesis = async (
        keys: Pick<HomeKeys, 'validatorKey' | 'operatorKey' | 'attestationKey'>,
        genesisTimeMs: number,
      ) =>
        buildGenesis({
          chainId: DEV_CHAIN_ID,
          genesisTimeMs,
          validators: [validatorSpec('devnet', keys)],
          balances: [...mnemonicToPrivateKeys(DEV_MNEMONIC, 0, n).map(privateKeyToAddress), ...extra].map(
            (address) => ({ address, amountWei: DEV_FUNDS_CGPT * WEI_PER_CGPT }),
          ),
          ...(inference ? { app: { models: await devnetModels(zkCache, extra[1]!) } } : {}),
        });
      if (opts.reset) await rm(home, { recursive: true, force: true });
      const resumed = existsSync(paths(home).genesis);
      if (resumed) {
        const stored = await loadGenesis(home);
        const operatorKey = await loadOperatorKey(home, DEV_PASSWORD);
        // Dev chains made before attestations have no attestation key: another version's chain.
        const attestationKey = await loadAttestationKey(home, DEV_PASSWORD);
        const expected =
          operatorKey && attestationKey
            ? await devGenesis(
                { validatorKey: await loadValidatorKey(home, DEV_PASSWORD), operatorKey, attestationKey },
                Number(stored.genesisTimeMs),
              )
            : undefined;
        const differing = attestationKey ? genesisDifferences(stored, expected) : ['its attestation key'];
        if (differing.length > 0)
          throw new UsageError(
            `the dev chain in ${home} has another genesis than this aivm builds (it differs in ${differing.join(', ')}: made by another version or with other --accounts/--no-provider); start a fresh one with --reset, or use another --home`,
          );
      } else {
        const keys = await generateHomeKeys();
        const config: NodeConfig = {
          ...DEFAULT_CONFIG,
          rpc: { host: '127.0.0.1', port: rpcPort },
          blockIntervalMs: intArg(opts.blockTime, '--block-time', 10, 3_600_000),
          emptyBlocks: opts.emptyBlocks,
        };
        // A fast scrypt cost for the dev key: its password is public anyway.
        await writeHome(home, config, await devGenesis(keys, Date.now()), keys, DEV_PASSWORD, 4096);
      }
      await runNode(
        home,
        DEV_PASSWORD,
        {
          ...opts,
          devnet: { resumed },
          ...(inference
            ? {
                role: 'provider',
                zkCache,
                providerKey: mnemonicToPrivateKey(DEV_MNEMONIC, DEV_PROVIDER_INDEX),
                devModel: MNIST_ARTIFACT,
              }
            : {}),
        },
        cmd,
      );
    });
}

/** `--log-format`: readable lines on a terminal, JSON lines otherwise unless told. */
function logFormatOption(): Option {
  return new Option(
    '--log-format <format>',
    'logs on stderr: pretty (default on a terminal) or json',
  ).choices(LOG_FORMATS);
}

/** The top-level genesis fields (`app.<module>` for modules) where `stored` and `expected` differ. */
function genesisDifferences(stored: GenesisDoc, expected: GenesisDoc | undefined): string[] {
  if (!expected) return ['its operator key'];
  const flat = (g: GenesisDoc) => {
    const { app, ...rest } = g as GenesisDoc & { app: Record<string, unknown> };
    return new Map<string, string>([
      ...Object.entries(rest).map(([k, v]): [string, string] => [k, JSON.stringify(v)]),
      ...Object.entries(app).map(([k, v]): [string, string] => [`app.${k}`, JSON.stringify(v)]),
    ]);
  };
  const a = flat(stored);
  const b = flat(JSON.parse(JSON.stringify(expected)) as GenesisDoc);
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
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

/** Fresh keys for a node home: consensus (ed25519), operator account and attestation key (secp256k1), p2p identity. */
export async function generateHomeKeys(): Promise<HomeKeys> {
  return {
    validatorKey: ed25519GenerateKey().secretKey,
    operatorKey: generateAccountKey(),
    attestationKey: generateAccountKey(),
    p2pKey: await generatePrivateKey(),
  };
}

export function homeInfo(keys: HomeKeys): {
  consensusPubKey: string;
  operator: string;
  attestationKey?: string;
  peerId: string;
} {
  return {
    consensusPubKey: bytesToHex(ed25519PublicKey(keys.validatorKey)),
    operator: privateKeyToAddress(keys.operatorKey),
    ...(keys.attestationKey ? { attestationKey: privateKeyToAddress(keys.attestationKey) } : {}),
    peerId: peerIdOf(keys.p2pKey),
  };
}

export function validatorSpec(
  moniker: string,
  keys: Pick<HomeKeys, 'validatorKey' | 'operatorKey' | 'attestationKey'>,
): GenesisValidatorSpec {
  return {
    moniker,
    operator: privateKeyToAddress(keys.operatorKey),
    consensusPubKey: ed25519PublicKey(keys.validatorKey),
    selfStakeWei: DEFAULT_SELF_STAKE_WEI,
    ...(keys.attestationKey ? { attestationKey: privateKeyToAddress(keys.attestationKey) } : {}),
  };
}

type RunOptions = {
  rpcPort?: string;
  p2pPort?: string;
  peers?: string;
  equivocate?: boolean;
  injectFault?: string;
  blockTime?: string;
  emptyBlocks?: boolean;
  logLevel?: string;
  logFormat?: LogFormat;
  checkInvariants?: string;
  rpcMaxConnectionsPerClient?: string;
  rpcMaxSubscriptionsPerClient?: string;
  rpcMaxUploadsPerClient?: string;
  /** `--rpc-cors`: the origin allowed to call the RPC from a web page; false (`--no-rpc-cors`) or absent: none. */
  rpcCors?: string | false;
  /** Serve AIVM Studio's build at GET / (`aivm start --studio`; devnet unless --no-studio). */
  studio?: boolean;
  /** Set by `aivm devnet`: whether it resumed a chain from its home or made a fresh one. */
  devnet?: { resumed: boolean };
  role?: string;
  providerStake?: string;
  capacity?: string;
  tiers?: string;
  allowModels?: string;
  allowOwners?: string;
  denyModels?: string;
  maxConstraints?: string;
  minPricePerConstraintWei?: string;
  maxLoadedKeys?: string;
  zkCache?: string;
  watch?: boolean;
  faulty?: FaultMode;
  /** Devnet: the provider account (else the home's operator key). */
  providerKey?: Uint8Array;
  /** Devnet: an artifact to put in the blob store (the genesis model). */
  devModel?: string;
};

/** The RPC server's per-client limits from their flags (the node's defaults for those not given). */
function rpcClientLimits(opts: RunOptions): Partial<RpcClientLimits> {
  const limit = (value: string | undefined, flag: string) =>
    value === undefined ? undefined : intArg(value, flag, 1, 1_000_000);
  return {
    maxConnectionsPerClient: limit(opts.rpcMaxConnectionsPerClient, '--rpc-max-connections-per-client'),
    maxSubscriptionsPerClient: limit(opts.rpcMaxSubscriptionsPerClient, '--rpc-max-subscriptions-per-client'),
    maxUploadsPerClient: limit(opts.rpcMaxUploadsPerClient, '--rpc-max-uploads-per-client'),
  };
}

/**
 * `--rpc-cors`: '*' or one origin as a browser sends it in its Origin header (scheme://host[:port],
 * lower case, no path), the exact value of Access-Control-Allow-Origin.
 */
export function corsOriginArg(value: string | false | undefined): string | undefined {
  if (value === undefined || value === false || value === '*') return value || undefined;
  let origin: string | undefined;
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
  } catch {
    // reported below
  }
  if (origin === value) return value;
  throw new UsageError(
    `--rpc-cors expects * or an origin such as http://localhost:8080 (scheme, host and port, no path), got "${value}"${origin ? `; did you mean ${origin}?` : ''}`,
  );
}

/** The provider's serving policy from its flags (the defaults for those not given). */
function providerPolicy(opts: RunOptions): ServingPolicy {
  const given: Partial<ServingPolicy> = {};
  if (opts.allowModels !== undefined) given.allowModels = splitList(opts.allowModels);
  if (opts.allowOwners !== undefined) given.allowOwners = splitList(opts.allowOwners);
  if (opts.denyModels !== undefined) given.denyModels = splitList(opts.denyModels);
  if (opts.maxConstraints !== undefined)
    given.maxConstraints = intArg(opts.maxConstraints, '--max-constraints', 0, 2 ** 28);
  if (opts.minPricePerConstraintWei !== undefined) {
    if (!/^[0-9]{1,78}$/.test(opts.minPricePerConstraintWei))
      throw new UsageError('--min-price-per-constraint-wei must be a whole number of wei');
    given.minPricePerConstraintWei = BigInt(opts.minPricePerConstraintWei);
  }
  try {
    return servingPolicy(given);
  } catch (err) {
    if (err instanceof PolicyError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * The default modules, except that `msgType`'s handler throws a RangeError: what a machine fault
 * (a stack overflow, a failed worker) looks like to the executor. Tests use it to watch a node
 * refuse to vote for, and stop before, a block it cannot execute.
 */
function withInjectedFault(msgType: string): Module[] {
  const modules = defaultModules();
  const i = modules.findIndex((m) => msgType in m.messages);
  const owner = modules[i];
  if (!owner) throw new UsageError(`--inject-fault: no message type ${msgType}`);
  // Replaced in place, not mutated: the module objects are shared, the list is this node's.
  modules[i] = {
    ...owner,
    messages: {
      ...owner.messages,
      [msgType]: {
        ...owner.messages[msgType]!,
        handler: async () => {
          throw new RangeError(`injected fault: this node cannot execute ${msgType}`);
        },
      },
    },
  };
  return modules;
}

async function runNode(home: string, password: string, opts: RunOptions, cmd: Command): Promise<void> {
  const config = await loadConfig(home);
  const genesis = await loadGenesis(home);
  const validatorKey = await loadValidatorKey(home, password);
  const operatorKey = await loadOperatorKey(home, password);
  const attestationKey = await loadAttestationKey(home, password);
  if (opts.rpcPort !== undefined) config.rpc.port = intArg(opts.rpcPort, '--rpc-port', 0, 65535);
  if (config.p2p && opts.p2pPort !== undefined)
    config.p2p.listen = [`/ip4/0.0.0.0/tcp/${intArg(opts.p2pPort, '--p2p-port', 0, 65535)}`];
  if (config.p2p && opts.peers !== undefined) config.p2p.peers = splitList(opts.peers);
  if (opts.blockTime !== undefined)
    config.blockIntervalMs = intArg(opts.blockTime, '--block-time', 10, 3_600_000);
  if (opts.emptyBlocks === false) config.emptyBlocks = false;
  const corsOrigin = corsOriginArg(opts.rpcCors);
  // Without a build the node runs anyway (the banner says how to make one): a missing web app
  // must not stop a chain.
  const studioBuilt = opts.studio === true && existsSync(join(STUDIO_DIST, 'index.html'));
  await assertPortsFree(portUses(config));
  const logger = createLogger(
    (opts.logLevel ?? config.logLevel) as LogLevel,
    undefined,
    opts.logFormat ?? defaultLogFormat(),
  );
  const node = await AivmNode.start({
    home,
    genesis,
    validatorKey,
    reporterKey: operatorKey,
    attestationKey,
    network: config.p2p
      ? {
          p2p: { ...config.p2p, privateKey: await loadP2pKey(home) },
          commitDelayMs: config.blockIntervalMs,
          equivocate: opts.equivocate === true,
        }
      : undefined,
    rpc: {
      ...config.rpc,
      clientLimits: rpcClientLimits(opts),
      corsOrigin,
      ...(studioBuilt ? { staticDir: STUDIO_DIST } : {}),
    },
    blockIntervalMs: config.blockIntervalMs,
    emptyBlocks: config.emptyBlocks,
    logger,
    modules: opts.injectFault !== undefined ? withInjectedFault(opts.injectFault) : undefined,
    checkInvariantsEvery:
      opts.checkInvariants !== undefined
        ? intArg(opts.checkInvariants, '--check-invariants', 1, 1_000_000)
        : undefined,
    // The node already logged the broken invariants at fatal level and closed its database.
    onHalt: (message) => {
      process.stderr.write(`aivm: ${message}\n`);
      process.exit(3);
    },
  });
  let provider: Provider | undefined;
  let devModelId: string | undefined;
  if (opts.devModel) {
    const bytes = new Uint8Array(await readFile(opts.devModel));
    devModelId = modelId(bytes);
    if (!(await node.blobs.has(devModelId))) await node.blobs.put(bytes);
  }
  if (opts.role === 'provider') {
    const key = opts.providerKey ?? operatorKey;
    if (!key) throw new UsageError(`${home} has no operator-key.json to serve as a provider`);
    provider = new Provider(node, {
      privateKey: key,
      stakeWei: opts.providerStake !== undefined ? parseCgpt(opts.providerStake) : undefined,
      capacity: intArg(opts.capacity ?? '2', '--capacity', 1, 1_000),
      tiers: parseTiers(opts.tiers ?? 'zk,optimistic') & 6,
      policy: providerPolicy(opts),
      maxLoadedKeys:
        opts.maxLoadedKeys !== undefined
          ? intArg(opts.maxLoadedKeys, '--max-loaded-keys', 0, 1_000)
          : undefined,
      zkCacheDir: resolve(zkKeysDir(opts.zkCache, join(home, 'zk-keys'))),
      watch: opts.watch !== false,
      faulty: opts.faulty,
    });
  }
  const status = node.status();
  // The dev mnemonic's accounts (genesis also funds the validator's operator, which is not one).
  const operators = new Set(
    ((genesis.app.staking as { validators?: { operator: string }[] } | undefined)?.validators ?? []).map(
      (v) => v.operator.toLowerCase(),
    ),
  );
  // Nor are the devnet's provider and model publisher.
  for (const i of [DEV_PROVIDER_INDEX, DEV_PUBLISHER_INDEX])
    operators.add(privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, i)).toLowerCase());
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
  // Listening for the signals before the banner: a caller that stops the node as soon as it reads
  // the banner must not meet the default action of SIGTERM (exit by signal, nothing closed).
  const stopped = new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      (provider ? provider.stop() : Promise.resolve())
        .then(() => node.close())
        // snarkjs' BN254 worker threads (proof verification in blocks, proving) would keep the
        // process alive; release them once nothing executes blocks any more.
        .then(async () => (await import('@aivm/zk/verify')).releaseCurve())
        .then(resolveStop, (err) => {
          logger.error({ err }, 'error while stopping');
          resolveStop();
        });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  print(
    globals(cmd),
    {
      rpcUrl: node.rpcUrl,
      wsUrl: node.wsUrl,
      ...(corsOrigin ? { corsOrigin } : {}),
      ...(studioBuilt ? { studioUrl: `${node.rpcUrl}/` } : {}),
      chainId: status.chainId,
      height: status.height,
      home,
      ...(opts.devnet ? { resumed: opts.devnet.resumed } : {}),
      p2p: node.p2p?.multiaddrs() ?? [],
      accounts,
      ...(provider ? { provider: provider.address } : {}),
      ...(devModelId ? { model: devModelId, inferCommand: inferCommand(devModelId, node.rpcUrl) } : {}),
    },
    () =>
      [
        `AIVM node running (chain ${status.chainId}, height ${status.height})`,
        ...(studioBuilt ? [`  Studio     ${node.rpcUrl}/`] : []),
        ...(opts.studio && !studioBuilt
          ? [`  Studio     not built: run ${STUDIO_BUILD_HINT} and restart`]
          : []),
        `  JSON-RPC   ${node.rpcUrl}`,
        `  WebSocket  ${node.wsUrl}`,
        ...(corsOrigin
          ? [
              `  CORS       ${corsOrigin === '*' ? 'web pages of any origin' : `web pages of ${corsOrigin}`} may call the JSON-RPC${opts.devnet ? ' (--no-rpc-cors: none)' : ''}`,
            ]
          : []),
        `  metrics    ${node.rpcUrl}/metrics`,
        ...(node.p2p ? [`  p2p        ${node.p2p.multiaddrs().join(' ')}`] : []),
        `  home       ${home}`,
        ...(opts.devnet
          ? [
              opts.devnet.resumed
                ? `  chain      resumed at height ${status.height} (--reset starts a fresh one)`
                : '  chain      fresh chain (a restart resumes it; --reset starts over)',
            ]
          : []),
        ...(accounts.length
          ? [
              '',
              `Funded dev accounts (mnemonic "${DEV_MNEMONIC}", path m/44'/60'/0'/0/i):`,
              ...accounts.map((a) => `  [${a.index}] ${a.address}  ${formatCgpt(a.balanceWei)} CGPT`),
              '',
              'These keys are public: never send real funds to them.',
            ]
          : []),
        ...(provider
          ? [`Inference provider ${provider.address}${opts.faulty ? ` (FAULTY: ${opts.faulty})` : ''}`]
          : []),
        ...(devModelId
          ? [
              `MNIST digit model ${devModelId} (tiers onchain, zk, optimistic)`,
              'Run a zk inference of a handwritten 7 (proved by the provider, verified on chain and locally):',
              `  ${inferCommand(devModelId, node.rpcUrl)}`,
            ]
          : []),
        'Press Ctrl-C to stop.',
      ].join('\n'),
  );
  // The provider prepares its models (zk keys may take a while the first time) and registers in the
  // background: the node is already serving.
  provider?.start().catch((err) => logger.error({ err: (err as Error).message }, 'provider failed to start'));
  await stopped;
}

/** The ports a node from `config` listens on, with the flag that moves each. */
function portUses(config: NodeConfig): PortUse[] {
  const rpc: PortUse = { host: config.rpc.host, port: config.rpc.port, what: 'JSON-RPC', flag: '--rpc-port' };
  const p2p = (config.p2p?.listen ?? []).flatMap((addr) => {
    const at = tcpListenAddress(addr);
    return at ? [{ ...at, what: 'p2p', flag: '--p2p-port' }] : [];
  });
  return [rpc, ...p2p];
}

/** The one command a devnet user runs for a zk inference of the sample digit. */
export function inferCommand(id: string, rpcUrl: string): string {
  const input = relative(process.cwd(), MNIST_DIGIT) || MNIST_DIGIT;
  const rpc = rpcUrl === 'http://127.0.0.1:8545' ? '' : `--rpc ${rpcUrl} `;
  return `npm run aivm -- ${rpc}infer ${id} --input ${input} --tier zk --dev-account 0`;
}
