// npm run fuzz:chain -- --seed N --txs M [--mode inprocess|testnet|both] [--per-type] [--types a,b]
// Seeded transaction fuzzing of the whole state machine, in process (two chains, every block built
// on one and verified on the other, invariants after each block) and on a real 4-validator
// testnet (every node's block hash and state root compared at every height). Prints a table per
// mode; on a finding prints the seed and the command that replays it, and exits 1.

import { parseArgs } from 'node:util';
import {
  type Finding,
  type InProcessReport,
  runInProcess,
  summaryTable,
} from '../packages/chain/src/testing/fuzz.ts';
import type { LiveReport } from './testnet.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    txs: { type: 'string', default: '1000' },
    mode: { type: 'string', default: 'both' },
    'per-type': { type: 'boolean', default: false },
    types: { type: 'string' },
    validators: { type: 'string', default: '4' },
    'block-time': { type: 'string', default: '200' },
    'keep-going': { type: 'boolean', default: false },
    errors: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '8' },
  },
});

const seed = Number(values.seed);
const txs = Number(values.txs);
const mode = values.mode!;
if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff)
  throw new Error('--seed must be within 0..2^32-1');
if (!Number.isInteger(txs) || txs < 1) throw new Error('--txs must be a positive integer');
if (!['inprocess', 'testnet', 'both'].includes(mode)) throw new Error('--mode is inprocess, testnet or both');
const perType = values['per-type']!;
const types = values.types?.split(',').filter(Boolean);
const replay = (m: string) =>
  `npm run fuzz:chain -- --seed ${seed} --txs ${txs} --mode ${m}${perType ? ' --per-type' : ''}${types ? ` --types ${types.join(',')}` : ''}`;

const log = (line: string) => process.stderr.write(`${line}\n`);
let failed = false;

function printFindings(findings: Finding[], m: string): void {
  if (findings.length === 0) return;
  failed = true;
  console.log(`\n${findings.length} finding(s) in ${m} mode, seed ${seed}:`);
  for (const f of findings.slice(0, 20)) {
    console.log(`- ${f.kind} at height ${f.height}${f.msgType ? ` (${f.msgType})` : ''}: ${f.detail}`);
    if (f.msg) console.log(`  message: ${f.msg}`);
  }
  console.log(`replay: ${replay(m)}`);
}

function printErrors(errors: Map<string, Map<string, number>>): void {
  if (!values.errors) return;
  for (const [t, m] of [...errors.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const top = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    console.log(`  ${t}: ${top.map(([k, c]) => `${c}x ${JSON.stringify(k)}`).join('; ')}`);
  }
}

if (mode !== 'testnet') {
  const t0 = Date.now();
  let last = t0;
  const r: InProcessReport = await runInProcess({
    seed,
    txs,
    perType,
    types,
    stopOnFinding: !values['keep-going'],
    onBlock: (p) => {
      if (Date.now() - last < 5_000) return;
      last = Date.now();
      const done = [...p.tallies.values()].reduce((s, c) => s + c.sent, 0);
      log(
        `[inprocess] height ${p.height}, ${done} txs, ${p.findings.length} findings, ${Date.now() - t0} ms`,
      );
    },
  });
  const secs = (Date.now() - t0) / 1000;
  console.log(`\nin-process, seed ${seed}: ${r.blocks} blocks to height ${r.height} in ${secs.toFixed(1)} s`);
  console.log('invariants checked after every block');
  console.log(summaryTable(r.tallies));
  printErrors(r.errors);
  printFindings(r.findings, 'inprocess');
}

if (mode !== 'inprocess') {
  const t0 = Date.now();
  let lastTable = t0;
  // Loaded only for this mode: it pulls in the CLI and the node.
  const { runTestnet } = await import('./testnet.ts');
  const r: LiveReport = await runTestnet({
    seed,
    txs,
    perType,
    types,
    validators: Number(values.validators),
    blockTimeMs: Number(values['block-time']),
    stopOnFinding: !values['keep-going'],
    onProgress: (p) => {
      const done = [...p.tallies.values()].reduce((s, c) => s + c.sent, 0);
      const rate = (done / ((Date.now() - t0) / 1000)).toFixed(1);
      log(
        `[testnet] checked to height ${p.checkedHeight}, ${done} txs sent (${rate}/s), ${p.findings.length} findings`,
      );
      // Long runs: the table so far every minute or so, in case the run is cut short.
      if (Date.now() - lastTable > 60_000) {
        lastTable = Date.now();
        log(summaryTable(p.tallies));
        for (const f of p.findings.slice(-3))
          log(`finding: ${f.kind} at ${f.height} ${f.msgType ?? ''}: ${f.detail}`);
      }
    },
  });
  const secs = r.elapsedMs / 1000;
  const sentTotal = [...r.tallies.values()].reduce((s, c) => s + c.sent, 0);
  console.log(
    `\ntestnet (${values.validators} validators), seed ${seed}: heights ${r.startHeight}..${r.checkedHeight} equal on every node ` +
      `(heads ${r.heads.join(', ')}), ${sentTotal} txs in ${secs.toFixed(1)} s (${(sentTotal / secs).toFixed(1)} tx/s)`,
  );
  console.log(summaryTable(r.tallies));
  printErrors(r.rejections);
  printFindings(r.findings, 'testnet');
}

process.exit(failed ? 1 : 0);
