import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Database } from '../src/index.ts';
import { b, tempDb } from './helpers.ts';

test('Database: batches, reads, ordered iteration, and persistence across reopen', async () => {
  const t = await tempDb();
  try {
    await t.db.write([
      { type: 'put', key: b('a/1'), value: b('one') },
      { type: 'put', key: b('a/2'), value: b('two') },
      { type: 'put', key: b('a/3'), value: b('three') },
      { type: 'put', key: b('b/1'), value: b('other') },
    ]);
    await t.db.write([
      { type: 'del', key: b('a/2') },
      { type: 'put', key: b('a/0'), value: new Uint8Array(0) },
    ]);
    await t.db.write([]);
    const got = await t.db.get(b('a/1'));
    assert.deepEqual(got, b('one'));
    assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype);
    assert.equal(await t.db.get(b('a/2')), undefined);
    assert.deepEqual(await t.db.getMany([b('a/3'), b('nope'), b('a/0')]), [
      b('three'),
      undefined,
      new Uint8Array(0),
    ]);

    const db = await t.reopen();
    const range = async (opts: Parameters<typeof db.iterate>[0]) => {
      const out: string[] = [];
      for await (const [k, v] of db.iterate(opts))
        out.push(`${new TextDecoder().decode(k)}=${new TextDecoder().decode(v)}`);
      return out;
    };
    assert.deepEqual(await range({ gte: b('a/'), lt: b('a0') }), ['a/0=', 'a/1=one', 'a/3=three']);
    assert.deepEqual(await range({ gte: b('a/'), lt: b('a0'), reverse: true, limit: 2 }), [
      'a/3=three',
      'a/1=one',
    ]);
    assert.deepEqual(await range({}), ['a/0=', 'a/1=one', 'a/3=three', 'b/1=other']);
    // Breaking out of an iteration early closes it cleanly.
    for await (const [k] of db.iterate({ gte: b('a/') })) {
      assert.deepEqual(k, b('a/0'));
      break;
    }
  } finally {
    await t.cleanup();
  }
});

test('a database held by another opener is refused with the reason', async () => {
  const t = await tempDb();
  try {
    await assert.rejects(Database.open(t.dir), /is in use by another process \(.*lock/i);
  } finally {
    await t.cleanup();
  }
});
