// The decoder's verdict is a function of the input alone: depth and size caps hold before any
// recursion or allocation, every failure is a CodecError with a fixed reason, and a 100,000-deep
// input gives 'too-deep' under the default stack and under --stack-size=100 alike.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode as ethDecode, encode as ethEncode, type NestedUint8Array } from '@ethereumjs/rlp';
import { mutate, nestedRlp, runWithStack, SeededRng } from '../../../test-support/fuzz.ts';
import {
  CODEC_ERROR_REASONS,
  CodecError,
  type CodecErrorReason,
  codecErrorReason,
  decode,
  decodeRlp,
  encode,
  type FieldType,
  MAX_RLP_DEPTH,
  type RlpItem,
  t,
} from '../src/index.ts';

const CODEC = new URL('../src/index.ts', import.meta.url).href;

function reasonOf(f: () => unknown): CodecErrorReason | 'accepted' {
  try {
    f();
    return 'accepted';
  } catch (err) {
    if (err instanceof CodecError) return err.reason;
    throw err; // anything else (RangeError, TypeError) fails the test as it is
  }
}

function depthOf(item: RlpItem): number {
  let d = 0;
  let cur: RlpItem = item;
  while (Array.isArray(cur)) {
    d++;
    cur = cur[0] ?? new Uint8Array(0);
  }
  return d;
}

/** A random RLP value, up to `depth` lists deep, with strings of every header form. */
function randomItem(rng: SeededRng, depth: number): NestedUint8Array | Uint8Array {
  if (depth === 0 || rng.int(3) === 0) {
    const sizes = [0, 1, 1, 2, 55, 56, 57, 300];
    const b = rng.bytes(sizes[rng.int(sizes.length)]!);
    if (b.length === 1 && rng.int(2) === 0) b[0]! &= 0x7f;
    return b;
  }
  return Array.from({ length: rng.int(6) }, () => randomItem(rng, depth - 1));
}

const Inner = t.struct('Inner', { to: t.address, amount: t.uint256 });
const Sample = t.struct('Sample', {
  n64: t.uint64,
  flag: t.bool,
  name: t.string(16),
  items: t.array(Inner, 3),
  grid: t.array(t.array(t.uint8, 4), 4),
});
const sample = {
  n64: 123456789n,
  flag: true,
  name: 'héllo',
  items: [{ to: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' as `0x${string}`, amount: 10n ** 18n }],
  grid: [[1, 2], [3], []],
};

describe('bounded RLP decoding', () => {
  it('gives each kind of bad header its fixed reason', () => {
    const cases: [string, number[], CodecErrorReason][] = [
      ['empty input', [], 'malformed'],
      ['string past the end', [0x83, 1], 'malformed'],
      ['trailing bytes', [0xc0, 0], 'malformed'],
      ['item past its list', [0xc2, 0x83, 1, 2, 3], 'malformed'],
      ['4 GiB declared', [0xbb, 0xff, 0xff, 0xff, 0xff], 'malformed'],
      ['2^64 list declared', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 'malformed'],
      ['length field cut short', [0xb9, 0x01], 'malformed'],
      ['prefixed single byte', [0x81, 0x05], 'non-canonical'],
      ['long form under 56', [0xb8, 5, 1, 2, 3, 4, 5], 'non-canonical'],
      ['length with a leading zero', [0xb9, 0, 56, ...new Array(56).fill(1)], 'non-canonical'],
      ['long list under 56', [0xf8, 1, 0xc0], 'non-canonical'],
    ];
    for (const [what, bytes, reason] of cases) {
      assert.equal(
        reasonOf(() => decodeRlp(Uint8Array.from(bytes))),
        reason,
        what,
      );
    }
    // Not even a Uint8Array: refused as malformed, not a TypeError.
    assert.equal(
      reasonOf(() => decodeRlp('0xc0' as unknown as Uint8Array)),
      'malformed',
    );
  });

  it('caps items and bytes before building anything', () => {
    const ten = ethEncode(Array.from({ length: 10 }, () => Uint8Array.of(1)));
    assert.equal((decodeRlp(ten, { maxItems: 11 }) as RlpItem[]).length, 10);
    assert.equal(
      reasonOf(() => decodeRlp(ten, { maxItems: 10 })),
      'too-large',
    );
    assert.equal(
      reasonOf(() => decodeRlp(ten, { maxBytes: ten.length - 1 })),
      'too-large',
    );
    // A declared length of 4 GiB in a 5-byte input allocates nothing and fails fast.
    const t0 = performance.now();
    assert.equal(
      reasonOf(() => decodeRlp(Uint8Array.of(0xbb, 0xff, 0xff, 0xff, 0xf0))),
      'malformed',
    );
    assert.ok(performance.now() - t0 < 50);
  });

  it('accepts exactly MAX_RLP_DEPTH levels and refuses one more as too-deep', () => {
    assert.equal(MAX_RLP_DEPTH, 32);
    assert.equal(depthOf(decodeRlp(nestedRlp(MAX_RLP_DEPTH))), MAX_RLP_DEPTH);
    assert.equal(
      reasonOf(() => decodeRlp(nestedRlp(MAX_RLP_DEPTH + 1))),
      'too-deep',
    );
    assert.equal(depthOf(decodeRlp(nestedRlp(3), { maxDepth: 3 })), 3);
    assert.equal(
      reasonOf(() => decodeRlp(nestedRlp(4), { maxDepth: 3 })),
      'too-deep',
    );
    // Depth is counted along every path, not just the first one.
    const wide = ethEncode([[], [[[]]], Uint8Array.of(7)]);
    assert.equal(
      reasonOf(() => decodeRlp(wide, { maxDepth: 3 })),
      'too-deep',
    );
    assert.deepEqual(decodeRlp(wide, { maxDepth: 4 }), ethDecode(wide));
  });

  it('refuses 100,000 levels as too-deep, the same under --stack-size=100', () => {
    const deep = nestedRlp(100_000, Uint8Array.of(0x80));
    assert.equal(
      reasonOf(() => decodeRlp(deep)),
      'too-deep',
    );
    assert.equal(
      reasonOf(() => decode(Sample, deep)),
      'too-deep',
    );
    const out = runWithStack(`
      import { decodeRlp, decode, t } from '${CODEC}';
      import { decode as ethDecode } from '@ethereumjs/rlp';
      // Same construction as nestedRlp: 100,000 lists around one empty string.
      const depth = 100000, hs = [];
      let len = 1;
      for (let i = 0; i < depth; i++) {
        const be = [];
        for (let v = len; v > 0; v = Math.floor(v / 256)) be.unshift(v % 256);
        const h = len < 56 ? [0xc0 + len] : [0xf7 + be.length, ...be];
        hs.push(h); len += h.length;
      }
      const deep = new Uint8Array(len); let pos = 0;
      for (let i = hs.length - 1; i >= 0; i--) { deep.set(hs[i], pos); pos += hs[i].length; }
      deep[pos] = 0x80;
      const verdict = (f) => { try { f(); return 'accepted'; } catch (e) { return e.name + ':' + (e.reason ?? '') } };
      console.log(JSON.stringify([
        verdict(() => decodeRlp(deep)),
        verdict(() => decode(t.struct('S', { a: t.array(t.uint8) }), deep)),
        verdict(() => ethDecode(deep)),
      ]));
    `);
    // The recursive library overflows this stack: the check is really run where recursion breaks.
    assert.deepEqual(JSON.parse(out), ['CodecError:too-deep', 'CodecError:too-deep', 'RangeError:']);
  });

  it('decodes exactly what @ethereumjs/rlp decodes, and refuses exactly what it refuses (seeded)', () => {
    const rng = new SeededRng(20261207);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 3_000; i++) {
      const valid = ethEncode(randomItem(rng, 4));
      const input = i % 3 === 0 ? valid : mutate(valid, rng).bytes;
      if (input.length === 0) continue; // @ethereumjs/rlp turns empty input into an empty string
      let theirs: unknown;
      let theyRefused = false;
      try {
        theirs = ethDecode(input);
      } catch {
        theyRefused = true;
      }
      const ours = reasonOf(() => decodeRlp(input));
      if (theyRefused) {
        assert.notEqual(
          ours,
          'accepted',
          `accepted what @ethereumjs/rlp refuses: ${Buffer.from(input).toString('hex')}`,
        );
        refused++;
      } else {
        assert.deepEqual(decodeRlp(input), theirs);
        accepted++;
      }
    }
    assert.ok(accepted > 1_000 && refused > 500, `${accepted} accepted, ${refused} refused`);
  });
});

describe('schema decoding', () => {
  it('refuses nesting deeper than the schema as too-deep, before looking at the rest', () => {
    const Flat = t.struct('Flat', { a: t.uint64, b: t.bytes(4) });
    assert.equal(
      reasonOf(() => decode(Flat, ethEncode([Uint8Array.of(1), Uint8Array.of(2)]))),
      'accepted',
    );
    assert.equal(
      reasonOf(() => decode(Flat, ethEncode([[], Uint8Array.of(2)]))),
      'too-deep',
    );
    assert.equal(
      reasonOf(() => decode(t.uint64, ethEncode([]))),
      'too-deep',
    );
    // A list where bytes belong, at a depth the schema has: a schema error.
    assert.equal(
      reasonOf(() => decode(Sample, ethEncode([[], [], [], [], []]))),
      'schema',
    );
  });

  it('gives field-level failures their reasons', () => {
    const good = encode(Sample, sample);
    assert.deepEqual(decode(Sample, good), sample);
    const raw = ethDecode(good) as NestedUint8Array;
    const withField = (i: number, v: Uint8Array | NestedUint8Array) =>
      ethEncode(raw.map((x, j) => (j === i ? v : x)));
    assert.equal(
      reasonOf(() => decode(Sample, withField(0, Uint8Array.of(0, 1)))),
      'non-canonical',
    );
    assert.equal(
      reasonOf(() => decode(Sample, withField(1, Uint8Array.of(2)))),
      'non-canonical',
    );
    assert.equal(
      reasonOf(() => decode(Sample, withField(2, new Uint8Array(17).fill(97)))),
      'too-large',
    );
    assert.equal(
      reasonOf(() => decode(Sample, withField(2, Uint8Array.of(0xff)))),
      'schema',
    );
    assert.equal(
      reasonOf(() => decode(Sample, withField(0, new Uint8Array(9).fill(1)))),
      'schema',
    );
    assert.equal(
      reasonOf(() => decode(Sample, ethEncode(raw.slice(0, 4)))),
      'schema',
    );
    const fiveRows = [[], [], [], [], []];
    assert.equal(
      reasonOf(() => decode(Sample, withField(4, fiveRows))),
      'too-large',
    );
    assert.equal(
      reasonOf(() => encode(Sample, { ...sample, name: 'x'.repeat(17) })),
      'too-large',
    );
    assert.equal(
      reasonOf(() => encode(Sample, { ...sample, n64: -1n })),
      'schema',
    );
  });

  it('refuses schemas too deep to ever decode, as a programming error', () => {
    let deep: FieldType = t.uint8;
    for (let i = 0; i < MAX_RLP_DEPTH; i++) deep = t.array(deep, 1);
    assert.equal(
      reasonOf(() => decode(deep, nestedRlp(MAX_RLP_DEPTH))),
      'accepted',
    );
    const tooDeep = t.array(deep, 1);
    assert.throws(() => decode(tooDeep, nestedRlp(1)), /nests 33 lists/);
    assert.throws(() => encode(tooDeep, [] as never), /nests 33 lists/);
  });

  it('fuzz: mutated encodings fail only with CodecError, and anything accepted is canonical', () => {
    const rng = new SeededRng(7);
    const good = encode(Sample, sample);
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const { bytes } = mutate(good, rng);
      const r = reasonOf(() => decode(Sample, bytes));
      seen.add(r);
      if (r === 'accepted') assert.deepEqual(encode(Sample, decode(Sample, bytes)), bytes);
      else assert.ok(CODEC_ERROR_REASONS.includes(r));
    }
    for (const r of ['malformed', 'non-canonical', 'schema'] as const)
      assert.ok(seen.has(r), `never saw ${r}`);
  });

  it('finds the codec reason under errors that wrap it', () => {
    const inner = new CodecError('a', 'deep', 'too-deep');
    const outer = new Error('invalid thing', { cause: new Error('wrapped', { cause: inner }) });
    assert.equal(codecErrorReason(outer), 'too-deep');
    assert.equal(codecErrorReason(new RangeError('x')), undefined);
    const loop = new Error('a');
    (loop as { cause?: unknown }).cause = loop;
    assert.equal(codecErrorReason(loop), undefined);
  });
});
