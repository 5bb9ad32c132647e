// JSON forms of node records as the RPC serves them: integers of 64+ bits as decimal strings,
// bytes as 0x hex, schema-typed values through the codec's toJson.

import {
  type ChainEvent,
  decodeTx,
  HeaderSchema,
  LastCommitSchema,
  type Receipt,
  ReceiptSchema,
  type Registry,
  type SignedTx,
} from '@aivm/chain';
import { toJson } from '@aivm/codec';
import { bytesToHex, type Hex, keccak256 } from '@aivm/crypto';
import type { BlockRecord, NodeStatus, TxRecord } from '../api.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Generic conversion for values without a schema (query results, proofs). */
export function toJsonValue(value: unknown): Json {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'object': {
      if (value instanceof Uint8Array) return bytesToHex(value);
      if (Array.isArray(value)) return value.map(toJsonValue);
      if (value instanceof Map) {
        return Object.fromEntries([...value].map(([k, v]) => [String(k), toJsonValue(v)]));
      }
      const out: { [key: string]: Json } = {};
      for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonValue(v);
      return out;
    }
    default:
      return null;
  }
}

export function statusJson(s: NodeStatus): Json {
  return {
    chainId: s.chainId.toString(),
    genesisHash: s.genesisHash,
    height: s.height.toString(),
    headHash: s.headHash,
    stateRoot: s.stateRoot,
    timeMs: s.timeMs.toString(),
    mempool: { count: s.mempool.count, bytes: s.mempool.bytes },
    validator: s.validator,
    version: s.version,
  };
}

export function receiptJson(r: Receipt): Json {
  const { txHash, ...rest } = toJson(ReceiptSchema, r) as Record<string, Json>;
  return { txHash: txHash!, success: r.code === 0, ...rest };
}

/** A decoded transaction without its block context. */
export function signedTxJson(tx: SignedTx, registry: Registry): Json {
  const schema = registry.message(tx.msgType)?.schema;
  return {
    hash: tx.hash,
    chainId: tx.chainId.toString(),
    from: tx.from,
    nonce: tx.nonce.toString(),
    gasLimit: tx.gasLimit.toString(),
    gasPrice: tx.gasPrice.toString(),
    msgType: tx.msgType,
    msg: schema ? (toJson(schema, tx.msg as never) as Json) : toJsonValue(tx.msg),
    signature: bytesToHex(tx.signature),
  };
}

export function txRecordJson(rec: TxRecord, registry: Registry): Json {
  return {
    ...(signedTxJson(rec.tx, registry) as { [key: string]: Json }),
    blockHash: rec.blockHash,
    height: rec.height.toString(),
    index: rec.index,
    receipt: receiptJson(rec.receipt),
  };
}

export function txHashOf(raw: Uint8Array): Hex {
  return bytesToHex(keccak256(raw));
}

export function blockJson(rec: BlockRecord, registry: Registry, fullTxs: boolean): Json {
  const { block } = rec;
  const out: { [key: string]: Json } = {
    hash: rec.hash,
    header: toJson(HeaderSchema, block.header) as Json,
    txs: fullTxs
      ? block.txs.map((raw) =>
          signedTxJson(
            decodeTx(raw, (type) => registry.message(type)?.schema),
            registry,
          ),
        )
      : block.txs.map(txHashOf),
    lastCommit: toJson(LastCommitSchema, block.lastCommit) as Json,
  };
  if (fullTxs) out.receipts = rec.receipts.map(receiptJson);
  return out;
}

export function newBlockJson(rec: BlockRecord): Json {
  return {
    hash: rec.hash,
    height: rec.block.header.height.toString(),
    header: toJson(HeaderSchema, rec.block.header) as Json,
  };
}

export function txResultJson(rec: TxRecord): Json {
  return {
    hash: rec.tx.hash,
    height: rec.height.toString(),
    index: rec.index,
    receipt: receiptJson(rec.receipt),
  };
}

export function moduleEventJson(ev: ChainEvent & { height: bigint; txHash: Hex | null }): Json {
  return {
    module: ev.module,
    type: ev.type,
    attributes: { ...ev.attributes },
    height: ev.height.toString(),
    txHash: ev.txHash,
  };
}
