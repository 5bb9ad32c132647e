import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encodeErrorResponse,
  encodeRequest,
  encodeResponse,
  FrameTooLargeError,
  readFrame,
  STATUS_ERROR,
} from '../src/frames.ts';
import { ProtocolError } from '../src/index.ts';
import { PeerRateLimiter, TokenBucket } from '../src/rate.ts';
import { AppScores, BanList } from '../src/scoring.ts';

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

test('frames: request and response frames roundtrip across arbitrary chunking', async () => {
  const payload = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  for (const size of [1, 3, 4, 5, 64, 1000]) {
    const req = await readFrame(chunks(encodeRequest(payload), size), 4, 300);
    assert.deepEqual(req.payload, payload);
    const res = await readFrame(chunks(encodeResponse(0, payload), size), 5, 300);
    assert.equal(res.status, 0);
    assert.deepEqual(res.payload, payload);
  }
  assert.deepEqual([...encodeRequest(Uint8Array.of(9))], [0, 0, 0, 1, 9]);
  const err = await readFrame(chunks(encodeErrorResponse('x'.repeat(1000)), 7), 5, 1 << 20);
  assert.equal(err.status, STATUS_ERROR);
  assert.equal(err.payload.length, 256, 'reasons are truncated');
});

test('frames: oversize, truncated and trailing bytes are protocol errors', async () => {
  // only the header is needed to refuse an oversize frame
  const header = encodeRequest(new Uint8Array(0));
  new DataView(header.buffer).setUint32(0, 301);
  await assert.rejects(readFrame(chunks(header, 4), 4, 300), (e: Error) => {
    assert.ok(e instanceof FrameTooLargeError);
    assert.equal(e.sizeBytes, 301);
    assert.equal(e.limitBytes, 300);
    return true;
  });
  await assert.rejects(
    readFrame(chunks(encodeRequest(new Uint8Array(10)).subarray(0, 9), 2), 4, 300),
    ProtocolError,
  );
  await assert.rejects(readFrame(chunks(new Uint8Array(2), 2), 4, 300), /ended after 2 bytes/);
  const trailing = new Uint8Array([...encodeRequest(Uint8Array.of(1)), 99]);
  await assert.rejects(readFrame(chunks(trailing, 6), 4, 300), /1 bytes after the frame/);
});

test('rate: token bucket allows a burst, then the refill rate', () => {
  let now = 0;
  const b = new TokenBucket(10, 3, () => now);
  assert.deepEqual([b.take(), b.take(), b.take(), b.take()], [true, true, true, false]);
  now = 99; // 0.99 tokens
  assert.equal(b.take(), false);
  now = 199; // 0.99 + 1.0
  assert.equal(b.take(), true);
  now = 10_000; // refill is capped at the burst
  assert.deepEqual([b.take(), b.take(), b.take(), b.take()], [true, true, true, false]);
  const l = new PeerRateLimiter(1, 1, () => now);
  assert.deepEqual([l.allow('a'), l.allow('a'), l.allow('b')], [true, false, true]);
  l.forget('a');
  assert.equal(l.allow('a'), true);
});

test('scoring: app scores accumulate and decay to zero; bans expire', () => {
  const s = new AppScores(0.5);
  assert.equal(s.penalize('p', 10), -10);
  assert.equal(s.penalize('p', 10), -20);
  s.tick();
  assert.equal(s.get('p'), -10);
  for (let i = 0; i < 7; i++) s.tick(); // -10 * 0.5^7 = -0.078 -> forgotten
  assert.equal(s.get('p'), 0);
  let now = 0;
  const bans = new BanList(() => now);
  bans.ban('p', 100);
  assert.equal(bans.isBanned('p'), true);
  assert.equal(bans.isBanned('q'), false);
  now = 100;
  assert.equal(bans.isBanned('p'), false);
});
