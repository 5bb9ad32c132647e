// Benchmark of @aivm/state against @ethereumjs/mpt (the reference authenticated tree) on the same workload, in one
// run: 100k initial keys, then 10 blocks of 4,000 distinct changed keys (90% updates, 10% new accounts) with a root
// per block, then proof generation/verification and reads. This is the recorded evidence for writing our own tree
// (see packages/state/README.md). It also measures the sha256 candidates for the tree's 65- and 97-byte inputs.
// Run: node bench/state.ts [--initial N] [--blocks N] [--block-size N] [--proofs N] [--gets N]

import { createHash, hash as nodeHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sha256 as nobleSha256 } from '@aivm/crypto';
import { Database, type StateChange, StateTree, verifyStateProof } from '@aivm/state';
import { createMerkleProof, createMPT, verifyMerkleProof } from '@ethereumjs/mpt';
import { sha256 as jsSha256, sha256Prefixed64 } from '../packages/state/src/sha256.ts';

const { values: args } = parseArgs({
  options: {
    initial: { type: 'string', default: '100000' },
    blocks: { type: 'string', default: '10' },
    'block-size': { type: 'string', default: '4000' },
    proofs: { type: 'string', default: '2000' },
    gets: { type: 'string', default: '10000' },
  },
});
const INITIAL = Number(args.initial);
const BLOCKS = Number(args.blocks);
const BLOCK_SIZE = Number(args['block-size']);
const PROOFS = Number(args.proofs);
const GETS = Number(args.gets);

/** mulberry32: the workload is the same on every run and for both trees. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(2024);
const randomBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));

// Keys look like bank balances: "bank/b/" + 20-byte address; values like an encoded account (64 bytes).
const accountKey = (): Uint8Array =>
  new Uint8Array([...new TextEncoder().encode('bank/b/'), ...randomBytes(20)]);
const initialKeys = Array.from({ length: INITIAL }, accountKey);
const initial: StateChange[] = initialKeys.map((key) => ({ key, value: randomBytes(64) }));
const live = [...initialKeys];
function makeBlock(): StateChange[] {
  const seen = new Set<number>();
  const block: StateChange[] = [];
  while (block.length < BLOCK_SIZE) {
    if (rand() < 0.1) {
      const key = accountKey();
      live.push(key);
      block.push({ key, value: randomBytes(64) });
      continue;
    }
    const idx = Math.floor(rand() * INITIAL);
    if (seen.has(idx)) continue;
    seen.add(idx);
    block.push({ key: initialKeys[idx]!, value: randomBytes(64) });
  }
  return block;
}
const blocks = Array.from({ length: BLOCKS }, makeBlock);
const probeKeys = Array.from(
  { length: Math.max(PROOFS, GETS) },
  () => live[Math.floor(rand() * live.length)]!,
);
/** One more block, staged by our tree right after a restart (cold caches). */
const coldBlock = makeBlock();

type Row = { name: string; impl: string; opsPerSec: number; msPerBlock?: number };
const rows: Row[] = [];
const now = (): number => performance.now();
const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function benchHashes(): void {
  const inputs = [65, 97].map((n) => randomBytes(n));
  const out = new Uint8Array(32);
  const N = 50_000;
  const candidates: [string, (d: Uint8Array) => void][] = [
    ['node:crypto createHash', (d) => createHash('sha256').update(d).digest()],
    ['node:crypto hash()', (d) => nodeHash('sha256', d, 'buffer')],
    ['@aivm/crypto sha256 (noble)', (d) => nobleSha256(d)],
    ['ours (sha256.ts)', (d) => (d.length === 65 ? sha256Prefixed64(d[0]!, d, 1, out, 0) : jsSha256(d))],
  ];
  for (const input of inputs) {
    for (const [name, fn] of candidates) {
      // Best of three rounds: the first ones pay for JIT warm-up and for garbage left by the workload set-up.
      let best = 0;
      for (let round = 0; round < 3; round++) {
        const t = now();
        for (let i = 0; i < N; i++) fn(input);
        best = Math.max(best, (N * 1000) / (now() - t));
      }
      rows.push({ name: `sha256 of ${input.length} bytes`, impl: name, opsPerSec: best });
    }
  }
}

async function benchMpt(): Promise<void> {
  const trie = await createMPT({ useKeyHashing: true });
  let t = now();
  for (const c of initial) await trie.put(c.key, c.value!);
  trie.root();
  const loadMs = now() - t;
  rows.push({ name: `initial load (${INITIAL} keys)`, impl: 'mpt', opsPerSec: (INITIAL * 1000) / loadMs });

  const blockMs: number[] = [];
  for (const block of blocks) {
    t = now();
    for (const c of block) await trie.put(c.key, c.value!);
    trie.root();
    blockMs.push(now() - t);
  }
  const ms = median(blockMs);
  rows.push({
    name: `block of ${BLOCK_SIZE}: new root`,
    impl: 'mpt',
    opsPerSec: (BLOCK_SIZE * 1000) / ms,
    msPerBlock: ms,
  });
  console.log(`mpt, ms per block, new root: ${blockMs.map(fmt).join(' ')} (mean ${fmt(mean(blockMs))})`);

  const root = trie.root();
  t = now();
  const proofs = [];
  for (let i = 0; i < PROOFS; i++) proofs.push(await createMerkleProof(trie, probeKeys[i]!));
  rows.push({ name: 'proof generation', impl: 'mpt', opsPerSec: (PROOFS * 1000) / (now() - t) });
  t = now();
  for (let i = 0; i < PROOFS; i++) {
    const v = await verifyMerkleProof(probeKeys[i]!, proofs[i]!, { root, useKeyHashing: true });
    if (v === null) throw new Error('mpt proof did not verify');
  }
  rows.push({ name: 'proof verification', impl: 'mpt', opsPerSec: (PROOFS * 1000) / (now() - t) });
  t = now();
  for (let i = 0; i < GETS; i++) await trie.get(probeKeys[i]!);
  rows.push({ name: 'get (warm)', impl: 'mpt', opsPerSec: (GETS * 1000) / (now() - t) });
}

async function benchOurs(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'aivm-bench-state-'));
  try {
    let db = await Database.open(dir);
    let tree = await StateTree.open(db);
    let t = now();
    const loaded = await tree.stage(initial, 1n);
    await db.write(loaded.ops);
    tree.applyStaged(loaded);
    const loadMs = now() - t;
    rows.push({ name: `initial load (${INITIAL} keys)`, impl: 'ours', opsPerSec: (INITIAL * 1000) / loadMs });

    const stageMs: number[] = [];
    const totalMs: number[] = [];
    const writeBytes: number[] = [];
    const opCounts: number[] = [];
    let version = 2n;
    for (const block of blocks) {
      t = now();
      const staged = await tree.stage(block, version++);
      const staging = now() - t;
      await db.write(staged.ops);
      tree.applyStaged(staged);
      stageMs.push(staging);
      totalMs.push(now() - t);
      opCounts.push(staged.ops.length);
      writeBytes.push(
        staged.ops.reduce((a, op) => a + op.key.length + (op.type === 'put' ? op.value.length : 0), 0),
      );
    }
    const sMs = median(stageMs);
    const tMs = median(totalMs);
    rows.push({
      name: `block of ${BLOCK_SIZE}: new root`,
      impl: 'ours',
      opsPerSec: (BLOCK_SIZE * 1000) / sMs,
      msPerBlock: sMs,
    });
    rows.push({
      name: `block of ${BLOCK_SIZE}: root + fsynced write`,
      impl: 'ours',
      opsPerSec: (BLOCK_SIZE * 1000) / tMs,
      msPerBlock: tMs,
    });
    console.log(`ours, ms per block, new root: ${stageMs.map(fmt).join(' ')} (mean ${fmt(mean(stageMs))})`);
    console.log(
      `ours, ms per block, with fsynced write: ${totalMs.map(fmt).join(' ')} (mean ${fmt(mean(totalMs))})`,
    );
    console.log(
      `ours: ${fmt(mean(opCounts))} LevelDB ops and ${fmt(mean(writeBytes) / 1024)} KiB written per block`,
    );

    t = now();
    const proofs = [];
    for (let i = 0; i < PROOFS; i++) proofs.push(await tree.prove(probeKeys[i]!));
    rows.push({ name: 'proof generation', impl: 'ours', opsPerSec: (PROOFS * 1000) / (now() - t) });
    const siblings = mean(proofs.map((p) => p.siblings.length));
    t = now();
    for (const p of proofs) if (!verifyStateProof(p)) throw new Error('our proof did not verify');
    if (proofs.some((p) => p.value === null)) throw new Error('a probed key is missing');
    rows.push({ name: 'proof verification', impl: 'ours', opsPerSec: (PROOFS * 1000) / (now() - t) });
    t = now();
    for (let i = 0; i < GETS; i++) await tree.get(probeKeys[i]!);
    rows.push({ name: 'get (warm)', impl: 'ours', opsPerSec: (GETS * 1000) / (now() - t) });
    const rssMiB = process.memoryUsage().rss / 2 ** 20;

    // After a restart: empty caches, everything comes from LevelDB.
    await db.close();
    db = await Database.open(dir);
    tree = await StateTree.open(db);
    t = now();
    for (let i = 0; i < GETS; i++) await tree.get(probeKeys[probeKeys.length - 1 - i]!);
    rows.push({ name: 'get (cold: LevelDB)', impl: 'ours', opsPerSec: (GETS * 1000) / (now() - t) });
    t = now();
    await tree.stage(coldBlock, version);
    const coldMs = now() - t;
    rows.push({
      name: `block of ${BLOCK_SIZE}: new root, cold caches`,
      impl: 'ours',
      opsPerSec: (BLOCK_SIZE * 1000) / coldMs,
      msPerBlock: coldMs,
    });
    console.log(
      `ours: ${fmt(siblings)} siblings per proof on average (${fmt(siblings * 32)} bytes of hashes); ` +
        `rss ${fmt(rssMiB)} MiB after the warm runs`,
    );
    await db.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function fmt(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
}

const started = now();
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`load average at start: ${load()}`);
benchHashes();
await benchOurs();
await benchMpt();

const mptVersion = JSON.parse(
  await readFile(new URL('../node_modules/@ethereumjs/mpt/package.json', import.meta.url), 'utf8'),
).version;
console.log(
  `\n@aivm/state vs @ethereumjs/mpt ${mptVersion} (in memory, useKeyHashing): ${INITIAL} initial keys, ` +
    `${BLOCKS} blocks x ${BLOCK_SIZE} changes; Node ${process.version}; load average at end ${load()}\n`,
);
const header = ['workload', 'impl', 'ops/s', 'median ms per block', 'ratio'];
const table = rows.map((r) => {
  const ref = rows.find((x) => x.name === r.name && (x.impl === 'mpt' || x.impl === 'node:crypto hash()'));
  return [
    r.name,
    r.impl,
    fmt(r.opsPerSec),
    r.msPerBlock === undefined ? '' : fmt(r.msPerBlock),
    ref && ref !== r ? `${(r.opsPerSec / ref.opsPerSec).toFixed(1)}x` : '',
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]): string =>
  cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of table) console.log(line(row));
console.log(
  `\nratio: ops/s against @ethereumjs/mpt on the same row (for sha256 rows: against node:crypto hash())`,
);
console.log(`total ${fmt((now() - started) / 1000)} s`);
