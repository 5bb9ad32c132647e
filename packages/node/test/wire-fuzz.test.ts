// Seeded fuzzing of every p2p message decoder of the node (consensus wire, sync, tx gossip, blob
// sync): each refusal is a CodecError with a fixed reason, never a RangeError or TypeError, and a
// 100,000-deep message is 'too-deep' whatever the stack size.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodecError, decode, encode, type FieldType, t } from '@aivm/codec';
import { mutate, nestedRlp, runWithStack, SeededRng } from '../../../test-support/fuzz.ts';
import {
  BlockByHashRequestSchema,
  BlockByHashResponseSchema,
  BlocksRequestSchema,
  BlocksResponseSchema,
  ProposalMessageSchema,
  RoundStateRequestSchema,
  RoundStateResponseSchema,
  SignedVoteSchema,
  StatusSchema,
} from '../src/bft-wire.ts';
import { BlobChunkRequestSchema, BlobStatRequestSchema, BlobStatResponseSchema } from '../src/blob-sync.ts';
import { TxBatchSchema } from '../src/tx-gossip.ts';

const SCHEMAS: Record<string, FieldType> = {
  ProposalMessageSchema,
  StatusSchema,
  BlocksRequestSchema,
  BlocksResponseSchema,
  BlockByHashRequestSchema,
  BlockByHashResponseSchema,
  RoundStateRequestSchema,
  RoundStateResponseSchema,
  SignedVoteSchema,
  TxBatchSchema,
  BlobStatRequestSchema,
  BlobStatResponseSchema,
  BlobChunkRequestSchema,
};

/** A random valid value of any schema: small arrays, short strings, in-range integers. */
function sample(type: FieldType, rng: SeededRng): unknown {
  switch (type.kind) {
    case 'uint':
      return type.bits <= 32 ? rng.int(1000) : BigInt(rng.next());
    case 'address':
      return '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
    case 'bool':
      return rng.int(2) === 1;
    case 'bytes32':
      return rng.bytes(32);
    case 'bytes':
      return rng.bytes(Math.min(type.max, rng.int(40)));
    case 'string':
      return 'abcdefghij'.slice(0, Math.min(type.max, rng.int(10)));
    case 'array':
      return Array.from({ length: Math.min(type.max, rng.int(3)) }, () => sample(type.of, rng));
    case 'struct':
      return Object.fromEntries(Object.entries(type.fields).map(([k, f]) => [k, sample(f, rng)]));
  }
}

function reasonOf(f: () => unknown): string {
  try {
    f();
    return 'accepted';
  } catch (err) {
    if (err instanceof CodecError) return err.reason;
    throw err;
  }
}

describe('p2p message decoders', () => {
  it('fuzz: mutated messages of every schema fail only with CodecError', () => {
    const rng = new SeededRng(2026);
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      const valid = encode(schema, sample(schema, rng) as never);
      assert.deepEqual(encode(schema, decode(schema, valid)), valid, name);
      let refused = 0;
      for (let i = 0; i < 600; i++) {
        const r = reasonOf(() => decode(schema, mutate(valid, rng).bytes));
        if (r !== 'accepted') refused++;
      }
      // Flips inside a byte string stay valid, so a quarter is the honest floor for every schema.
      assert.ok(refused > 150, `${name}: only ${refused} of 600 mutations refused`);
      for (let i = 0; i < 100; i++) reasonOf(() => decode(schema, rng.bytes(rng.int(200))));
    }
  });

  it('refuses 100,000-deep messages as too-deep, the same under --stack-size=100', () => {
    const deep = nestedRlp(100_000);
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      assert.equal(
        reasonOf(() => decode(schema, deep)),
        'too-deep',
        name,
      );
    }
    const out = runWithStack(`
      import { decode } from '${import.meta.resolve('@aivm/codec')}';
      import { RoundStateResponseSchema } from '${new URL('../src/bft-wire.ts', import.meta.url).href}';
      import { TxBatchSchema } from '${new URL('../src/tx-gossip.ts', import.meta.url).href}';
      let len = 0; const hs = [];
      for (let i = 0; i < 100000; i++) {
        const be = [];
        for (let v = len; v > 0; v = Math.floor(v / 256)) be.unshift(v % 256);
        const h = len < 56 ? [0xc0 + len] : [0xf7 + be.length, ...be];
        hs.push(h); len += h.length;
      }
      const deep = new Uint8Array(len); let pos = 0;
      for (let i = hs.length - 1; i >= 0; i--) { deep.set(hs[i], pos); pos += hs[i].length; }
      const v = (s) => { try { decode(s, deep); return 'accepted'; } catch (e) { return e.name + ':' + e.reason; } };
      console.log(JSON.stringify([v(RoundStateResponseSchema), v(TxBatchSchema)]));
    `);
    assert.deepEqual(JSON.parse(out), ['CodecError:too-deep', 'CodecError:too-deep']);
  });

  it('a tx batch cannot make the decoder build more than the schema allows', () => {
    // 2,049 one-byte transactions: over TxBatchSchema's 2,048, refused with the field's reason.
    const over = encode(
      t.array(t.bytes(1), 4096),
      Array.from({ length: 2049 }, () => Uint8Array.of(1)),
    );
    assert.equal(
      reasonOf(() => decode(TxBatchSchema, over)),
      'too-large',
    );
  });
});
