// The Ethereum JSON-RPC subset wallets (MetaMask, viem, ethers) need to hold CGPT and send it
// (docs/wallets.md): chain id, balances, nonces, fees, blocks, and Ethereum-signed transfers
// (@aivm/chain eth-tx.ts) sent, looked up and awaited. Positional params, Ethereum quantities
// (0x hex without leading zeros), and errors in the form wallets read (-32000 with the chain's
// reason, errors.ts toEthErrorObject). AIVM has no EVM: contract creation, call data and
// historical state are refused clearly. Everything here goes through the node's NodeApi.

import { authParams, decodeTx, ERR, encodeBlock, type SignedTx, TxRejected } from '@aivm/chain';
import { type Address, bytesToHex, type Hex, hexToBytes, isAddress, toChecksumAddress } from '@aivm/crypto';
import { z } from 'zod';
import type { BlockRecord, NodeApi, TxRecord } from '../api.ts';
import { RPC_ERR, RpcFailure } from './errors.ts';
import type { Json } from './json.ts';
import type { RpcMethodDef } from './methods.ts';

function defineEth<P extends z.ZodType>(def: RpcMethodDef<P>): RpcMethodDef {
  return { ethErrors: true, ...def } as unknown as RpcMethodDef;
}

/** Gas wallets assume for a plain value transfer; an Ethereum-signed transfer uses at most this. */
export const ETH_TRANSFER_GAS = 21_000n;
/** Most blocks one eth_feeHistory answers for (a larger blockCount is cut, as Ethereum nodes do). */
export const FEE_HISTORY_MAX_BLOCKS = 128;
/** Ethereum-signed transfers sent through eth_sendRawTransaction remembered for lookups while pending. */
export const PENDING_CACHE_SIZE = 4_096;

const ZERO_HASH = `0x${'00'.repeat(32)}` as Hex;
const LOGS_BLOOM_ZERO = `0x${'00'.repeat(256)}`;
/** keccak256(rlp([])): the uncles hash of a block without uncles. */
const EMPTY_UNCLES_HASH = '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347';

export function quantity(n: bigint | number): string {
  return `0x${n.toString(16)}`;
}

// ---------------------------------------------------------------------------------------------
// Params

const quantityParam = z
  .string()
  .regex(/^0x[0-9a-fA-F]{1,64}$/, 'expected a hex quantity (0x followed by 1 to 64 hex digits)')
  .transform((s) => BigInt(s));

const BLOCK_TAGS = ['latest', 'pending', 'safe', 'finalized', 'earliest'] as const;
type BlockRef = (typeof BLOCK_TAGS)[number] | bigint;

const blockParam = z
  .union([z.enum(BLOCK_TAGS), quantityParam], {
    error: 'expected a block tag (latest, pending, safe, finalized, earliest) or a hex block number',
  })
  .describe('block tag (latest, pending, safe, finalized, earliest) or hex block number');

const ethAddressParam = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected an address: 0x followed by 40 hex digits')
  .refine(isAddress, 'bad EIP-55 checksum (use all lower case or the checksummed form)')
  .transform((s) => toChecksumAddress(s));

const hash32Param = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected 0x followed by 64 hex digits (32 bytes)')
  .transform((s) => s.toLowerCase() as Hex);

const dataParam = z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/, 'expected 0x-prefixed hex bytes');

/** An Ethereum transaction request (eth_call, eth_estimateGas); unknown fields are ignored. */
const callParam = z
  .object({
    from: ethAddressParam.optional(),
    to: ethAddressParam.nullable().optional(),
    value: quantityParam.optional(),
    data: dataParam.optional(),
    input: dataParam.optional(),
    gas: quantityParam.optional(),
    gasPrice: quantityParam.optional(),
    maxFeePerGas: quantityParam.optional(),
    maxPriorityFeePerGas: quantityParam.optional(),
    nonce: quantityParam.optional(),
    accessList: z.array(z.unknown()).optional(),
  })
  .describe('transaction request: from, to, value, data/input, gas, gasPrice or maxFeePerGas, ...');

// ---------------------------------------------------------------------------------------------
// Results (documentation, and checked by the tests against real handler output)

const quantityOut = z
  .string()
  .regex(/^0x(0|[1-9a-f][0-9a-f]*)$/)
  .describe('hex quantity');
const hashOut = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/)
  .describe('32-byte hex');
const dataOut = z
  .string()
  .regex(/^0x(?:[0-9a-f]{2})*$/)
  .describe('0x hex bytes');
const addressOut = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/)
  .describe('address');

const EthTxOut = z.object({
  hash: hashOut,
  type: z.enum(['0x0', '0x2']).describe('0x0 legacy (EIP-155), 0x2 EIP-1559'),
  chainId: quantityOut,
  nonce: quantityOut,
  blockHash: hashOut.nullable().describe('null while pending'),
  blockNumber: quantityOut.nullable(),
  transactionIndex: quantityOut.nullable(),
  from: addressOut,
  to: addressOut,
  value: quantityOut,
  gas: quantityOut,
  gasPrice: quantityOut.describe(
    'legacy: its gas price; EIP-1559: the price paid once mined, else maxFeePerGas',
  ),
  maxFeePerGas: quantityOut.optional(),
  maxPriorityFeePerGas: quantityOut.optional(),
  accessList: z.array(z.never()).optional(),
  input: z.literal('0x'),
  v: quantityOut,
  r: quantityOut,
  s: quantityOut,
  yParity: quantityOut.optional(),
});

const AivmTxOut = z.object({
  hash: hashOut,
  aivmMsgType: z.string().describe('the AIVM message type, e.g. bank/send'),
  chainId: quantityOut,
  nonce: quantityOut,
  blockHash: hashOut,
  blockNumber: quantityOut,
  transactionIndex: quantityOut,
  from: addressOut,
  to: addressOut.nullable().describe('bank/send: the recipient, else null'),
  value: quantityOut.describe('bank/send: the amount, else 0x0'),
  gas: quantityOut,
  gasPrice: quantityOut,
  input: z.literal('0x'),
  v: quantityOut,
  r: quantityOut,
  s: quantityOut,
});

const EthReceiptOut = z.object({
  transactionHash: hashOut,
  transactionIndex: quantityOut,
  blockHash: hashOut,
  blockNumber: quantityOut,
  from: addressOut,
  to: addressOut,
  cumulativeGasUsed: quantityOut,
  gasUsed: quantityOut,
  effectiveGasPrice: quantityOut,
  contractAddress: z.null(),
  logs: z.array(z.never()),
  logsBloom: dataOut,
  status: z.enum(['0x0', '0x1']),
  type: z.enum(['0x0', '0x2']),
});

const EthBlockOut = z.object({
  number: quantityOut,
  hash: hashOut,
  parentHash: hashOut,
  nonce: dataOut,
  mixHash: hashOut,
  sha3Uncles: hashOut,
  logsBloom: dataOut,
  transactionsRoot: hashOut.describe('txRoot of the AIVM header'),
  stateRoot: hashOut,
  receiptsRoot: hashOut.describe('resultsRoot of the AIVM header'),
  miner: addressOut.describe('the proposer'),
  difficulty: quantityOut,
  totalDifficulty: quantityOut,
  extraData: dataOut,
  size: quantityOut,
  gasLimit: quantityOut.describe('auth.blockGasLimit'),
  gasUsed: quantityOut,
  timestamp: quantityOut.describe('seconds'),
  baseFeePerGas: quantityOut.describe('auth.minGasPriceWei, the fee floor'),
  transactions: z
    .array(z.union([hashOut, EthTxOut, AivmTxOut]))
    .describe('hashes; with full, objects (AIVM transactions without a type, with aivmMsgType)'),
  uncles: z.array(z.never()),
});

// ---------------------------------------------------------------------------------------------
// Chain reads

type FeeParams = { minGasPriceWei: bigint; blockGasLimit: bigint };

async function feeParams(api: NodeApi): Promise<FeeParams> {
  const raw = (await api.query('auth/params', {})) as Record<string, unknown>;
  const p = z
    .object({
      minGasPriceWei: z.union([z.bigint(), z.string(), z.number()]).transform((v) => BigInt(v)),
      blockGasLimit: z.union([z.bigint(), z.string(), z.number()]).transform((v) => BigInt(v)),
    })
    .safeParse(raw);
  if (!p.success) {
    const d = authParams.defaults as FeeParams;
    return { minGasPriceWei: d.minGasPriceWei, blockGasLimit: d.blockGasLimit };
  }
  return p.data;
}

function headHeight(api: NodeApi): bigint {
  return api.status().height;
}

/** State is served at the head only: a tag naming it, or the head's number. */
function requireLatest(api: NodeApi, block: BlockRef | undefined): void {
  if (block === undefined || block === 'latest' || block === 'pending' || block === 'safe') return;
  if (block === 'finalized') return; // BFT: every committed block is final
  const head = headHeight(api);
  if (typeof block === 'bigint' && block === head) return;
  throw new RpcFailure(
    RPC_ERR.INVALID_PARAMS,
    `invalid params: block: this node serves the latest state only (latest, pending, safe, finalized or the head number ${quantity(head)}), not ${typeof block === 'bigint' ? quantity(block) : block}`,
  );
}

async function blockAt(api: NodeApi, ref: BlockRef): Promise<BlockRecord | undefined> {
  if (ref === 'earliest') return (await api.getBlock({ height: 0n })) ?? api.getBlock({ height: 1n });
  if (typeof ref === 'bigint') return api.getBlock({ height: ref });
  return api.getBlock({});
}

function lookup(api: NodeApi) {
  return (type: string) => api.registry.message(type)?.schema;
}

type EthSignedTx = SignedTx & { eth: NonNullable<SignedTx['eth']> };

function isEth(tx: SignedTx): tx is EthSignedTx {
  return tx.eth !== undefined;
}

const pendingByApi = new WeakMap<NodeApi, Map<Hex, EthSignedTx>>();

function pendingCache(api: NodeApi): Map<Hex, EthSignedTx> {
  let cache = pendingByApi.get(api);
  if (!cache) {
    cache = new Map();
    pendingByApi.set(api, cache);
  }
  return cache;
}

function remember(api: NodeApi, tx: EthSignedTx): void {
  const cache = pendingCache(api);
  cache.delete(tx.hash);
  cache.set(tx.hash, tx);
  while (cache.size > PENDING_CACHE_SIZE) cache.delete(cache.keys().next().value as Hex);
}

// ---------------------------------------------------------------------------------------------
// JSON forms

function sigPart(sig: Uint8Array, from: number): string {
  return quantity(BigInt(bytesToHex(sig.subarray(from, from + 32))));
}

type Position = { blockHash: Hex; height: bigint; index: number; paidPrice?: bigint };

function ethTxJson(tx: EthSignedTx, pos: Position | null): Json {
  const yParity = BigInt(tx.signature[64]! - 27);
  const legacy = tx.eth.type === 'legacy';
  const out: { [key: string]: Json } = {
    hash: tx.hash,
    type: legacy ? '0x0' : '0x2',
    chainId: quantity(tx.chainId),
    nonce: quantity(tx.nonce),
    blockHash: pos ? pos.blockHash : null,
    blockNumber: pos ? quantity(pos.height) : null,
    transactionIndex: pos ? quantity(pos.index) : null,
    from: tx.from,
    to: (tx.msg as { to: Address }).to,
    value: quantity(tx.eth.value),
    gas: quantity(tx.gasLimit),
    gasPrice: quantity(legacy ? tx.gasPrice : (pos?.paidPrice ?? tx.gasPrice)),
    input: '0x',
    v: quantity(legacy ? tx.chainId * 2n + 35n + yParity : yParity),
    r: sigPart(tx.signature, 0),
    s: sigPart(tx.signature, 32),
  };
  if (!legacy) {
    out.maxFeePerGas = quantity(tx.gasPrice);
    out.maxPriorityFeePerGas = quantity(tx.eth.maxPriorityFeePerGas ?? 0n);
    out.accessList = [];
    out.yParity = quantity(yParity);
  }
  return out;
}

/**
 * An AIVM (EIP-712 signed) transaction in a full block: no Ethereum type (it is none of them),
 * aivmMsgType its message type, to and value from a bank/send (else null and 0x0), input 0x,
 * and v (27/28), r, s of its EIP-712 signature, which does not verify as an Ethereum one.
 */
function aivmTxJson(tx: SignedTx, pos: Position): Json {
  const send = tx.msgType === 'bank/send' ? (tx.msg as { to: Address; amount: bigint }) : undefined;
  return {
    hash: tx.hash,
    aivmMsgType: tx.msgType,
    chainId: quantity(tx.chainId),
    nonce: quantity(tx.nonce),
    blockHash: pos.blockHash,
    blockNumber: quantity(pos.height),
    transactionIndex: quantity(pos.index),
    from: tx.from,
    to: send ? send.to : null,
    value: quantity(send ? send.amount : 0n),
    gas: quantity(tx.gasLimit),
    gasPrice: quantity(pos.paidPrice ?? tx.gasPrice),
    input: '0x',
    v: quantity(tx.signature[64] ?? 27),
    r: sigPart(tx.signature, 0),
    s: sigPart(tx.signature, 32),
  };
}

function paidPrice(rec: Pick<TxRecord, 'receipt' | 'tx'>): bigint {
  return rec.receipt.gasUsed > 0n ? rec.receipt.feeWei / rec.receipt.gasUsed : rec.tx.gasPrice;
}

async function ethBlockJson(api: NodeApi, rec: BlockRecord, full: boolean): Promise<Json> {
  const { header } = rec.block;
  const fees = await feeParams(api);
  const transactions: Json[] = rec.block.txs.map((raw, index) => {
    const receipt = rec.receipts[index];
    const hash = receipt ? bytesToHex(receipt.txHash) : ZERO_HASH;
    if (!full || !receipt) return hash;
    let tx: SignedTx;
    try {
      tx = decodeTx(raw, lookup(api));
    } catch {
      return hash;
    }
    if (!isEth(tx))
      return aivmTxJson(tx, {
        blockHash: rec.hash,
        height: header.height,
        index,
        paidPrice: paidPrice({ tx, receipt }),
      });
    return ethTxJson(tx, {
      blockHash: rec.hash,
      height: header.height,
      index,
      paidPrice: paidPrice({ tx, receipt }),
    });
  });
  return {
    number: quantity(header.height),
    hash: rec.hash,
    parentHash: bytesToHex(header.parentHash),
    nonce: '0x0000000000000000',
    mixHash: ZERO_HASH,
    sha3Uncles: EMPTY_UNCLES_HASH,
    logsBloom: LOGS_BLOOM_ZERO,
    transactionsRoot: bytesToHex(header.txRoot),
    stateRoot: bytesToHex(header.stateRoot),
    receiptsRoot: bytesToHex(header.resultsRoot),
    miner: header.proposer,
    difficulty: '0x0',
    totalDifficulty: '0x0',
    extraData: '0x',
    size: quantity(encodeBlock(rec.block).length),
    gasLimit: quantity(fees.blockGasLimit),
    gasUsed: quantity(header.gasUsed),
    timestamp: quantity(header.timeMs / 1000n),
    baseFeePerGas: quantity(fees.minGasPriceWei),
    transactions,
    uncles: [],
  };
}

async function ethReceiptJson(api: NodeApi, rec: TxRecord & { tx: EthSignedTx }): Promise<Json> {
  const block = await api.getBlock({ hash: rec.blockHash });
  let cumulative = 0n;
  if (block) for (const r of block.receipts.slice(0, rec.index + 1)) cumulative += r.gasUsed;
  else cumulative = rec.receipt.gasUsed;
  return {
    transactionHash: rec.tx.hash,
    transactionIndex: quantity(rec.index),
    blockHash: rec.blockHash,
    blockNumber: quantity(rec.height),
    from: rec.tx.from,
    to: (rec.tx.msg as { to: Address }).to,
    cumulativeGasUsed: quantity(cumulative),
    gasUsed: quantity(rec.receipt.gasUsed),
    effectiveGasPrice: quantity(paidPrice(rec)),
    contractAddress: null,
    logs: [],
    logsBloom: LOGS_BLOOM_ZERO,
    status: rec.receipt.code === 0 ? '0x1' : '0x0',
    type: rec.tx.eth.type === 'legacy' ? '0x0' : '0x2',
  };
}

/** Refuses what AIVM cannot run (no EVM): contract creation, call data, access lists. */
function requirePlainTransfer(p: z.output<typeof callParam>, what: string): Address {
  if (!p.to) {
    throw new TxRejected(
      ERR.UNSUPPORTED_TX,
      `contract creation is not supported: AIVM has no EVM (${what} must name \`to\`)`,
    );
  }
  const data = p.input ?? p.data;
  if (data !== undefined && data !== '0x') {
    throw new TxRejected(
      ERR.UNSUPPORTED_TX,
      `${what} with call data is not supported: AIVM has no EVM, an Ethereum transaction may only transfer value (data is ${(data.length - 2) / 2} bytes); sign other transactions as EIP-712 AIVM transactions`,
    );
  }
  if (p.accessList && p.accessList.length > 0) {
    throw new TxRejected(ERR.UNSUPPORTED_TX, 'access lists are not supported: AIVM has no EVM storage');
  }
  return p.to;
}

// ---------------------------------------------------------------------------------------------
// The methods

const EXAMPLE_ADDRESS = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const EXAMPLE_HASH = `0x${'ab'.repeat(32)}`;
const noParams = z.strictObject({});

export const ETH_METHODS: readonly RpcMethodDef[] = [
  defineEth({
    name: 'eth_chainId',
    description: 'The chain id (EIP-155 / EIP-695), hex.',
    params: noParams,
    positional: [],
    result: { name: 'chainId', description: 'Chain id', schema: quantityOut },
    errors: [],
    example: {},
    handler: (api) => quantity(api.chainId),
  }),

  defineEth({
    name: 'net_version',
    description: 'The chain id as a decimal string (the network id).',
    params: noParams,
    positional: [],
    result: { name: 'networkId', description: 'Chain id, decimal', schema: z.string().regex(/^[0-9]+$/) },
    errors: [],
    example: {},
    handler: (api) => api.chainId.toString(),
  }),

  defineEth({
    name: 'web3_clientVersion',
    description: 'The node software and version: aivm/<version>.',
    params: noParams,
    positional: [],
    result: { name: 'version', description: 'Client version', schema: z.string() },
    errors: [],
    example: {},
    handler: (api) => `aivm/${api.status().version}`,
  }),

  defineEth({
    name: 'eth_blockNumber',
    description: 'Height of the latest committed block, hex.',
    params: noParams,
    positional: [],
    result: { name: 'blockNumber', description: 'Head height', schema: quantityOut },
    errors: [],
    example: {},
    handler: (api) => quantity(headHeight(api)),
  }),

  defineEth({
    name: 'eth_syncing',
    description: 'Always false: the node serves the chain it has committed.',
    params: noParams,
    positional: [],
    result: { name: 'syncing', description: 'false', schema: z.literal(false) },
    errors: [],
    example: {},
    handler: () => false,
  }),

  defineEth({
    name: 'eth_accounts',
    description: 'Always []: the node holds no keys (wallets sign).',
    params: noParams,
    positional: [],
    result: { name: 'accounts', description: '[]', schema: z.array(addressOut).max(0) },
    errors: [],
    example: {},
    handler: () => [],
  }),

  defineEth({
    name: 'eth_getBalance',
    description:
      'CGPT balance of an account in wei (10^-18 CGPT), hex. State is served at the head only: latest, pending (the committed balance; the mempool is not applied), safe and finalized (BFT: every committed block is final) or the head number; another height is refused with -32602.',
    params: z.strictObject({
      address: ethAddressParam.describe('account address'),
      block: blockParam.optional(),
    }),
    positional: ['address', 'block'],
    result: { name: 'balance', description: 'Balance in wei', schema: quantityOut },
    errors: [],
    example: { address: EXAMPLE_ADDRESS, block: 'latest' },
    handler: async (api, p) => {
      requireLatest(api, p.block);
      return quantity((await api.getAccount(p.address)).balanceWei);
    },
  }),

  defineEth({
    name: 'eth_getTransactionCount',
    description:
      "An account's nonce (the shared AIVM nonce), hex: pending counts its transactions in the mempool, latest (and safe, finalized, the head number) only committed ones; another height is refused with -32602.",
    params: z.strictObject({
      address: ethAddressParam.describe('account address'),
      block: blockParam.optional(),
    }),
    positional: ['address', 'block'],
    result: { name: 'nonce', description: 'Next nonce', schema: quantityOut },
    errors: [],
    example: { address: EXAMPLE_ADDRESS, block: 'pending' },
    handler: async (api, p) => {
      requireLatest(api, p.block);
      const a = await api.getAccount(p.address);
      return quantity(p.block === 'pending' ? a.pendingNonce : a.nonce);
    },
  }),

  defineEth({
    name: 'eth_getCode',
    description:
      "Always 0x: AIVM has no EVM, so no account has code. The block is checked as eth_getBalance's.",
    params: z.strictObject({
      address: ethAddressParam.describe('account address'),
      block: blockParam.optional(),
    }),
    positional: ['address', 'block'],
    result: { name: 'code', description: '0x', schema: z.literal('0x') },
    errors: [],
    example: { address: EXAMPLE_ADDRESS, block: 'latest' },
    handler: (api, p) => {
      requireLatest(api, p.block);
      return '0x';
    },
  }),

  defineEth({
    name: 'eth_gasPrice',
    description:
      "The chain's gas price floor auth.minGasPriceWei (a legacy transfer pays its gasPrice), hex wei.",
    params: noParams,
    positional: [],
    result: { name: 'gasPrice', description: 'Wei per gas', schema: quantityOut },
    errors: [],
    example: {},
    handler: async (api) => quantity((await feeParams(api)).minGasPriceWei),
  }),

  defineEth({
    name: 'eth_maxPriorityFeePerGas',
    description:
      'Always 0x0: AIVM orders no transactions by tip, so an EIP-1559 transfer needs none; it pays min(maxFeePerGas, auth.minGasPriceWei + maxPriorityFeePerGas).',
    params: noParams,
    positional: [],
    result: { name: 'maxPriorityFeePerGas', description: '0x0', schema: quantityOut },
    errors: [],
    example: {},
    handler: () => '0x0',
  }),

  defineEth({
    name: 'eth_feeHistory',
    description: `Fee history of up to ${FEE_HISTORY_MAX_BLOCKS} blocks ending at newestBlock: baseFeePerGas is the chain's floor auth.minGasPriceWei (one more entry than blocks, for the next block), gasUsedRatio each block's gasUsed / auth.blockGasLimit, reward (with rewardPercentiles) 0x0 tips.`,
    params: z.strictObject({
      blockCount: z
        .union([
          quantityParam,
          z
            .number()
            .int()
            .nonnegative()
            .transform((n) => BigInt(n)),
        ])
        .describe('number of blocks, hex or a JSON number'),
      newestBlock: blockParam,
      rewardPercentiles: z
        .array(z.number().min(0).max(100))
        .max(100)
        .optional()
        .describe('ascending percentiles of tips to report'),
    }),
    positional: ['blockCount', 'newestBlock', 'rewardPercentiles'],
    result: {
      name: 'feeHistory',
      description: 'Fee history',
      schema: z.object({
        oldestBlock: quantityOut,
        baseFeePerGas: z.array(quantityOut),
        gasUsedRatio: z.array(z.number()),
        reward: z.array(z.array(quantityOut)).optional(),
      }),
    },
    errors: [],
    example: { blockCount: '0x4', newestBlock: 'latest', rewardPercentiles: [25, 75] },
    handler: async (api, p) => {
      const head = headHeight(api);
      const newest =
        typeof p.newestBlock === 'bigint' ? p.newestBlock : p.newestBlock === 'earliest' ? 1n : head;
      if (newest > head) {
        throw new RpcFailure(
          RPC_ERR.INVALID_PARAMS,
          `invalid params: newestBlock: ${quantity(newest)} is above the head ${quantity(head)}`,
        );
      }
      let count =
        p.blockCount < BigInt(FEE_HISTORY_MAX_BLOCKS) ? p.blockCount : BigInt(FEE_HISTORY_MAX_BLOCKS);
      if (count > newest) count = newest;
      const fees = await feeParams(api);
      const oldest = newest - count + 1n;
      const gasUsedRatio: number[] = [];
      for (let h = oldest; h <= newest; h++) {
        const rec = await api.getBlock({ height: h });
        const used = rec?.block.header.gasUsed ?? 0n;
        gasUsedRatio.push(Number(used) / Number(fees.blockGasLimit));
      }
      const out: { [key: string]: Json } = {
        oldestBlock: quantity(count === 0n ? newest : oldest),
        baseFeePerGas: Array.from({ length: Number(count) + 1 }, () => quantity(fees.minGasPriceWei)),
        gasUsedRatio,
      };
      if (p.rewardPercentiles) {
        const pct = p.rewardPercentiles;
        out.reward = gasUsedRatio.map(() => pct.map(() => '0x0'));
      }
      return out;
    },
  }),

  defineEth({
    name: 'eth_getBlockByNumber',
    description:
      "A block in Ethereum form: number, hash, parentHash, timestamp (seconds), gasLimit (auth.blockGasLimit), gasUsed, baseFeePerGas (the floor auth.minGasPriceWei), miner (the proposer), transactionsRoot and receiptsRoot (the AIVM header's txRoot and resultsRoot). transactions lists every transaction's hash; with full true, objects: Ethereum-signed transfers as eth_getTransactionByHash gives them, AIVM (EIP-712 signed) transactions without a type, with aivmMsgType, from, nonce, gas, gasPrice, to and value of a bank/send (else null and 0x0) and their EIP-712 signature's v, r, s (aivm_getBlock gives them in full). Tags latest, pending, safe and finalized all name the head (BFT: committed blocks are final).",
    params: z.strictObject({
      block: blockParam,
      full: z.boolean().optional().describe('transactions as objects (default false)'),
    }),
    positional: ['block', 'full'],
    result: { name: 'block', description: 'The block, or null when unknown', schema: EthBlockOut.nullable() },
    errors: [],
    example: { block: 'latest', full: false },
    handler: async (api, p) => {
      const rec = await blockAt(api, p.block);
      return rec ? ethBlockJson(api, rec, p.full ?? false) : null;
    },
  }),

  defineEth({
    name: 'eth_getBlockByHash',
    description: 'A block by hash, in the form of eth_getBlockByNumber.',
    params: z.strictObject({
      hash: hash32Param.describe('block hash'),
      full: z.boolean().optional().describe('transactions as objects (default false)'),
    }),
    positional: ['hash', 'full'],
    result: { name: 'block', description: 'The block, or null when unknown', schema: EthBlockOut.nullable() },
    errors: [],
    example: { hash: EXAMPLE_HASH, full: false },
    handler: async (api, p) => {
      const rec = await api.getBlock({ hash: p.hash });
      return rec ? ethBlockJson(api, rec, p.full ?? false) : null;
    },
  }),

  defineEth({
    name: 'eth_getTransactionByHash',
    description: `An Ethereum-signed transfer by its Ethereum hash: committed (with blockHash, blockNumber, transactionIndex), or pending (those null) when it was sent through this node's eth_sendRawTransaction and is still in the mempool (the last ${PENDING_CACHE_SIZE} are remembered). Null for unknown hashes and for AIVM transactions (EIP-712 signed; see aivm_getTx).`,
    params: z.strictObject({ hash: hash32Param.describe('transaction hash') }),
    positional: ['hash'],
    result: { name: 'transaction', description: 'The transaction, or null', schema: EthTxOut.nullable() },
    errors: [],
    example: { hash: EXAMPLE_HASH },
    handler: async (api, p) => {
      const rec = await api.getTx(p.hash);
      if (rec) {
        if (!isEth(rec.tx)) return null;
        return ethTxJson(rec.tx, {
          blockHash: rec.blockHash,
          height: rec.height,
          index: rec.index,
          paidPrice: paidPrice(rec),
        });
      }
      const cached = pendingCache(api).get(p.hash);
      if (!cached) return null;
      const status = await api.getTxStatus(p.hash);
      if (status.status !== 'pending') {
        if (status.status !== 'committed') pendingCache(api).delete(p.hash);
        return null;
      }
      return ethTxJson(cached, null);
    },
  }),

  defineEth({
    name: 'eth_getTransactionReceipt',
    description:
      'The receipt of a committed Ethereum-signed transfer: status (0x1 success), gasUsed, effectiveGasPrice (the price paid: feeWei / gasUsed), cumulativeGasUsed (over all transactions of the block before it, AIVM ones included), logs [] and a zero logsBloom (a transfer emits no EVM logs; aivm_getReceipt has its events). Null while pending, for unknown hashes and for AIVM transactions (see aivm_getReceipt).',
    params: z.strictObject({ hash: hash32Param.describe('transaction hash') }),
    positional: ['hash'],
    result: { name: 'receipt', description: 'The receipt, or null', schema: EthReceiptOut.nullable() },
    errors: [],
    example: { hash: EXAMPLE_HASH },
    handler: async (api, p) => {
      const rec = await api.getTx(p.hash);
      if (!rec || !isEth(rec.tx)) return null;
      pendingCache(api).delete(p.hash);
      return ethReceiptJson(api, rec as TxRecord & { tx: EthSignedTx });
    },
  }),

  defineEth({
    name: 'eth_sendRawTransaction',
    description:
      "Admits a signed transaction to the mempool (as aivm_sendRawTx) and returns its hash: an Ethereum-signed value transfer (legacy EIP-155 or EIP-1559), whose hash is the Ethereum transaction hash, or an AIVM transaction. Refusals are -32000 with the Ethereum wording, the chain's reason and data.code its ERR code: contract creation, call data and access lists (UNSUPPORTED_TX), another or no chain id (WRONG_CHAIN), nonce too low, insufficient funds, underpriced.",
    params: z.strictObject({
      data: z
        .string()
        .regex(/^0x(?:[0-9a-fA-F]{2})+$/, 'expected 0x-prefixed hex bytes')
        .max(2 + 2 * 64 * 1024, 'longer than 64 KiB')
        .describe('signed transaction bytes'),
    }),
    positional: ['data'],
    result: { name: 'hash', description: 'Transaction hash', schema: hashOut },
    errors: [ERR.TX_DECODE, ERR.WRONG_CHAIN, ERR.UNSUPPORTED_TX, ERR.NONCE_TOO_LOW, ERR.INSUFFICIENT_FUNDS],
    example: {
      data: '0x02f86d82053980843b9aca00844190ab00825208945aaeb6053f3e94c9b9a09f33669435e7ef1beaed8814d1120d7b16000080c080a0c1b0d0e8f3a1e6b2d4c5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708aa01e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3',
    },
    handler: async (api, p) => {
      const raw = hexToBytes(p.data);
      const hash = await api.sendRawTx(raw);
      try {
        const tx = decodeTx(raw, lookup(api));
        if (isEth(tx)) remember(api, tx);
      } catch {
        // admitted bytes decode; a failure here only means no pending view
      }
      return hash;
    },
  }),

  defineEth({
    name: 'eth_estimateGas',
    description: `Gas for a plain CGPT transfer: ${ETH_TRANSFER_GAS} (0x5208, what wallets assume; an Ethereum-signed transfer uses at most that), or the chain's estimate of the transfer when higher. With from, the transfer is first run on the latest state (aivm_estimateGas), so its refusal (insufficient funds ...) comes back as -32000. Data, contract creation (no to) and access lists are refused (-32000, UNSUPPORTED_TX): AIVM has no EVM.`,
    params: z.strictObject({ tx: callParam, block: blockParam.optional() }),
    positional: ['tx', 'block'],
    result: { name: 'gas', description: 'Gas, hex', schema: quantityOut },
    errors: [ERR.UNSUPPORTED_TX, ERR.INSUFFICIENT_FUNDS, ERR.MODULE],
    example: { tx: { from: EXAMPLE_ADDRESS, to: EXAMPLE_ADDRESS, value: '0xde0b6b3a7640000' } },
    handler: async (api, p) => {
      const to = requirePlainTransfer(p.tx, 'eth_estimateGas');
      requireLatest(api, p.block);
      let gas = ETH_TRANSFER_GAS;
      if (p.tx.from) {
        const draft: Parameters<NodeApi['estimateGas']>[0] = {
          from: p.tx.from,
          msgType: 'bank/send',
          msg: { to, amount: (p.tx.value ?? 0n).toString() },
        };
        const price = p.tx.gasPrice ?? p.tx.maxFeePerGas;
        if (price !== undefined) draft.gasPrice = price;
        const estimate = await api.estimateGas(draft);
        if (estimate > gas) gas = estimate;
      }
      return quantity(gas);
    },
  }),

  defineEth({
    name: 'eth_call',
    description:
      'Answers 0x for a call without data to an address (no account has code). A call with data or without to is refused (-32000, UNSUPPORTED_TX): AIVM has no EVM; read AIVM state with aivm_query.',
    params: z.strictObject({ tx: callParam, block: blockParam.optional() }),
    positional: ['tx', 'block'],
    result: { name: 'data', description: '0x', schema: z.literal('0x') },
    errors: [ERR.UNSUPPORTED_TX],
    example: { tx: { to: EXAMPLE_ADDRESS }, block: 'latest' },
    handler: (api, p) => {
      requirePlainTransfer(p.tx, 'eth_call');
      requireLatest(api, p.block);
      return '0x';
    },
  }),
];
