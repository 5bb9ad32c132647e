// The one table of JSON-RPC methods. Validation, dispatch, OpenRPC (rpc.discover), docs/rpc.md and
// the SDK's expectations all come from here; method names are final.

import { DEFAULT_CHUNK_BYTES } from '@aivm/blobs';
import { ChainError, ERR, INFERENCE_REQUEST_STATUSES, queryParamsFromJson, TxRejected } from '@aivm/chain';
import { CodecError, fromJson } from '@aivm/codec';
import { type Address, bytesToHex, type Hex, hexToBytes, isAddress } from '@aivm/crypto';
import { z } from 'zod';
import type { AttestationView, NodeApi } from '../api.ts';
import { BLOB_ERR, RPC_ERR, RpcFailure } from './errors.ts';
import { ETH_METHODS } from './eth.ts';
import { inferenceResultJson } from './inference-result.ts';
import { blockJson, type Json, receiptJson, statusJson, toJsonValue, txRecordJson } from './json.ts';
import { buildOpenRpc } from './openrpc.ts';
import { type SubscriptionHost, TOPICS } from './subscriptions.ts';

export type RpcTransport = 'http' | 'ws';

export type RpcContext = {
  transport: RpcTransport;
  /** The caller's client key (remote IP address): per-client limits are charged to it. */
  client: string;
  /** Present on WebSocket connections only. */
  subscriptions?: SubscriptionHost;
};

export type RpcMethodDef<P extends z.ZodType = z.ZodType> = {
  name: string;
  /** One or two sentences for docs and OpenRPC. */
  description: string;
  /** A by-name params object; every field documented with .describe(). */
  params: P;
  /**
   * Positional params (Ethereum clients send arrays): the params object's field names in order;
   * an array is mapped onto them before validation. By-name methods leave it out.
   */
  positional?: readonly string[];
  /** Errors in the form Ethereum wallets read (eth.ts: -32000 with the chain's reason). */
  ethErrors?: boolean;
  result: { name: string; description: string; schema: z.ZodType };
  /** Application error codes (ERR in @aivm/chain) this method can answer with, beyond the protocol ones. */
  errors: readonly number[];
  /** Transports that serve it; both when absent. */
  transports?: readonly RpcTransport[];
  /** Example params for the docs. */
  example: Record<string, unknown>;
  handler: (api: NodeApi, params: z.output<P>, ctx: RpcContext) => Json | Promise<Json>;
};

function defineMethod<P extends z.ZodType>(def: RpcMethodDef<P>): RpcMethodDef {
  return def as unknown as RpcMethodDef;
}

// ---------------------------------------------------------------------------------------------
// Param building blocks

const U64_MAX = (1n << 64n) - 1n;
const U256_MAX = (1n << 256n) - 1n;
const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;
const HEX_BYTES_RE = /^0x(?:[0-9a-fA-F]{2})*$/;

function uintParam(bits: 64 | 256) {
  const max = bits === 64 ? U64_MAX : U256_MAX;
  const digits = bits === 64 ? 20 : 78;
  return z
    .union(
      [
        z
          .string()
          .regex(DECIMAL_RE, 'expected a decimal integer string without leading zeros')
          .refine((s) => s.length <= digits && BigInt(s) <= max, `out of range for uint${bits}`),
        z.number().int('expected an integer').nonnegative('must not be negative'),
      ],
      { error: `expected a non-negative integer (a number, or a decimal string for large values)` },
    )
    .transform((v) => BigInt(v));
}

const hash32Param = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected 0x followed by 64 hex digits (32 bytes)')
  .transform((s) => s.toLowerCase() as Hex);

const addressParam = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected an address: 0x followed by 40 hex digits')
  .refine(isAddress, 'bad EIP-55 checksum (use all lower case or the checksummed form)')
  .transform((s) => s as Address);

function hexBytesParam(maxBytes: number) {
  return z
    .string()
    .regex(HEX_BYTES_RE, 'expected 0x-prefixed hex with an even number of digits')
    .min(4, 'empty')
    .max(2 + 2 * maxBytes, `longer than ${maxBytes} bytes`)
    .transform((s) => hexToBytes(s));
}

const jsonObjectParam = z.record(z.string(), z.unknown());

/** Shape only: the handler checks that it is a canonical id and answers BLOB_INVALID_ID otherwise. */
const blobIdParam = z
  .string()
  .min(1)
  .max(128)
  .describe('blob id = model id (CIDv1 raw sha2-256, base32 lower)');

// ---------------------------------------------------------------------------------------------
// Result shapes (documentation, and checked by the tests against real handler output)

const uintOut = z.string().regex(DECIMAL_RE).describe('decimal integer string');
const hashOut = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/)
  .describe('32-byte hex');
const hexOut = z.string().regex(HEX_BYTES_RE).describe('0x hex bytes');
const addressOut = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/)
  .describe('EIP-55 address');

const AttestationCommonOut = {
  domain: z
    .strictObject({ name: z.literal('AIVM'), version: z.literal('1'), chainId: uintOut })
    .describe('EIP-712 domain: the AIVM transactions domain'),
  digest: hashOut.describe('EIP-712 digest the validators signed'),
  height: uintOut.describe('height of the committed block that finalized the request / began the set'),
  setId: uintOut.describe('id of the attestation set whose members sign it'),
  signatures: z
    .array(
      z.strictObject({
        signer: addressOut.describe('attestation key (recovered from the signature)'),
        signature: hexOut.describe('65 bytes r || s || v (v 27 or 28)'),
      }),
    )
    .describe('signatures this node holds, by signer ascending'),
  signedPower: uintOut.describe("power of the signing set's members that signed"),
  totalPower: uintOut.describe("the signing set's total power (members without a key count too)"),
};

const ResultAttestationOut = z.strictObject({
  kind: z.literal('AivmResult'),
  message: z
    .strictObject({
      requestId: uintOut,
      modelId: hashOut.describe('sha256 digest inside the model CID'),
      tier: z.number().int().describe('1 on-chain, 2 zk, 4 optimistic'),
      inputHash: hashOut.describe('keccak256 of the input bytes'),
      outputHash: hashOut.describe('keccak256 of the output bytes as stored'),
    })
    .describe('AivmResult(uint64 requestId,bytes32 modelId,uint8 tier,bytes32 inputHash,bytes32 outputHash)'),
  ...AttestationCommonOut,
});

const SetAttestationOut = z.strictObject({
  kind: z.literal('AivmValidatorSet'),
  message: z
    .strictObject({
      setId: uintOut,
      membersHash: hashOut.describe('keccak256(abi.encode(address[] signers, uint64[] powers))'),
    })
    .describe('AivmValidatorSet(uint64 setId,bytes32 membersHash)'),
  members: z
    .array(z.strictObject({ signer: addressOut, power: uintOut }))
    .describe('the new set, in validator-set order (signer zero: no attestation key)'),
  ...AttestationCommonOut,
});

const StatusOut = z.strictObject({
  chainId: uintOut,
  genesisHash: hashOut,
  height: uintOut,
  headHash: hashOut,
  stateRoot: hashOut,
  timeMs: uintOut,
  mempool: z.strictObject({ count: z.number().int(), bytes: z.number().int() }),
  validator: addressOut.nullable(),
  version: z.string(),
});

const HeaderOut = z.strictObject({
  chainId: uintOut,
  height: uintOut,
  timeMs: uintOut,
  parentHash: hashOut,
  stateRoot: hashOut,
  txRoot: hashOut,
  resultsRoot: hashOut,
  validatorSetHash: hashOut,
  lastCommitHash: hashOut,
  gasUsed: uintOut,
  proposer: addressOut,
});

const ReceiptOut = z.strictObject({
  txHash: hashOut,
  success: z.boolean().describe('code is 0'),
  code: z.number().int().describe('0 on success, else the failure code (ERR table); hashed into resultsRoot'),
  gasUsed: uintOut,
  feeWei: uintOut,
  error: z.string().describe('empty on success; for people, not hashed, at most 512 bytes'),
  events: z.array(
    z.strictObject({
      module: z.string(),
      type: z.string(),
      attributes: z.array(z.strictObject({ key: z.string(), value: z.string() })),
    }),
  ),
});

const TxOut = z.strictObject({
  hash: hashOut,
  chainId: uintOut,
  from: addressOut,
  nonce: uintOut,
  gasLimit: uintOut,
  gasPrice: uintOut,
  msgType: z.string(),
  msg: jsonObjectParam.describe('the message in its JSON form (schema of msgType)'),
  signature: hexOut,
});

const TxRecordOut = TxOut.extend({
  blockHash: hashOut,
  height: uintOut,
  index: z.number().int(),
  receipt: ReceiptOut,
});

const ReceiptRecordOut = ReceiptOut.extend({ blockHash: hashOut, height: uintOut, index: z.number().int() });

const BlockOut = z.strictObject({
  hash: hashOut,
  header: HeaderOut,
  txs: z.union([z.array(hashOut), z.array(TxOut)]).describe('tx hashes, or full txs with fullTxs'),
  receipts: z.array(ReceiptOut).optional().describe('present with fullTxs'),
  lastCommit: z.strictObject({
    round: z.number().int(),
    signatures: z.array(z.strictObject({ validator: addressOut, signature: hexOut })),
  }),
});

const TxStatusOut = z
  .strictObject({
    status: z
      .enum(['pending', 'committed', 'dropped', 'unknown'])
      .describe(
        'pending | committed | dropped | unknown. pending: in the mempool; committed: in a block; dropped: left the mempool without being committed; unknown: never seen, or dropped too long ago',
      ),
    height: uintOut.optional().describe('committed: the block height'),
    reason: z.string().optional().describe('dropped: why, for people'),
    code: z
      .number()
      .int()
      .optional()
      .describe('dropped: the stable failure code (ERR table) where one applies'),
  })
  .superRefine((v, ctx) => {
    const allowed = v.status === 'committed' ? ['height'] : v.status === 'dropped' ? ['reason', 'code'] : [];
    for (const key of ['height', 'reason', 'code'] as const) {
      if (v[key] !== undefined && !allowed.includes(key))
        ctx.addIssue({ code: 'custom', path: [key], message: `not a field of status ${v.status}` });
    }
    if (v.status === 'committed' && v.height === undefined)
      ctx.addIssue({ code: 'custom', path: ['height'], message: 'required when committed' });
    if (v.status === 'dropped' && v.reason === undefined)
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'required when dropped' });
  });

const AccountOut = z.strictObject({
  address: addressOut,
  nonce: uintOut,
  pendingNonce: uintOut,
  balanceWei: uintOut,
});

const BlobUploadOut = z.strictObject({
  id: z.string(),
  size: z.number().int(),
  complete: z.boolean().describe('true once the whole blob was verified against its id and stored'),
  missing: z.array(z.number().int()).describe('chunk indexes still owed, ascending'),
});

const BlobStatOut = z.strictObject({
  size: z.number().int(),
  chunks: z.number().int(),
  chunkBytes: z.number().int(),
  chunkHashes: z
    .array(z.string().regex(/^[0-9a-f]{64}$/))
    .describe('lowercase hex sha256 of each chunk (empty while uploading)'),
  complete: z.boolean().describe('false while an upload is in progress'),
});

const int32Out = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(2 ** 31 - 1);

const InferenceResultOut = z.strictObject({
  output: z
    .array(int32Out)
    .describe('the int32 values the chain stores (what proofs and commitments are about)'),
  scale: z
    .number()
    .positive()
    .describe("a value in the model's units is output * scale (1 for an index output)"),
  kind: z
    .enum(['quant', 'index'])
    .describe('quant: values are output * scale; index: the output is class indices'),
  activation: z
    .enum(['softmax', 'log-softmax', 'sigmoid', 'argmax', 'none'])
    .describe("the model's last kernel (looking through reshape and transpose)"),
  values: z.array(z.number()).describe("output[i] * scale as float32, in the model's units"),
  argmax: z
    .number()
    .int()
    .min(-1)
    .describe(
      'the predicted class: first maximum of output (an argmax model: its output value); -1 when empty',
    ),
  probabilities: z
    .array(z.number())
    .optional()
    .describe(
      'only when the last kernel makes them: softmax and sigmoid (the values), log-softmax (exp of the values)',
    ),
  slot: z.number().int().nonnegative().describe('the slot the result is from: the first paid one'),
  paid: z.number().int().nonnegative().describe('paid slots'),
  slots: z.number().int().nonnegative().describe('slots of the request (its redundancy)'),
});

const InferenceRequestResultOut = z.strictObject({
  requestId: uintOut,
  modelId: z.string(),
  tier: z.string().describe('onchain | optimistic | zk'),
  status: z
    .enum(INFERENCE_REQUEST_STATUSES)
    .describe(`${INFERENCE_REQUEST_STATUSES.join(' | ')}; finalized and failed are final`),
  reason: z.string().describe('why it has this status, for people'),
  createdAt: uintOut.describe('height of the request'),
  updatedAt: uintOut.describe('height of its last change'),
  result: InferenceResultOut.nullable().describe(
    "{ output, scale, kind, activation, values, argmax, probabilities?, slot, paid, slots }, as the SDK's InferenceResult: output the int32 values the chain stores; scale (values = output * scale as float32, in the model's units); kind quant, or index (class indices, scale 1); activation the last kernel (softmax, log-softmax, sigmoid, argmax or none); argmax the predicted class (first maximum of output); probabilities only when the last kernel makes them; slot the first paid slot, whose output this is; paid of slots. Set once the request is finalized or failed with a paid slot; null before, without one, or with resultUnavailable",
  ),
  resultUnavailable: z
    .string()
    .optional()
    .describe(
      "present when the request has a result that the node cannot read in the model's units (no artifact): why",
    ),
});

// ---------------------------------------------------------------------------------------------
// Helpers

/** The node's blob functions, or METHOD_NOT_SUPPORTED when it has none. */
function blobApi<K extends 'blobUploadChunk' | 'blobStat' | 'blobChunk'>(
  api: NodeApi,
  key: K,
): NonNullable<NodeApi[K]> {
  const fn = api[key];
  if (!fn) throw new RpcFailure(RPC_ERR.METHOD_NOT_SUPPORTED, 'this node serves no artifact blobs');
  return fn.bind(api) as NonNullable<NodeApi[K]>;
}

function attestationApi<K extends 'getAttestations' | 'getValidatorSetAttestation'>(
  api: NodeApi,
  key: K,
): NonNullable<NodeApi[K]> {
  const fn = api[key];
  if (!fn) throw new RpcFailure(RPC_ERR.METHOD_NOT_SUPPORTED, 'this node keeps no attestations');
  return fn.bind(api) as NonNullable<NodeApi[K]>;
}

function attestationJson(v: AttestationView): Json {
  return {
    kind: v.kind,
    domain: { name: v.domain.name, version: v.domain.version, chainId: v.domain.chainId.toString() },
    message: v.message,
    ...(v.members
      ? { members: v.members.map((m) => ({ signer: m.signer, power: m.power.toString() })) }
      : {}),
    digest: v.digest,
    height: v.height.toString(),
    setId: v.setId.toString(),
    signatures: v.signatures,
    signedPower: v.signedPower.toString(),
    totalPower: v.totalPower.toString(),
  };
}

/** Parses a JSON value against a codec schema, reporting the field under `prefix`. */
function codecParams<T>(prefix: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof CodecError) {
      const field = err.path ? `${prefix}.${err.path}` : prefix;
      const detail = err.path ? err.message.slice(err.path.length + 2) : err.message;
      throw new RpcFailure(RPC_ERR.INVALID_PARAMS, `invalid params: ${field}: ${detail}`);
    }
    throw err;
  }
}

const SEND_ERRORS = [
  ERR.TX_DECODE,
  ERR.WRONG_CHAIN,
  ERR.BAD_SIGNATURE,
  ERR.NONCE_TOO_LOW,
  ERR.NONCE_GAP,
  ERR.INSUFFICIENT_FUNDS,
  ERR.MEMPOOL_FULL,
  ERR.TX_TOO_LARGE,
  ERR.UNDERPRICED,
  ERR.UNKNOWN_MESSAGE,
  ERR.GAS_LIMIT,
  ERR.ALREADY_KNOWN,
] as const;

const EXAMPLE_ADDRESS = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const EXAMPLE_HASH = `0x${'ab'.repeat(32)}`;
const EXAMPLE_BLOB_ID = 'bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba';

// ---------------------------------------------------------------------------------------------
// The table

export const RPC_METHODS: readonly RpcMethodDef[] = [
  defineMethod({
    name: 'aivm_status',
    description: 'Chain id, head of the chain, mempool size and node version.',
    params: z.strictObject({}),
    result: { name: 'status', description: 'Node status', schema: StatusOut },
    errors: [],
    example: {},
    handler: (api) => statusJson(api.status()),
  }),

  defineMethod({
    name: 'aivm_getBlock',
    description:
      'A block by height or hash (the latest when neither is given), with tx hashes, or full transactions and receipts with fullTxs.',
    params: z
      .strictObject({
        height: uintParam(64).optional().describe('block height'),
        hash: hash32Param.optional().describe('block hash'),
        fullTxs: z.boolean().optional().describe('include decoded transactions and their receipts'),
      })
      .refine((p) => p.height === undefined || p.hash === undefined, {
        message: 'give height or hash, not both',
        path: ['hash'],
      }),
    result: { name: 'block', description: 'The block, or null when unknown', schema: BlockOut.nullable() },
    errors: [],
    example: { height: '42', fullTxs: false },
    handler: async (api, p) => {
      const ref: { height?: bigint; hash?: Hex } = {};
      if (p.height !== undefined) ref.height = p.height;
      if (p.hash !== undefined) ref.hash = p.hash;
      const rec = await api.getBlock(ref);
      return rec ? blockJson(rec, api.registry, p.fullTxs ?? false) : null;
    },
  }),

  defineMethod({
    name: 'aivm_getTx',
    description: 'A committed transaction by hash, with its block position and receipt.',
    params: z.strictObject({ hash: hash32Param.describe('transaction hash') }),
    result: {
      name: 'tx',
      description: 'The transaction, or null when not committed',
      schema: TxRecordOut.nullable(),
    },
    errors: [],
    example: { hash: EXAMPLE_HASH },
    handler: async (api, p) => {
      const rec = await api.getTx(p.hash);
      return rec ? txRecordJson(rec, api.registry) : null;
    },
  }),

  defineMethod({
    name: 'aivm_getReceipt',
    description:
      'The receipt of a committed transaction: success and failure code, gas used, fee, error text and events.',
    params: z.strictObject({ hash: hash32Param.describe('transaction hash') }),
    result: {
      name: 'receipt',
      description: 'The receipt with blockHash, height and index, or null when not committed',
      schema: ReceiptRecordOut.nullable(),
    },
    errors: [],
    example: { hash: EXAMPLE_HASH },
    handler: async (api, p) => {
      const rec = await api.getTx(p.hash);
      if (!rec) return null;
      return {
        ...(receiptJson(rec.receipt) as { [key: string]: Json }),
        blockHash: rec.blockHash,
        height: rec.height.toString(),
        index: rec.index,
      };
    },
  }),

  defineMethod({
    name: 'aivm_getTxStatus',
    description:
      'Where a transaction stands on this node: pending in the mempool, committed (with its height), dropped from the mempool without being committed (with the reason and code; by default the last 10,000 dropped are remembered), or unknown.',
    params: z.strictObject({ hash: hash32Param.describe('transaction hash') }),
    result: { name: 'txStatus', description: 'The status', schema: TxStatusOut },
    errors: [],
    example: { hash: EXAMPLE_HASH },
    handler: async (api, p): Promise<Json> => {
      const s = await api.getTxStatus(p.hash);
      switch (s.status) {
        case 'committed':
          return { status: s.status, height: s.height.toString() };
        case 'dropped':
          return s.code === undefined
            ? { status: s.status, reason: s.reason }
            : { status: s.status, reason: s.reason, code: s.code };
        default:
          return { status: s.status };
      }
    },
  }),

  defineMethod({
    name: 'aivm_getAccount',
    description: 'Nonce (committed and pending, counting the mempool) and balance of an account.',
    params: z.strictObject({ address: addressParam.describe('account address') }),
    result: { name: 'account', description: 'Account state', schema: AccountOut },
    errors: [],
    example: { address: EXAMPLE_ADDRESS },
    handler: async (api, p) => {
      const a = await api.getAccount(p.address);
      return {
        address: a.address,
        nonce: a.nonce.toString(),
        pendingNonce: a.pendingNonce.toString(),
        balanceWei: a.balanceWei.toString(),
      };
    },
  }),

  defineMethod({
    name: 'aivm_getBalance',
    description: 'CGPT balance of an account in wei (10^-18 CGPT).',
    params: z.strictObject({ address: addressParam.describe('account address') }),
    result: {
      name: 'balance',
      description: 'Balance in wei',
      schema: z.strictObject({ address: addressOut, balanceWei: uintOut }),
    },
    errors: [],
    example: { address: EXAMPLE_ADDRESS },
    handler: async (api, p) => {
      const a = await api.getAccount(p.address);
      return { address: a.address, balanceWei: a.balanceWei.toString() };
    },
  }),

  defineMethod({
    name: 'aivm_getProof',
    description:
      'Merkle proof of inclusion (or exclusion) of a raw state key against the state root at a height (default latest).',
    params: z.strictObject({
      key: hexBytesParam(256).describe('raw state key bytes, at most 256'),
      height: uintParam(64).optional().describe('block height (default latest)'),
    }),
    result: {
      name: 'proof',
      description: 'The proof in JSON form (bytes as hex, integers as decimal strings)',
      schema: z.strictObject({ height: uintOut, proof: z.unknown() }),
    },
    errors: [ERR.NOT_FOUND],
    example: { key: '0x62616e6b2f62616c2f', height: '42' },
    handler: async (api, p) => {
      const proven = await api.getProof(p.key, p.height);
      return { height: proven.height.toString(), proof: toJsonValue(proven.proof) };
    },
  }),

  defineMethod({
    name: 'aivm_sendRawTx',
    description: 'Admits a signed transaction (wire bytes) to the mempool and returns its hash.',
    params: z.strictObject({
      tx: hexBytesParam(64 * 1024).describe('signed transaction bytes, at most 64 KiB'),
    }),
    result: {
      name: 'sent',
      description: 'Hash of the admitted transaction',
      schema: z.strictObject({ hash: hashOut }),
    },
    errors: SEND_ERRORS,
    example: {
      tx: '0xf8878205399419e7e376e7c213b7e7e7e46cc70a5dd086daff2a8082c350843b9aca008962616e6b2f73656e64d8945aaeb6053f3e94c9b9a09f33669435e7ef1beaed8203e8b841fa2c207dc5f1317094bb3edfbe6e93cf6d4f206752f56480a529fd3185bfe210276bd68278969ae15189859cc76ef7ba99ccae25bb147162d732d19860c403531c',
    },
    handler: async (api, p) => ({ hash: await api.sendRawTx(p.tx) }),
  }),

  defineMethod({
    name: 'aivm_estimateGas',
    description:
      'Gas a transaction would use on top of the latest state. Fails with the error the message would hit.',
    params: z.strictObject({
      from: addressParam.describe('sender'),
      msgType: z.string().min(1).max(64).describe('message type, e.g. bank/send'),
      msg: jsonObjectParam.describe('the message in JSON form (integers as decimal strings, bytes as hex)'),
      gasPrice: uintParam(256).optional().describe('gas price in wei'),
    }),
    result: { name: 'estimate', description: 'Gas used', schema: z.strictObject({ gas: uintOut }) },
    errors: [ERR.UNKNOWN_MESSAGE, ERR.INSUFFICIENT_FUNDS, ERR.MODULE, ERR.OUT_OF_GAS],
    example: { from: EXAMPLE_ADDRESS, msgType: 'bank/send', msg: { to: EXAMPLE_ADDRESS, amount: '1000' } },
    handler: async (api, p) => {
      const def = api.registry.message(p.msgType);
      if (!def) throw new TxRejected(ERR.UNKNOWN_MESSAGE, `unknown message type: ${p.msgType}`);
      codecParams('msg', () => fromJson(def.schema, p.msg));
      const draft: Parameters<NodeApi['estimateGas']>[0] = { from: p.from, msgType: p.msgType, msg: p.msg };
      if (p.gasPrice !== undefined) draft.gasPrice = p.gasPrice;
      return { gas: (await api.estimateGas(draft)).toString() };
    },
  }),

  defineMethod({
    name: 'aivm_query',
    description: 'Read-only module query by path (e.g. bank/balance, auth/params); params in JSON form.',
    params: z.strictObject({
      path: z.string().min(1).max(128).describe('module/query, e.g. bank/balance'),
      params: jsonObjectParam.optional().describe('query params in JSON form (default {})'),
    }),
    result: { name: 'result', description: 'The query result in JSON form', schema: z.unknown() },
    errors: [ERR.NOT_FOUND],
    example: { path: 'bank/balance', params: { address: EXAMPLE_ADDRESS } },
    handler: async (api, p) => {
      const def = api.registry.query(p.path);
      if (!def) {
        throw new ChainError(
          ERR.NOT_FOUND,
          `unknown query path: ${p.path} (known: ${api.registry.queryPaths().join(', ')})`,
        );
      }
      const params = p.params ?? {};
      codecParams('params', () => queryParamsFromJson(def, params));
      return toJsonValue(await api.query(p.path, params));
    },
  }),

  defineMethod({
    name: 'aivm_getInferenceResult',
    description:
      "An inference request's status and, once it is finalized or failed with a paid slot, its result in the model's units, read as the SDK does: the first paid slot's int32 output with the model's output scale, the values (output * scale), the predicted class and, when the model's last kernel is softmax, log-softmax or sigmoid, probabilities. The scale and last kernel come from the model's artifact (the node's blob store, else the copy on chain); when neither is there, result is null and resultUnavailable says why.",
    params: z.strictObject({ requestId: uintParam(64).describe('inference request id') }),
    result: {
      name: 'inferenceResult',
      description: 'The request and its result, or null when no request has this id',
      schema: InferenceRequestResultOut.nullable(),
    },
    errors: [],
    example: { requestId: '7' },
    handler: (api, p) => inferenceResultJson(api, p.requestId),
  }),

  defineMethod({
    name: 'aivm_getAttestations',
    description:
      "Validators' attestation of a finalized inference request's result (docs/evm.md): the EIP-712 AivmResult message, its digest, and the signatures this node collected (its own and gossiped ones) by members of the attestation set in force after the block that finalized it, with their signed and total power. A contract accepts it with signatures of more than 2/3 of the power. Null when this node has none (not finalized, or older than its retention).",
    params: z.strictObject({ requestId: uintParam(64).describe('inference request id') }),
    result: {
      name: 'attestation',
      description: 'The attestation, or null',
      schema: ResultAttestationOut.nullable(),
    },
    errors: [],
    example: { requestId: '7' },
    handler: async (api, p) => {
      const v = await attestationApi(api, 'getAttestations')(p.requestId);
      return v ? attestationJson(v) : null;
    },
  }),

  defineMethod({
    name: 'aivm_getValidatorSetAttestation',
    description:
      "The attestation of attestation set setId by the members of set setId - 1 (docs/evm.md): the EIP-712 AivmValidatorSet message, the new set's members (what membersHash hashes), the digest, the signatures this node collected and the signed and total power of set setId - 1. A light client moves from set n - 1 to n with more than 2/3 of it. Null when this node has none (the genesis set, or older than its retention).",
    params: z.strictObject({ setId: uintParam(64).describe('attestation set id') }),
    result: {
      name: 'attestation',
      description: 'The attestation, or null',
      schema: SetAttestationOut.nullable(),
    },
    errors: [],
    example: { setId: '2' },
    handler: async (api, p) => {
      const v = await attestationApi(api, 'getValidatorSetAttestation')(p.setId);
      return v ? attestationJson(v) : null;
    },
  }),

  defineMethod({
    name: 'aivm_blobUploadChunk',
    description: `Uploads one chunk of the artifact blob of a published model, named by its id (the model id) and size (its artifactSize). Send models/publish first: the node opens uploads only for models uploading or active, and only when the request carries the model owner's EIP-712 signature of BlobUpload(string id, uint64 size) (domain AIVM, version 1, the chain id); every chunk carries the same signature. Chunks are ${DEFAULT_CHUNK_BYTES} bytes (the last one the remainder) and may come in any order; after the last one the node verifies the whole blob against its id and stores it. Limits: uploads in progress per client (remote IP) and node-wide; only a chunk the upload did not have counts as progress, an upload without progress is dropped after uploadIdleMs, and one that has stalled (no progress for uploadStallMs, or slower than minUploadBytesPerSec) gives its slot to a new upload when the node is full.`,
    params: z.strictObject({
      id: blobIdParam,
      size: z.number().int('expected an integer').min(1, 'must be at least 1').describe('blob size in bytes'),
      index: z
        .number()
        .int('expected an integer')
        .nonnegative('must not be negative')
        .describe('chunk index'),
      data: hexBytesParam(DEFAULT_CHUNK_BYTES).describe(
        `chunk bytes, 0x hex: ${DEFAULT_CHUNK_BYTES} bytes except the last chunk`,
      ),
      signature: hexBytesParam(65)
        .optional()
        .describe(
          "the model owner's 65-byte EIP-712 signature (r || s || v) of BlobUpload(id, size), the same on every chunk",
        ),
    }),
    result: { name: 'upload', description: 'Where the upload stands', schema: BlobUploadOut },
    errors: [
      BLOB_ERR.INVALID_ID,
      BLOB_ERR.TOO_LARGE,
      BLOB_ERR.CORRUPT,
      BLOB_ERR.UPLOAD_CAPACITY,
      BLOB_ERR.NOT_PUBLISHED,
      BLOB_ERR.UPLOAD_UNAUTHORIZED,
      RPC_ERR.LIMIT_EXCEEDED,
    ],
    example: { id: EXAMPLE_BLOB_ID, size: 4, index: 0, data: '0x74657374' },
    handler: async (api, p, ctx) =>
      blobApi(api, 'blobUploadChunk')(p.id, p.size, p.index, p.data, {
        client: ctx.client,
        ...(p.signature ? { signature: p.signature } : {}),
      }),
  }),

  defineMethod({
    name: 'aivm_blobStat',
    description:
      'Size and chunk layout of a stored artifact blob, or of an upload in progress (complete false).',
    params: z.strictObject({ id: blobIdParam }),
    result: {
      name: 'blob',
      description: 'The blob, or null when neither stored nor being uploaded',
      schema: BlobStatOut.nullable(),
    },
    errors: [BLOB_ERR.INVALID_ID, BLOB_ERR.CORRUPT],
    example: { id: EXAMPLE_BLOB_ID },
    handler: async (api, p) => (await blobApi(api, 'blobStat')(p.id)) ?? null,
  }),

  defineMethod({
    name: 'aivm_blobChunk',
    description:
      'One chunk of a stored artifact blob, verified against its hash by the node; check the whole blob against its id.',
    params: z.strictObject({
      id: blobIdParam,
      index: z
        .number()
        .int('expected an integer')
        .nonnegative('must not be negative')
        .describe('chunk index'),
    }),
    result: {
      name: 'chunk',
      description: 'The chunk bytes',
      schema: z.strictObject({ id: z.string(), index: z.number().int(), data: hexOut }),
    },
    errors: [BLOB_ERR.INVALID_ID, BLOB_ERR.NOT_FOUND, BLOB_ERR.CORRUPT],
    example: { id: EXAMPLE_BLOB_ID, index: 0 },
    handler: async (api, p) => ({
      id: p.id,
      index: p.index,
      data: bytesToHex(await blobApi(api, 'blobChunk')(p.id, p.index)),
    }),
  }),

  defineMethod({
    name: 'aivm_subscribe',
    description:
      'WebSocket only. Subscribes to newBlocks, txResults or events; notifications arrive as aivm_subscription with { subscription, result }, after the block is committed. Limits: subscriptions per connection (default 64) and per client (remote IP, over all its connections; default 256), LIMIT_EXCEEDED past either; a connection whose unsent data passes maxWsBufferedBytes (default 4 MiB) is closed with code 1008 (slow consumer) and loses its subscriptions.',
    transports: ['ws'],
    params: z
      .strictObject({
        topic: z.enum(TOPICS).describe('newBlocks | txResults | events'),
        filter: z
          .strictObject({
            module: z.string().max(64).optional().describe('events: module name'),
            type: z.string().max(64).optional().describe('events: event type'),
            txHash: hash32Param.optional().describe('txResults, events: only this transaction'),
          })
          .optional()
          .describe('narrows the notifications'),
      })
      .superRefine((p, ctx) => {
        const f = p.filter ?? {};
        const allowed =
          p.topic === 'newBlocks' ? [] : p.topic === 'txResults' ? ['txHash'] : ['module', 'type', 'txHash'];
        for (const key of Object.keys(f)) {
          if (!allowed.includes(key)) {
            ctx.addIssue({
              code: 'custom',
              path: ['filter', key],
              message: `not a filter of topic ${p.topic}`,
            });
          }
        }
      }),
    result: {
      name: 'subscription',
      description:
        'Subscription id. Results: newBlocks { hash, height, header }; txResults { hash, height, index, receipt }; events { module, type, attributes, height, txHash }',
      schema: z.string().regex(/^0x[0-9a-f]{32}$/),
    },
    errors: [RPC_ERR.LIMIT_EXCEEDED],
    example: { topic: 'events', filter: { module: 'bank', type: 'transfer' } },
    handler: (_api, p, ctx) => {
      if (!ctx.subscriptions) {
        throw new RpcFailure(
          RPC_ERR.METHOD_NOT_SUPPORTED,
          'aivm_subscribe needs a WebSocket connection (ws://<host>:<port>/ws)',
        );
      }
      return ctx.subscriptions.subscribe(p.topic, p.filter ?? {});
    },
  }),

  defineMethod({
    name: 'aivm_unsubscribe',
    description: 'WebSocket only. Ends a subscription of this connection.',
    transports: ['ws'],
    params: z.strictObject({ subscription: z.string().max(66).describe('id returned by aivm_subscribe') }),
    result: { name: 'removed', description: 'true when the subscription existed', schema: z.boolean() },
    errors: [],
    example: { subscription: '0x4a8f0c2d9e1b3a5c7d9f1e3a5b7c9d0e' },
    handler: (_api, p, ctx) => {
      if (!ctx.subscriptions) {
        throw new RpcFailure(RPC_ERR.METHOD_NOT_SUPPORTED, 'aivm_unsubscribe needs a WebSocket connection');
      }
      return ctx.subscriptions.unsubscribe(p.subscription);
    },
  }),

  ...ETH_METHODS,

  defineMethod({
    name: 'rpc.discover',
    description: 'This API as an OpenRPC 1.2.6 document.',
    params: z.strictObject({}),
    result: {
      name: 'OpenRPC Schema',
      description: 'OpenRPC document generated from the method table',
      schema: z.record(z.string(), z.unknown()),
    },
    errors: [],
    example: {},
    handler: () => openRpcDocument(),
  }),
];

export const RPC_METHOD_INDEX: ReadonlyMap<string, RpcMethodDef> = new Map(
  RPC_METHODS.map((m) => [m.name, m]),
);

let openRpcCache: Json | undefined;
function openRpcDocument(): Json {
  openRpcCache ??= buildOpenRpc(RPC_METHODS) as Json;
  return openRpcCache;
}
