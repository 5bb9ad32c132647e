// The BFT engine reports a consensus WAL whose torn tail (a crash mid-write) was cut off on open.

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_TIMEOUTS, FileWal } from '@aivm/consensus';
import { BftEngine, type BftEngineOptions } from '../src/bft.ts';

const dir = mkdtempSync(join(tmpdir(), 'aivm-bft-wal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A logger that records warn calls; the constructor touches nothing else of the options. */
function engineOn(walPath: string) {
  const warns: { obj: Record<string, unknown>; msg: string }[] = [];
  const logger = { warn: (obj: Record<string, unknown>, msg: string) => warns.push({ obj, msg }) };
  const engine = new BftEngine({
    walPath,
    logger,
    timeouts: DEFAULT_TIMEOUTS,
  } as unknown as BftEngineOptions);
  return { engine, warns };
}

describe('BFT engine WAL open', () => {
  it('logs at warn the bytes and records of a torn tail it cut off, and nothing for a clean log', async () => {
    const path = join(dir, 'consensus.wal');
    const wal = FileWal.open(path);
    wal.startHeight({
      type: 'start',
      height: 1n,
      validators: [{ address: 'a', power: 1n }],
      proposer: () => 'a',
    });
    wal.close();
    const good = statSync(path).size;
    appendFileSync(path, '0123abcd {"t":"vote","h":"1"'); // 28 bytes, no newline
    const torn = engineOn(path);
    assert.equal(statSync(path).size, good);
    assert.equal(torn.warns.length, 1);
    assert.match(torn.warns[0]!.msg, /torn record/);
    assert.deepEqual(torn.warns[0]!.obj, { path, bytes: 28, records: 1 });
    await torn.engine.stop();
    const clean = engineOn(path);
    assert.equal(clean.warns.length, 0);
    await clean.engine.stop();
  });
});
