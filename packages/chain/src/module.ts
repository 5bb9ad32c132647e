// The module framework: a module declares its messages, queries, events, params, genesis and
// block hooks; the registry is the one table the executor, mempool, RPC and docs read from.

import type { FieldType, Infer, StructType } from '@aivm/codec';
import { decode, encode, fromJson, toJson } from '@aivm/codec';
import type { Address } from '@aivm/crypto';
import { utf8ToBytes } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { ModuleError } from './errors.ts';
import { GAS, type GasMeter } from './gas.ts';
import type { StateOverlay } from './overlay.ts';

export type ChainEvent = { module: string; type: string; attributes: Record<string, string> };

/**
 * What a block exposes to modules: header fields only, never roots computed from the block itself,
 * plus who signed the parent's commit (consensus addresses; empty in block 1) for downtime tracking.
 */
export type BlockInfo = {
  chainId: bigint;
  height: bigint;
  timeMs: bigint;
  proposer: Address;
  /** Hash of the parent block's header (zero in genesis): the chain's shared, unchosen randomness. */
  parentHash: Uint8Array;
  lastCommit: { round: number; signers: readonly Address[] };
};

/** Gas-metered state access plus event emission for one message, hook or genesis step. */
export class ExecContext {
  readonly block: BlockInfo;
  readonly gas: GasMeter;
  readonly events: ChainEvent[] = [];
  readonly #state: StateOverlay;

  constructor(state: StateOverlay, block: BlockInfo, gas: GasMeter) {
    this.#state = state;
    this.block = block;
    this.gas = gas;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.gas.consume(GAS.READ);
    const value = await this.#state.get(key);
    if (value) this.gas.consume(GAS.READ_BYTE * BigInt(value.length));
    return value;
  }

  set(key: Uint8Array, value: Uint8Array): void {
    this.gas.consume(GAS.WRITE + GAS.WRITE_BYTE * BigInt(key.length + value.length));
    this.#state.set(key, value);
  }

  delete(key: Uint8Array): void {
    this.gas.consume(GAS.DELETE);
    this.#state.set(key, null);
  }

  emit(module: string, type: string, attributes: Record<string, string>): void {
    let size = 0;
    for (const [k, v] of Object.entries(attributes)) size += k.length + v.length;
    this.gas.consume(GAS.EVENT + GAS.EVENT_BYTE * BigInt(size));
    this.events.push({ module, type, attributes });
  }
}

export type MsgDef<S extends StructType = StructType> = {
  schema: S;
  /** One line for docs and the RPC catalogue. */
  description: string;
  handler: (ctx: ExecContext, msg: Infer<S>, sender: Address) => Promise<void>;
};

export type QueryDef<S extends FieldType = FieldType> = {
  params: S;
  description: string;
  handler: (state: KVReader, params: Infer<S>) => Promise<unknown>;
};

export type ParamsDef<S extends StructType = StructType> = {
  schema: S;
  defaults: Infer<S>;
  /** Throws ModuleError when a value is outside its bounds (genesis and governance both call it). */
  validate: (params: Infer<S>) => void;
};

export type Module = {
  name: string;
  /** Keyed by message type, e.g. "bank/send". */
  messages: Record<string, MsgDef>;
  queries: Record<string, QueryDef>;
  params?: ParamsDef;
  /** Genesis section of this module, as JSON (from genesis.json). */
  initGenesis?: (ctx: ExecContext, genesis: unknown) => Promise<void>;
  beginBlock?: (ctx: ExecContext) => Promise<void>;
  endBlock?: (ctx: ExecContext) => Promise<void>;
};

/** Declares a message with its handler typed from its schema. */
export function defineMsg<S extends StructType>(def: {
  schema: S;
  description: string;
  handler: (ctx: ExecContext, msg: NoInfer<Infer<S>>, sender: Address) => Promise<void>;
}): MsgDef {
  return def as unknown as MsgDef;
}

export function defineQuery<S extends FieldType>(def: {
  params: S;
  description: string;
  handler: (state: KVReader, params: NoInfer<Infer<S>>) => Promise<unknown>;
}): QueryDef {
  return def as unknown as QueryDef;
}

export function defineParams<S extends StructType>(def: {
  schema: S;
  defaults: NoInfer<Infer<S>>;
  validate: (params: NoInfer<Infer<S>>) => void;
}): ParamsDef<S> {
  def.validate(def.defaults);
  return def;
}

export function paramsKey(module: string): Uint8Array {
  return utf8ToBytes(`${module}/params`);
}

/** Reads a module's params from state (defaults until genesis or governance wrote them). */
export async function readParams<S extends StructType>(
  state: KVReader,
  module: string,
  def: ParamsDef<S>,
): Promise<Infer<S>> {
  const raw = await state.get(paramsKey(module));
  return raw ? decode(def.schema, raw) : def.defaults;
}

export function writeParams<S extends StructType>(
  ctx: ExecContext,
  module: string,
  def: ParamsDef<S>,
  params: Infer<S>,
): void {
  def.validate(params);
  ctx.set(paramsKey(module), encode(def.schema, params));
}

/** Parses a params section of genesis JSON: missing fields take defaults. */
export function paramsFromJson<S extends StructType>(def: ParamsDef<S>, json: unknown): Infer<S> {
  const defaults = toJson(def.schema, def.defaults) as Record<string, unknown>;
  const merged = { ...defaults, ...((json ?? {}) as Record<string, unknown>) };
  const params = fromJson(def.schema, merged);
  def.validate(params);
  return params;
}

export class Registry {
  readonly modules: readonly Module[];
  readonly #messages = new Map<string, { module: Module; def: MsgDef }>();
  readonly #queries = new Map<string, { module: Module; def: QueryDef }>();

  constructor(modules: Module[]) {
    this.modules = modules;
    const names = new Set<string>();
    for (const m of modules) {
      if (names.has(m.name)) throw new Error(`module ${m.name} registered twice`);
      names.add(m.name);
      for (const [type, def] of Object.entries(m.messages)) {
        if (!type.startsWith(`${m.name}/`)) throw new Error(`message ${type} outside module ${m.name}`);
        this.#messages.set(type, { module: m, def });
      }
      for (const [path, def] of Object.entries(m.queries)) {
        this.#queries.set(`${m.name}/${path}`, { module: m, def });
      }
    }
  }

  message(type: string): MsgDef | undefined {
    return this.#messages.get(type)?.def;
  }

  query(path: string): QueryDef | undefined {
    return this.#queries.get(path)?.def;
  }

  messageTypes(): string[] {
    return [...this.#messages.keys()];
  }

  queryPaths(): string[] {
    return [...this.#queries.keys()];
  }
}

export function requireThat(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ModuleError(message);
}
