// Seeded fuzzing for decoders: a replayable PRNG, mutations of valid encodings, deeply nested RLP
// and a runner that repeats a check in a child process with a small stack.

import { spawnSync } from 'node:child_process';

/** xorshift32: the same sequence for the same seed on every machine (never Math.random). */
export class SeededRng {
  #x: number;
  constructor(seed: number) {
    this.#x = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.#x;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#x = x >>> 0;
    return this.#x;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

export type Mutation = 'flip' | 'truncate' | 'inflate' | 'splice' | 'append' | 'byte';

/**
 * One mutation of `valid`: a bit flip, a truncation, a length field raised (an RLP or protobuf
 * header byte pushed up, or 0xff written into the bytes after it), a splice of random bytes, a
 * trailing byte, or one byte overwritten.
 */
export function mutate(valid: Uint8Array, rng: SeededRng): { kind: Mutation; bytes: Uint8Array } {
  const kinds: Mutation[] = ['flip', 'truncate', 'inflate', 'splice', 'append', 'byte'];
  const kind = kinds[rng.int(kinds.length)]!;
  const out = valid.slice();
  const at = valid.length > 0 ? rng.int(valid.length) : 0;
  switch (kind) {
    case 'flip':
      if (out.length > 0) out[at]! ^= 1 << rng.int(8);
      return { kind, bytes: out };
    case 'truncate':
      return { kind, bytes: valid.slice(0, at) };
    case 'inflate': {
      // The first header-looking byte at or after `at`: raise it, or fill what follows with 0xff.
      let i = at;
      while (i < out.length && out[i]! < 0x80) i++;
      if (i >= out.length) i = at;
      if (out.length === 0) return { kind, bytes: out };
      if (rng.int(2) === 0) out[i] = Math.min(0xff, out[i]! + 1 + rng.int(8));
      else for (let j = i + 1; j < Math.min(out.length, i + 1 + rng.int(4) + 1); j++) out[j] = 0xff;
      return { kind, bytes: out };
    }
    case 'splice': {
      const junk = rng.bytes(1 + rng.int(16));
      const res = new Uint8Array(valid.length + junk.length);
      res.set(valid.subarray(0, at));
      res.set(junk, at);
      res.set(valid.subarray(at), at + junk.length);
      return { kind, bytes: res };
    }
    case 'append': {
      const res = new Uint8Array(valid.length + 1);
      res.set(valid);
      res[valid.length] = rng.int(256);
      return { kind, bytes: res };
    }
    case 'byte':
      if (out.length > 0) out[at] = rng.int(256);
      return { kind, bytes: out };
  }
}

/** The RLP header of a list whose payload is `len` bytes. */
function listHeader(len: number): number[] {
  if (len < 56) return [0xc0 + len];
  const be: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) be.unshift(v % 256);
  return [0xf7 + be.length, ...be];
}

/**
 * A well-formed RLP list nested `depth` levels deep around `inner` (default: nothing), built
 * without recursion so that making it cannot overflow the stack either.
 */
export function nestedRlp(depth: number, inner: Uint8Array = new Uint8Array(0)): Uint8Array {
  const headers: number[][] = [];
  let len = inner.length;
  for (let i = 0; i < depth; i++) {
    const h = listHeader(len);
    headers.push(h);
    len += h.length;
  }
  const out = new Uint8Array(len);
  let pos = 0;
  for (let i = headers.length - 1; i >= 0; i--) {
    out.set(headers[i]!, pos);
    pos += headers[i]!.length;
  }
  out.set(inner, pos);
  return out;
}

/**
 * Runs an ES module snippet under `node --stack-size=<kb>` and returns what it printed: the check
 * that a decoder's verdict does not depend on the stack it runs on. Imports in `code` must be
 * absolute (file URLs or paths).
 */
export function runWithStack(code: string, stackKb = 100): string {
  const res = spawnSync(process.execPath, [`--stack-size=${stackKb}`, '--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (res.status !== 0) throw new Error(`child exited ${res.status}: ${res.stderr}`);
  return res.stdout.trim();
}
