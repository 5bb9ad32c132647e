// The module framework: a module declares its messages, queries, events, params, genesis and
// block hooks; the registry is the one table the executor, mempool, RPC and docs read from.

import type { FieldType, Infer, StructType } from '@aivm/codec';
import { decode, encode, fromJson, toJson } from '@aivm/codec';
import type { Address } from '@aivm/crypto';
import { utf8ToBytes } from '@aivm/crypto';
import type { KVReader, KVScanner } from '@aivm/state';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '@aivm/state/proof';
import { EVENT_LIMITS } from './block.ts';
import { ERR, failureCode, ModuleError, OK } from './errors.ts';
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

/** A point to return to: the state journal and the events emitted so far. */
export type Snapshot = { journal: number; events: number };

/** Gas-metered state access plus event emission for one message, hook or genesis step. */
export class ExecContext {
  readonly block: BlockInfo;
  readonly gas: GasMeter;
  readonly events: ChainEvent[] = [];
  readonly #state: StateOverlay;

  /** Events this context may emit: a transaction's receipt holds EVENT_LIMITS.perContext. */
  readonly maxEvents: number;

  /**
   * `maxEvents` bounds a transaction's events (its receipt's schema); block hooks and genesis
   * are unbounded here, their work is bounded by their own budgets.
   */
  constructor(state: StateOverlay, block: BlockInfo, gas: GasMeter, maxEvents = Number.POSITIVE_INFINITY) {
    this.#state = state;
    this.block = block;
    this.gas = gas;
    this.maxEvents = maxEvents;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.gas.consume(GAS.READ);
    const value = await this.#state.get(key);
    if (value) this.gas.consume(GAS.READ_BYTE * BigInt(value.length));
    return value;
  }

  set(key: Uint8Array, value: Uint8Array): void {
    this.gas.consume(GAS.WRITE + GAS.WRITE_BYTE * BigInt(key.length + value.length));
    // The state tree refuses these when the block is sealed; refused here, they fail only this message.
    if (key.length === 0 || key.length > MAX_KEY_BYTES || value.length > MAX_VALUE_BYTES)
      throw new ModuleError(
        `state entry of ${key.length} + ${value.length} bytes is beyond the state's limits`,
        ERR.VALUE_TOO_LARGE,
      );
    this.#state.set(key, value);
  }

  delete(key: Uint8Array): void {
    this.gas.consume(GAS.DELETE);
    this.#state.set(key, null);
  }

  /**
   * Records an event. An event outside the receipt's bounds fails the message (or hook) with a
   * typed error here, so sealing the block can never fail on what a transaction put in an event.
   */
  emit(module: string, type: string, attributes: Record<string, string>): void {
    const entries = Object.entries(attributes);
    let size = 0;
    let fits =
      this.events.length < this.maxEvents &&
      entries.length <= EVENT_LIMITS.attributes &&
      utf8Length(module) <= EVENT_LIMITS.name &&
      utf8Length(type) <= EVENT_LIMITS.name;
    for (const [k, v] of entries) {
      const valueBytes = utf8Length(v);
      fits &&= utf8Length(k) <= EVENT_LIMITS.key && valueBytes <= EVENT_LIMITS.valueBytes;
      size += k.length + valueBytes;
    }
    if (!fits)
      throw new ModuleError(`event ${module}/${type} exceeds the event size limits`, ERR.EVENT_TOO_LARGE);
    this.gas.consume(GAS.EVENT + GAS.EVENT_BYTE * BigInt(size));
    this.events.push({ module, type, attributes });
  }

  snapshot(): Snapshot {
    return { journal: this.#state.snapshot(), events: this.events.length };
  }

  /** Undoes every write and event since `snap` (gas already consumed stays consumed). */
  revertTo(snap: Snapshot): void {
    this.#state.revertTo(snap.journal);
    this.events.length = snap.events;
  }

  /**
   * Runs `fn` all or nothing: when it throws, its writes and events are undone and the error goes
   * on. For multi-step changes whose later checks can fail after earlier writes.
   */
  async atomic<T>(fn: () => Promise<T>): Promise<T> {
    const snap = this.snapshot();
    try {
      return await fn();
    } catch (err) {
      this.revertTo(snap);
      throw err;
    }
  }

  /**
   * atomic(), for a hook that works through independent items: a typed failure of `fn` is undone
   * and its code returned (OK when it succeeded), so one item cannot undo or block the others;
   * anything else still propagates (an ExecutionFault).
   */
  async attempt(fn: () => Promise<void>): Promise<number> {
    try {
      await this.atomic(fn);
      return OK;
    } catch (err) {
      const code = failureCode(err);
      if (code === undefined) throw err;
      return code;
    }
  }
}

/** Byte length of the UTF-8 encoding of `s` (a lone surrogate encodes as U+FFFD, 3 bytes), without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Attribute names of each event type of a module. */
export type EventSpec = Record<string, readonly string[]>;
type Attrs<E extends EventSpec, K extends keyof E> = { [A in E[K][number]]: string };

/**
 * A module's events, declared once (its events.ts): the emitter its code calls and the matcher
 * the node, SDK and tests read events with, both typed by the same declaration.
 */
export type ModuleEvents<E extends EventSpec> = {
  readonly module: string;
  readonly types: E;
  emit<K extends keyof E & string>(ctx: ExecContext, type: K, attributes: Attrs<E, K>): void;
  /** Whether `ev` (with attributes in either form) is this module's event `type`. */
  is(ev: { module: string; type: string }, type: keyof E & string): boolean;
  /** The attributes of `ev` if it is this module's event `type`, else undefined. */
  match<K extends keyof E & string>(
    ev: { module: string; type: string; attributes: Record<string, string> },
    type: K,
  ): Attrs<E, K> | undefined;
};

export function defineEvents<const E extends EventSpec>(module: string, types: E): ModuleEvents<E> {
  return {
    module,
    types,
    emit(ctx, type, attributes) {
      ctx.emit(module, type, attributes as Record<string, string>);
    },
    is(ev, type) {
      return ev.module === module && ev.type === type;
    },
    match(ev, type) {
      if (ev.module !== module || ev.type !== type) return undefined;
      return ev.attributes as never;
    },
  };
}

export type MsgDef<S extends StructType = StructType> = {
  schema: S;
  /** One line for docs and the RPC catalogue. */
  description: string;
  handler: (ctx: ExecContext, msg: Infer<S>, sender: Address) => Promise<void>;
};

export type QueryDef<S extends FieldType = FieldType> = {
  params: S;
  /**
   * Values for params fields a caller may omit (optional filters, paging), in JSON form.
   * Decode params with queryParamsFromJson, which fills them in; a field without a default is required.
   */
  defaults?: Record<string, unknown>;
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
  /** This module's section of a genesis file, written from a running chain's state. */
  exportGenesis?: (state: KVScanner) => Promise<unknown>;
  beginBlock?: (ctx: ExecContext) => Promise<void>;
  endBlock?: (ctx: ExecContext) => Promise<void>;
  /** Properties of committed state that must hold after every block (Cosmos' crisis invariants). */
  invariants?: Invariant[];
};

/**
 * A property of committed state. `check` returns undefined when it holds, otherwise what is wrong
 * (with the numbers), for the operator who must stop the node.
 */
export type Invariant = { name: string; check: (state: KVScanner) => Promise<string | undefined> };

/** Runs every module's invariants over `state`; returns "module/name: what is wrong" for each broken one. */
export async function checkInvariants(state: KVScanner, registry: Registry): Promise<string[]> {
  const broken: string[] = [];
  for (const m of registry.modules) {
    for (const inv of m.invariants ?? []) {
      const problem = await inv.check(state);
      if (problem !== undefined) broken.push(`${m.name}/${inv.name}: ${problem}`);
    }
  }
  return broken;
}

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
  /** Fields a caller may omit, with the value they take (typed; stored in JSON form). */
  defaults?: S extends StructType ? NoInfer<Partial<Infer<S>>> : never;
  description: string;
  handler: (state: KVReader, params: NoInfer<Infer<S>>) => Promise<unknown>;
}): QueryDef {
  const { defaults, ...rest } = def;
  if (defaults === undefined) return rest as unknown as QueryDef;
  const fields = (def.params as StructType).fields;
  const json: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(defaults as Record<string, unknown>)) {
    const type = fields[k];
    if (type === undefined) throw new Error(`query default ${k} is not a params field`);
    json[k] = toJson(type, v as never);
    fromJson(type, json[k]); // a default must itself be a valid value (range, size)
  }
  return { ...rest, defaults: json } as unknown as QueryDef;
}

/**
 * Decodes a query's params from JSON: fields the caller omits take the query's defaults; other
 * fields are required, and unknown or out-of-range ones are refused (CodecError), as by fromJson.
 */
export function queryParamsFromJson(def: QueryDef, json: unknown): unknown {
  const given = json ?? {};
  if (def.defaults === undefined || typeof given !== 'object' || Array.isArray(given))
    return fromJson(def.params, given);
  return fromJson(def.params, { ...def.defaults, ...(given as Record<string, unknown>) });
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
