// The authenticated state of the chain: a sparse Merkle tree with a Merkle root per block, persisted in LevelDB.
//
// Logical tree (what the root commits to, and what proofs walk; see proof.ts for the hash rules): a binary tree over
// the 256-bit path sha256(key). A subtree holding one leaf is that leaf, an empty subtree is 32 zero bytes, and a
// subtree holding two or more leaves is sha256(0x01 || left || right). The shape depends only on the set of keys, so
// the root depends only on the set of (key, value) pairs: never on insertion order or on how changes were batched,
// and deleting a key restores the exact earlier root.
//
// Physical tree (like Aptos' Jellyfish Merkle tree): four binary levels are stored together as one node with 16
// children, keyed by its hash under `n:`. A child is empty, a leaf (stored inline as keyHash || valueHash) or another
// node (its hash). Only a root that is a single leaf gets a record of its own. Record formats are in nodes.ts. In
// memory a node also keeps its 15 inner binary hashes, so an update re-hashes only the dirty paths.
//
// Hashing is lazy per block: stage() sorts the block's changes by path, loads the nodes on their paths level by
// level (one LevelDB getMany per level for what the cache lacks), then updates each touched node once, bottom-up,
// hashing only the dirty binary paths. Measured over a 100k-key tree, a block of 4,000 changes costs ~36k sha256
// calls: 3 per change for its key, value and leaf, ~6 per change for inner nodes (~6,300 stored nodes rewritten).
// Nodes are content addressed and never deleted (no pruning yet), so every committed root stays provable.
//
// Storage layout in the caller's Database (other prefixes belong to the caller):
//   s:<key>        latest value (flat index: reads never walk the tree)
//   n:<hash>       tree node
//   v:<valueHash>  value by hash (content addressed; lets prove() answer for older roots)
//   m:head         root (32 bytes) || version (u64 big-endian) of the last commit

import { Buffer } from 'node:buffer';
import { hash as nativeHash } from 'node:crypto';
import { bytesToHex, concatBytes, u64be } from '@aivm/crypto';
import type { BatchOp, Database, KVScanner } from './db.ts';
import {
  CorruptStateError,
  EmptyKeyError,
  KeyTooLargeError,
  MissingNodeError,
  StaleStagedStateError,
  StateVersionError,
  UnknownRootError,
  ValueTooLargeError,
} from './errors.ts';
import {
  Arena,
  decodeRecord,
  EMPTY,
  encodeLeafRecord,
  eq32,
  isEmptyHash,
  LEAF,
  Leaf,
  NODE,
  Node,
  NodeStore,
  prefixedHash,
} from './nodes.ts';
import { EMPTY_ROOT, MAX_KEY_BYTES, MAX_VALUE_BYTES, type StateProof } from './proof.ts';
import { sha256Into } from './sha256.ts';

export type StateChange = { key: Uint8Array; value: Uint8Array | null };
export type StagedState = { root: Uint8Array; version: bigint; ops: BatchOp[] };
export type StateTreeOptions = {
  /** Tree nodes kept in memory (2 KiB each, allocated as used). Default 65,536 (128 MiB when full). */
  nodeCacheSize?: number;
  /** Latest values kept in memory per cache generation (the cache holds up to twice this). Default 65,536. */
  valueCacheSize?: number;
};

/** Key prefixes the state owns inside the Database. */
export const STATE_KEY_PREFIXES = { flat: 's:', node: 'n:', value: 'v:', meta: 'm:' } as const;

const utf8 = new TextEncoder();
const PREFIX_FLAT = utf8.encode(STATE_KEY_PREFIXES.flat);
const PREFIX_NODE = utf8.encode(STATE_KEY_PREFIXES.node);
const PREFIX_VALUE = utf8.encode(STATE_KEY_PREFIXES.value);
const META_HEAD = utf8.encode(`${STATE_KEY_PREFIXES.meta}head`);

/** Values larger than this are read from LevelDB each time instead of being cached. */
const MAX_CACHED_VALUE_BYTES = 16 * 1024;

// Keys, small values and every node hash go through the JS sha256 of sha256.ts (no allocation per call);
// node:crypto (SHA-NI) wins only on long values. All of them are standard sha256, as is proof.ts via @aivm/crypto.
const NATIVE_HASH_MIN_BYTES = 512;

function hashInto(data: Uint8Array, dst: Uint8Array, dstOff: number): void {
  if (data.length >= NATIVE_HASH_MIN_BYTES) dst.set(nativeHash('sha256', data, 'buffer'), dstOff);
  else sha256Into(data, dst, dstOff);
}

function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  hashInto(data, out, 0);
  return out;
}

/** Nibble `d` (0..63) of a 32-byte path (or of the keyHash at the start of a kv). */
function nibble(path: Uint8Array, d: number): number {
  const b = path[d >> 1]!;
  return d & 1 ? b & 15 : b >> 4;
}

/** Compares the first 32 bytes of two arrays. */
function cmp32(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Map key of a byte string. */
function mapKey(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** A cache with approximate LRU eviction: two generations of Maps, the older dropped whole when the newer fills. */
class TwoGenerationCache<V> {
  #hot = new Map<string, V>();
  #cold = new Map<string, V>();
  readonly #capacity: number;
  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }
  get(key: string): V | undefined {
    const v = this.#hot.get(key);
    if (v !== undefined) return v;
    const c = this.#cold.get(key);
    if (c !== undefined) this.set(key, c);
    return c;
  }
  set(key: string, value: V): void {
    this.#hot.set(key, value);
    if (this.#hot.size >= this.#capacity) {
      this.#cold = this.#hot;
      this.#hot = new Map();
    }
  }
  delete(key: string): void {
    this.#hot.delete(key);
    this.#cold.delete(key);
  }
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new TypeError('state key must be a Uint8Array');
  if (key.length === 0) throw new EmptyKeyError();
  if (key.length > MAX_KEY_BYTES) throw new KeyTooLargeError(key.length);
}

function checkValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw new TypeError('state value must be a Uint8Array or null');
  if (value.length > MAX_VALUE_BYTES) throw new ValueTooLargeError(value.length);
}

/** One change of a stage, after validation. */
type Change = {
  /** `s:` || key: the flat-index key (and the stage's own copy of the key). */
  flatKey: Uint8Array;
  /** keyHash || valueHash (valueHash zero for a delete); the first 32 bytes are the key's path. */
  kv: Uint8Array;
  value: Uint8Array | null;
  /** The new leaf; null for a delete. */
  leaf: Leaf | null;
  order: number;
  /** Set during the walk: the change alters the state (not a rewrite of the same value, not a delete of nothing). */
  effective: boolean;
};

type StageContext = {
  changes: Change[];
  arena: Arena;
  /** Node children on the changed paths, loaded before the (synchronous) update: kids.get(parent)[nibble]. */
  kids: Map<Node, (Node | Leaf)[]>;
  /** Nodes of the new version (edited copies and new ones), all in the arena. */
  created: Node[];
  /** Hashes of the base version's nodes that the new version no longer contains. */
  replaced: Uint8Array[];
};

const UNCHANGED = Symbol('unchanged');
type UpdateResult = Leaf | Node | null | typeof UNCHANGED;

/** What applyStaged needs that the ops list does not carry in usable form. */
type StagedInternals = {
  baseRoot: Uint8Array;
  baseVersion: bigint;
  baseCommitted: boolean;
  created: Node[];
  replaced: Uint8Array[];
  values: Change[];
};

export class StateTree implements KVScanner {
  readonly #db: Database;
  #root: Uint8Array;
  #version: bigint;
  /** Whether any version has been committed (a fresh tree may commit any version, even 0). */
  #committed: boolean;
  readonly #nodes: NodeStore;
  /** Latest committed values by `s:` key; null = known absent. */
  readonly #values: TwoGenerationCache<Uint8Array | null>;
  /** Bumped by applyStaged so a read that started before it never caches a stale value. */
  #epoch = 0;
  readonly #staged = new WeakMap<StagedState, StagedInternals>();

  private constructor(
    db: Database,
    root: Uint8Array,
    version: bigint,
    committed: boolean,
    opts: StateTreeOptions,
  ) {
    this.#db = db;
    this.#root = root;
    this.#version = version;
    this.#committed = committed;
    this.#nodes = new NodeStore(opts.nodeCacheSize ?? 65_536);
    this.#values = new TwoGenerationCache(opts.valueCacheSize ?? 65_536);
  }

  /** Opens the state held in `db`, at its last committed root and version (the empty root and 0n if none). */
  static async open(db: Database, opts: StateTreeOptions = {}): Promise<StateTree> {
    const head = await db.get(META_HEAD);
    if (head === undefined) return new StateTree(db, new Uint8Array(EMPTY_ROOT), 0n, false, opts);
    if (head.length !== 40) throw new CorruptStateError('malformed state head record');
    const version = new DataView(head.buffer, head.byteOffset, 40).getBigUint64(32);
    return new StateTree(db, head.slice(0, 32), version, true, opts);
  }

  /** Root of the last committed version (32 bytes). */
  get root(): Uint8Array {
    return new Uint8Array(this.#root);
  }

  /** Version (block height) of the last commit; 0n before the first. */
  get version(): bigint {
    return this.#version;
  }

  /** Latest committed value of `key`, or undefined when absent. Never walks the tree. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    checkKey(key);
    const flatKey = concatBytes(PREFIX_FLAT, key);
    const k = mapKey(flatKey);
    const cached = this.#values.get(k);
    if (cached !== undefined) return cached === null ? undefined : cached.slice();
    const epoch = this.#epoch;
    const value = await this.#db.get(flatKey);
    if (epoch === this.#epoch && (value === undefined || value.length <= MAX_CACHED_VALUE_BYTES)) {
      this.#values.set(k, value === undefined ? null : value.slice());
    }
    return value;
  }

  /**
   * Latest committed (key, value) pairs whose key starts with `prefix`, in key order: a read of the flat index for
   * invariant checks and genesis export, never for consensus reads (those go through get()).
   */
  async *scan(prefix: Uint8Array): AsyncIterable<[Uint8Array, Uint8Array]> {
    const gte = concatBytes(PREFIX_FLAT, prefix);
    const lt = prefixEnd(gte);
    for await (const [k, v] of this.#db.iterate(lt ? { gte, lt } : { gte })) {
      yield [k.subarray(PREFIX_FLAT.length), v];
    }
  }

  /**
   * Computes the root after `changes` (later changes to the same key win) as version `version`, and the ops that
   * persist it, without writing anything or moving the committed view.
   */
  async stage(changes: StateChange[], version: bigint): Promise<StagedState> {
    if (typeof version !== 'bigint' || version < 0n) {
      throw new TypeError('version must be a non-negative bigint');
    }
    if (this.#committed && version <= this.#version) throw new StateVersionError(version, this.#version);
    const baseRoot = this.#root;
    const baseVersion = this.#version;
    const baseCommitted = this.#committed;

    const sorted = prepareChanges(changes);
    const ctx: StageContext = {
      changes: sorted,
      arena: new Arena(),
      kids: new Map(),
      created: [],
      replaced: [],
    };
    const existing = await this.#loadPaths(baseRoot, ctx);
    const result = update(existing, 0, 0, sorted.length, ctx);

    let root: Uint8Array;
    let rootLeaf: Leaf | null = null;
    if (result === UNCHANGED) root = baseRoot;
    else if (result === null) root = EMPTY_ROOT;
    else if (result instanceof Leaf) {
      root = result.hash;
      rootLeaf = result;
    } else root = result.hash();
    root = new Uint8Array(root);

    const ops: BatchOp[] = [];
    // All node records of the block share one buffer (LevelDB copies them into its batch anyway).
    let recordBytes = 0;
    for (const node of ctx.created) recordBytes += node.encodedSize();
    const records = new Uint8Array(recordBytes);
    let off = 0;
    for (const node of ctx.created) {
      const size = node.encodedSize();
      node.encodeInto(records, off);
      const key = prefixedHash(PREFIX_NODE, node.buf, node.o + 32);
      ops.push({ type: 'put', key, value: records.subarray(off, off + size) });
      off += size;
    }
    if (rootLeaf !== null) {
      ops.push({
        type: 'put',
        key: concatBytes(PREFIX_NODE, rootLeaf.hash),
        value: encodeLeafRecord(rootLeaf),
      });
    }
    const values: Change[] = [];
    for (const c of sorted) {
      if (!c.effective) continue;
      values.push(c);
      if (c.value === null) ops.push({ type: 'del', key: c.flatKey });
      else {
        ops.push({ type: 'put', key: c.flatKey, value: c.value });
        ops.push({ type: 'put', key: prefixedHash(PREFIX_VALUE, c.kv, 32), value: c.value });
      }
    }
    ops.push({ type: 'put', key: META_HEAD, value: concatBytes(root, u64be(version)) });

    const staged: StagedState = { root, version, ops };
    this.#staged.set(staged, {
      baseRoot,
      baseVersion,
      baseCommitted,
      created: ctx.created,
      replaced: ctx.replaced,
      values,
    });
    return staged;
  }

  /**
   * Moves the committed view to `staged`, after the caller has written `staged.ops` (with its own) in one
   * db.write(). Throws StaleStagedStateError if `staged` was not staged by this tree on top of the current root.
   */
  applyStaged(staged: StagedState): void {
    const s = this.#staged.get(staged);
    if (s === undefined) {
      throw new StaleStagedStateError('this StagedState was not staged by this tree, or was applied');
    }
    if (s.baseRoot !== this.#root || s.baseVersion !== this.#version || s.baseCommitted !== this.#committed) {
      throw new StaleStagedStateError(
        `staged on root ${bytesToHex(s.baseRoot)} at version ${s.baseVersion}, but version ${this.#version} ` +
          `(root ${bytesToHex(this.#root)}) is committed now`,
      );
    }
    this.#staged.delete(staged);
    this.#epoch++;
    this.#root = new Uint8Array(staged.root);
    this.#version = staged.version;
    this.#committed = true;
    // Superseded nodes leave the cache first (they stay in LevelDB for proofs against older roots), so the new
    // version's nodes take their slots and the cache holds the current tree rather than old versions of its top.
    for (const hash of s.replaced) this.#nodes.delete(hash);
    for (const node of s.created) this.#nodes.put(node);
    for (const c of s.values) {
      const k = mapKey(c.flatKey);
      if (c.value === null) this.#values.set(k, null);
      else if (c.value.length <= MAX_CACHED_VALUE_BYTES) this.#values.set(k, c.value);
      else this.#values.delete(k);
    }
  }

  /** Membership or non-membership proof of `key` against `root` (default: the latest committed root). */
  async prove(key: Uint8Array, root: Uint8Array = this.#root): Promise<StateProof> {
    checkKey(key);
    if (!(root instanceof Uint8Array) || root.length !== 32) throw new TypeError('root must be 32 bytes');
    const rootHex = bytesToHex(root);
    const keyHash = sha256(key);
    const siblings: Uint8Array[] = [];
    let terminal: Leaf | null = null;
    if (!isEmptyHash(root)) {
      const arena = new Arena(1);
      // A cached node is a view of a cache slot that any later put() may reuse, so it is looked up synchronously
      // and everything needed from it is copied before the next await.
      let next: Node | Leaf | undefined = this.#nodes.get(root) ?? (await this.#readNode(root, arena));
      if (next === undefined) throw new UnknownRootError(rootHex);
      let depth = 0;
      walk: for (;;) {
        const node: Node | Leaf = next;
        if (node instanceof Leaf) {
          terminal = node;
          break;
        }
        let j = 1;
        for (let level = 0; level < 4; level++, depth++) {
          const bit = (keyHash[depth >> 3]! >> (7 - (depth & 7))) & 1;
          const child = 2 * j + bit;
          siblings.push(node.entryHash(child ^ 1).slice());
          j = child;
          const kind = node.kind(j);
          if (kind === EMPTY) break walk;
          if (kind === LEAF) {
            const leaf = node.leafUnder(j);
            terminal = new Leaf(leaf.kv.slice(), leaf.hash.slice());
            break walk;
          }
        }
        const childHash = node.entryHash(j).slice();
        next = this.#nodes.get(childHash) ?? (await this.#readNode(childHash, arena));
        if (next === undefined) throw new MissingNodeError('node', bytesToHex(childHash));
      }
    }
    const proof: StateProof = {
      key: bytesToHex(key),
      value: null,
      root: rootHex,
      siblings: siblings.map(bytesToHex),
    };
    if (terminal !== null) {
      if (eq32(terminal.kv, 0, keyHash, 0)) {
        proof.value = bytesToHex(await this.#valueOf(key, terminal.kv.subarray(32)));
      } else {
        proof.leaf = {
          keyHash: bytesToHex(terminal.kv.subarray(0, 32)),
          valueHash: bytesToHex(terminal.kv.subarray(32)),
        };
      }
    }
    return proof;
  }

  /** The value whose hash is `valueHash`: the latest value when it matches, else the content-addressed copy. */
  async #valueOf(key: Uint8Array, valueHash: Uint8Array): Promise<Uint8Array> {
    const latest = await this.get(key);
    if (latest !== undefined && eq32(sha256(latest), 0, valueHash, 0)) return latest;
    const value = await this.#db.get(concatBytes(PREFIX_VALUE, valueHash));
    if (value === undefined) throw new MissingNodeError('value', bytesToHex(valueHash));
    return value;
  }

  /** The node with this hash read from LevelDB, decoded into `arena` and cached; undefined if absent. */
  async #readNode(hash: Uint8Array, arena: Arena): Promise<Node | Leaf | undefined> {
    const rec = await this.#db.get(concatBytes(PREFIX_NODE, hash));
    if (rec === undefined) return undefined;
    const node = decodeRecord(rec, arena);
    if (node instanceof Node) this.#nodes.put(node);
    return node;
  }

  /**
   * Copies every node on the paths of the changes into the stage's arena (and their children into ctx.kids), one
   * tree level at a time with one getMany per level for what the cache lacks, so that the update itself runs
   * without awaiting and edits private copies. Returns the root (null if empty).
   */
  async #loadPaths(root: Uint8Array, ctx: StageContext): Promise<Node | Leaf | null> {
    if (isEmptyHash(root)) return null;
    const { changes, arena, kids } = ctx;
    const [rootNode] = await this.#copyNodes([{ buf: root, off: 0 }], arena);
    if (!(rootNode instanceof Node)) return rootNode!;
    let level: { node: Node; lo: number; hi: number }[] = [{ node: rootNode, lo: 0, hi: changes.length }];
    for (let d = 0; level.length > 0; d++) {
      const pending: { parent: Node; nib: number; lo: number; hi: number }[] = [];
      for (const { node, lo, hi } of level) {
        for (let i = lo; i < hi; ) {
          const nib = nibble(changes[i]!.kv, d);
          let j = i + 1;
          while (j < hi && nibble(changes[j]!.kv, d) === nib) j++;
          if (node.kind(16 + nib) === NODE) pending.push({ parent: node, nib, lo: i, hi: j });
          i = j;
        }
      }
      const loaded = await this.#copyNodes(
        pending.map((p) => ({ buf: p.parent.buf, off: p.parent.o + 32 * (16 + p.nib) })),
        arena,
      );
      const next: typeof level = [];
      for (let i = 0; i < pending.length; i++) {
        const p = pending[i]!;
        const child = loaded[i]!;
        let arr = kids.get(p.parent);
        if (arr === undefined) {
          arr = new Array(16);
          kids.set(p.parent, arr);
        }
        arr[p.nib] = child;
        if (child instanceof Node) next.push({ node: child, lo: p.lo, hi: p.hi });
      }
      level = next;
    }
    return rootNode;
  }

  /**
   * Private copies (in `arena`) of the nodes whose hashes are at buf[off, off + 32) (bytes that stay unchanged while
   * this runs), from the cache or else one getMany.
   */
  async #copyNodes(hashes: { buf: Uint8Array; off: number }[], arena: Arena): Promise<(Node | Leaf)[]> {
    const out: (Node | Leaf)[] = new Array(hashes.length);
    const missing: number[] = [];
    for (let i = 0; i < hashes.length; i++) {
      const h = hashes[i]!;
      const cached = this.#nodes.get(h.buf, h.off);
      if (cached !== undefined) out[i] = arena.copy(cached);
      else missing.push(i);
    }
    if (missing.length > 0) {
      const keys = missing.map((i) => prefixedHash(PREFIX_NODE, hashes[i]!.buf, hashes[i]!.off));
      const recs = await this.#db.getMany(keys);
      for (let m = 0; m < missing.length; m++) {
        const rec = recs[m];
        if (rec === undefined) {
          throw new MissingNodeError('node', bytesToHex(keys[m]!.subarray(PREFIX_NODE.length)));
        }
        const node = decodeRecord(rec, arena);
        if (node instanceof Node) this.#nodes.put(node);
        out[missing[m]!] = node;
      }
    }
    return out;
  }
}

/** Validates, copies, hashes, sorts by path and de-duplicates (last change to a key wins) a block's changes. */
function prepareChanges(changes: StateChange[]): Change[] {
  const out: Change[] = new Array(changes.length);
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    checkKey(c.key);
    const flatKey = concatBytes(PREFIX_FLAT, c.key);
    const kv = new Uint8Array(64);
    hashInto(c.key, kv, 0);
    let value: Uint8Array | null = null;
    let leaf: Leaf | null = null;
    if (c.value !== null) {
      checkValue(c.value);
      value = new Uint8Array(c.value);
      hashInto(value, kv, 32);
      leaf = Leaf.of(kv);
    }
    out[i] = { flatKey, kv, value, leaf, order: i, effective: false };
  }
  out.sort((a, b) => cmp32(a.kv, b.kv) || a.order - b.order);
  let n = 0;
  for (let i = 0; i < out.length; i++) {
    if (i + 1 < out.length && cmp32(out[i]!.kv, out[i + 1]!.kv) === 0) continue;
    out[n++] = out[i]!;
  }
  out.length = n;
  return out;
}

/**
 * Applies changes[lo, hi) (sorted, all below this position) to the subtree `existing` at nibble depth `d`. A node is
 * edited in place: it is the stage's private copy.
 */
function update(
  existing: Node | Leaf | null,
  d: number,
  lo: number,
  hi: number,
  ctx: StageContext,
): UpdateResult {
  if (lo === hi) return UNCHANGED;
  if (!(existing instanceof Node)) return updateFlat(existing, 0, d, lo, hi, ctx);
  const { changes } = ctx;
  const results = new Array<Leaf | Node | null>(16);
  let mask = 0;
  for (let i = lo; i < hi; ) {
    const nib = nibble(changes[i]!.kv, d);
    let j = i + 1;
    while (j < hi && nibble(changes[j]!.kv, d) === nib) j++;
    const kind = existing.kind(16 + nib);
    const r =
      kind === NODE
        ? update(ctx.kids.get(existing)![nib]!, d + 1, i, j, ctx)
        : updateFlat(kind === LEAF ? existing : null, nib, d + 1, i, j, ctx);
    if (r !== UNCHANGED) {
      results[nib] = r;
      mask |= 1 << nib;
    }
    i = j;
  }
  if (mask === 0) return UNCHANGED;
  ctx.replaced.push(existing.hashCopy());

  // A subtree left with a single leaf becomes that leaf, one level up.
  let count = 0;
  let only = -1;
  for (let i = 0; i < 16; i++) {
    const kind = mask & (1 << i) ? kindOf(results[i]!) : existing.kind(16 + i);
    if (kind !== EMPTY) {
      count++;
      only = i;
    }
  }
  if (count === 0) return null;
  if (count === 1) {
    if (mask & (1 << only)) {
      const single = results[only]!;
      if (single instanceof Leaf) return single;
    } else if (existing.kind(16 + only) === LEAF) return existing.leafAt(only);
  }
  for (let i = 0; i < 16; i++) if (mask & (1 << i)) existing.setChild(i, results[i]!);
  existing.rehash(mask);
  ctx.created.push(existing);
  return existing;
}

function kindOf(x: Leaf | Node | null): number {
  return x === null ? EMPTY : x instanceof Leaf ? LEAF : NODE;
}

/**
 * Applies changes[lo, hi) to a subtree that is empty or one leaf, rebuilding it from its final set of leaves. The
 * leaf is `holder` itself when that is a Leaf, child `nib` of `holder` when that is a node, and absent when null.
 */
function updateFlat(
  holder: Node | Leaf | null,
  nib: number,
  d: number,
  lo: number,
  hi: number,
  ctx: StageContext,
): UpdateResult {
  const { changes } = ctx;
  const existing = holder === null ? null : holder instanceof Leaf ? holder : holder.leafAt(nib);
  const leaves: Leaf[] = [];
  let keepExisting = existing !== null;
  let changed = false;
  for (let i = lo; i < hi; i++) {
    const c = changes[i]!;
    if (existing !== null && eq32(c.kv, 0, existing.kv, 0)) {
      if (c.leaf !== null && eq32(c.kv, 32, existing.kv, 32)) continue; // same value again
      keepExisting = false;
      changed = true;
      c.effective = true;
      if (c.leaf !== null) leaves.push(c.leaf);
    } else if (c.leaf !== null) {
      leaves.push(c.leaf);
      changed = true;
      c.effective = true;
    }
  }
  if (!changed) return UNCHANGED;
  if (keepExisting) {
    let p = 0;
    while (p < leaves.length && cmp32(leaves[p]!.kv, existing!.kv) < 0) p++;
    leaves.splice(p, 0, existing!);
  }
  return build(leaves, 0, leaves.length, d, ctx);
}

/** Builds the subtree at nibble depth `d` holding exactly leaves[lo, hi) (sorted by path, distinct). */
function build(leaves: Leaf[], lo: number, hi: number, d: number, ctx: StageContext): Leaf | Node | null {
  if (hi === lo) return null;
  if (hi - lo === 1) return leaves[lo]!;
  const node = ctx.arena.alloc();
  let mask = 0;
  for (let i = lo; i < hi; ) {
    const nib = nibble(leaves[i]!.kv, d);
    let j = i + 1;
    while (j < hi && nibble(leaves[j]!.kv, d) === nib) j++;
    node.setChild(nib, build(leaves, i, j, d + 1, ctx));
    mask |= 1 << nib;
    i = j;
  }
  node.rehash(mask);
  ctx.created.push(node);
  return node;
}

/** The smallest byte string above every string that starts with `prefix` (undefined when there is none). */
function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}
