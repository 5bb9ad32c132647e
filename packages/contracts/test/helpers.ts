// Shared test setup: a real anvil, viem clients for its dev accounts, deploy helpers, AIVM
// validator keys that sign EIP-712 digests with @aivm/crypto, and a revert matcher by error name.
import assert from 'node:assert/strict';
import { hashTypedData, privateKeyToAddress, sha256, signDigest } from '@aivm/crypto';
import {
  type Abi,
  BaseError,
  type Chain,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type PublicClient,
  toFunctionSelector,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ANVIL_KEYS, type Anvil, startAnvil } from '../../../test-support/anvil.ts';
import * as artifacts from '../src/artifacts.ts';
import { AivmLightClient, AivmOracle, TestConsumer } from '../src/artifacts.ts';

export const AIVM_CHAIN_ID = 424242;
export const TIER_ON_CHAIN = 1;
export const TIER_ZK = 2;
export const TIER_OPTIMISTIC = 4;
export const Status = {
  None: 0,
  Pending: 1,
  Relayed: 2,
  Fulfilled: 3,
  CallbackFailed: 4,
  Refunded: 5,
} as const;

/** The oracle's ABI plus the light client's errors (they bubble up through fulfillAttested). */
export const oracleAbi = [
  ...AivmOracle.abi,
  ...AivmLightClient.abi.filter((e) => e.type === 'error'),
] as const;

export type Env = {
  anvil: Anvil;
  chain: Chain;
  pub: PublicClient;
  wallets: WalletClient[];
  addresses: Hex[];
  deploy(artifact: { abi: Abi; bytecode: Hex }, args?: unknown[], from?: number): Promise<Hex>;
  /** Sends a contract write from account `from`, waits for the receipt, throws when it reverted. */
  write(
    p: { address: Hex; abi: Abi; functionName: string; args?: unknown[]; value?: bigint; gas?: bigint },
    from?: number,
  ): Promise<{ gasUsed: bigint; effectiveGasPrice: bigint; blockNumber: bigint; logs: unknown[] }>;
  read<T = unknown>(p: { address: Hex; abi: Abi; functionName: string; args?: unknown[] }): Promise<T>;
  mine(blocks: number): Promise<void>;
  balance(a: Hex): Promise<bigint>;
  stop(): Promise<void>;
};

export async function startEnv(): Promise<Env> {
  const anvil = await startAnvil();
  const chain = defineChain({
    id: 31337,
    name: 'anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [anvil.url] } },
  });
  const transport = http(anvil.url, { retryCount: 0 });
  const pub = createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient;
  const accounts = ANVIL_KEYS.map((k) => privateKeyToAccount(k));
  const wallets = accounts.map((account) => createWalletClient({ chain, transport, account }));
  const addresses = accounts.map((a) => a.address);
  const receipt = async (hash: Hex) => {
    const r = await pub.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (r.status !== 'success') throw new Error(`transaction ${hash} reverted`);
    return r;
  };
  const env: Env = {
    anvil,
    chain,
    pub,
    wallets,
    addresses,
    async deploy(artifact, args = [], from = 0) {
      const w = wallets[from] as WalletClient;
      const hash = await w.deployContract({
        abi: artifact.abi,
        bytecode: artifact.bytecode,
        args,
        account: w.account!,
        chain,
      });
      const r = await receipt(hash);
      return r.contractAddress as Hex;
    },
    async write(p, from = 0) {
      const w = wallets[from] as WalletClient;
      const hash = await w.writeContract({ ...p, account: w.account!, chain } as never);
      return receipt(hash);
    },
    read: (p) => pub.readContract(p as never) as never,
    async mine(blocks) {
      await pub.request({ method: 'anvil_mine' as never, params: [`0x${blocks.toString(16)}`] as never });
    },
    balance: (a) => pub.getBalance({ address: a }),
    stop: () => anvil.stop(),
  };
  return env;
}

/** selector → name of every custom error of every contract in the artifacts. */
const errorNames = new Map<string, string>();
for (const a of Object.values(artifacts))
  for (const e of a.abi as readonly { type: string; name?: string; inputs?: readonly { type: string }[] }[])
    if (e.type === 'error' && e.name)
      errorNames.set(
        toFunctionSelector(`${e.name}(${(e.inputs ?? []).map((i) => i.type).join(',')})`),
        e.name,
      );

/** The custom error a failed call reverted with ('' when none could be decoded). */
export function revertName(e: unknown): string {
  if (!(e instanceof BaseError)) return '';
  const r = e.walk((x) => x instanceof ContractFunctionRevertedError);
  if (r instanceof ContractFunctionRevertedError && r.data?.errorName) return r.data.errorName;
  // Deployments and errors bubbled from another contract: match the raw selector.
  const m =
    /custom error (0x[0-9a-f]{8})/.exec(e.message) ??
    /(0x[0-9a-f]{8})/.exec(String((r as { signature?: string })?.signature ?? ''));
  return m ? (errorNames.get(m[1] as string) ?? '') : '';
}

/** Asserts that `p` rejects with custom error `name`. */
export async function rejectsWith(p: Promise<unknown>, name: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.equal(
      revertName(e),
      name,
      e instanceof Error ? e.message.split('\n').slice(0, 3).join(' ') : String(e),
    );
    return;
  }
  assert.fail(`expected a revert with ${name}`);
}

export const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;
export const bytes = (h: Hex): Uint8Array => Uint8Array.from(Buffer.from(h.slice(2), 'hex'));

/** An AIVM validator's attestation key, derived from a label (deterministic). */
export type Validator = { sk: Uint8Array; address: Hex; power: bigint };

export function validators(n: number, label = 'set', power: (i: number) => bigint = () => 10n): Validator[] {
  return Array.from({ length: n }, (_, i) => {
    const sk = sha256(new TextEncoder().encode(`aivm-contracts-test/${label}/${i}`));
    return { sk, address: privateKeyToAddress(sk) as Hex, power: power(i) };
  });
}

const DOMAIN = { name: 'AIVM', version: '1', chainId: AIVM_CHAIN_ID };

export function resultDigest(m: {
  requestId: bigint;
  modelId: Hex;
  tier: number;
  inputHash: Hex;
  outputHash: Hex;
}): Uint8Array {
  return hashTypedData({
    domain: DOMAIN,
    types: {
      AivmResult: [
        { name: 'requestId', type: 'uint64' },
        { name: 'modelId', type: 'bytes32' },
        { name: 'tier', type: 'uint8' },
        { name: 'inputHash', type: 'bytes32' },
        { name: 'outputHash', type: 'bytes32' },
      ],
    },
    primaryType: 'AivmResult',
    message: m,
  });
}

export function validatorSetDigest(setId: bigint, membersHash: Hex): Uint8Array {
  return hashTypedData({
    domain: DOMAIN,
    types: {
      AivmValidatorSet: [
        { name: 'setId', type: 'uint64' },
        { name: 'membersHash', type: 'bytes32' },
      ],
    },
    primaryType: 'AivmValidatorSet',
    message: { setId, membersHash },
  });
}

/** Packed 65-byte signatures of `signers` over digest, ordered by signer address ascending. */
export function signPacked(digest: Uint8Array, signers: Validator[]): Hex {
  const sorted = [...signers].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  return `0x${sorted.map((v) => Buffer.from(signDigest(digest, v.sk)).toString('hex')).join('')}`;
}

/** The rate the test oracles start with: 0.001 ETH per CGPT (ETH wei per 1 CGPT, 18 decimals). */
export const WEI_PER_CGPT = 10n ** 15n;

/**
 * Deploys a light client for `set`, an oracle on it (rate WEI_PER_CGPT, no premium unless given)
 * and a TestConsumer on the oracle.
 */
export async function deployStack(
  env: Env,
  set: Validator[],
  opts: { timeoutBlocks?: number; weiPerCgpt?: bigint; premiumBps?: number } = {},
) {
  const lightClient = await env.deploy(AivmLightClient as never, [
    BigInt(AIVM_CHAIN_ID),
    1n,
    set.map((v) => v.address),
    set.map((v) => v.power),
  ]);
  const oracle = await env.deploy(AivmOracle as never, [
    lightClient,
    1_000_000_000n,
    1_000_000n,
    opts.timeoutBlocks ?? 50,
    2_000_000,
    opts.weiPerCgpt ?? WEI_PER_CGPT,
    opts.premiumBps ?? 0,
  ]);
  const consumer = await env.deploy(TestConsumer as never, [oracle]);
  return { lightClient, oracle, consumer };
}

export type ModelConfig = {
  verifier: Hex;
  inputMode: number;
  hasWeightCommitment: boolean;
  weightCommitment: bigint;
  inputLen: number;
  outputLen: number;
  tiers: number;
  /** CGPT wei: the AIVM price, and the AIVM request transaction's gas (zk/optimistic, on-chain). */
  aivmPriceWei: bigint;
  aivmGasWei: bigint;
  aivmOnchainGasWei: bigint;
};

/**
 * The ETH wei the AIVM part of a quote comes to (AivmOracle.quote): the model's AIVM cost in
 * CGPT wei × weiPerCgpt × (10000 + premiumBps) / (1e18 × 10000), rounded up.
 */
export function aivmFeeWei(cgptWei: bigint, weiPerCgpt: bigint, premiumBps: number): bigint {
  const n = cgptWei * weiPerCgpt * (10_000n + BigInt(premiumBps));
  const d = 10n ** 18n * 10_000n;
  return (n + d - 1n) / d;
}

export const ZERO_ADDRESS: Hex = '0x0000000000000000000000000000000000000000';

/** int32 little-endian output bytes. */
export function encodeOutput(values: ArrayLike<number>): Hex {
  const b = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) b.writeInt32LE(values[i] as number, i * 4);
  return hex(b);
}

/** int8 input bytes. */
export function encodeInput(values: ArrayLike<number>): Hex {
  const b = Buffer.alloc(values.length);
  for (let i = 0; i < values.length; i++) b.writeInt8(values[i] as number, i);
  return hex(b);
}

/** What a test model must state; the rest of its ModelConfig defaults to MODEL_DEFAULTS. */
export type ModelSpec = Pick<ModelConfig, 'tiers' | 'aivmPriceWei' | 'aivmGasWei' | 'aivmOnchainGasWei'> &
  Partial<ModelConfig>;

/** A model without a verifier: public int8 input of 8 bytes, 10 int32 scores, no weight commitment. */
export const MODEL_DEFAULTS = {
  verifier: ZERO_ADDRESS,
  inputMode: 0,
  hasWeightCommitment: false,
  weightCommitment: 0n,
  inputLen: 8,
  outputLen: 10,
} as const;

/** Registers `modelId` on `oracle` from account `from` (the owner, 0, unless given): `spec` over MODEL_DEFAULTS. */
export function registerModel(env: Env, oracle: Hex, modelId: Hex, spec: ModelSpec, from = 0) {
  const config: ModelConfig = { ...MODEL_DEFAULTS, ...spec };
  return env.write(
    { address: oracle, abi: oracleAbi, functionName: 'registerModel', args: [modelId, config] },
    from,
  );
}

/** deployStack(env, set, opts), then registerModel(modelId, spec) on its oracle. */
export async function deployWithModel(
  env: Env,
  set: Validator[],
  modelId: Hex,
  spec: ModelSpec,
  opts: Parameters<typeof deployStack>[2] = {},
) {
  const stack = await deployStack(env, set, opts);
  await registerModel(env, stack.oracle, modelId, spec);
  return stack;
}

export { AivmLightClient, AivmOracle, TestConsumer };
