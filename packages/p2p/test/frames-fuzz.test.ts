// Seeded fuzzing of request/response framing: any byte stream, cut into any chunks, yields a frame
// or a ProtocolError (FrameTooLargeError for a length over the limit, read from the header alone),
// never a RangeError or an allocation the length field asked for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mutate, SeededRng } from '../../../test-support/fuzz.ts';
import { ProtocolError } from '../src/errors.ts';
import { encodeRequest, encodeResponse, FrameTooLargeError, readFrame } from '../src/frames.ts';

async function* chunks(bytes: Uint8Array, rng: SeededRng): AsyncIterable<Uint8Array> {
  let at = 0;
  while (at < bytes.length) {
    const n = 1 + rng.int(Math.max(1, Math.min(64, bytes.length - at)));
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'frame';
  } catch (err) {
    if (err instanceof FrameTooLargeError) return 'too-large';
    if (err instanceof ProtocolError) return 'protocol';
    throw err;
  }
}

describe('frames', () => {
  it('fuzz: mutated and randomly chunked frames give a frame or a ProtocolError', async () => {
    const rng = new SeededRng(31);
    const payload = rng.bytes(300);
    const valid = { 4: encodeRequest(payload), 5: encodeResponse(0, payload) } as const;
    for (const header of [4, 5] as const) {
      const f = await readFrame(chunks(valid[header], rng), header, 1024);
      assert.deepEqual(f.payload, payload);
      const seen = new Set<string>();
      for (let i = 0; i < 2_000; i++) {
        const bytes = mutate(valid[header], rng).bytes;
        seen.add(await outcome(readFrame(chunks(bytes, rng), header, 1024)));
      }
      assert.deepEqual([...seen].sort(), ['frame', 'protocol', 'too-large']);
    }
  });

  it('refuses a 4 GiB length after the header, without waiting for or allocating the payload', async () => {
    let pulled = 0;
    async function* lying(): AsyncIterable<Uint8Array> {
      yield Uint8Array.of(0xff, 0xff, 0xff, 0xff);
      for (;;) {
        pulled++;
        yield new Uint8Array(1024);
      }
    }
    const err = await readFrame(lying(), 4, 1 << 20).catch((e: unknown) => e);
    assert.ok(err instanceof FrameTooLargeError);
    assert.equal(err.sizeBytes, 2 ** 32 - 1);
    assert.equal(pulled, 0);
  });
});
