// Seeded transaction fuzzer of the whole state machine: a schema-driven generator of signed
// transactions for every registered message type (edge values, field-aware adversarial values,
// ids harvested from events so messages reach deep states), and an in-process runner that builds
// each block on one test chain, re-executes it on a second one (the verification path) and checks
// determinism, that no block build throws, and the registered invariants after every block.
// Node only (test support); integers only, no Math.random: one seed replays one run exactly.

import { decodeRlp, encodeRlp, type FieldType, type RlpItem, type StructType } from '@aivm/codec';
import { proposerFor } from '@aivm/consensus/proposer';
import {
  type Address,
  bytesToHex,
  ed25519PublicKey,
  ed25519Sign,
  equalBytes,
  privateKeyToAddress,
  signDigest,
} from '@aivm/crypto';
import { buildOnnxModel, encodeArtifact, importOnnx, modelId, quantize } from '@aivm/runtime';
import {
  BONDED_POOL,
  FEE_COLLECTOR,
  moduleAddress,
  NOT_BONDED_POOL,
  validatorAddress,
  ZERO_ADDRESS,
} from '../accounts.ts';
import {
  type AivmResult,
  aivmResultDigest,
  aivmValidatorSetDigest,
  signAttestationKeyProof,
  signedResult,
  signedValidatorSet,
} from '../attestation.ts';
import {
  type Block,
  headerHash,
  type Receipt,
  VOTE_PRECOMMIT,
  VOTE_PREVOTE,
  type VoteKind,
  validatorSetHash,
  voteSignBytes,
} from '../block.ts';
import { DEC } from '../dec.ts';
import { TxRejected } from '../errors.ts';
import { type EthTxType, signEthTransfer } from '../eth-tx.ts';
import { BlockExecution, type BlockResult, lastCommitHash } from '../execute.ts';
import { checkInvariants, type Registry, readParams } from '../module.ts';
import { authParams } from '../modules/auth/params.ts';
import { WEI_PER_CGPT } from '../modules/bank/module.ts';
import { PROPOSAL_KINDS, VOTE_OPTIONS } from '../modules/gov/messages.ts';
import { signTx } from '../tx.ts';
import { readValidatorSet } from '../validators.ts';
import { createTestChain, importBlock, makeLastCommit, type TestChain } from './index.ts';

// ---------------------------------------------------------------------------------------------
// Seeded integers

/** sfc32: a small-state 32-bit generator on integer operations only (reproducible everywhere). */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** 0..n-1 (n up to 2^32). */
  int(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }

  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability num/den. */
  chance(num: number, den: number): boolean {
    return this.int(den) < num;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bigint(bits: number): bigint {
    let v = 0n;
    for (let i = 0; i < bits; i += 32) v = (v << 32n) | BigInt(this.u32());
    return v & ((1n << BigInt(bits)) - 1n);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const x = this.u32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (x >>> (8 * j)) & 0xff;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// The world the generator knows: senders, validators, ids seen so far

export type FuzzSender = { privateKey: Uint8Array; address: Address };

export type FuzzValidator = {
  operator: Address;
  consensusAddress: Address;
  consensusPubKey: Uint8Array;
  /** Known only in-process: lets the fuzzer forge real double-sign evidence. */
  consensusKey?: Uint8Array;
  /** Known only in-process: the attestation key, for real attestation equivocation evidence. */
  attestationKey?: Uint8Array;
};

export type FuzzTx = {
  msgType: string;
  msg: Record<string, unknown>;
  sender: number;
  gasLimit: bigint;
  gasPrice: bigint;
  /** How it was made: a scripted valid step, all fields plausible, one edge field, or all edge. */
  mode: 'script' | 'plausible' | 'edge' | 'wild';
  /** A bank/send signed as an Ethereum transaction (eth-tx.ts) instead, valid or one way broken. */
  eth?: { type: EthTxType; variant: EthVariant };
};

/** How an Ethereum-signed transfer is made: valid, or broken in one way the chain must refuse. */
export const ETH_VARIANTS = [
  'valid',
  'wrongChain',
  'noChainId',
  'highS',
  'data',
  'creation',
  'accessList',
  'tipAboveMax',
  'truncated',
  'otherType',
] as const;
export type EthVariant = (typeof ETH_VARIANTS)[number];

/** A tiny real model (Gemm 4 -> 3), chain-shaped, so requests and disputes can reach deep states. */
export type FuzzModel = { id: string; artifact: Uint8Array; inputSchema: string; outputSchema: string };

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The malleable twin of a low-s signature: s' = n - s and v flipped (recovers, but is refused). */
function highS(sig: Uint8Array): Uint8Array {
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(sig[i]!);
  let hs = SECP256K1_N - s;
  const out = sig.slice();
  for (let i = 63; i >= 32; i--) {
    out[i] = Number(hs & 0xffn);
    hs >>= 8n;
  }
  out[64] = sig[64] === 27 ? 28 : 27;
  return out;
}

let tinyModel: FuzzModel | undefined;

export function fuzzModel(): FuzzModel {
  if (tinyModel) return tinyModel;
  const det = (n: number, seed: number) => {
    const out = new Float32Array(n);
    let s = seed;
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      out[i] = (s >>> 8) / 2 ** 24 - 0.5;
    }
    return out;
  };
  const graph = importOnnx(
    buildOnnxModel({
      name: 'fuzz',
      opset: 13,
      inputs: [{ name: 'x', shape: ['N', 4] }],
      outputs: [{ name: 'y', shape: ['N', 3] }],
      initializers: { w: { dtype: 'float32', shape: [3, 4], data: det(12, 7) } },
      nodes: [
        { op: 'Gemm', inputs: ['x', 'w'], outputs: ['g'], attrs: { transB: 1 } },
        { op: 'Relu', inputs: ['g'], outputs: ['y'] },
      ],
    }),
  );
  const q = quantize(graph, [{ x: { dtype: 'float32', shape: [8, 4], data: det(32, 11) } }]);
  const artifact = encodeArtifact(q);
  tinyModel = { id: modelId(artifact), artifact, inputSchema: '[1,4]', outputSchema: '[1,3]' };
  return tinyModel;
}

const CGPT = WEI_PER_CGPT;
const U256_MAX = (1n << 256n) - 1n;
const FF_ADDRESS = '0xffffffffffffffffffffffffffffffffffffffff' as Address;

/** Unicode pieces of 1..4 UTF-8 bytes, plus the troublemakers (NUL, BOM, RTL, zero width). */
const UNICODE = [
  'a',
  'é',
  'ß',
  '中',
  '€',
  '😀',
  '\u0000',
  '\ufeff',
  '\u202e',
  '\u200b',
  'Ω',
  '\n',
  '"',
  '\\',
];

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** Repeats `piece` to exactly `bytes` UTF-8 bytes (padding with 'x' where a piece would overflow). */
function fillBytes(piece: string, bytes: number): string {
  const size = utf8Length(piece);
  const n = Math.floor(bytes / size);
  return piece.repeat(n) + 'x'.repeat(bytes - n * size);
}

function hexOf(rng: Rng, n: number): string {
  return bytesToHex(rng.bytes(n)).slice(2);
}

export type FuzzerOptions = {
  seed: number;
  registry: Registry;
  chainId: bigint;
  senders: FuzzSender[];
  validators: FuzzValidator[];
  /** Message types to generate (default: every registered one). */
  types?: string[];
  /** Generate the types in turn (equal counts) instead of at random. */
  perType?: boolean;
  /**
   * Live networks: no new validator may join with a key nobody runs (it would hold voting power
   * offline), and operators send only the messages only they can send.
   */
  protectValidators?: boolean;
};

/** Generates fuzzed transactions; learns ids from the events of the blocks it is shown. */
export class TxFuzzer {
  readonly rng: Rng;
  readonly registry: Registry;
  readonly chainId: bigint;
  readonly senders: FuzzSender[];
  readonly validators: FuzzValidator[];
  readonly types: string[];
  readonly model = fuzzModel();
  /** Chain facts the runner keeps current. */
  height = 1n;
  gasPrice = 1_000_000_000n;
  maxTxGas = 10_000_000n;
  readonly modelIds = new Set<string>();
  readonly proposalIds = new Set<bigint>();
  readonly requestIds = new Set<bigint>();
  readonly seenAddresses = new Set<Address>();
  /** Consensus secret keys of the validators this fuzzer may create, by lowercased consensus address. */
  readonly consensusKeys = new Map<string, Uint8Array>();
  readonly #perType: boolean;
  readonly #protect: boolean;
  #made = 0;
  #order: string[] = [];
  #script: { msgType: string; msg: Record<string, unknown>; sender: number }[] = [];
  #scriptRound = 0;
  readonly #moduleAccounts: Address[];

  constructor(opts: FuzzerOptions) {
    this.rng = new Rng(opts.seed);
    this.registry = opts.registry;
    this.chainId = opts.chainId;
    this.senders = opts.senders;
    this.validators = opts.validators;
    this.types = opts.types ?? opts.registry.messageTypes();
    this.#perType = opts.perType ?? false;
    this.#protect = opts.protectValidators ?? false;
    this.#moduleAccounts = [
      ...opts.registry.modules.map((m) => moduleAddress(m.name)),
      FEE_COLLECTOR,
      BONDED_POOL,
      NOT_BONDED_POOL,
    ];
    for (const t of this.types) if (!opts.registry.message(t)) throw new Error(`unknown message type ${t}`);
  }

  /** Learns model ids, proposal ids, request ids and addresses from events. */
  observe(events: readonly { module: string; type: string; attributes: Record<string, string> }[]): void {
    for (const e of events) {
      for (const [k, v] of Object.entries(e.attributes)) {
        if (/^0x[0-9a-fA-F]{40}$/.test(v)) {
          if (this.seenAddresses.size < 256) this.seenAddresses.add(v as Address);
          continue;
        }
        if (k !== 'id') continue;
        if (e.module === 'models' && this.modelIds.size < 256) this.modelIds.add(v);
        else if (/^[0-9]{1,20}$/.test(v)) {
          const set =
            e.module === 'gov' ? this.proposalIds : e.module === 'inference' ? this.requestIds : null;
          if (set && set.size < 4_096) set.add(BigInt(v));
        }
      }
    }
  }

  /** Events of receipts (attributes as key/value lists) or of block hooks. */
  observeReceipts(receipts: readonly { events?: readonly unknown[] }[]): void {
    for (const r of receipts) {
      const events = (r.events ?? []) as {
        module: string;
        type: string;
        attributes: { key: string; value: string }[] | Record<string, string>;
      }[];
      this.observe(
        events.map((e) => ({
          module: e.module,
          type: e.type,
          attributes: Array.isArray(e.attributes)
            ? Object.fromEntries(e.attributes.map((a) => [a.key, a.value]))
            : e.attributes,
        })),
      );
    }
  }

  next(): FuzzTx {
    if (this.#script.length === 0 && this.#made++ % 97 === 0) this.#script = this.#scriptRoundSteps();
    const step = this.#script.shift();
    if (step) return { ...step, gasLimit: 5_000_000n, gasPrice: this.gasPrice, mode: 'script' };
    const msgType = this.#nextType();
    const schema = this.registry.message(msgType)!.schema;
    const roll = this.rng.int(20);
    const mode = roll < 8 ? 'plausible' : roll < 17 ? 'edge' : 'wild';
    // The sender first: an attestation key's proof of possession names it.
    const sender = this.#sender(msgType);
    let msg: Record<string, unknown>;
    if (mode === 'wild') {
      msg = this.#edgeValue(schema, 'msg') as Record<string, unknown>;
      if (this.#protect && 'consensusPubKey' in msg) msg.consensusPubKey = this.#consensusPubKey();
    } else {
      msg = this.#plausibleStruct(msgType, schema);
      if (msgType === 'staking/setAttestationKey')
        Object.assign(msg, this.#attestationKeyProof(this.senders[sender]!.address));
      if (mode === 'edge') this.#mutateOne(msg, schema);
    }
    const tx: FuzzTx = { msgType, msg, sender, gasLimit: this.#gasLimit(), gasPrice: this.#price(), mode };
    // Half of the transfers go out as Ethereum transactions, most of them valid.
    if (msgType === 'bank/send' && this.rng.chance(1, 2)) {
      tx.eth = {
        type: this.rng.chance(1, 2) ? 'legacy' : 'eip1559',
        variant: this.rng.chance(2, 3) ? 'valid' : this.rng.pick(ETH_VARIANTS),
      };
    }
    return tx;
  }

  /** An Ethereum-signed form of a bank/send (FuzzTx.eth): valid, or broken as its variant says. */
  #signEth(tx: FuzzTx, nonce: bigint): Uint8Array {
    const s = this.senders[tx.sender]!;
    const { type, variant } = tx.eth!;
    const msg = tx.msg as { to: Address; amount: bigint };
    const tip = variant === 'tipAboveMax' ? tx.gasPrice + 1n : this.rng.pick([0n, 1n, tx.gasPrice]);
    const raw = signEthTransfer(
      {
        type,
        chainId: variant === 'wrongChain' ? this.chainId + 1n : this.chainId,
        nonce,
        gasLimit: tx.gasLimit,
        to: msg.to,
        value: msg.amount,
        gasPrice: tx.gasPrice,
        maxFeePerGas: tx.gasPrice,
        maxPriorityFeePerGas: tip,
      },
      s.privateKey,
    );
    const typed = type === 'eip1559';
    const items = decodeRlp(typed ? raw.subarray(1) : raw) as RlpItem[];
    const wrap = (list: RlpItem[]): Uint8Array => {
      const body = encodeRlp(list);
      if (!typed) return body;
      const out = new Uint8Array(body.length + 1);
      out[0] = 2;
      out.set(body, 1);
      return out;
    };
    const [toAt, dataAt, vAt, sAt] = typed ? [5, 7, 9, 11] : [3, 5, 6, 8];
    const asInt = (b: RlpItem): bigint => {
      let v = 0n;
      for (const x of b as Uint8Array) v = (v << 8n) | BigInt(x);
      return v;
    };
    const intBytes = (v: bigint): Uint8Array => {
      const out: number[] = [];
      for (; v > 0n; v >>= 8n) out.unshift(Number(v & 0xffn));
      return Uint8Array.from(out);
    };
    switch (variant) {
      case 'noChainId':
        if (typed) return raw;
        items[vAt] = intBytes(27n + (asInt(items[vAt]!) % 2n === 0n ? 1n : 0n));
        return wrap(items);
      case 'highS': {
        const v = asInt(items[vAt]!);
        items[vAt] = intBytes(typed ? 1n - v : v % 2n === 0n ? v - 1n : v + 1n);
        items[sAt] = intBytes(SECP256K1_N - asInt(items[sAt]!));
        return wrap(items);
      }
      case 'data':
        items[dataAt] = this.rng.bytes(this.rng.range(1, 68));
        return wrap(items);
      case 'creation':
        items[toAt] = new Uint8Array(0);
        return wrap(items);
      case 'accessList':
        if (typed) items[8] = [[this.rng.bytes(20), []]];
        return wrap(items);
      case 'truncated':
        return raw.subarray(0, this.rng.int(raw.length));
      case 'otherType': {
        const out = raw.slice();
        if (typed) out[0] = this.rng.pick([0, 1, 3, 4, 0x7f]);
        return typed ? out : Uint8Array.of(1, ...raw);
      }
      default:
        return raw;
    }
  }

  /** Signs `tx` with its sender's key; throws when a value does not encode (a generator bug). */
  sign(tx: FuzzTx, nonce: bigint): Uint8Array {
    if (tx.eth) return this.#signEth(tx, nonce);
    const s = this.senders[tx.sender]!;
    return signTx(
      {
        chainId: this.chainId,
        from: s.address,
        nonce,
        gasLimit: tx.gasLimit,
        gasPrice: tx.gasPrice,
        msgType: tx.msgType,
        msg: tx.msg,
      },
      s.privateKey,
      this.registry.message(tx.msgType)!.schema,
    );
  }

  #nextType(): string {
    if (!this.#perType) return this.rng.pick(this.types);
    if (this.#order.length === 0) {
      this.#order = [...this.types];
      for (let i = this.#order.length - 1; i > 0; i--) {
        const j = this.rng.int(i + 1);
        [this.#order[i], this.#order[j]] = [this.#order[j]!, this.#order[i]!];
      }
    }
    return this.#order.pop()!;
  }

  #sender(msgType: string): number {
    // Operators (the validators' accounts, when known) send the messages only they can send.
    const operatorOnly =
      /^(staking\/editValidator|staking\/setAttestationKey|distribution\/withdrawCommission|slashing\/unjail)$/;
    const all = this.senders.map((s, i) => [s, i] as const);
    const ops = all.filter(([s]) => this.#isOperator(s.address));
    if (ops.length && operatorOnly.test(msgType) && this.rng.chance(3, 4)) return this.rng.pick(ops)[1];
    if (this.#protect) return this.rng.pick(all.filter(([s]) => !this.#isOperator(s.address)))[1];
    return this.rng.int(this.senders.length);
  }

  #isOperator(a: Address): boolean {
    return this.validators.some((v) => v.operator.toLowerCase() === a.toLowerCase());
  }

  #gasLimit(): bigint {
    // Limits that get a transaction refused are rare: a refusal voids the sender's later nonces.
    switch (this.rng.int(40)) {
      case 0:
      case 1:
        return this.maxTxGas;
      case 2:
        return BigInt(this.rng.range(21_000, 60_000));
      case 3:
        return this.maxTxGas + 1n;
      default:
        return 3_000_000n;
    }
  }

  #price(): bigint {
    switch (this.rng.int(40)) {
      case 0:
        return this.gasPrice - 1n;
      case 1:
        return this.gasPrice * 10n;
      default:
        return this.gasPrice;
    }
  }

  // ---- valid sequences: publish and upload a model, register a provider, delegate, propose, vote

  #scriptRoundSteps(): { msgType: string; msg: Record<string, unknown>; sender: number }[] {
    const round = this.#scriptRound++;
    const n = this.senders.length;
    const owner = round % n;
    const steps: { msgType: string; msg: Record<string, unknown>; sender: number }[] = [];
    const m = this.model;
    const has = (t: string) => this.types.includes(t);
    if (round === 0 && has('bank/send'))
      // Validator operators start with their whole balance staked: give them fees to spend.
      for (const [i, v] of this.validators.entries())
        steps.push({ msgType: 'bank/send', msg: { to: v.operator, amount: 10_000n * CGPT }, sender: i % n });
    if (round === 0 && has('models/publish') && has('models/upload')) {
      steps.push({ msgType: 'models/publish', msg: this.#publishMsg(m.id, 5, ''), sender: owner });
      steps.push({
        msgType: 'models/upload',
        msg: { id: m.id, part: 0, offset: 0, data: m.artifact },
        sender: owner,
      });
    }
    if (has('inference/registerProvider'))
      steps.push({
        msgType: 'inference/registerProvider',
        msg: { stakeWei: 1_000n * CGPT, capacity: 8, tiers: 6, models: [], endpoint: 'http://fuzz' },
        sender: (round + 1) % n,
      });
    if (has('models/review'))
      steps.push({
        msgType: 'models/review',
        msg: { id: m.id, stakeWei: CGPT, rating: 4 },
        sender: (round + 2) % n,
      });
    if (has('staking/delegate') && this.validators.length)
      steps.push({
        msgType: 'staking/delegate',
        msg: { validator: this.validators[round % this.validators.length]!.operator, amount: 10n * CGPT },
        sender: (round + 3) % n,
      });
    if (has('inference/request'))
      for (const tier of [1, 4])
        steps.push({
          msgType: 'inference/request',
          msg: { modelId: m.id, tier, input: this.#modelInput(), maxFeeWei: CGPT, redundancy: 1 },
          sender: (round + 4) % n,
        });
    if (has('gov/submitProposal'))
      steps.push({
        msgType: 'gov/submitProposal',
        msg: {
          ...this.#proposalBase(),
          kind: 'text',
          title: `round ${round}`,
          initialDepositWei: 100n * CGPT,
        },
        sender: (round + 5) % n,
      });
    return steps;
  }

  #publishMsg(id: string, tiers: number, previous: string): Record<string, unknown> {
    const m = this.model;
    return {
      id,
      name: 'fuzz model',
      task: 'classification',
      inputSchema: m.inputSchema,
      outputSchema: m.outputSchema,
      license: 'MIT',
      version: '1',
      description: '',
      priceWei: 10n ** 15n,
      tiers,
      artifactSize: m.artifact.length,
      vkHash: new Uint8Array(32),
      vkSize: 0,
      zkInputs: 0,
      zkWeights: 0,
      weightCommitment: 0n,
      zkConstraints: 0n,
      previous,
    };
  }

  #proposalBase(): Record<string, unknown> {
    return {
      kind: 'text',
      title: 'fuzz',
      description: '',
      paramModule: '',
      paramsJson: '',
      recipient: ZERO_ADDRESS,
      amountWei: 0n,
      modelId: '',
      initialDepositWei: 100n * CGPT,
    };
  }

  #modelInput(): Uint8Array {
    const b = this.rng.bytes(4);
    for (let i = 0; i < b.length; i++) if (b[i] === 0x80) b[i] = 0;
    return b;
  }

  // ---- plausible values: what a well-meaning client would send, referring to real state

  #plausibleStruct(msgType: string, schema: StructType): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, type] of Object.entries(schema.fields))
      out[name] = this.#plausible(msgType, name, type);
    if (msgType === 'gov/submitProposal') this.#shapeProposal(out);
    if (msgType === 'slashing/submitEvidence' && this.rng.chance(1, 2)) Object.assign(out, this.#evidence());
    if (msgType === 'slashing/attestationEvidence' && this.rng.chance(1, 2))
      Object.assign(out, this.#attestationEvidence());
    if (msgType === 'models/publish') Object.assign(out, this.#plausiblePublish());
    return out;
  }

  #plausible(msgType: string, name: string, type: FieldType): unknown {
    const r = this.rng;
    switch (name) {
      case 'to':
      case 'newOwner':
      case 'recipient':
        return this.#knownAddress();
      case 'validator':
      case 'src':
      case 'dst':
        if (type.kind === 'address') return this.#validatorAddress();
        break;
      case 'amount':
      case 'amountWei':
      case 'stakeWei':
      case 'selfStake':
      case 'bondWei':
      case 'maxFeeWei':
      case 'priceWei':
      case 'initialDepositWei':
        return this.#amount();
      case 'id':
      case 'modelId':
      case 'previous':
        if (type.kind === 'string') return name === 'previous' && r.chance(1, 2) ? '' : this.#modelId();
        break;
      case 'models':
        return r.chance(1, 2) ? [] : Array.from({ length: r.range(1, 3) }, () => this.#modelId());
      case 'proposalId':
      case 'requestId':
        return this.#knownId(name === 'proposalId' ? this.proposalIds : this.requestIds);
      case 'kind':
        if (type.kind === 'string') return r.pick(PROPOSAL_KINDS);
        break;
      case 'option':
        return r.pick(VOTE_OPTIONS);
      case 'paramModule':
        return r.pick(this.#paramModules());
      case 'paramsJson':
        return '';
      case 'tier':
        return r.pick([1, 2, 4]);
      case 'tiers':
        return msgType.startsWith('inference/') ? r.pick([2, 4, 6]) : r.pick([1, 4, 5]);
      case 'redundancy':
        return r.range(1, 3);
      case 'rating':
        return r.range(1, 5);
      case 'slot':
        return r.range(0, 2);
      case 'part':
        return r.range(0, 1);
      case 'offset':
        return r.chance(1, 2) ? 0 : this.model.artifact.length;
      case 'capacity':
        return r.range(0, 10);
      case 'input':
        return this.#modelInput();
      case 'output':
        return r.bytes(12);
      case 'data':
        return r.chance(1, 2) ? this.model.artifact : r.bytes(r.range(1, 64));
      case 'inputSchema':
        return this.model.inputSchema;
      case 'outputSchema':
        return this.model.outputSchema;
      case 'commissionRate':
      case 'maxCommissionRate':
      case 'maxCommissionChangeRate':
        return r.pick([0n, DEC / 100n, DEC / 10n, DEC / 2n, DEC]);
      case 'consensusPubKey':
        return this.#consensusPubKey();
    }
    switch (type.kind) {
      case 'uint':
        return type.bits <= 32 ? r.int(5) : BigInt(r.int(1_000));
      case 'address':
        return this.#knownAddress();
      case 'bool':
        return r.chance(1, 2);
      case 'bytes32':
        return r.bytes(32);
      case 'bytes':
        return r.bytes(Math.min(type.max, r.range(0, 64)));
      case 'string':
        return `fuzz ${msgType} ${name}`.slice(0, type.max);
      case 'array':
        return Array.from({ length: Math.min(type.max, r.range(1, 3)) }, () =>
          this.#plausible(msgType, name, type.of),
        );
      case 'struct':
        return Object.fromEntries(
          Object.entries(type.fields).map(([k, ft]) => [k, this.#plausible(msgType, k, ft)]),
        );
    }
  }

  /** A key whose secret the runner can sign commits with, or (live) a genesis validator's key. */
  #consensusPubKey(): Uint8Array {
    const r = this.rng;
    if (this.#protect || r.chance(1, 10)) return r.pick(this.validators).consensusPubKey;
    const secret = r.bytes(32);
    const pub = ed25519PublicKey(secret);
    this.consensusKeys.set(validatorAddress(pub).toLowerCase(), secret);
    return pub;
  }

  #plausiblePublish(): Record<string, unknown> {
    const r = this.rng;
    // A fresh id most of the time (the tiny model's id can be published once only).
    const id = r.chance(3, 4) ? modelId(r.bytes(16)) : this.model.id;
    const tiers = r.pick([1, 4, 5, 2]);
    const msg = this.#publishMsg(id, tiers, r.chance(1, 3) ? this.#modelId() : '');
    if (tiers === 2) {
      msg.vkHash = r.bytes(32);
      msg.vkSize = r.range(1, 4_096);
      // Small enough that the zk floor stays within the price (a plausible publish).
      msg.zkConstraints = BigInt(r.range(1, 10_000));
    }
    return msg;
  }

  #shapeProposal(msg: Record<string, unknown>): void {
    const r = this.rng;
    const base = this.#proposalBase();
    for (const k of ['paramModule', 'paramsJson', 'recipient', 'amountWei', 'modelId']) msg[k] = base[k];
    msg.initialDepositWei = r.pick([10n * CGPT, 100n * CGPT, 0n]);
    if (msg.kind === 'paramChange') {
      msg.paramModule = r.pick(this.#paramModules());
      msg.paramsJson = this.#paramsJson(msg.paramModule as string, false);
    } else if (msg.kind === 'communityPoolSpend') {
      msg.recipient = this.#knownAddress();
      msg.amountWei = this.#amount();
    } else if (msg.kind === 'modelFault') msg.modelId = this.#modelId();
  }

  #paramModules(): string[] {
    return this.registry.modules.filter((m) => m.params).map((m) => m.name);
  }

  #knownAddress(): Address {
    const r = this.rng;
    switch (r.int(8)) {
      case 0:
        return r.pick(this.#moduleAccounts);
      case 1:
        return this.#validatorAddress();
      case 2:
        return this.seenAddresses.size ? r.pick([...this.seenAddresses]) : ZERO_ADDRESS;
      case 3:
        return r.pick([ZERO_ADDRESS, FF_ADDRESS, `0x${hexOf(r, 20)}` as Address]);
      default:
        return r.pick(this.senders).address;
    }
  }

  #validatorAddress(): Address {
    const r = this.rng;
    if (this.validators.length === 0 || r.chance(1, 10)) return this.#knownAddress();
    const v = r.pick(this.validators);
    return r.chance(1, 8) ? v.consensusAddress : v.operator;
  }

  #amount(): bigint {
    const r = this.rng;
    return r.pick([
      0n,
      1n,
      CGPT / 1000n,
      CGPT,
      10n * CGPT,
      100n * CGPT,
      1_000n * CGPT,
      BigInt(r.range(1, 10 ** 9)),
    ]);
  }

  #modelId(): string {
    const r = this.rng;
    const k = r.int(10);
    if (k < 4) return this.model.id;
    if (k < 8 && this.modelIds.size) return r.pick([...this.modelIds]);
    if (k === 8) return modelId(r.bytes(8));
    return r.pick(['', 'bafkrei', 'not-a-cid', this.model.id.toUpperCase(), `${this.model.id} `]);
  }

  #knownId(pool: Set<bigint>): bigint {
    const r = this.rng;
    if (pool.size && r.chance(4, 5)) return r.pick([...pool]);
    let top = 0n;
    for (const id of pool) if (id > top) top = id;
    return r.pick([0n, 1n, top + 1n, (1n << 64n) - 1n, 1n << 63n]);
  }

  /** Two conflicting votes of one validator (a real double sign when its key is known). */
  #evidence(): Record<string, unknown> {
    const r = this.rng;
    // Only the last validator ever signs real evidence: the in-process chain keeps the others.
    const v = this.validators[this.validators.length - 1];
    const height = this.height > 1n ? BigInt(r.range(1, Number(this.height - 1n))) : 1n;
    const round = r.pick([0, 1, 0xffff_ffff]);
    const kind = r.pick<VoteKind>([VOTE_PREVOTE, VOTE_PRECOMMIT]);
    const vote = (hash: Uint8Array) => ({
      kind,
      height,
      round,
      blockHash: hash,
      validator: v?.consensusAddress ?? ZERO_ADDRESS,
      signature: v?.consensusKey
        ? ed25519Sign(voteSignBytes(this.chainId, kind, height, round, hash), v.consensusKey)
        : r.bytes(64),
    });
    const h1 = r.bytes(32);
    return { a: vote(h1), b: vote(r.chance(1, 8) ? h1 : r.bytes(32)) };
  }

  /** Two attestations of one key about one subject (a real equivocation when the key is known). */
  #attestationEvidence(): Record<string, unknown> {
    const r = this.rng;
    // As for double signs, only the last validator's key signs: the others keep the chain running.
    const key = this.validators[this.validators.length - 1]?.attestationKey;
    const sign = (digest: Uint8Array) => (key ? signDigest(digest, key) : r.bytes(65));
    if (r.chance(1, 2)) {
      const result = (): AivmResult => ({
        requestId: this.#knownId(this.requestIds),
        modelId: r.bytes(32),
        tier: r.pick([1, 2, 4]),
        inputHash: r.bytes(32),
        outputHash: r.bytes(32),
      });
      const a = result();
      const b = r.chance(1, 8)
        ? a
        : { ...result(), requestId: r.chance(7, 8) ? a.requestId : a.requestId + 1n };
      return {
        first: signedResult(a, sign(aivmResultDigest(this.chainId, a))),
        second: signedResult(b, sign(aivmResultDigest(this.chainId, b))),
      };
    }
    const setId = BigInt(r.range(0, 8));
    const set = (membersHash: Uint8Array) =>
      signedValidatorSet(
        { setId, membersHash },
        sign(aivmValidatorSetDigest(this.chainId, { setId, membersHash })),
      );
    const h = r.bytes(32);
    return { first: set(h), second: set(r.chance(1, 8) ? h : r.bytes(32)) };
  }

  /**
   * An attestation key and its proof of possession for `operator`: valid (a fresh key, or a key of
   * a known validator, already bound), or refused: signed by another key, over another operator
   * (another validator's proof replayed), for another chain, malformed, or the high-s twin.
   */
  #attestationKeyProof(operator: Address): { key: Address; signature: Uint8Array } {
    const r = this.rng;
    const secret = () => {
      const sk = r.bytes(32);
      sk[0] = (sk[0]! & 0x7f) | 0x01; // non-zero and below the curve order
      return sk;
    };
    const sk = secret();
    const key = privateKeyToAddress(sk);
    const proof = (op: Address, k = sk, chainId = this.chainId) => signAttestationKeyProof(chainId, op, k);
    switch (r.int(10)) {
      case 0:
        return { key, signature: proof(operator, secret()) };
      case 1:
        return { key, signature: proof(r.pick(this.validators)?.operator ?? this.#knownAddress()) };
      case 2:
        return { key, signature: proof(operator, sk, this.chainId + 1n) };
      case 3:
        return { key, signature: r.bytes(r.pick([0, 64, 65])) };
      case 4:
        return { key, signature: highS(proof(operator)) };
      case 5: {
        const known = this.validators.filter((v) => v.attestationKey);
        if (known.length === 0) break;
        const held = r.pick(known).attestationKey!;
        return { key: privateKeyToAddress(held), signature: proof(operator, held) };
      }
    }
    return { key, signature: proof(operator) };
  }

  // ---- adversarial values

  /** Replaces one field (possibly nested) of a plausible message with an edge value. */
  #mutateOne(msg: Record<string, unknown>, schema: StructType): void {
    const names = Object.keys(schema.fields);
    if (names.length === 0) return;
    const name = this.rng.pick(names);
    const type = schema.fields[name]!;
    const special = this.#adversarialField(name, msg);
    // Field-aware values only where they fit the field's type and byte limit.
    const fits =
      (type.kind === 'string' && typeof special === 'string' && utf8Length(special) <= type.max) ||
      (type.kind === 'uint' && type.bits <= 32 && typeof special === 'number') ||
      (type.kind === 'bytes32' && special instanceof Uint8Array);
    if (fits) msg[name] = special;
    else if (type.kind === 'struct' && this.rng.chance(1, 2))
      this.#mutateOne(msg[name] as Record<string, unknown>, type as StructType);
    else msg[name] = this.#edgeValue(type, name);
  }

  /** Field-aware adversarial values (undefined: use the schema's edge values). */
  #adversarialField(name: string, msg: Record<string, unknown>): unknown {
    const r = this.rng;
    switch (name) {
      case 'consensusPubKey':
        return r.pick(this.validators).consensusPubKey;
      case 'paramsJson':
        return this.#paramsJson((msg.paramModule as string) || r.pick(this.#paramModules()), true);
      case 'paramModule':
        return r.pick(['', 'nope', 'gov ', 'GOV', '__proto__', 'constructor', 'auth', 'bank/params']);
      case 'kind':
      case 'option':
        return r.pick(['', 'Text', 'yes ', 'YES', 'veto\u0000', '__proto__', 'toString', 'paramChange']);
      case 'inputSchema':
      case 'outputSchema':
        return r.pick([
          '[1,0]',
          '[0,4]',
          '[1,-1]',
          '[1,4294967296]',
          '[1,99999999999999999999]',
          '[]',
          '[1',
          '[1,4,]',
          '1,4',
          '[ 1 , 4 ]',
          '[1,1e3]',
          `[${'1,'.repeat(100)}1]`,
        ]);
      case 'endpoint':
        return r.pick(['', 'javascript:alert(1)', `http://${'a'.repeat(240)}`, 'http://127.0.0.1:0']);
      case 'tiers':
      case 'tier':
        return r.pick([0, 3, 6, 8, 128, 255]);
    }
    return undefined;
  }

  /** The JSON of a paramChange: valid changes, edge numbers, and malformed or hostile JSON. */
  #paramsJson(module: string, hostile: boolean): string {
    const r = this.rng;
    const def = this.registry.modules.find((m) => m.name === module)?.params;
    const fields = def ? Object.entries(def.schema.fields) : [];
    const field = fields.length ? r.pick(fields) : (['x', { kind: 'bool' }] as const);
    const [key, type] = field as [string, FieldType];
    if (!hostile) return JSON.stringify({ [key]: this.#jsonPlausible(type) });
    const cap = (s: string) => (utf8Length(s) <= 4_096 ? s : s.slice(0, 4_000));
    switch (r.int(12)) {
      case 0:
        return `{"${'k'.repeat(r.pick([3_000, 4_000, 1_021]))}":1}`;
      case 1:
        return `{"${key}":${this.#jsonEdge(type)},"${key}":${this.#jsonEdge(type)}}`;
      case 2: {
        const depth = r.pick([10, 100, 500, 1_300]);
        return cap(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
      }
      case 3: {
        const depth = r.pick([100, 1_000, 2_047]);
        return `{"${key}":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      }
      case 4:
        return r.pick([
          '{"__proto__":{"polluted":1}}',
          `{"__proto__":{"${key}":1}}`,
          '{"constructor":{"prototype":{"x":1}}}',
          '{"toString":1}',
          '{"hasOwnProperty":"x"}',
        ]);
      case 5:
        return r.pick([
          '',
          'null',
          '[]',
          '1',
          '"s"',
          '{',
          '}',
          '{"a":NaN}',
          'true',
          '{} {}',
          '\ufeff{}',
          '{"":1}',
        ]);
      case 6:
        return `{"${key}":${r.pick(['1e309', '-1', '1.5', '-0', '1e18', '0x10', '"0x10"', '"1e3"', `"${'9'.repeat(100)}"`, '9'.repeat(400), 'null', 'true', '{}', '[]', `"${fillBytes('😀', 400)}"`])}}`;
      case 7:
        return JSON.stringify(Object.fromEntries(fields.map(([k, t]) => [k, this.#jsonEdge(t, true)])));
      case 8:
        return `{"${fillBytes(r.pick(UNICODE), r.pick([64, 1_000, 4_000]))}":1}`;
      case 9:
        return cap(JSON.stringify(Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]))));
      case 10:
        return `{"${key}":${this.#jsonEdge(type)}}`;
      default:
        return `{"${key}":${this.#jsonEdge(type)},"${'z'.repeat(2_000)}":0}`;
    }
  }

  #jsonPlausible(type: FieldType): unknown {
    const r = this.rng;
    switch (type.kind) {
      case 'uint':
        return type.bits <= 32
          ? r.range(1, 200)
          : String(BigInt(r.range(1, 1_000)) * (r.chance(1, 2) ? CGPT : 1n));
      case 'bool':
        return r.chance(1, 2);
      case 'string':
        return 'x';
      case 'address':
        return this.#knownAddress();
      default:
        return null;
    }
  }

  /** A JSON literal at the edges of `type` (as text unless `asValue`). */
  #jsonEdge(type: FieldType, asValue = false): string | unknown {
    const r = this.rng;
    const bits = type.kind === 'uint' ? BigInt(type.bits) : 64n;
    const max = (1n << bits) - 1n;
    const text = r.pick([
      '0',
      '1',
      `"${max}"`,
      `"${max + 1n}"`,
      `"${U256_MAX}"`,
      '"-1"',
      String(2 ** 53),
      '1e21',
      '"10000000000000000000000000000000000000000000000000000000000000000000000000000000"',
      'true',
      'null',
      '""',
      '[]',
    ]);
    return asValue ? JSON.parse(text) : text;
  }

  /** A value at the edges of a schema type (lengths, magnitudes, encodings). */
  #edgeValue(type: FieldType, name: string): unknown {
    const r = this.rng;
    switch (type.kind) {
      case 'uint': {
        const max = (1n << BigInt(type.bits)) - 1n;
        const cands = [0n, 1n, 2n, max, max - 1n, max >> 1n, (max >> 1n) + 1n, r.bigint(type.bits)];
        if (type.bits > 64) cands.push(1n << 63n, (1n << 64n) - 1n, 1n << 64n, 10n ** 30n * CGPT);
        const v = r.pick(cands);
        return type.bits <= 32 ? Number(v) : v;
      }
      case 'address':
        return r.pick([ZERO_ADDRESS, FF_ADDRESS, this.#knownAddress(), `0x${hexOf(r, 20)}` as Address]);
      case 'bool':
        return r.chance(1, 2);
      case 'bytes32':
        return r.pick([new Uint8Array(32), new Uint8Array(32).fill(0xff), r.bytes(32)]);
      case 'bytes': {
        // Large fields stay within a 64 KiB transaction now and then, not always.
        const big = Math.min(type.max, 60_000);
        const len = r.pick([0, 1, 31, 33, type.max, type.max - 1, big, r.int(big + 1)]);
        const fill = r.int(3);
        const b = fill === 0 ? r.bytes(len) : new Uint8Array(len).fill(fill === 1 ? 0 : 0x80);
        return b;
      }
      case 'string':
        return this.#edgeString(type.max, name);
      case 'array': {
        const cap = Math.min(type.max, type.of.kind === 'struct' ? 300 : 2_000);
        const len = r.pick([0, 1, 2, type.max, cap, r.int(cap + 1)]);
        const one = this.#edgeValue(type.of, name);
        // Duplicates on purpose half the time (duplicate keys: the same model or output twice).
        return Array.from({ length: Math.min(len, cap) }, () =>
          r.chance(1, 2) ? one : this.#edgeValue(type.of, name),
        );
      }
      case 'struct':
        return Object.fromEntries(Object.entries(type.fields).map(([k, ft]) => [k, this.#edgeValue(ft, k)]));
    }
  }

  #edgeString(max: number, name: string): string {
    const r = this.rng;
    const maxLen = Math.min(max, 12_000);
    switch (r.int(9)) {
      case 0:
        return '';
      case 1:
        return 'a'.repeat(maxLen);
      case 2:
        return fillBytes(r.pick(UNICODE), maxLen);
      case 3:
        return fillBytes(r.pick(UNICODE), r.int(maxLen + 1));
      case 4:
        // A lone surrogate: encodes as U+FFFD, so the signed and the decoded text differ.
        return maxLen >= 4 ? `a\ud800${'b'.repeat(Math.max(0, maxLen - 4))}` : '';
      case 5:
        return r
          .pick([' ', '\t', '0', '-1', 'null', 'undefined', '__proto__', 'NaN', '1e309', '%s%n'])
          .slice(0, max);
      case 6:
        return (this.#modelId() + ' '.repeat(r.int(3))).slice(0, max);
      case 7:
        return name === 'paramsJson'
          ? this.#paramsJson(r.pick(this.#paramModules()), true)
          : `{"a":[${'['.repeat(Math.min(200, max / 4))}`.slice(0, max);
      default:
        return Array.from({ length: r.range(1, 40) }, () => r.pick(UNICODE))
          .join('')
          .slice(0, Math.max(0, max / 4));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tallies and findings

export type TypeTally = {
  sent: number;
  /** Could not be signed: a value the codec refuses (the generator's own limit, not the chain's). */
  unencodable: number;
  /** Refused before inclusion (TxRejected by the executor, or by a node's RPC). */
  rejected: number;
  included: number;
  succeeded: number;
  failed: number;
};

export type Finding = {
  kind: 'halt' | 'execution-fault' | 'divergence' | 'invariant' | 'internal-error-receipt' | 'stalled';
  seed: number;
  height: bigint;
  msgType?: string;
  detail: string;
  /** The offending message as JSON (bytes as hex, long strings cut), when one tx is to blame. */
  msg?: string;
};

export function newTally(): TypeTally {
  return { sent: 0, unencodable: 0, rejected: 0, included: 0, succeeded: 0, failed: 0 };
}

/** JSON of a message for a report: bigints as strings, bytes as hex, long strings shortened. */
export function describeMsg(msg: unknown): string {
  const text = JSON.stringify(msg, (_k, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array)
      return v.length > 48 ? `${bytesToHex(v.subarray(0, 24))}…(${v.length} bytes)` : bytesToHex(v);
    if (typeof v === 'string' && v.length > 120)
      return `${v.slice(0, 80)}…(${v.length} chars, ${utf8Length(v)} bytes)`;
    return v;
  });
  return text.length > 2_000 ? `${text.slice(0, 2_000)}…` : text;
}

// ---------------------------------------------------------------------------------------------
// In-process runner

export type InProcessOptions = {
  seed: number;
  /** Transactions in all (or per message type with perType). */
  txs: number;
  perType?: boolean;
  types?: string[];
  /** Transactions per block (default 1..24 at random). */
  maxTxsPerBlock?: number;
  accounts?: number;
  validators?: number;
  /** Called after each block (progress output). */
  onBlock?: (r: InProcessReport) => void;
  /** Stop at the first finding (default: record it, drop the transaction, go on). */
  stopOnFinding?: boolean;
};

export type InProcessReport = {
  seed: number;
  blocks: number;
  height: bigint;
  tallies: Map<string, TypeTally>;
  findings: Finding[];
  /** Most frequent failure texts per type (first 60 chars), for a feel of which paths were hit. */
  errors: Map<string, Map<string, number>>;
};

const BLOCK_STEP_MS = 5_000n;

/**
 * Runs the fuzzer against two identical in-process chains: every block is built on one (as a
 * proposer does) and imported on the other (as every validator does); roots must agree, no build
 * may throw except TxRejected for one transaction, and the invariants hold after every block.
 */
export async function runInProcess(opts: InProcessOptions): Promise<InProcessReport> {
  const validators = opts.validators ?? 4;
  const chainOpts = {
    accounts: opts.accounts ?? 8,
    validators,
    attestationKeys: true,
    fundCgpt: 1_000_000n,
    // Short periods so proposals are decided within a run; emission on so rewards exist.
    app: {
      gov: { params: { votingPeriodMs: '60000', maxDepositPeriodMs: '60000' } },
      distribution: { params: { emissionPerBlockWei: CGPT.toString() } },
    },
  };
  const a = await createTestChain(chainOpts);
  const b = await createTestChain(chainOpts);
  try {
    return await fuzzChains(a, b, opts);
  } finally {
    await a.close();
    await b.close();
  }
}

async function fuzzChains(a: TestChain, b: TestChain, opts: InProcessOptions): Promise<InProcessReport> {
  const registry = a.chain.registry;
  const senders: FuzzSender[] = [...a.accounts, ...a.validators.map((v) => v.operator)];
  const fuzzer = new TxFuzzer({
    seed: opts.seed,
    registry,
    chainId: a.chain.chainId,
    senders,
    validators: a.validators.map((v) => ({
      operator: v.operator.address,
      consensusAddress: v.address,
      consensusPubKey: v.pubKey,
      consensusKey: v.secretKey,
      attestationKey: v.attestationKey?.privateKey,
    })),
    types: opts.types,
    perType: opts.perType,
  });
  const report: InProcessReport = {
    seed: opts.seed,
    blocks: 0,
    height: a.head.height,
    tallies: new Map(fuzzer.types.map((t) => [t, newTally()])),
    findings: [],
    errors: new Map(),
  };
  const finished = runDone(opts, report.tallies);
  const nonces = senders.map(() => 0n);
  while (!finished()) {
    const want = 1 + fuzzer.rng.int(opts.maxTxsPerBlock ?? 24);
    const batch: BatchEntry[] = [];
    while (batch.length < want) {
      const tx = fuzzer.next();
      const tally = report.tallies.get(tx.msgType) ?? newTally();
      report.tallies.set(tx.msgType, tally);
      tally.sent++;
      try {
        const nonce = nonces[tx.sender]!;
        batch.push({ tx, nonce, raw: fuzzer.sign(tx, nonce) });
        nonces[tx.sender]!++;
      } catch {
        tally.unencodable++;
      }
      if (finished()) break;
    }
    for (const [k, v] of fuzzer.consensusKeys) a.consensusKeys.set(k, v);
    const built = await buildFuzzBlock(a, batch, report, fuzzer.rng.chance(1, 10));
    if (opts.stopOnFinding && report.findings.length) break;
    for (const [i, entry] of batch.entries()) {
      if (built.included.has(i)) continue;
      // Not included: its nonce is free again for this sender's later transactions.
      report.tallies.get(entry.tx.msgType)!.rejected++;
      noteError(report, entry.tx.msgType, `rejected: ${built.rejections.get(i) ?? 'excluded'}`);
    }
    resyncNonces(batch, built.included, nonces);
    if (!(await verifyBlock(b, built.block, built.result, report))) break;
    const receipts = built.result.receipts;
    fuzzer.observeReceipts(receipts);
    fuzzer.observe(built.result.blockEvents);
    for (const [k, r] of receipts.entries()) {
      const entry = batch[built.order[k]!]!;
      tallyReceipt(report, entry.tx, r, a.head.height, opts.seed);
    }
    report.blocks++;
    report.height = a.head.height;
    fuzzer.height = a.head.height;
    const auth = await readParams(a.state, 'auth', authParams);
    fuzzer.gasPrice = auth.minGasPriceWei;
    fuzzer.maxTxGas = auth.maxTxGas;
    opts.onBlock?.(report);
    if (opts.stopOnFinding && report.findings.length) break;
  }
  return report;
}

/**
 * When a run has made enough: `txs` in all, or with perType at least `txs` of every type (the
 * scripted valid sequences add a few more of some types).
 */
export function runDone(
  opts: { txs: number; perType?: boolean },
  tallies: Map<string, TypeTally>,
): () => boolean {
  return () => {
    let sent = 0;
    let least = Number.POSITIVE_INFINITY;
    for (const t of tallies.values()) {
      sent += t.sent;
      if (t.sent < least) least = t.sent;
    }
    return opts.perType ? least >= opts.txs : sent >= opts.txs;
  };
}

/** A sender whose transaction was left out: its later ones (higher nonces) are void, reuse them. */
function resyncNonces(batch: BatchEntry[], included: Set<number>, nonces: bigint[]): void {
  for (const [i, { tx, nonce }] of batch.entries())
    if (!included.has(i) && nonce < nonces[tx.sender]!) nonces[tx.sender] = nonce;
}

function noteError(report: InProcessReport, msgType: string, text: string): void {
  const byType = report.errors.get(msgType) ?? new Map<string, number>();
  report.errors.set(msgType, byType);
  const key = text.slice(0, 60);
  if (byType.size < 40 || byType.has(key)) byType.set(key, (byType.get(key) ?? 0) + 1);
}

function tallyReceipt(report: InProcessReport, tx: FuzzTx, r: Receipt, height: bigint, seed: number): void {
  const tally = report.tallies.get(tx.msgType)!;
  tally.included++;
  const ok = receiptOk(r);
  if (ok) tally.succeeded++;
  else tally.failed++;
  const rec = r as unknown as Record<string, unknown>;
  const text = `${rec.code ?? ''} ${typeof rec.error === 'string' ? rec.error : ''}`.trim();
  if (!ok) noteError(report, tx.msgType, text);
  if (/internal error/i.test(text))
    report.findings.push({
      kind: 'internal-error-receipt',
      seed,
      height,
      msgType: tx.msgType,
      detail: `a handler threw something other than a ModuleError and it was committed as "${text}"`,
      msg: describeMsg(tx.msg),
    });
}

/** Success by code 0 (receipts with codes) or by the older success flag. */
export function receiptOk(r: unknown): boolean {
  const rec = r as Record<string, unknown>;
  if (typeof rec.success === 'boolean') return rec.success;
  return Number(rec.code) === 0;
}

type BatchEntry = { tx: FuzzTx; nonce: bigint; raw: Uint8Array };

type Built = {
  block: Block;
  result: BlockResult;
  /** Indexes into the batch of the transactions in the block, in block order. */
  order: number[];
  included: Set<number>;
  /** Why each left-out transaction was refused (TxRejected text). */
  rejections: Map<number, string>;
};

/**
 * Builds the next block as a proposer does: transactions that throw TxRejected are left out (the
 * mempool drops them). Anything else thrown by applyTx or finish would stop a real node from
 * producing blocks: it is recorded as a finding, and the block is built again without the culprit.
 */
async function buildFuzzBlock(
  tc: TestChain,
  batch: BatchEntry[],
  report: InProcessReport,
  slowStep: boolean,
): Promise<Built> {
  const excluded = new Set<number>();
  for (let attempt = 0; ; attempt++) {
    const out = await tryBuild(tc, batch, excluded, slowStep);
    if (out.ok) {
      await commitBlock(tc, out.built.block, out.built.result);
      return out.built;
    }
    const culprit = out.culprit ?? (await findCulprit(tc, batch, excluded, slowStep));
    const entry = culprit === undefined ? undefined : batch[culprit];
    report.findings.push({
      kind: out.faultKind,
      seed: report.seed,
      height: tc.head.height + 1n,
      msgType: entry?.tx.msgType,
      detail: out.error,
      msg: entry ? describeMsg(entry.tx.msg) : undefined,
    });
    if (culprit === undefined || attempt > batch.length) {
      // Nothing to blame: build an empty block so the run can go on.
      for (let i = 0; i < batch.length; i++) excluded.add(i);
    } else excluded.add(culprit);
  }
}

type TryResult =
  | { ok: true; built: Built }
  | { ok: false; culprit?: number; error: string; faultKind: 'halt' | 'execution-fault' };

async function tryBuild(
  tc: TestChain,
  batch: BatchEntry[],
  excluded: Set<number>,
  slowStep: boolean,
): Promise<TryResult> {
  const parent = tc.head;
  const lastCommit = await makeLastCommit(tc);
  const current = await readValidatorSet(tc.state, 'current');
  const info = {
    chainId: tc.chain.chainId,
    height: parent.height + 1n,
    // Now and then a long gap: deadlines, unbonding and voting periods expire.
    timeMs: parent.timeMs + (slowStep ? 600_000n : BLOCK_STEP_MS),
    proposer: proposerFor(current, 0) as Address,
    parentHash: headerHash(parent),
    lastCommit: { round: lastCommit.round, signers: lastCommit.signatures.map((s) => s.validator) },
  };
  let exec: BlockExecution;
  try {
    exec = await BlockExecution.begin(tc.state, info, tc.chain);
  } catch (err) {
    return { ok: false, error: `BlockExecution.begin threw: ${stackOf(err)}`, faultKind: 'halt' };
  }
  const order: number[] = [];
  const rejections = new Map<number, string>();
  for (const [i, { raw }] of batch.entries()) {
    if (excluded.has(i)) continue;
    try {
      await exec.applyTx(raw);
      order.push(i);
    } catch (err) {
      if (err instanceof TxRejected) {
        rejections.set(i, err.message);
        continue;
      }
      const fault = (err as Error)?.name === 'ExecutionFault';
      return {
        ok: false,
        culprit: i,
        error: `applyTx threw ${stackOf(err)}`,
        faultKind: fault ? 'execution-fault' : 'halt',
      };
    }
  }
  let result: BlockResult;
  try {
    result = await exec.finish();
  } catch (err) {
    return { ok: false, error: `BlockExecution.finish threw ${stackOf(err)}`, faultKind: 'halt' };
  }
  const block: Block = {
    header: {
      chainId: info.chainId,
      height: info.height,
      timeMs: info.timeMs,
      proposer: info.proposer,
      parentHash: info.parentHash,
      stateRoot: result.stateRoot,
      txRoot: result.txRoot,
      resultsRoot: result.resultsRoot,
      validatorSetHash: validatorSetHash(current),
      lastCommitHash: lastCommitHash({ lastCommit }),
      gasUsed: result.gasUsed,
    },
    txs: exec.txs,
    lastCommit,
  };
  return { ok: true, built: { block, result, order, included: new Set(order), rejections } };
}

/** Which transaction makes a block build fail: the last of the shortest failing prefix. */
async function findCulprit(
  tc: TestChain,
  batch: BatchEntry[],
  excluded: Set<number>,
  slowStep: boolean,
): Promise<number | undefined> {
  const all = batch.map((_, i) => i).filter((i) => !excluded.has(i));
  for (let k = 1; k <= all.length; k++) {
    const skip = new Set([...excluded, ...all.slice(k)]);
    if (!(await tryBuild(tc, batch, skip, slowStep)).ok) return all[k - 1];
  }
  return undefined;
}

async function commitBlock(tc: TestChain, block: Block, result: BlockResult): Promise<void> {
  await tc.db.write(result.staged.ops);
  tc.state.applyStaged(result.staged);
  tc.head = block.header;
}

/**
 * Re-executes the block on the second chain; roots must agree; invariants must hold. False when
 * the second chain refused the block: the two chains can no longer be compared.
 */
async function verifyBlock(
  tc: TestChain,
  block: Block,
  built: BlockResult,
  report: InProcessReport,
): Promise<boolean> {
  const height = block.header.height;
  let result: BlockResult;
  try {
    result = await importBlock(tc, block);
  } catch (err) {
    report.findings.push({
      kind: 'divergence',
      seed: report.seed,
      height,
      detail: `the verification path refused the block the proposer built: ${stackOf(err)}\nprevious set: ${(
        await readValidatorSet(tc.state, 'previous')
      )
        .map(
          (v) =>
            `${v.address}=${v.power}${tc.consensusKeys.has(v.address.toLowerCase()) ? '' : ' (key unknown)'}`,
        )
        .join(', ')}`,
    });
    return false;
  }
  for (const [name, x, y] of [
    ['state root', built.stateRoot, result.stateRoot],
    ['results root', built.resultsRoot, result.resultsRoot],
    ['tx root', built.txRoot, result.txRoot],
  ] as const)
    if (!equalBytes(x, y))
      report.findings.push({
        kind: 'divergence',
        seed: report.seed,
        height,
        detail: `${name}: built ${bytesToHex(x)}, imported ${bytesToHex(y)}`,
      });
  let broken: string[];
  try {
    broken = await checkInvariants(tc.state, tc.chain.registry);
  } catch (err) {
    broken = [`checkInvariants threw: ${stackOf(err)}`];
  }
  if (broken.length)
    report.findings.push({ kind: 'invariant', seed: report.seed, height, detail: broken.join('; ') });
  return true;
}

export function stackOf(err: unknown): string {
  if (err instanceof Error) {
    const stack = (err.stack ?? `${err.name}: ${err.message}`).split('\n').slice(0, 8).join('\n');
    return stack.length > 1_500 ? `${stack.slice(0, 1_500)}…` : stack;
  }
  return String(err);
}

// ---------------------------------------------------------------------------------------------
// Report table

export function summaryTable(tallies: Map<string, TypeTally>): string {
  const head = ['message type', 'sent', 'unencodable', 'rejected', 'included', 'ok', 'failed'];
  const rows = [...tallies.entries()]
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([t, c]) => [t, c.sent, c.unencodable, c.rejected, c.included, c.succeeded, c.failed].map(String));
  const sum = (k: keyof TypeTally) => [...tallies.values()].reduce((s, c) => s + c[k], 0);
  rows.push(
    [
      'total',
      sum('sent'),
      sum('unencodable'),
      sum('rejected'),
      sum('included'),
      sum('succeeded'),
      sum('failed'),
    ].map(String),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Senders of a chain made with the dev/test mnemonic (accounts 0..n-1). */
export function sendersFromKeys(keys: Uint8Array[]): FuzzSender[] {
  return keys.map((privateKey) => ({ privateKey, address: privateKeyToAddress(privateKey) }));
}
