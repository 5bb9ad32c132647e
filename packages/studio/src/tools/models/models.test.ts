import { buildOnnxModel, importOnnx } from '@aivm/runtime';
import { describe, expect, it } from 'vitest';
import { ModelStore, memoryBackend } from './store.ts';
import { formatShape, groupDigits, tierReport } from './summary.ts';

describe('ModelStore', () => {
  it('saves, lists newest first, opens, replaces by name and deletes', async () => {
    let t = 0;
    const s = new ModelStore(memoryBackend(), () => ++t);
    await s.save('a.onnx', new Uint8Array([1, 2]));
    await s.save('b.onnx', new Uint8Array([3]));
    expect((await s.list()).map((m) => [m.name, m.size])).toEqual([
      ['b.onnx', 1],
      ['a.onnx', 2],
    ]);
    await s.save('a.onnx', new Uint8Array([9, 9, 9]));
    expect((await s.list()).map((m) => m.name)).toEqual(['a.onnx', 'b.onnx']);
    expect([...((await s.open('a.onnx'))?.bytes ?? [])]).toEqual([9, 9, 9]);
    await s.remove('a.onnx');
    expect(await s.open('a.onnx')).toBeUndefined();
    await expect(s.save('e.onnx', new Uint8Array())).rejects.toThrow(/empty/);
    await expect(s.save(' ', new Uint8Array([1]))).rejects.toThrow(/name/);
  });
});

describe('summary wording', () => {
  it('formats shapes, digits and the tier report', () => {
    expect(formatShape(['N', 784])).toBe('[N, 784]');
    expect(formatShape(undefined)).toBe('?');
    expect(groupDigits(101770)).toBe('101,770');
    const r = tierReport([
      { tier: 'onchain', supported: true },
      {
        tier: 'zk',
        supported: false,
        reason: 'no circuit for Tanh (table kernel); publish with --tiers onchain',
      },
    ]);
    expect(r[0]).toMatchObject({ ok: true });
    expect(r[1]!.text).toBe(
      'Not supported: no circuit for Tanh (table kernel); publish with the tiers onchain.',
    );
  });

  it('an invalid file is refused by the importer with a message', () => {
    expect(() => importOnnx(new Uint8Array([1, 2, 3, 4]))).toThrow();
    expect(typeof buildOnnxModel).toBe('function');
  });
});
