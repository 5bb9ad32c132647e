// A short seeded run of the state-machine fuzzer (packages/chain/src/testing/fuzz.ts): fuzzed
// transactions of every message type go into blocks built on one chain and verified on a second;
// no block build may throw, both chains must agree on every root, and the invariants must hold
// after every block. A failure prints the seed and `npm run fuzz:chain` replays it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeMsg, Rng, runInProcess, summaryTable, TxFuzzer } from '../src/testing/fuzz.ts';
import { createTestChain } from '../src/testing/index.ts';

const SEED = 20_261_207;

describe('state-machine fuzzing (in process)', { timeout: 300_000 }, () => {
  it('the generator is a pure function of its seed', async () => {
    const tc = await createTestChain({ accounts: 3, validators: 2 });
    try {
      const make = () =>
        new TxFuzzer({
          seed: 7,
          registry: tc.chain.registry,
          chainId: tc.chain.chainId,
          senders: tc.accounts,
          validators: tc.validators.map((v) => ({
            operator: v.operator.address,
            consensusAddress: v.address,
            consensusPubKey: v.pubKey,
          })),
        });
      const a = make();
      const b = make();
      for (let i = 0; i < 200; i++) assert.equal(describeMsg(a.next()), describeMsg(b.next()));
      assert.notEqual(new Rng(1).u32(), new Rng(2).u32());
    } finally {
      await tc.close();
    }
  });

  it('every message type, 25 fuzzed transactions each: no halt, no divergence, invariants hold', async () => {
    const report = await runInProcess({ seed: SEED, txs: 25, perType: true, stopOnFinding: false });
    const context = `seed ${SEED} (replay: npm run fuzz:chain -- --seed ${SEED} --txs 25 --per-type --mode inprocess --keep-going)\n${summaryTable(report.tallies)}\n`;
    const findings = report.findings.map(
      (f) => `${f.kind} at ${f.height} ${f.msgType ?? ''}: ${f.detail}\n${f.msg ?? ''}`,
    );
    assert.deepEqual(findings, [], context);
    for (const [type, tally] of report.tallies) {
      assert.ok(tally.sent >= 25, `${type}: ${tally.sent} sent\n${context}`);
      assert.ok(tally.included > 0, `${type}: none included\n${context}`);
    }
    // Valid sequences reach real state: some of every module's messages succeed.
    const ok = (prefix: string) =>
      [...report.tallies].filter(([t]) => t.startsWith(prefix)).reduce((s, [, c]) => s + c.succeeded, 0);
    for (const m of ['bank/', 'staking/', 'gov/', 'models/', 'inference/'])
      assert.ok(ok(m) > 0, `${m}: none succeeded\n${context}`);
    assert.ok(report.height >= 20n, `height ${report.height}`);
  });
});
