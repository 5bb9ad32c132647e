// The oracle and light client from a dApp or a deploy script, with viem: deploy them, register an
// AIVM model, request an inference from an account, read a request, follow it across both chains
// (the oracle's status and events, the AIVM request the relayer opened), and verify a delivered zk
// proof locally. Browser-safe: solc (compiling a verifier) lives in @aivm/evm/node.

import { AivmLightClient, AivmOracle, DigitGame } from '@aivm/contracts';
import type { AivmClient, ModelInfo } from '@aivm/sdk';
import { getRequest as getAivmRequest, getModel, getModelIO, getModelVerificationKey } from '@aivm/sdk';
import {
  type Abi,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  decodeFunctionData,
  defineChain,
  type Hex,
  http,
  keccak256,
  type Log,
  type PublicClient,
  parseEventLogs,
  toFunctionSelector,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  argmax,
  bytes32ToModelId,
  DELIVERY_PATH,
  decodeInput,
  decodeOutput,
  EvmInputError,
  encodeInput,
  hexToU8,
  inputHashOf,
  modelIdToBytes32,
  REQUEST_STATUS,
  type RequestStatus,
  type TierName,
  tierName,
  tierNumber,
} from './codec.ts';

/** The oracle's ABI plus the light client's errors (they bubble up through fulfillAttested). */
export const oracleAbi = [
  ...AivmOracle.abi,
  ...AivmLightClient.abi.filter((e) => e.type === 'error'),
] as const;
export const lightClientAbi = AivmLightClient.abi;
export { AivmLightClient, AivmOracle, DigitGame };

/** selector → error name for every custom error of the AIVM contracts. */
const ERROR_NAMES = new Map<string, string>();
for (const a of [AivmOracle, AivmLightClient, DigitGame])
  for (const e of a.abi as readonly { type: string; name?: string; inputs?: readonly { type: string }[] }[])
    if (e.type === 'error' && e.name)
      ERROR_NAMES.set(
        toFunctionSelector(`${e.name}(${(e.inputs ?? []).map((i) => i.type).join(',')})`),
        e.name,
      );

/** The custom error name a viem call or transaction failed with ('' when none could be read). */
export function revertName(e: unknown): string {
  if (!(e instanceof BaseError)) return '';
  const r = e.walk((x) => x instanceof ContractFunctionRevertedError);
  if (r instanceof ContractFunctionRevertedError) {
    if (r.data?.errorName) return r.data.errorName;
    const sig = (r as { signature?: string }).signature;
    if (sig) return ERROR_NAMES.get(sig) ?? '';
  }
  const m = /(0x[0-9a-f]{8})\b/.exec(e.message);
  return m ? (ERROR_NAMES.get(m[1] as string) ?? '') : '';
}

/** A transaction that was mined but reverted. */
export class TransactionRevertedError extends Error {
  override name = 'TransactionRevertedError';
  readonly hash: Hex;
  constructor(hash: Hex) {
    super(`transaction ${hash} reverted`);
    this.hash = hash;
  }
}

/**
 * viem clients for an EVM JSON-RPC endpoint: its chain id is asked once; with a private key, a
 * wallet client for that account too.
 */
export async function connectEvm(
  url: string,
  privateKey?: Hex,
  opts: { pollingInterval?: number } = {},
): Promise<{ pub: PublicClient; wallet?: WalletClient; chainId: number }> {
  const transport = http(url, { retryCount: 2, timeout: 60_000 });
  const probe = createPublicClient({ transport });
  const chainId = await probe.getChainId();
  const chain = defineChain({
    id: chainId,
    name: `evm-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  });
  const pub = createPublicClient({
    chain,
    transport,
    pollingInterval: opts.pollingInterval ?? 250,
  }) as PublicClient;
  if (privateKey === undefined) return { pub, chainId };
  if (!/^0x[0-9a-fA-F]{64}$/.test(privateKey))
    throw new EvmInputError('an EVM private key is 32 bytes of 0x hex');
  const wallet = createWalletClient({ chain, transport, account: privateKeyToAccount(privateKey) });
  return { pub, wallet, chainId };
}

type Wallet = WalletClient & { account: NonNullable<WalletClient['account']> };

function wallet(w: WalletClient): Wallet {
  if (!w.account) throw new EvmInputError('the wallet client has no account');
  return w as Wallet;
}

async function mined(pub: PublicClient, hash: Hex) {
  const r = await pub.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: 120_000 });
  if (r.status !== 'success') throw new TransactionRevertedError(hash);
  return r;
}

/** Deploys creation bytecode with constructor args; resolves with the contract's address. */
export async function deployContract(
  pub: PublicClient,
  w: WalletClient,
  artifact: { abi: Abi | readonly unknown[]; bytecode: Hex },
  args: readonly unknown[] = [],
): Promise<Address> {
  const ww = wallet(w);
  const hash = await ww.deployContract({
    abi: artifact.abi as Abi,
    bytecode: artifact.bytecode,
    args: args as unknown[],
    account: ww.account,
    chain: ww.chain,
  } as never);
  const r = await mined(pub, hash);
  if (!r.contractAddress) throw new Error(`deployment ${hash} created no contract`);
  return r.contractAddress;
}

/** Sends a contract write and waits for it to be mined; throws TransactionRevertedError if it reverted. */
export async function writeAndWait(
  pub: PublicClient,
  w: WalletClient,
  p: {
    address: Address;
    abi: Abi | readonly unknown[];
    functionName: string;
    args?: readonly unknown[];
    value?: bigint;
  },
) {
  const ww = wallet(w);
  const hash = await ww.writeContract({ ...p, account: ww.account, chain: ww.chain } as never);
  return mined(pub, hash);
}

/** An AIVM attestation set as the light client takes it. */
export type AttestationSet = { aivmChainId: bigint; setId: bigint; signers: Address[]; powers: bigint[] };

/** The AIVM chain's current attestation set (staking/attestationSet) and chain id. */
export async function getAttestationSet(aivm: AivmClient): Promise<AttestationSet> {
  const { chainId } = await aivm.status();
  const set = (await aivm.query('staking/attestationSet', { id: '0' })) as {
    id: string;
    members: { signer: Address; power: string }[];
  } | null;
  if (!set) throw new Error('the AIVM node answered no attestation set');
  return {
    aivmChainId: BigInt(chainId),
    setId: BigInt(set.id),
    signers: set.members.map((m) => m.signer),
    powers: set.members.map((m) => BigInt(m.power)),
  };
}

/**
 * Oracle constructor settings (wei, blocks, gas), and the AIVM pricing: `weiPerCgpt` is ETH wei per
 * 1 CGPT (18-decimal fixed point, {@link parseWeiPerCgpt}; 0, the default, makes the AIVM part of
 * every quote free), `premiumBps` the relayer's premium on it.
 */
export type OracleConfig = {
  minGasPrice?: bigint;
  gasTip?: bigint;
  timeoutBlocks?: number;
  maxCallbackGasLimit?: number;
  weiPerCgpt?: bigint;
  premiumBps?: number;
};

export const DEFAULT_ORACLE_CONFIG = {
  minGasPrice: 1_000_000_000n,
  gasTip: 1_000_000n,
  timeoutBlocks: 7200,
  maxCallbackGasLimit: 2_000_000,
  weiPerCgpt: 0n,
  premiumBps: 0,
} as const;

const MAX_UINT96 = 2n ** 96n - 1n;

function checkPricing(weiPerCgpt: bigint, premiumBps: number): void {
  if (weiPerCgpt < 0n || weiPerCgpt > MAX_UINT96)
    throw new EvmInputError(`weiPerCgpt ${weiPerCgpt} is outside 0..2^96-1`);
  if (!Number.isInteger(premiumBps) || premiumBps < 0 || premiumBps > 65_535)
    throw new EvmInputError(`premiumBps ${premiumBps} is outside 0..65535`);
}

/** Deploys AivmLightClient on `set` and an AivmOracle on it. */
export async function deployAivmContracts(
  pub: PublicClient,
  w: WalletClient,
  set: AttestationSet,
  config: OracleConfig = {},
): Promise<{ lightClient: Address; oracle: Address }> {
  const lightClient = await deployContract(pub, w, AivmLightClient, [
    set.aivmChainId,
    set.setId,
    set.signers,
    set.powers,
  ]);
  const c = { ...DEFAULT_ORACLE_CONFIG, ...config };
  checkPricing(c.weiPerCgpt, c.premiumBps);
  const oracle = await deployContract(pub, w, AivmOracle, [
    lightClient,
    c.minGasPrice,
    c.gasTip,
    c.timeoutBlocks,
    c.maxCallbackGasLimit,
    c.weiPerCgpt,
    c.premiumBps,
  ]);
  return { lightClient, oracle };
}

/** What an AIVM request for a model costs the relayer, in CGPT wei (AivmOracle's copy). */
export type AivmModelPrice = {
  /** The model's AIVM price per request (priceWei; the relayer opens redundancy 1). */
  aivmPriceWei: bigint;
  /** Gas of the AIVM inference/request transaction for the zk and optimistic tiers. */
  aivmGasWei: bigint;
  /** Gas of the AIVM inference/request transaction for the on-chain tier (the model runs in it). */
  aivmOnchainGasWei: bigint;
};

/** AivmOracle.ModelConfig. */
export type EvmModelConfig = {
  verifier: Address;
  inputMode: 0 | 1;
  hasWeightCommitment: boolean;
  weightCommitment: bigint;
  inputLen: number;
  outputLen: number;
  tiers: number;
} & AivmModelPrice;

export const ZERO_ADDRESS: Address = '0x0000000000000000000000000000000000000000';

/** Options of {@link aivmModelPrice}. */
export type AivmPriceOptions = {
  /** The tiers to price (default: the model's); a tier left out costs 0. */
  tiers?: number;
  /**
   * The AIVM account the request gas is estimated from (the node runs the request, so it must
   * hold the model's price; default the model's owner). The relayer's account is the exact one.
   */
  estimateFrom?: string;
  /** Give the gas parts instead of estimating them (CGPT wei). */
  aivmGasWei?: bigint;
  aivmOnchainGasWei?: bigint;
};

/**
 * What one relayed AIVM request for a model costs, in CGPT wei: its price (priceWei × redundancy
 * 1) and the gas of the inference/request transaction at the AIVM chain's minimum gas price, as the
 * AIVM node estimates it for the model's input size (the on-chain tier runs the model inside that
 * transaction; the zk and optimistic tiers only open the request: the larger of the two).
 */
export async function aivmModelPrice(
  aivm: AivmClient,
  model: string | ModelInfo,
  opts: AivmPriceOptions = {},
): Promise<AivmModelPrice> {
  const m = typeof model === 'string' ? await getModel(aivm, model) : model;
  const tiers = opts.tiers ?? m.tiers;
  let gasPrice: bigint | undefined;
  let zeros: Hex | undefined;
  const estimate = async (tier: 1 | 2 | 4): Promise<bigint> => {
    if (gasPrice === undefined) {
      const p = (await aivm.query('auth/params')) as { minGasPriceWei?: string | number };
      gasPrice = BigInt(p.minGasPriceWei ?? 0);
      zeros = encodeInput(new Array((await getModelIO(aivm, m)).input.elements).fill(0));
    }
    const from = opts.estimateFrom ?? m.owner;
    try {
      const gas = await aivm.estimateGas({
        from,
        msgType: 'inference/request',
        msg: { modelId: m.id, tier, input: zeros, maxFeeWei: m.priceWei.toString(), redundancy: 1 },
        gasPrice,
      } as never);
      return gas * gasPrice;
    } catch (e) {
      throw new EvmInputError(
        `the AIVM node could not estimate a ${tierName(tier)} request of model ${m.id} from ${from}: ` +
          `${(e as Error).message} (give estimateFrom, an AIVM account holding the model's price, or the gas in CGPT wei)`,
      );
    }
  };
  let aivmGasWei = opts.aivmGasWei;
  if (aivmGasWei === undefined) {
    aivmGasWei = 0n;
    for (const t of [2, 4] as const) if (tiers & t) aivmGasWei = bigMax(aivmGasWei, await estimate(t));
  }
  const price = {
    aivmPriceWei: m.priceWei,
    aivmGasWei,
    aivmOnchainGasWei: opts.aivmOnchainGasWei ?? (tiers & 1 ? await estimate(1) : 0n),
  };
  if (price.aivmPriceWei >= 2n ** 128n)
    throw new EvmInputError(
      `model ${m.id}: price ${price.aivmPriceWei} wei does not fit the oracle's uint128`,
    );
  for (const k of ['aivmGasWei', 'aivmOnchainGasWei'] as const)
    if (price[k] < 0n || price[k] >= 2n ** 64n)
      throw new EvmInputError(`model ${m.id}: ${k} ${price[k]} does not fit the oracle's uint64`);
  return price;
}

const bigMax = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * The oracle registration of an AIVM model from its record: bytes32 id, input mode and weight
 * commitment of its zk circuit, input and output element counts (from its artifact), the tiers it
 * offers (zk only with a verifier), and what an AIVM request costs ({@link aivmModelPrice}): the
 * oracle converts that at its rate (ETH wei per CGPT) plus the relayer premium.
 */
export async function modelConfigFromAivm(
  aivm: AivmClient,
  modelId: string,
  opts: { verifier?: Address; tiers?: number } & Omit<AivmPriceOptions, 'tiers'> = {},
): Promise<{ modelId: Hex; model: ModelInfo; config: EvmModelConfig }> {
  const model = await getModel(aivm, modelId);
  const io = await getModelIO(aivm, model);
  const outputLen = io.output.shape.reduce((a, b) => a * b, 1);
  const verifier = opts.verifier ?? ZERO_ADDRESS;
  let tiers = opts.tiers ?? model.tiers;
  if (verifier === ZERO_ADDRESS) tiers &= ~2;
  if (tiers & ~model.tiers)
    throw new EvmInputError(`model ${modelId} does not offer tiers ${tiers & ~model.tiers}`);
  if (tiers === 0) throw new EvmInputError(`model ${modelId}: no tier left to offer (zk needs a verifier)`);
  const price = await aivmModelPrice(aivm, model, { ...opts, tiers });
  return {
    modelId: modelIdToBytes32(modelId),
    model,
    config: {
      verifier,
      inputMode: model.zkInputs === 'committed' ? 1 : 0,
      hasWeightCommitment: model.zkWeights === 'private',
      weightCommitment: model.zkWeights === 'private' ? model.weightCommitment : 0n,
      inputLen: io.input.elements,
      outputLen,
      tiers,
      ...price,
    },
  };
}

/** registerModel(modelId, config) by the oracle's owner. */
export async function registerModel(
  pub: PublicClient,
  w: WalletClient,
  oracle: Address,
  modelId: Hex,
  config: EvmModelConfig,
) {
  return writeAndWait(pub, w, {
    address: oracle,
    abi: oracleAbi,
    functionName: 'registerModel',
    args: [modelId, config],
  });
}

/** setAivmPricing(weiPerCgpt, premiumBps) by the oracle's owner: the rate every quote converts at. */
export async function setAivmPricing(
  pub: PublicClient,
  w: WalletClient,
  oracle: Address,
  weiPerCgpt: bigint,
  premiumBps: number,
) {
  checkPricing(weiPerCgpt, premiumBps);
  return writeAndWait(pub, w, {
    address: oracle,
    abi: oracleAbi,
    functionName: 'setAivmPricing',
    args: [weiPerCgpt, premiumBps],
  });
}

/** The oracle's rate (ETH wei per 1 CGPT, 18 decimals) and relayer premium (basis points). */
export async function getAivmPricing(
  pub: PublicClient,
  oracle: Address,
): Promise<{ weiPerCgpt: bigint; premiumBps: number }> {
  const [weiPerCgpt, premiumBps] = (await pub.readContract({
    address: oracle,
    abi: oracleAbi,
    functionName: 'aivmPricing',
  })) as readonly [bigint, number];
  return { weiPerCgpt, premiumBps };
}

/** A model as the oracle holds it (getModel; tiers 0 when it is not registered). */
export async function getOracleModel(
  pub: PublicClient,
  oracle: Address,
  modelId: string,
): Promise<EvmModelConfig & { active: boolean }> {
  const m = (await pub.readContract({
    address: oracle,
    abi: oracleAbi,
    functionName: 'getModel',
    args: [asModelId(modelId)],
  })) as EvmModelConfig & { active: boolean };
  return { ...m };
}

/**
 * Owner helper: sets a registered model's price and request gas on the oracle to what AIVM says
 * now ({@link aivmModelPrice}), for the tiers the oracle offers; sends nothing when they already
 * match. Run it after the model's owner changes its AIVM price (models/setPrice) or AIVM's gas
 * price moves.
 */
export async function syncModelPrice(
  pub: PublicClient,
  w: WalletClient,
  aivm: AivmClient,
  oracle: Address,
  aivmModelId: string,
  opts: Omit<AivmPriceOptions, 'tiers'> = {},
): Promise<{ modelId: Hex; before: AivmModelPrice; after: AivmModelPrice; txHash?: Hex }> {
  const modelId = modelIdToBytes32(aivmModelId);
  const held = await getOracleModel(pub, oracle, modelId);
  if (held.tiers === 0) throw new EvmInputError(`model ${aivmModelId} is not registered on oracle ${oracle}`);
  const before = {
    aivmPriceWei: held.aivmPriceWei,
    aivmGasWei: held.aivmGasWei,
    aivmOnchainGasWei: held.aivmOnchainGasWei,
  };
  const after = await aivmModelPrice(aivm, aivmModelId, { ...opts, tiers: held.tiers });
  if (
    after.aivmPriceWei === before.aivmPriceWei &&
    after.aivmGasWei === before.aivmGasWei &&
    after.aivmOnchainGasWei === before.aivmOnchainGasWei
  )
    return { modelId, before, after };
  const r = await writeAndWait(pub, w, {
    address: oracle,
    abi: oracleAbi,
    functionName: 'setModelPrice',
    args: [modelId, after.aivmPriceWei, after.aivmGasWei, after.aivmOnchainGasWei],
  });
  return { modelId, before, after, txHash: r.transactionHash };
}

/** What a request from an account needs. */
export type EvmRequestParams = {
  oracle: Address;
  /** AIVM model id (CID) or its bytes32. */
  modelId: string;
  /** Quantized int8 input values or bytes (0x hex / Uint8Array). */
  input: ArrayLike<number> | Hex | Uint8Array;
  tier: number | TierName;
  /** 0 for an account (no callback). */
  callbackGasLimit?: number;
  callbackData?: Hex;
};

const asModelId = (id: string): Hex => (id.startsWith('0x') ? (id as Hex) : modelIdToBytes32(id));

function inputHex(input: EvmRequestParams['input']): Hex {
  if (typeof input === 'string') {
    hexToU8(input, 'input');
    return input;
  }
  if (input instanceof Uint8Array)
    return encodeInput(new Int8Array(input.buffer, input.byteOffset, input.byteLength));
  return encodeInput(input);
}

/** The wei to send for a request in the current block. */
export async function quote(
  pub: PublicClient,
  oracle: Address,
  modelId: string,
  tier: number | TierName,
  callbackGasLimit = 0,
): Promise<bigint> {
  return (await pub.readContract({
    address: oracle,
    abi: oracleAbi,
    functionName: 'quote',
    args: [asModelId(modelId), tierNumber(tier), callbackGasLimit],
  })) as bigint;
}

/** The oracle's InferenceRequested / ResultDelivered / ... of a receipt's logs. */
export function oracleEvents(logs: readonly Log[]) {
  return parseEventLogs({ abi: oracleAbi, logs: logs as Log[] });
}

/**
 * requestInference from an account (EOA): quotes, sends the quote plus a 10% margin (the excess is
 * refunded in the same transaction), resolves with the oracle's request id once mined.
 */
export async function requestInference(
  pub: PublicClient,
  w: WalletClient,
  p: EvmRequestParams,
): Promise<{ id: bigint; txHash: Hex; blockNumber: bigint; inputHash: Hex }> {
  const modelId = asModelId(p.modelId);
  const tier = tierNumber(p.tier);
  const price = await quote(pub, p.oracle, modelId, tier, p.callbackGasLimit ?? 0);
  const input = inputHex(p.input);
  const r = await writeAndWait(pub, w, {
    address: p.oracle,
    abi: oracleAbi,
    functionName: 'requestInference',
    args: [modelId, input, tier, p.callbackGasLimit ?? 0, p.callbackData ?? '0x'],
    value: price + price / 10n,
  });
  return {
    ...requestedIn(r.logs, p.oracle),
    txHash: r.transactionHash,
    blockNumber: r.blockNumber,
    inputHash: inputHashOf(input),
  };
}

/**
 * requestInferenceCommitted: for a committed-input model the oracle keeps only the input's Poseidon
 * commitment (commitInputs of @aivm/zk, computed here) and a URI the relayer fetches the input from
 * (e.g. a data: URI or https); `attestable` also gives keccak256(input) so validators' attestations
 * can deliver it.
 */
export async function requestInferenceCommitted(
  pub: PublicClient,
  w: WalletClient,
  p: EvmRequestParams & { inputURI: string; attestable?: boolean },
): Promise<{ id: bigint; txHash: Hex; blockNumber: bigint; inputCommitment: bigint }> {
  const { commitInputs } = await import('@aivm/zk');
  const modelId = asModelId(p.modelId);
  const tier = tierNumber(p.tier);
  const input = inputHex(p.input);
  const inputCommitment = commitInputs(decodeInput(input));
  const price = await quote(pub, p.oracle, modelId, tier, p.callbackGasLimit ?? 0);
  const r = await writeAndWait(pub, w, {
    address: p.oracle,
    abi: oracleAbi,
    functionName: 'requestInferenceCommitted',
    args: [
      modelId,
      inputCommitment,
      p.attestable === false ? `0x${'00'.repeat(32)}` : inputHashOf(input),
      p.inputURI,
      tier,
      p.callbackGasLimit ?? 0,
      p.callbackData ?? '0x',
    ],
    value: price + price / 10n,
  });
  return {
    ...requestedIn(r.logs, p.oracle),
    txHash: r.transactionHash,
    blockNumber: r.blockNumber,
    inputCommitment,
  };
}

/** The request id of the InferenceRequested among a receipt's logs (a consumer contract's request included). */
export function requestedIn(logs: readonly Log[], oracle: Address): { id: bigint } {
  const ev = oracleEvents(logs.filter((l) => l.address.toLowerCase() === oracle.toLowerCase())).find(
    (e) => e.eventName === 'InferenceRequested',
  );
  if (!ev) throw new Error('the transaction emitted no InferenceRequested');
  return { id: (ev.args as { id: bigint }).id };
}

/** A request as the oracle stores it, decoded. */
export type EvmRequest = {
  id: bigint;
  requester: Address;
  status: RequestStatus;
  tier: number;
  committed: boolean;
  callbackGasLimit: number;
  deadline: bigint;
  modelId: Hex;
  aivmModelId: string;
  inputHash: Hex;
  inputCommitment: bigint;
  fee: bigint;
  aivmRequestId: bigint;
  /** keccak256 of the delivered output (zero before delivery). */
  outputHash: Hex;
  callbackData: Hex;
  /** Stored only when the callback failed or there was none: see {@link Delivery}.output. */
  output: Hex;
};

export async function getRequest(
  pub: PublicClient,
  oracle: Address,
  id: bigint,
  blockNumber?: bigint,
): Promise<EvmRequest> {
  const r = (await pub.readContract({
    address: oracle,
    abi: oracleAbi,
    functionName: 'getRequest',
    args: [id],
    ...(blockNumber !== undefined ? { blockNumber } : {}),
  })) as {
    requester: Address;
    status: number;
    tier: number;
    committed: boolean;
    callbackGasLimit: number;
    deadline: number | bigint;
    modelId: Hex;
    inputHash: Hex;
    inputCommitment: bigint;
    fee: bigint;
    aivmRequestId: bigint;
    outputHash: Hex;
    callbackData: Hex;
    output: Hex;
  };
  const status = REQUEST_STATUS[r.status] ?? 'None';
  let aivmModelId = '';
  try {
    aivmModelId = status === 'None' ? '' : bytes32ToModelId(r.modelId);
  } catch {
    aivmModelId = '';
  }
  return { ...r, id, status, deadline: BigInt(r.deadline), aivmModelId };
}

/** The delivery of a request: the ResultDelivered event and the transaction that carried it. */
export type Delivery = {
  txHash: Hex;
  blockNumber: bigint;
  relayer: Address;
  path: 'zk' | 'attested';
  /** The delivered output bytes (int32 little-endian), from the ResultDelivered event. */
  output: Hex;
  outputHash: Hex;
  fee: bigint;
  callbackFailed: boolean;
};

/** Every ResultDelivered of request `id` (exactly one for a delivered request). */
export async function getDeliveries(
  pub: PublicClient,
  oracle: Address,
  id: bigint,
  fromBlock = 0n,
): Promise<Delivery[]> {
  const logs = (await pub.getLogs({
    address: oracle,
    event: oracleAbi.find((e) => e.type === 'event' && e.name === 'ResultDelivered') as never,
    args: { id } as never,
    fromBlock,
    toBlock: 'latest',
  } as never)) as unknown as Log[];
  const out: Delivery[] = [];
  for (const l of logs) {
    const a = (l as unknown as { args: { relayer: Address; path: number; output: Hex; fee: bigint } }).args;
    const receipt = await pub.getTransactionReceipt({ hash: l.transactionHash as Hex });
    const failed = oracleEvents(receipt.logs).some(
      (e) => e.eventName === 'CallbackFailed' && (e.args as { id: bigint }).id === id,
    );
    out.push({
      txHash: l.transactionHash as Hex,
      blockNumber: l.blockNumber as bigint,
      relayer: a.relayer,
      path: DELIVERY_PATH[a.path as 1 | 2],
      output: a.output,
      outputHash: keccak256(a.output),
      fee: a.fee,
      callbackFailed: failed,
    });
  }
  return out;
}

/** One step of a request's life on either chain. */
export type WatchStep = { chain: 'evm' | 'aivm'; status: string; atMs: number; detail?: string };

export type WatchedRequest = {
  request: EvmRequest;
  delivery?: Delivery;
  history: WatchStep[];
  output: number[];
  argmax: number;
};

/**
 * Follows one oracle request across both chains until it is delivered (Fulfilled or
 * CallbackFailed) or refunded: its EVM status, and, once a relayer marked or delivered it with an
 * AIVM request id, that request's AIVM status. `onStep` sees each new status.
 */
export async function watchRequest(
  pub: PublicClient,
  oracle: Address,
  id: bigint,
  opts: {
    aivm?: AivmClient;
    aivmRequestId?: bigint;
    pollMs?: number;
    timeoutMs?: number;
    onStep?: (s: WatchStep) => void;
  } = {},
): Promise<WatchedRequest> {
  const history: WatchStep[] = [];
  const step = (chain: 'evm' | 'aivm', status: string, detail?: string) => {
    const last = history.filter((h) => h.chain === chain).at(-1);
    if (last?.status === status) return;
    const s = { chain, status, atMs: Date.now(), ...(detail ? { detail } : {}) };
    history.push(s);
    opts.onStep?.(s);
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  let aivmId = opts.aivmRequestId;
  for (;;) {
    const req = await getRequest(pub, oracle, id);
    if (req.status === 'None') throw new EvmInputError(`oracle ${oracle} has no request ${id}`);
    if (req.aivmRequestId !== 0n) aivmId = req.aivmRequestId;
    if (opts.aivm && aivmId !== undefined && aivmId !== 0n && req.status !== 'Fulfilled') {
      const a = await getAivmRequest(opts.aivm, aivmId).catch(() => undefined);
      if (a) step('aivm', a.status, `AIVM request ${aivmId}`);
    }
    if (req.status === 'Fulfilled' || req.status === 'CallbackFailed' || req.status === 'Refunded') {
      if (opts.aivm && aivmId) {
        const a = await getAivmRequest(opts.aivm, aivmId).catch(() => undefined);
        if (a) step('aivm', a.status, `AIVM request ${aivmId}`);
      }
      const delivery = (await getDeliveries(pub, oracle, id))[0];
      step('evm', req.status, delivery ? `${delivery.path} delivery in ${delivery.txHash}` : undefined);
      const bytes = delivery?.output ?? req.output;
      const output = bytes === '0x' ? [] : decodeOutput(bytes);
      return { request: req, ...(delivery ? { delivery } : {}), history, output, argmax: argmax(output) };
    }
    step('evm', req.status);
    if (Date.now() > deadline)
      throw new Error(`request ${id} is still ${req.status} after ${opts.timeoutMs ?? 600_000} ms`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
}

/** The proof, output and input a fulfillZk transaction carried. */
export async function getDeliveredProof(
  pub: PublicClient,
  txHash: Hex,
): Promise<{ id: bigint; output: Hex; proof: readonly bigint[]; input: Hex }> {
  const tx = await pub.getTransaction({ hash: txHash });
  const call = decodeFunctionData({ abi: oracleAbi, data: tx.input });
  if (call.functionName !== 'fulfillZk') throw new EvmInputError(`transaction ${txHash} is not a fulfillZk`);
  const [id, output, proof, input] = call.args as readonly [bigint, Hex, readonly bigint[], Hex];
  return { id, output, proof, input };
}

/** The 8 proof words as AIVM's 256 proof bytes (encodeProofPoints). */
export function proofWordsToBytes(words: readonly bigint[]): Uint8Array {
  if (words.length !== 8) throw new EvmInputError('a proof is 8 words');
  const out = new Uint8Array(256);
  words.forEach((w, i) => {
    out.set(hexToU8(`0x${w.toString(16).padStart(64, '0')}` as Hex), i * 32);
  });
  return out;
}

/** AIVM's 256 proof bytes as the 8 words fulfillZk takes. */
export function proofBytesToWords(bytes: Uint8Array): bigint[] {
  if (bytes.length !== 256) throw new EvmInputError(`a proof is 256 bytes, got ${bytes.length}`);
  return Array.from({ length: 8 }, (_, i) =>
    BigInt(
      `0x${Array.from(bytes.subarray(i * 32, i * 32 + 32), (b) => b.toString(16).padStart(2, '0')).join('')}`,
    ),
  );
}

/**
 * Verifies locally the Groth16 proof a zk delivery carried: the public signals are rebuilt from
 * the output the oracle stored and the request's input (public mode) or input commitment
 * (committed mode), plus the model's weight commitment, and checked against the model's
 * verification key as stored on AIVM (hash-checked against its vkHash) or the one given.
 */
export async function verifyDeliveredProof(
  pub: PublicClient,
  oracle: Address,
  id: bigint,
  opts: { aivm?: AivmClient; vk?: Uint8Array; model?: ModelInfo } = {},
): Promise<{ valid: boolean; txHash: Hex }> {
  const req = await getRequest(pub, oracle, id);
  const delivery = (await getDeliveries(pub, oracle, id)).find((d) => d.path === 'zk');
  if (!delivery) throw new EvmInputError(`request ${id} has no zk delivery`);
  const carried = await getDeliveredProof(pub, delivery.txHash);
  const model = opts.model ?? (opts.aivm ? await getModel(opts.aivm, req.aivmModelId) : undefined);
  if (!model) throw new EvmInputError('give an AIVM client or the model');
  const vkBytes = opts.vk ?? (opts.aivm ? await getModelVerificationKey(opts.aivm, model) : undefined);
  if (!vkBytes) throw new EvmInputError('give an AIVM client or the verification key');
  const zk = await import('@aivm/zk');
  const { verifyProof } = await import('@aivm/zk/verify');
  const fmod = (v: bigint) => ((v % zk.BN254_R) + zk.BN254_R) % zk.BN254_R;
  if (keccak256(carried.output) !== req.outputHash) return { valid: false, txHash: delivery.txHash };
  const signals = decodeOutput(carried.output).map((v) => fmod(BigInt(v)).toString());
  if (model.zkInputs === 'public') {
    if (inputHashOf(carried.input) !== req.inputHash) return { valid: false, txHash: delivery.txHash };
    signals.push(...decodeInput(carried.input).map((v) => fmod(BigInt(v)).toString()));
  } else signals.push(req.inputCommitment.toString());
  if (model.zkWeights === 'private') signals.push(model.weightCommitment.toString());
  try {
    const valid = await verifyProof(zk.decodeVerificationKey(vkBytes), {
      proof: zk.decodeProofPoints(proofWordsToBytes(carried.proof)),
      publicSignals: signals,
    });
    return { valid, txHash: delivery.txHash };
  } catch {
    return { valid: false, txHash: delivery.txHash };
  }
}

export { tierName };
