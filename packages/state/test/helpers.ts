// Shared test helpers: temporary databases, a seeded PRNG, and an independent reference root computed straight from
// the logical tree's definition (no nibble nodes, no caches) with the browser-safe hashes of proof.ts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareBytes, sha256 } from '@aivm/crypto';
import { Database } from '../src/db.ts';
import { EMPTY_ROOT, hashInternal, hashLeaf, pathBit } from '../src/proof.ts';
import type { StagedState, StateChange, StateTree } from '../src/tree.ts';

export const enc = new TextEncoder();
export const b = (s: string): Uint8Array => enc.encode(s);

export type TempDb = { dir: string; db: Database; reopen(): Promise<Database>; cleanup(): Promise<void> };

export async function tempDb(): Promise<TempDb> {
  const dir = await mkdtemp(join(tmpdir(), 'aivm-state-'));
  const t: TempDb = {
    dir,
    db: await Database.open(dir),
    async reopen() {
      await t.db.close();
      t.db = await Database.open(dir);
      return t.db;
    },
    async cleanup() {
      await t.db.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Stages, writes and applies one version, as the chain does each block. */
export async function commit(
  tree: StateTree,
  db: Database,
  changes: StateChange[],
  version: bigint,
): Promise<StagedState> {
  const staged = await tree.stage(changes, version);
  await db.write(staged.ops);
  tree.applyStaged(staged);
  return staged;
}

/** mulberry32: small, fast, seeded; good enough to drive tests deterministically. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(rand: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** Root of the logical binary tree holding `entries`, computed from the definition. */
export function referenceRoot(entries: Iterable<[Uint8Array, Uint8Array]>): Uint8Array {
  const leaves = [...entries].map(([k, v]) => ({ path: sha256(k), valueHash: sha256(v) }));
  leaves.sort((x, y) => compareBytes(x.path, y.path));
  const go = (lo: number, hi: number, depth: number): Uint8Array => {
    if (hi === lo) return EMPTY_ROOT;
    if (hi - lo === 1) return hashLeaf(leaves[lo]!.path, leaves[lo]!.valueHash);
    let mid = lo;
    while (mid < hi && pathBit(leaves[mid]!.path, depth) === 0) mid++;
    return hashInternal(go(lo, mid, depth + 1), go(mid, hi, depth + 1));
  };
  return go(0, leaves.length, 0);
}
