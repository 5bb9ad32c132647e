// In-memory tree nodes, laid out so that a block allocates almost nothing the garbage collector has to track.
//
// A node covers four binary levels: a heap of 31 entries, where entry 1 is the node's own hash, entries 2..15 are
// inner binary nodes and entries 16..31 are its 16 children. It lives in NODE_BYTES bytes of some larger buffer:
//   [j]                        kind of entry j (EMPTY, LEAF or NODE), j = 1..31
//   [32j, 32j + 32)            hash of entry j; the two children of entry j lie side by side at [64j, 64j + 64),
//                              which is exactly what is hashed (after the 0x01 prefix)
//   [1024 + 64i, 1024 + 64i + 64)  keyHash || valueHash of child i when it is a leaf
//
// Why this shape: creating ~6,000 node objects with their own 1-2 KiB buffers per block made allocation and garbage
// collection the largest cost of a block (measured; see README.md). Here a stage copies the nodes it touches into
// its own Arena (a few large buffers), edits them in place, and the committed nodes live in a fixed-capacity
// NodeStore whose slots are reused, so steady-state blocks allocate only small, short-lived objects.

import { CorruptStateError } from './errors.ts';
import { EMPTY_ROOT } from './proof.ts';
import { sha256Pair, sha256Prefixed64 } from './sha256.ts';

export const EMPTY = 0;
export const LEAF = 1;
export const NODE = 2;

export const NODE_BYTES = 2048;
const LEAVES = 1024;

/** A leaf: `kv` is keyHash || valueHash (64 bytes), `hash` its leaf hash. Treated as immutable. */
export class Leaf {
  readonly kv: Uint8Array;
  readonly hash: Uint8Array;
  constructor(kv: Uint8Array, hash: Uint8Array) {
    this.kv = kv;
    this.hash = hash;
  }
  static of(kv: Uint8Array): Leaf {
    return new Leaf(kv, sha256Pair(0x00, kv, 0, kv, 32));
  }
}

/** A node: the NODE_BYTES bytes of `buf` from `o`. */
export class Node {
  readonly buf: Uint8Array;
  readonly o: number;
  constructor(buf: Uint8Array, o: number) {
    this.buf = buf;
    this.o = o;
  }
  kind(j: number): number {
    return this.buf[this.o + j]!;
  }
  /** View of the hash of entry j (1 = the node's own hash). */
  entryHash(j: number): Uint8Array {
    const at = this.o + 32 * j;
    return this.buf.subarray(at, at + 32);
  }
  hash(): Uint8Array {
    return this.entryHash(1);
  }
  /** A copy of the node's hash. */
  hashCopy(): Uint8Array {
    const out = new Uint8Array(32);
    copy32(this.buf, this.o + 32, out, 0);
    return out;
  }
  /** Leaf child i (0..15), which must be of kind LEAF; views into this node's bytes. */
  leafAt(i: number): Leaf {
    const at = this.o + LEAVES + 64 * i;
    return new Leaf(this.buf.subarray(at, at + 64), this.entryHash(16 + i));
  }
  setChild(i: number, child: Leaf | Node | null): void {
    const { buf, o } = this;
    const j = 16 + i;
    if (child === null) {
      buf[o + j] = EMPTY;
      buf.fill(0, o + 32 * j, o + 32 * j + 32);
    } else if (child instanceof Leaf) {
      buf[o + j] = LEAF;
      buf.set(child.hash, o + 32 * j);
      buf.set(child.kv, o + LEAVES + 64 * i);
    } else {
      buf[o + j] = NODE;
      copy32(child.buf, child.o + 32, buf, o + 32 * j);
    }
  }
  /** Recomputes the inner entries above the children in `mask` (bit i = child i changed). */
  rehash(mask: number): void {
    let dirty = 0;
    for (let i = 0; i < 16; i++) {
      if (!(mask & (1 << i))) continue;
      for (let j = (16 + i) >> 1; j >= 1 && !(dirty & (1 << j)); j >>= 1) dirty |= 1 << j;
    }
    const { buf, o } = this;
    for (let j = 15; j >= 1; j--) {
      if (!(dirty & (1 << j))) continue;
      const a = buf[o + 2 * j]!;
      const b = buf[o + 2 * j + 1]!;
      const at = o + 32 * j;
      // One leaf alone in a subtree is that subtree; everything else with content is an internal binary node.
      if (a === EMPTY && b !== NODE) {
        buf[o + j] = b;
        if (b === EMPTY) buf.fill(0, at, at + 32);
        else buf.copyWithin(at, o + 64 * j + 32, o + 64 * j + 64);
      } else if (b === EMPTY && a === LEAF) {
        buf[o + j] = LEAF;
        buf.copyWithin(at, o + 64 * j, o + 64 * j + 32);
      } else {
        buf[o + j] = NODE;
        sha256Prefixed64(0x01, buf, o + 64 * j, buf, at);
      }
    }
  }
  /** The single leaf below entry j (an entry of kind LEAF). */
  leafUnder(j: number): Leaf {
    const level = 31 - Math.clz32(j);
    const width = 16 >> level;
    const start = (j - (1 << level)) * width;
    for (let i = start; i < start + width; i++) if (this.kind(16 + i) === LEAF) return this.leafAt(i);
    throw new CorruptStateError('state node inconsistent: no leaf below a leaf entry');
  }
  encodedSize(): number {
    let size = 5;
    for (let j = 16; j < 32; j++) {
      const kind = this.buf[this.o + j];
      if (kind === LEAF) size += 64;
      else if (kind === NODE) size += 32;
    }
    return size;
  }
  /**
   * Writes the node record at out[off, off + encodedSize()):
   * 0x01 | u16 childMask | u16 leafMask | per child in nibble order: keyHash || valueHash (leaf) or hash (node).
   */
  encodeInto(out: Uint8Array, off: number): void {
    const { buf, o } = this;
    let childMask = 0;
    let leafMask = 0;
    for (let i = 0; i < 16; i++) {
      const kind = buf[o + 16 + i];
      if (kind === EMPTY) continue;
      childMask |= 1 << i;
      if (kind === LEAF) leafMask |= 1 << i;
    }
    out[off] = 0x01;
    out[off + 1] = childMask >> 8;
    out[off + 2] = childMask & 0xff;
    out[off + 3] = leafMask >> 8;
    out[off + 4] = leafMask & 0xff;
    let w = off + 5;
    for (let i = 0; i < 16; i++) {
      const kind = buf[o + 16 + i];
      if (kind === LEAF) {
        const from = o + LEAVES + 64 * i;
        for (let x = 0; x < 64; x++) out[w + x] = buf[from + x]!;
        w += 64;
      } else if (kind === NODE) {
        const from = o + 32 * (16 + i);
        for (let x = 0; x < 32; x++) out[w + x] = buf[from + x]!;
        w += 32;
      }
    }
  }
}

/** Fills `node` (zeroed bytes) from its record and computes its inner hashes. */
export function decodeInto(rec: Uint8Array, node: Node): void {
  if (rec[0] !== 0x01 || rec.length < 5) throw new CorruptStateError('malformed state node record');
  const { buf, o } = node;
  const childMask = (rec[1]! << 8) | rec[2]!;
  const leafMask = (rec[3]! << 8) | rec[4]!;
  let off = 5;
  for (let i = 0; i < 16; i++) {
    if (!(childMask & (1 << i))) continue;
    const j = 16 + i;
    if (leafMask & (1 << i)) {
      if (off + 64 > rec.length) throw new CorruptStateError('malformed state node record');
      buf[o + j] = LEAF;
      for (let x = 0; x < 64; x++) buf[o + LEAVES + 64 * i + x] = rec[off + x]!;
      sha256Prefixed64(0x00, rec, off, buf, o + 32 * j);
      off += 64;
    } else {
      if (off + 32 > rec.length) throw new CorruptStateError('malformed state node record');
      buf[o + j] = NODE;
      for (let x = 0; x < 32; x++) buf[o + 32 * j + x] = rec[off + x]!;
      off += 32;
    }
  }
  if (off !== rec.length) throw new CorruptStateError('malformed state node record');
  node.rehash(childMask);
}

/** Record of a root that is a single leaf (the only leaf stored on its own): 0x00 | keyHash | valueHash. */
export function encodeLeafRecord(leaf: Leaf): Uint8Array {
  const out = new Uint8Array(65);
  out[0] = 0x00;
  out.set(leaf.kv, 1);
  return out;
}

export function decodeRecord(rec: Uint8Array, arena: Arena): Node | Leaf {
  if (rec[0] === 0x00 && rec.length === 65) return Leaf.of(rec.slice(1, 65));
  const node = arena.alloc();
  decodeInto(rec, node);
  return node;
}

function copy32(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
  for (let i = 0; i < 32; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/** `prefix` || the 32 bytes of `src` from `off`: a LevelDB key for a hash. */
export function prefixedHash(prefix: Uint8Array, src: Uint8Array, off: number): Uint8Array {
  const out = new Uint8Array(prefix.length + 32);
  out.set(prefix, 0);
  copy32(src, off, out, prefix.length);
  return out;
}

export function eq32(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  for (let i = 0; i < 32; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

export function isEmptyHash(h: Uint8Array): boolean {
  return eq32(h, 0, EMPTY_ROOT, 0);
}

/** Private, zeroed node memory for one stage (or one proof): a few large buffers, dropped together with it. */
export class Arena {
  #chunk: Uint8Array;
  #used = 0;
  readonly #chunkNodes: number;
  constructor(chunkNodes = 256) {
    this.#chunkNodes = chunkNodes;
    this.#chunk = new Uint8Array(chunkNodes * NODE_BYTES);
  }
  alloc(): Node {
    if (this.#used === this.#chunkNodes) {
      this.#chunk = new Uint8Array(this.#chunkNodes * NODE_BYTES);
      this.#used = 0;
    }
    return new Node(this.#chunk, NODE_BYTES * this.#used++);
  }
  /** A private copy of `node`. */
  copy(node: Node): Node {
    const n = this.alloc();
    n.buf.set(node.buf.subarray(node.o, node.o + NODE_BYTES), n.o);
    return n;
  }
}

const SLOTS_PER_CHUNK = 1024;

/**
 * The committed nodes kept in memory: a fixed number of NODE_BYTES slots with CLOCK eviction, found by hash. A Node
 * it returns is a view of a slot that a later put() may reuse, so callers read it before their next await, or copy
 * it into their own Arena. Nodes are immutable by content (keyed by hash), so a lookup never sees stale data.
 */
export class NodeStore {
  readonly #capacity: number;
  readonly #chunks: Uint8Array[] = [];
  /** First 30 bits of a hash -> slot. Two hashes may share a key: lookups compare the full hash. */
  readonly #index = new Map<number, number>();
  readonly #slotKey: Int32Array;
  readonly #live: Uint8Array;
  readonly #referenced: Uint8Array;
  readonly #free: number[] = [];
  #used = 0;
  #hand = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(16, Math.floor(capacity));
    this.#slotKey = new Int32Array(this.#capacity);
    this.#live = new Uint8Array(this.#capacity);
    this.#referenced = new Uint8Array(this.#capacity);
  }

  #view(slot: number): Node {
    return new Node(this.#chunks[Math.floor(slot / SLOTS_PER_CHUNK)]!, (slot % SLOTS_PER_CHUNK) * NODE_BYTES);
  }

  #find(hash: Uint8Array, off: number): number {
    const slot = this.#index.get(indexKey(hash, off));
    if (slot === undefined) return -1;
    const chunk = this.#chunks[Math.floor(slot / SLOTS_PER_CHUNK)]!;
    return eq32(chunk, (slot % SLOTS_PER_CHUNK) * NODE_BYTES + 32, hash, off) ? slot : -1;
  }

  /** The cached node whose hash is hash[off, off + 32) (a view: read it before the next await), or undefined. */
  get(hash: Uint8Array, off = 0): Node | undefined {
    const slot = this.#find(hash, off);
    if (slot < 0) return undefined;
    this.#referenced[slot] = 1;
    return this.#view(slot);
  }

  /** Caches a copy of `node`. */
  put(node: Node): void {
    const hashOff = node.o + 32;
    const found = this.#find(node.buf, hashOff);
    if (found >= 0) {
      this.#referenced[found] = 1;
      return;
    }
    const key = indexKey(node.buf, hashOff);
    const clash = this.#index.get(key);
    const slot = clash !== undefined ? clash : this.#takeSlot();
    const chunk = this.#chunks[Math.floor(slot / SLOTS_PER_CHUNK)]!;
    chunk.set(node.buf.subarray(node.o, node.o + NODE_BYTES), (slot % SLOTS_PER_CHUNK) * NODE_BYTES);
    this.#index.set(key, slot);
    this.#slotKey[slot] = key;
    this.#live[slot] = 1;
    this.#referenced[slot] = 1;
  }

  /** Forgets the node with this hash, if cached (it stays in LevelDB). */
  delete(hash: Uint8Array): void {
    const slot = this.#find(hash, 0);
    if (slot < 0) return;
    this.#index.delete(this.#slotKey[slot]!);
    this.#live[slot] = 0;
    this.#free.push(slot);
  }

  #takeSlot(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#used < this.#capacity) {
      if (this.#used % SLOTS_PER_CHUNK === 0) {
        const slots = Math.min(SLOTS_PER_CHUNK, this.#capacity - this.#used);
        this.#chunks.push(new Uint8Array(slots * NODE_BYTES));
      }
      return this.#used++;
    }
    // CLOCK: the first slot not used since the hand last passed it.
    for (;;) {
      const slot = this.#hand;
      this.#hand = (this.#hand + 1) % this.#capacity;
      if (this.#referenced[slot]) {
        this.#referenced[slot] = 0;
        continue;
      }
      if (this.#live[slot]) this.#index.delete(this.#slotKey[slot]!);
      return slot;
    }
  }
}

function indexKey(hash: Uint8Array, off: number): number {
  return (hash[off]! << 22) | (hash[off + 1]! << 14) | (hash[off + 2]! << 6) | (hash[off + 3]! >> 2);
}
