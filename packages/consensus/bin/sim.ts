// Runs the consensus simulator for one seed (or a range) and prints the result; exits 1 on a violation.
// node packages/consensus/bin/sim.ts --seed 123 [--validators 4] [--heights 3] [--runs 1] [--verbose]
// Deliberately broken variants, to watch the checks fail: --broken <name> (repeatable, or `all`
// for a table of every variant over the range); --no-locking and --forget-wal are short for
// --broken no-locking / --broken forget-wal.

import { parseArgs } from 'node:util';
import { runSimulation, type SimResult, type SimUnsafe } from '../src/sim.ts';
import { BROKEN_VARIANTS, brokenVariant, violationKind } from '../src/sim-variants.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    validators: { type: 'string' },
    heights: { type: 'string' },
    runs: { type: 'string', default: '1' },
    verbose: { type: 'boolean', default: false },
    broken: { type: 'string', multiple: true, default: [] },
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
const shape = {
  ...(validators !== undefined ? { validators } : {}),
  ...(heights !== undefined ? { heights } : {}),
};
const shapeFlags =
  (validators !== undefined ? ` --validators ${validators}` : '') +
  (heights !== undefined ? ` --heights ${heights}` : '');

const names = [...values.broken];
if (values['no-locking']) names.push('no-locking');
if (values['forget-wal']) names.push('forget-wal');

if (names.includes('all')) {
  summary();
} else {
  single(names);
}

/** One configuration over the range, printing every failing seed (and the one seed when runs is 1). */
function single(variantNames: string[]): void {
  let unsafe: SimUnsafe | undefined;
  for (const name of variantNames) {
    const v = brokenVariant(name);
    if (v === undefined) {
      console.error(
        `unknown --broken ${name}; one of: all, ${BROKEN_VARIANTS.map((x) => x.name).join(', ')}`,
      );
      process.exit(2);
    }
    unsafe = { ...unsafe, ...v.unsafe };
  }
  const flags = shapeFlags + variantNames.map((x) => ` --broken ${x}`).join('');
  let failed = 0;
  let first = -1;
  const started = performance.now();
  for (let s = seed; s < seed + runs; s++) {
    const r = runSimulation({
      seed: s,
      ...shape,
      ...(unsafe !== undefined ? { unsafe } : {}),
      ...(values.verbose ? { log: (line: string) => console.log(line) } : {}),
    });
    if (!r.ok) {
      failed++;
      if (first < 0) first = s;
    }
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
  if (runs > 1) {
    console.log(
      `${runs - failed}/${runs} seeds ok, ${failed} failed` +
        (first >= 0 ? ` (first failing seed ${first})` : '') +
        ` in ${Math.round(performance.now() - started)} ms`,
    );
  }
  process.exit(failed > 0 ? 1 : 0);
}

/** Every broken variant (and the correct machine) over the range: failures, first failing seed, kinds. */
function summary(): void {
  const rows: { name: string; unsafe: SimUnsafe | undefined }[] = [
    { name: 'correct', unsafe: undefined },
    ...BROKEN_VARIANTS.map((v) => ({ name: v.name, unsafe: v.unsafe })),
  ];
  console.log(`seeds ${seed}..${seed + runs - 1}${shapeFlags}`);
  console.log('variant              failed  first  kinds of the first violation');
  let correctFailed = 0;
  for (const row of rows) {
    let failed = 0;
    let first = -1;
    const kinds = new Map<string, number>();
    for (let s = seed; s < seed + runs; s++) {
      const r: SimResult = runSimulation({
        seed: s,
        ...shape,
        ...(row.unsafe ? { unsafe: row.unsafe } : {}),
      });
      if (r.ok) continue;
      failed++;
      if (first < 0) first = s;
      const k = violationKind(r.violations[0]!);
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    if (row.unsafe === undefined) correctFailed = failed;
    const kindText = [...kinds].map(([k, c]) => `${k} ${c}`).join(', ');
    console.log(
      `${row.name.padEnd(20)} ${String(failed).padStart(6)}  ${String(first < 0 ? '-' : first).padStart(5)}  ${kindText}`,
    );
  }
  process.exit(correctFailed > 0 ? 1 : 0);
}
