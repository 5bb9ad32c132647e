// A short seeded run of live fuzzing (fuzz/testnet.ts): four real `aivm start` validators receive
// fuzzed signed transactions of every message type over JSON-RPC; every node must keep making
// blocks and report the same block hash and state root at every height. A failure prints the
// seed and the `npm run fuzz:chain` command that runs it again.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runTestnet } from '../../../fuzz/testnet.ts';
import { summaryTable } from '../../chain/src/testing/fuzz.ts';

const SEED = 20_261_207;
const PER_TYPE = 12;

describe('state-machine fuzzing (4 real validators)', { timeout: 420_000 }, () => {
  it('fuzzed transactions of every type: no halt, no divergence', { timeout: 400_000 }, async () => {
    const report = await runTestnet({ seed: SEED, txs: PER_TYPE, perType: true, stallMs: 60_000 });
    const context = `seed ${SEED} (replay: npm run fuzz:chain -- --seed ${SEED} --txs ${PER_TYPE} --per-type --mode testnet)\n${summaryTable(report.tallies)}\n`;
    const findings = report.findings.map(
      (f) => `${f.kind} at ${f.height} ${f.msgType ?? ''}: ${f.detail}\n${f.msg ?? ''}`,
    );
    assert.deepEqual(findings, [], context);
    const included = [...report.tallies.values()].reduce((s, c) => s + c.included, 0);
    const sent = [...report.tallies.values()].reduce((s, c) => s + c.sent, 0);
    for (const [type, tally] of report.tallies)
      assert.ok(tally.sent >= PER_TYPE, `${type}: ${tally.sent} sent\n${context}`);
    assert.ok(included >= sent / 2, `only ${included} of ${sent} included\n${context}`);
    // Every node is at or past the last height compared, and that height is past the start.
    assert.ok(report.checkedHeight > report.startHeight + 3n, context);
    for (const head of report.heads)
      assert.ok(head >= report.checkedHeight, `heads ${report.heads.join(', ')}\n${context}`);
  });
});
