// A real devnet process keeps producing blocks through transactions built to break it: the
// gov/submitProposal with a 3,000-character params key that once halted the chain for good, its
// variants for every module's params, and every message type with each field at its limit.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultModules, ERR, Registry, signTx } from '@aivm/chain';
import type { FieldType } from '@aivm/codec';
import { type Address, type Hex, mnemonicToPrivateKey, privateKeyToAddress } from '@aivm/crypto';
import { RpcError } from '@aivm/sdk';
import { DEV_MNEMONIC } from '../src/index.ts';
import { useDevnet } from './helpers.ts';

const registry = new Registry(defaultModules());
const KEY = mnemonicToPrivateKey(DEV_MNEMONIC, 2);
const OTHER = privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, 3));

/** Each field at its limit: strings and bytes at their maximum (in multi-byte characters when `wide`). */
function maximal(type: FieldType, wide: boolean): unknown {
  switch (type.kind) {
    case 'uint': {
      const max = (1n << BigInt(type.bits)) - 1n;
      return type.bits <= 32 ? Number(max) : max;
    }
    case 'address':
      return OTHER;
    case 'bool':
      return true;
    case 'bytes32':
      return new Uint8Array(32).fill(0xff);
    case 'bytes':
      return new Uint8Array(Math.min(type.max, 2_048)).fill(0xab);
    case 'string':
      return wide
        ? `${'€'.repeat(Math.floor(type.max / 3))}${'k'.repeat(type.max % 3)}`
        : 'k'.repeat(type.max);
    case 'array':
      return Array.from({ length: Math.min(type.max, 2) }, () => maximal(type.of, wide));
    case 'struct':
      return Object.fromEntries(Object.entries(type.fields).map(([k, f]) => [k, maximal(f, wide)]));
  }
}

/** paramsJson values that are valid JSON but no module accepts: long keys, deep nesting, huge numbers, duplicates. */
function hostileParams(): string[] {
  const deep = `${'{"a":'.repeat(800)}1${'}'.repeat(800)}`;
  return [
    JSON.stringify({ ['k'.repeat(3_000)]: 1 }),
    deep.slice(0, 4_096),
    `{"x":${'9'.repeat(4_000)}}`,
    '{"a":1,"a":{"b":[1,2,3]},"a":"\u20ac"}',
    `{"${'\\u0000'.repeat(600)}":"${'\u{1f600}'.repeat(100)}"}`,
  ];
}

describe('devnet keeps producing blocks through hostile transactions (real process)', () => {
  const devnet = useDevnet(['--no-provider']);

  it('every message type at its field limits, and the params key that once halted the chain', async () => {
    const { node, client } = devnet;
    const { chainId } = await client.status();
    const from = privateKeyToAddress(KEY);
    const drafts: { msgType: string; msg: Record<string, unknown>; label: string }[] = [];
    for (const module of registry.modules.filter((m) => m.params))
      for (const [i, paramsJson] of hostileParams().entries())
        drafts.push({
          label: `gov/submitProposal paramChange ${module.name} #${i}`,
          msgType: 'gov/submitProposal',
          msg: {
            kind: 'paramChange',
            title: 'hostile',
            description: '',
            paramModule: module.name,
            paramsJson,
            recipient: '0x0000000000000000000000000000000000000000',
            amountWei: 0n,
            modelId: '',
            initialDepositWei: 0n,
          },
        });
    for (const msgType of registry.messageTypes())
      for (const wide of [false, true])
        drafts.push({
          label: `${msgType}${wide ? ' (multi-byte)' : ''}`,
          msgType,
          msg: maximal(registry.message(msgType)!.schema, wide) as Record<string, unknown>,
        });

    let nonce = (await client.getAccount(from)).nonce;
    const sent: { label: string; hash: Hex }[] = [];
    const refused: string[] = [];
    for (const d of drafts) {
      const raw = signTx(
        {
          chainId,
          from,
          nonce,
          gasLimit: 10_000_000n,
          gasPrice: 1_000_000_000n,
          msgType: d.msgType,
          msg: d.msg,
        },
        KEY,
        registry.message(d.msgType)!.schema,
      );
      try {
        sent.push({ label: d.label, hash: await client.sendRawTx(raw) });
        nonce++;
      } catch (err) {
        // Refused at the door (too large, unaffordable...): a typed RPC error, never a crash.
        assert.ok(err instanceof RpcError, `${d.label}: ${String(err)}`);
        refused.push(`${d.label}: ${err.code}`);
      }
    }
    assert.ok(sent.length >= drafts.length - 10, `refused: ${refused.join(', ')}`);

    const codes = new Map<string, number>();
    for (const s of sent) {
      const rec = await client.waitForTx(s.hash, { timeoutMs: 60_000 });
      codes.set(s.label, rec.receipt.code);
      assert.equal(rec.receipt.success, rec.receipt.code === 0);
      assert.ok(Buffer.byteLength(rec.receipt.error) <= 512, s.label);
    }
    assert.equal(codes.get('gov/submitProposal paramChange bank #0'), ERR.INVALID_PARAMS);
    for (const [label, code] of codes)
      if (label.startsWith('gov/submitProposal paramChange'))
        assert.ok(code === ERR.INVALID_PARAMS || code === ERR.MODULE, `${label}: ${code}`);

    // Still producing blocks, and still taking ordinary transactions.
    const h = (await client.status()).height;
    const deadline = Date.now() + 60_000;
    while ((await client.status()).height < h + 3n) {
      assert.ok(Date.now() < deadline, 'the devnet stopped producing blocks');
      await new Promise((r) => setTimeout(r, 100));
    }
    const raw = signTx(
      {
        chainId,
        from,
        nonce,
        gasLimit: 100_000n,
        gasPrice: 1_000_000_000n,
        msgType: 'bank/send',
        msg: { to: OTHER as Address, amount: 1n },
      },
      KEY,
      registry.message('bank/send')!.schema,
    );
    const rec = await client.waitForTx(await client.sendRawTx(raw), { timeoutMs: 60_000 });
    assert.equal(rec.receipt.code, 0, rec.receipt.error);
    assert.doesNotMatch(node.stderr(), /block production failed/);
  });
});
