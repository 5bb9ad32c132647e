// Runs the consensus simulator for one seed (or a range) and prints the result; exits 1 on a violation.
// node packages/consensus/bin/sim.ts --seed 123 [--validators 4] [--heights 3] [--runs 1] [--verbose]
// Deliberately broken variants, to watch the checks fail: --no-locking, --forget-wal.

import { parseArgs } from 'node:util';
import { runSimulation } from '../src/sim.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    validators: { type: 'string' },
    heights: { type: 'string' },
    runs: { type: 'string', default: '1' },
    verbose: { type: 'boolean', default: false },
    'no-locking': { type: 'boolean', default: false },
    'forget-wal': { type: 'boolean', default: false },
  },
});

function int(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got ${text}`);
    process.exit(2);
  }
  return n;
}

const seed = int('seed', values.seed)!;
const runs = int('runs', values.runs)!;
const validators = int('validators', values.validators);
const heights = int('heights', values.heights);
const flags =
  (validators !== undefined ? ` --validators ${validators}` : '') +
  (heights !== undefined ? ` --heights ${heights}` : '') +
  (values['no-locking'] ? ' --no-locking' : '') +
  (values['forget-wal'] ? ' --forget-wal' : '');
let failed = 0;
const started = performance.now();
for (let s = seed; s < seed + runs; s++) {
  const r = runSimulation({
    seed: s,
    ...(validators !== undefined ? { validators } : {}),
    ...(heights !== undefined ? { heights } : {}),
    ...(values['no-locking'] || values['forget-wal']
      ? { unsafe: { noLocking: values['no-locking'], forgetWal: values['forget-wal'] } }
      : {}),
    ...(values.verbose ? { log: (line: string) => console.log(line) } : {}),
  });
  if (!r.ok) failed++;
  if (!r.ok || runs === 1) {
    console.log(r.scenario);
    console.log(
      `${r.ok ? 'ok' : 'FAILED'}: ${r.deliveries} deliveries, ${r.crashes} crashes, ${r.evidence} evidence, ` +
        `max round ${r.maxRound}, done ${r.afterGstMs} ms after GST (virtual end ${r.endMs} ms)`,
    );
    for (const v of r.violations) console.log(`  ${v}`);
    if (!r.ok) console.log(`  replay: node packages/consensus/bin/sim.ts --seed ${s}${flags} --verbose`);
  }
}
if (runs > 1)
  console.log(`${runs - failed}/${runs} seeds ok in ${Math.round(performance.now() - started)} ms`);
process.exit(failed > 0 ? 1 : 0);
