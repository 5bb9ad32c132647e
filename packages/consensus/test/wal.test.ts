import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Consensus } from '../src/machine.ts';
import type { Input, Output } from '../src/types.ts';
import { FileWal } from '../src/wal.ts';
import { inputFromJson, inputToJson } from '../src/wal-record.ts';
import { proposal, rotation, start, TIMEOUTS, timeout, vote, votesOf } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'aivm-wal-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(dir, `wal-${n++}.log`);
const resolve = () => rotation;

/** Strips the proposer function, which is rebuilt on read and cannot be compared. */
const plain = (inputs: Input[]) => inputs.map((i) => (i.type === 'start' ? { ...i, proposer: null } : i));

/** Engine loop: log the input (durably), step it, echo own votes back as logged inputs. */
function drive(m: Consensus, wal: FileWal | null, input: Input, sent: Output[]): void {
  const queue: Input[] = [input];
  while (queue.length > 0) {
    const next = queue.shift()!;
    wal?.append(next);
    for (const o of m.step(next)) {
      sent.push(o);
      if (o.type === 'vote')
        queue.push({ type: 'vote', vote: { ...o.vote, signature: new Uint8Array([1, 2, 3]) } });
    }
  }
}

describe('FileWal', () => {
  test('records round-trip: bigints, nil values, signatures, every input kind', () => {
    const inputs: Input[] = [
      start(7n, [3n, 1n, 1n, 2n ** 70n]),
      { ...proposal(0, 'v', -1, false, 7n) },
      {
        type: 'proposal',
        proposal: {
          height: 7n,
          round: 2,
          value: 'w',
          validRound: 1,
          proposer: 'C',
          signature: new Uint8Array([0, 255]),
        },
        valid: true,
      },
      vote('prevote', 'B', 0, null, 7n),
      {
        type: 'vote',
        vote: {
          kind: 'precommit',
          height: 7n,
          round: 1,
          value: 'v',
          validator: 'A',
          signature: new Uint8Array([9]),
        },
      },
      timeout('prevote', 3, 7n),
      { type: 'value', height: 7n, round: 0, value: 'blk' },
    ];
    const path = freshPath();
    const wal = FileWal.open(path);
    assert.equal(wal.height(), null);
    assert.throws(() => wal.append(inputs[1]!), /startHeight must be called/);
    wal.startHeight(inputs[0] as Extract<Input, { type: 'start' }>);
    for (const i of inputs.slice(1)) wal.append(i);
    wal.close();
    const again = FileWal.open(path);
    assert.equal(again.height(), 7n);
    assert.equal(again.truncatedBytes, 0);
    assert.equal(again.truncatedRecords, 0);
    const read = again.readAll(resolve);
    assert.deepEqual(plain(read), plain(inputs));
    assert.equal((read[0] as Extract<Input, { type: 'start' }>).proposer(1), 'B');
    again.close();
    // JSON records survive a JSON round trip unchanged (what the simulator keeps in memory).
    for (const i of inputs) {
      assert.deepEqual(
        plain([inputFromJson(JSON.parse(JSON.stringify(inputToJson(i))), resolve)]),
        plain([i]),
      );
    }
  });

  test('a torn last record (crash mid-write) is dropped and cut off; appends continue after it', () => {
    const path = freshPath();
    const wal = FileWal.open(path);
    wal.startHeight(start(1n));
    wal.append(vote('prevote', 'A', 0, 'v'));
    wal.close();
    const good = statSync(path).size;
    const full = readFileSync(path, 'utf8').split('\n')[1]!;
    appendFileSync(path, full.slice(0, 25)); // half a record, no newline
    const reopened = FileWal.open(path);
    assert.equal(reopened.truncatedBytes, 25);
    assert.equal(reopened.truncatedRecords, 1);
    assert.equal(statSync(path).size, good);
    assert.equal(reopened.readAll(resolve).length, 2);
    reopened.append(vote('prevote', 'B', 0, 'v'));
    reopened.close();
    const third = FileWal.open(path);
    assert.deepEqual(
      third.readAll(resolve).map((i) => (i.type === 'vote' ? i.vote.validator : i.type)),
      ['start', 'A', 'B'],
    );
    third.close();
  });

  test('what is cut is counted in bytes of the file, even a tail torn inside a multi-byte character', () => {
    const path = freshPath();
    const wal = FileWal.open(path);
    wal.startHeight(start(1n));
    wal.close();
    const good = statSync(path).size;
    // A crash mid-write can leave any bytes: here the first two of the three of "€", and a 0xff.
    appendFileSync(path, Uint8Array.of(0x30, 0xe2, 0x82, 0xff));
    const reopened = FileWal.open(path);
    assert.equal(reopened.truncatedBytes, 4);
    assert.equal(reopened.truncatedRecords, 1);
    assert.equal(statSync(path).size, good);
    assert.equal(reopened.readAll(resolve).length, 1);
    reopened.close();
    const clean = FileWal.open(path);
    assert.equal(clean.truncatedBytes, 0);
    assert.equal(clean.truncatedRecords, 0);
    clean.close();
  });

  test('a complete last line with a bad checksum is a torn record too; damage before the end is corruption', () => {
    const path = freshPath();
    const wal = FileWal.open(path);
    wal.startHeight(start(1n));
    wal.append(vote('prevote', 'A', 0, 'v'));
    wal.append(vote('prevote', 'B', 0, 'v'));
    wal.close();
    // lines: height header, start, A's prevote, B's prevote.
    const lines = readFileSync(path, 'utf8').split('\n');
    const flipped = lines[3]!.replace('"B"', '"C"');
    assert.notEqual(flipped, lines[3]);
    writeFileSync(path, [lines[0], lines[1], lines[2], flipped, ''].join('\n'));
    const w = FileWal.open(path);
    assert.deepEqual(
      w.readAll(resolve).map((i) => i.type),
      ['start', 'vote'],
      'the altered last record is dropped',
    );
    assert.equal(w.truncatedBytes, Buffer.byteLength(`${flipped}\n`));
    assert.equal(w.truncatedRecords, 1);
    w.close();
    writeFileSync(path, [lines[0], lines[1], flipped, lines[3], ''].join('\n'));
    assert.throws(() => FileWal.open(path), { name: 'WalCorruptError' });
  });

  test('startHeight replaces the log atomically with start + carried inputs', () => {
    const path = freshPath();
    const wal = FileWal.open(path);
    wal.startHeight(start(1n));
    wal.append(vote('prevote', 'A', 0, 'v'));
    const carried = [vote('prevote', 'C', 0, 'n', 2n)];
    wal.startHeight(start(2n), carried);
    wal.append(timeout('propose', 0, 2n));
    wal.close();
    const again = FileWal.open(path);
    assert.equal(again.height(), 2n);
    assert.deepEqual(
      again.readAll(resolve).map((i) => i.type),
      ['start', 'vote', 'timeout'],
    );
    again.close();
  });

  test('after a crash, replaying the WAL reaches the same state and re-emits exactly the same own votes', () => {
    const path = freshPath();
    const wal = FileWal.open(path);
    const m = new Consensus({ self: 'D', timeouts: TIMEOUTS });
    const sent: Output[] = [];
    const first = start(1n);
    wal.startHeight(first);
    for (const o of m.step(first)) sent.push(o);
    // Round 0: D prevotes and locks v; round 1: w is proposed, D stays on its lock.
    const script: Input[] = [
      proposal(0, 'v'),
      vote('prevote', 'A', 0, 'v'),
      vote('prevote', 'B', 0, 'v'),
      vote('precommit', 'B', 0, null),
      vote('precommit', 'C', 0, null),
      timeout('precommit', 0),
      proposal(1, 'w'),
      vote('prevote', 'A', 1, 'w'),
    ];
    for (const i of script) drive(m, wal, i, sent);
    // The crash tore the record being written.
    appendFileSync(path, 'deadbeef {"t":"vote","k":"prev');
    wal.close();

    const reopened = FileWal.open(path);
    const replayed = new Consensus({ self: 'D', timeouts: TIMEOUTS });
    const again: Output[] = [];
    for (const i of reopened.readAll(resolve)) again.push(...replayed.step(i));
    assert.deepEqual(replayed.state(), m.state());
    assert.deepEqual(votesOf(again), votesOf(sent));
    assert.deepEqual(votesOf(sent), ['prevote:0:v', 'precommit:0:v', 'prevote:1:nil']);

    // Both machines answer what comes next identically: the restarted one cannot sign anything
    // the first one would not have.
    const next: Input[] = [vote('prevote', 'B', 1, 'w'), vote('prevote', 'C', 1, 'w')];
    const o1: Output[] = [];
    const o2: Output[] = [];
    for (const i of next) {
      drive(m, null, i, o1);
      drive(replayed, reopened, i, o2);
    }
    assert.deepEqual(o2, o1);
    assert.deepEqual(votesOf(o1), ['precommit:1:w']);
    reopened.close();
  });

  test('a machine restarted from a WAL holding the next height buffer replays it the same way', () => {
    const m = new Consensus({ self: 'D', timeouts: TIMEOUTS });
    const sent: Output[] = [];
    drive(m, null, start(1n), sent);
    for (const i of [
      proposal(0, 'n', -1, true, 2n),
      vote('prevote', 'A', 0, 'n', 2n),
      vote('prevote', 'B', 0, 'n', 2n),
    ]) {
      drive(m, null, i, sent);
    }
    const path = freshPath();
    const wal = FileWal.open(path);
    const s2 = start(2n);
    wal.startHeight(s2, m.nextHeightInputs());
    const live: Output[] = [];
    drive(m, null, s2, live);
    wal.close();
    const replayed = new Consensus({ self: 'D', timeouts: TIMEOUTS });
    const again: Output[] = [];
    for (const i of FileWal.open(path).readAll(resolve)) drive(replayed, null, i, again);
    assert.deepEqual(replayed.state(), m.state());
    assert.deepEqual(votesOf(again), votesOf(live));
    assert.deepEqual(votesOf(live), ['prevote:0:n', 'precommit:0:n']);
  });
});
