// Reproducible "random" test data: seeded xorshift32 bytes (the decoder fuzzers' generator).

import { SeededRng } from './fuzz.ts';

export function seededBytes(n: number, seed: number): Uint8Array {
  return new SeededRng(seed).bytes(n);
}
