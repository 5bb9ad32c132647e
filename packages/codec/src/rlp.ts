// Bounded, strict RLP decoding. Hand-written because no RLP library bounds nesting: they all
// recurse once per list level (@ethereumjs/rlp included), so input nested a few thousand levels
// deep ends in a RangeError whose threshold moves with the stack size and JIT state — one node
// refuses the transaction with one error, another with a different one, and the chain splits.
// This decoder walks the input with an explicit stack and checks every limit before it recurses
// or allocates, so its verdict on any input is the same on every machine. Encoding stays with
// @ethereumjs/rlp: it only ever sees values our own code built.

import { CodecError } from './errors.ts';

/**
 * Deepest list nesting any decoder accepts. The deepest schema in the repository nests 7 lists
 * (the p2p RoundStateResponse; the model artifact also nests 7), so 32 leaves room to grow while
 * keeping any recursion over a decoded value trivially small.
 */
export const MAX_RLP_DEPTH = 32;

/**
 * Most items (lists and byte strings) one schema-less decode accepts. Each item costs an object of
 * about a hundred bytes, so this bounds memory to ~100 MiB whatever the input size; schema decodes
 * use the schema's own bound instead, and callers with bigger documents pass theirs.
 */
export const MAX_RLP_ITEMS = 1 << 20;

export type RlpLimits = {
  /** Deepest list nesting allowed; the top-level list is depth 1. Default MAX_RLP_DEPTH. */
  maxDepth?: number;
  /** Most items (lists and strings, at any depth) allowed. Default MAX_RLP_ITEMS. */
  maxItems?: number;
  /** Largest input allowed, checked before anything else. Default: no limit beyond maxItems. */
  maxBytes?: number;
  /** Names the refused limit in error messages (e.g. a schema name). */
  what?: string;
};

export type RlpItem = Uint8Array | RlpItem[];

const malformed = (message: string, at: number): CodecError =>
  new CodecError('', `malformed RLP at byte ${at}: ${message}`, 'malformed');
const nonCanonical = (message: string, at: number): CodecError =>
  new CodecError('', `non-canonical RLP at byte ${at}: ${message}`, 'non-canonical');

/**
 * The length in the `n` bytes after `at`, for an item that must end by `limit`. Big-endian, no
 * leading zero; refused as soon as it passes what is left, so 8-byte lengths cannot lose
 * precision in a way that matters.
 */
function longLength(bytes: Uint8Array, at: number, n: number, limit: number): number {
  if (at + 1 + n > limit) throw malformed('length field runs past the end', at);
  if (bytes[at + 1] === 0) throw nonCanonical('length with a leading zero', at);
  const room = limit - (at + 1 + n);
  let len = 0;
  for (let i = 0; i < n; i++) {
    len = len * 256 + bytes[at + 1 + i]!;
    if (len > room) throw malformed('declared length runs past the end', at);
  }
  if (len < 56) throw nonCanonical('long form for a length under 56', at);
  return len;
}

/**
 * Decodes one RLP item spanning all of `bytes`, iteratively. Throws CodecError whose reason is
 * `malformed`, `non-canonical`, `too-deep` or `too-large`; never recurses on the input's depth and
 * never allocates more than the input's bytes plus one object per item.
 */
export function decodeRlp(bytes: Uint8Array, limits: RlpLimits = {}): RlpItem {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('', 'expected bytes', 'malformed');
  const maxDepth = limits.maxDepth ?? MAX_RLP_DEPTH;
  const maxItems = limits.maxItems ?? MAX_RLP_ITEMS;
  const what = limits.what ? ` for ${limits.what}` : '';
  if (limits.maxBytes !== undefined && bytes.length > limits.maxBytes) {
    throw new CodecError('', `${bytes.length} bytes, limit ${limits.maxBytes}${what}`, 'too-large');
  }
  if (bytes.length === 0) throw malformed('empty input', 0);
  // The lists being filled, innermost last, and where each one's payload ends.
  const open: RlpItem[][] = [];
  const ends: number[] = [];
  let pos = 0;
  let items = 0;
  for (;;) {
    const limit = ends.length > 0 ? ends[ends.length - 1]! : bytes.length;
    if (++items > maxItems) throw new CodecError('', `more than ${maxItems} RLP items${what}`, 'too-large');
    const b = bytes[pos]!;
    let item: RlpItem;
    if (b < 0x80) {
      item = bytes.slice(pos, pos + 1);
      pos += 1;
    } else if (b < 0xc0) {
      const short = b <= 0xb7;
      const start = short ? pos + 1 : pos + 1 + (b - 0xb7);
      const len = short ? b - 0x80 : longLength(bytes, pos, b - 0xb7, limit);
      if (start + len > limit) throw malformed('string runs past the end', pos);
      if (short && len === 1 && bytes[start]! < 0x80) throw nonCanonical('prefixed single byte', pos);
      item = bytes.slice(start, start + len);
      pos = start + len;
    } else {
      const short = b <= 0xf7;
      const start = short ? pos + 1 : pos + 1 + (b - 0xf7);
      const len = short ? b - 0xc0 : longLength(bytes, pos, b - 0xf7, limit);
      if (start + len > limit) throw malformed('list runs past the end', pos);
      if (open.length + 1 > maxDepth) {
        throw new CodecError('', `lists nested deeper than ${maxDepth}${what}`, 'too-deep');
      }
      if (len > 0) {
        open.push([]);
        ends.push(start + len);
        pos = start;
        continue;
      }
      item = [];
      pos = start;
    }
    // Hand the finished item to its list, closing every list that ends here.
    for (;;) {
      const list = open[open.length - 1];
      if (list === undefined) {
        if (pos !== bytes.length) throw malformed(`${bytes.length - pos} trailing bytes`, pos);
        return item;
      }
      list.push(item);
      if (pos < ends[ends.length - 1]!) break;
      open.pop();
      ends.pop();
      item = list;
    }
  }
}
