import type { AivmClient } from '@aivm/sdk';
import { describe, expect, it } from 'vitest';
import { formatCgpt, formatRate, shortHex } from './format.ts';
import { classify, resolveSearch } from './search.ts';

const HASH = `0x${'ab'.repeat(32)}`;
const ADDR = `0x${'12'.repeat(20)}`;

/** A client that knows block 5 (hash HASH) and request 5, and one model. */
function fakeClient(known: { block?: boolean; request?: boolean; tx?: boolean }): AivmClient {
  const notFound = Object.assign(new Error('not found'), { code: 1300 });
  return {
    getBlock: async (ref: unknown) =>
      known.block && (ref === 5n || ref === HASH) ? { hash: HASH, header: { height: 5n } } : null,
    getTx: async () => (known.tx ? { hash: HASH } : null),
    getTxStatus: async () => ({ status: 'unknown' }),
    query: async (path: string) => {
      if (path === 'inference/request') {
        if (known.request) return { id: '5', requester: ADDR };
        throw notFound;
      }
      if (path === 'models/model') throw notFound;
      if (path === 'models/list') return { models: [{ id: 'bafymodel', name: 'mnist-mlp' }] };
      throw notFound;
    },
  } as unknown as AivmClient;
}

describe('classify', () => {
  it('recognises each form and explains malformed input', () => {
    expect(classify(' 12 ').kind).toBe('number');
    expect(classify(HASH).kind).toBe('hash');
    expect(classify(ADDR).kind).toBe('address');
    expect(classify('mnist').kind).toBe('text');
    expect(classify('').message).toMatch(/block height/);
    expect(classify('0x1234').message).toMatch(/not a hash .* 4 characters/);
    expect(classify('0xzz').message).toMatch(/not all hex/);
    expect(classify('99999999999999999999').kind).toBe('invalid');
  });
});

describe('resolveSearch', () => {
  it('goes to the block when only a block has the number, lets the user choose when both do', async () => {
    expect(await resolveSearch(fakeClient({ block: true }), '5')).toEqual({
      kind: 'go',
      target: { label: 'Block 5', route: ['block', '5'] },
    });
    const both = await resolveSearch(fakeClient({ block: true, request: true }), '5');
    expect(both.kind).toBe('choose');
    const none = await resolveSearch(fakeClient({}), '5');
    expect(none).toMatchObject({ kind: 'none' });
  });

  it('resolves hashes, addresses and model names', async () => {
    expect(await resolveSearch(fakeClient({ tx: true }), HASH)).toMatchObject({
      kind: 'go',
      target: { route: ['tx', HASH] },
    });
    expect(await resolveSearch(fakeClient({}), ADDR)).toMatchObject({ target: { route: ['account', ADDR] } });
    expect(await resolveSearch(fakeClient({}), 'mnist')).toMatchObject({
      kind: 'go',
      target: { route: ['model', 'bafymodel'] },
    });
    expect(await resolveSearch(fakeClient({}), HASH)).toMatchObject({ kind: 'none' });
  });
});

describe('format', () => {
  it('shows CGPT, rates and hashes for people', () => {
    expect(formatCgpt(1_500_000_000_000_000_000n)).toBe('1.5');
    expect(formatCgpt(1_000_000n * 10n ** 18n)).toBe('1,000,000');
    expect(formatCgpt(1n)).toBe('<0.000001');
    expect(formatRate('50000000000000000')).toBe('5 %');
    expect(shortHex(HASH)).toBe('0xababab…ababab');
  });
});
