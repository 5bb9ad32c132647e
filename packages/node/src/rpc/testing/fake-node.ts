// A NodeApi with canned data and a real event emitter, for testing the RPC layer (and clients of
// it) in isolation. The real node is tested end to end elsewhere.

import { EventEmitter } from 'node:events';
import {
  BankSend,
  type Block,
  blockHash,
  decodeTx,
  defaultModules,
  ERR,
  type Header,
  InsufficientFunds,
  queryParamsFromJson,
  type Receipt,
  Registry,
  signTx,
  TxRejected,
} from '@aivm/chain';
import { type Address, bytesToHex, type Hex, hexToBytes, keccak256, privateKeyToAddress } from '@aivm/crypto';
import type {
  AccountInfo,
  BlockRecord,
  NodeApi,
  NodeEvents,
  NodeStatus,
  ProvenValue,
  TxDraft,
  TxRecord,
  TxStatus,
} from '../../api.ts';

export const FAKE_CHAIN_ID = 1337n;
export const FAKE_SENDER_KEY = hexToBytes(`0x${'11'.repeat(32)}`);
export const FAKE_SENDER: Address = privateKeyToAddress(FAKE_SENDER_KEY);
export const FAKE_RECIPIENT: Address = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
/** getAccount of this address throws a plain Error (an internal failure). */
export const FAKE_BROKEN_ADDRESS: Address = '0x000000000000000000000000000000000000dEaD';
/** estimateGas from this address fails with InsufficientFunds. */
export const FAKE_POOR_ADDRESS: Address = '0x0000000000000000000000000000000000000001';

const bytes32 = (fill: number): Uint8Array => new Uint8Array(32).fill(fill);

export function fakeTransfer(nonce: bigint, amountWei: bigint): Uint8Array {
  return signTx(
    {
      chainId: FAKE_CHAIN_ID,
      from: FAKE_SENDER,
      nonce,
      gasLimit: 60_000n,
      gasPrice: 1_000_000_000n,
      msgType: 'bank/send',
      msg: { to: FAKE_RECIPIENT, amount: amountWei },
    },
    FAKE_SENDER_KEY,
    BankSend,
  );
}

function receiptFor(raw: Uint8Array, amountWei: bigint): Receipt {
  return {
    txHash: keccak256(raw),
    code: 0,
    gasUsed: 21_500n,
    feeWei: 21_500n * 1_000_000_000n,
    error: '',
    events: [
      {
        module: 'bank',
        type: 'transfer',
        attributes: [
          { key: 'from', value: FAKE_SENDER },
          { key: 'to', value: FAKE_RECIPIENT },
          { key: 'amount', value: amountWei.toString() },
        ],
      },
    ],
  };
}

export function fakeBlock(
  height: bigint,
  parentHash: Uint8Array,
  txs: Uint8Array[],
  amounts: bigint[],
): BlockRecord {
  const header: Header = {
    chainId: FAKE_CHAIN_ID,
    height,
    timeMs: 1_700_000_000_000n + height * 1000n,
    parentHash,
    stateRoot: bytes32(0x50 + Number(height)),
    txRoot: bytes32(0x60),
    resultsRoot: bytes32(0x70),
    validatorSetHash: bytes32(0x80),
    lastCommitHash: bytes32(0x90),
    gasUsed: 21_500n * BigInt(txs.length),
    proposer: FAKE_SENDER,
  };
  const block: Block = {
    header,
    txs,
    lastCommit: {
      round: 0,
      signatures: height > 1n ? [{ validator: FAKE_SENDER, signature: new Uint8Array(64).fill(7) }] : [],
    },
  };
  return { hash: blockHash(block), block, receipts: txs.map((raw, i) => receiptFor(raw, amounts[i]!)) };
}

type Call = { method: string; args: unknown[] };

export class FakeNode implements NodeApi {
  readonly chainId = FAKE_CHAIN_ID;
  readonly registry = new Registry(defaultModules());
  readonly events = new EventEmitter();
  readonly calls: Call[] = [];
  readonly blocks: BlockRecord[] = [];
  readonly txs = new Map<Hex, TxRecord>();
  /** getTxStatus answers of uncommitted hashes (committed ones come from `txs`); unknown otherwise. */
  readonly statuses = new Map<Hex, TxStatus>();
  /** When set, sendRawTx throws it. */
  sendError: Error | undefined;

  constructor() {
    this.events.setMaxListeners(1000);
    const txs = [fakeTransfer(0n, 1000n), fakeTransfer(1n, 2000n)];
    let parent = bytes32(0);
    for (const [height, raws, amounts] of [
      [1n, [], []],
      [2n, txs, [1000n, 2000n]],
      [3n, [], []],
    ] as const) {
      const rec = fakeBlock(height, parent, [...raws], [...amounts]);
      this.blocks.push(rec);
      parent = hexToBytes(rec.hash);
      rec.block.txs.forEach((raw, index) => {
        const tx = decodeTx(raw, (type) => this.registry.message(type)?.schema);
        this.txs.set(tx.hash, { tx, blockHash: rec.hash, height, index, receipt: rec.receipts[index]! });
      });
    }
  }

  get head(): BlockRecord {
    return this.blocks[this.blocks.length - 1]!;
  }

  status(): NodeStatus {
    this.calls.push({ method: 'status', args: [] });
    const { header } = this.head.block;
    return {
      chainId: this.chainId,
      genesisHash: bytesToHex(bytes32(0xaa)),
      height: header.height,
      headHash: this.head.hash,
      stateRoot: bytesToHex(header.stateRoot),
      timeMs: header.timeMs,
      mempool: { count: 2, bytes: 300 },
      validator: FAKE_SENDER,
      version: '0.1.0-test',
    };
  }

  async getBlock(ref: { height?: bigint; hash?: Hex }): Promise<BlockRecord | undefined> {
    this.calls.push({ method: 'getBlock', args: [ref] });
    if (ref.height !== undefined) return this.blocks.find((b) => b.block.header.height === ref.height);
    if (ref.hash !== undefined) return this.blocks.find((b) => b.hash === ref.hash);
    return this.head;
  }

  async getTx(hash: Hex): Promise<TxRecord | undefined> {
    this.calls.push({ method: 'getTx', args: [hash] });
    return this.txs.get(hash);
  }

  async getTxStatus(hash: Hex): Promise<TxStatus> {
    this.calls.push({ method: 'getTxStatus', args: [hash] });
    const rec = this.txs.get(hash);
    if (rec) return { status: 'committed', height: rec.height };
    return this.statuses.get(hash) ?? { status: 'unknown' };
  }

  async getAccount(address: Address): Promise<AccountInfo> {
    this.calls.push({ method: 'getAccount', args: [address] });
    if (address.toLowerCase() === FAKE_BROKEN_ADDRESS.toLowerCase()) {
      throw new Error('ENOENT: /var/lib/aivm/secret/state.db');
    }
    return { address, nonce: 2n, pendingNonce: 5n, balanceWei: 123_456_789_000_000_000_000n };
  }

  async getProof(key: Uint8Array, height?: bigint): Promise<ProvenValue> {
    this.calls.push({ method: 'getProof', args: [key, height] });
    const at = height ?? this.head.block.header.height;
    const rec = this.blocks.find((b) => b.block.header.height === at);
    if (!rec) throw new TxRejected(ERR.NOT_FOUND, `no block at height ${at}`);
    return {
      height: at,
      proof: {
        key: bytesToHex(key),
        value: null,
        root: bytesToHex(rec.block.header.stateRoot),
        siblings: [bytesToHex(bytes32(0x22))],
      },
    };
  }

  async sendRawTx(raw: Uint8Array): Promise<Hex> {
    this.calls.push({ method: 'sendRawTx', args: [raw] });
    if (this.sendError) throw this.sendError;
    return bytesToHex(keccak256(raw));
  }

  async estimateGas(draft: TxDraft): Promise<bigint> {
    this.calls.push({ method: 'estimateGas', args: [draft] });
    if (draft.from.toLowerCase() === FAKE_POOR_ADDRESS.toLowerCase()) throw new InsufficientFunds(100n, 0n);
    return 31_234n;
  }

  async query(path: string, params: unknown): Promise<unknown> {
    this.calls.push({ method: 'query', args: [path, params] });
    const def = this.registry.query(path);
    if (!def) throw new TxRejected(ERR.NOT_FOUND, `unknown query path: ${path}`);
    const p = queryParamsFromJson(def, params) as Record<string, unknown>;
    if (path === 'bank/supply') return { supplyWei: 10n ** 24n };
    if (path === 'bank/balance') return { address: p.address, balanceWei: 77n, raw: Uint8Array.of(1, 2) };
    if (path === 'auth/params') {
      return { minGasPriceWei: 1_000_000_000n, maxTxGas: 10_000_000n, blockGasLimit: 200_000_000n };
    }
    return {};
  }

  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void {
    this.events.on(event, listener as (...args: unknown[]) => void);
  }

  off<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void {
    this.events.off(event, listener as (...args: unknown[]) => void);
  }

  emit<E extends keyof NodeEvents>(event: E, ...args: Parameters<NodeEvents[E]>): void {
    this.events.emit(event, ...args);
  }
}
