// bank: the CGPT native token (18 decimals): balances, transfers, multi-send, total supply.

import { fromJson, t } from '@aivm/codec';
import { bytesToAddress, bytesToBigint, utf8ToBytes } from '@aivm/crypto';
import { ModuleError } from '../../errors.ts';
import { exportParams } from '../../genesis.ts';
import { defineMsg, type Module, paramsFromJson, writeParams } from '../../module.ts';
import { handleMultiSend, handleSend } from './handlers.ts';
import { bankInvariants } from './invariants.ts';
import { BankMultiSend, BankSend } from './messages.ts';
import { bankParams } from './params.ts';
import { bankQueries } from './queries.ts';
import { M, mint } from './store.ts';

export const CGPT_DECIMALS = 18;
export const WEI_PER_CGPT = 10n ** 18n;

const BankGenesis = t.struct('BankGenesis', {
  balances: t.array(t.struct('GenesisBalance', { address: t.address, amount: t.uint256 }), 10_000_000),
});

export const bankModule: Module = {
  name: M,
  messages: {
    'bank/send': defineMsg({
      schema: BankSend,
      description: 'Send CGPT to one account',
      handler: handleSend,
    }),
    'bank/multiSend': defineMsg({
      schema: BankMultiSend,
      description: 'Send CGPT to several accounts in one transaction',
      handler: handleMultiSend,
    }),
  },
  queries: bankQueries,
  params: bankParams,
  async initGenesis(ctx, json) {
    const section = (json ?? {}) as { balances?: unknown; params?: unknown };
    writeParams(ctx, 'bank', bankParams, paramsFromJson(bankParams, section.params));
    const { balances } = fromJson(BankGenesis, { balances: section.balances ?? [] });
    const seen = new Set<string>();
    for (const b of balances) {
      const key = b.address.toLowerCase();
      if (seen.has(key)) throw new ModuleError(`genesis lists ${b.address} twice`);
      seen.add(key);
      await mint(ctx, b.address, b.amount);
    }
  },
  // Every balance, module accounts included; the supply is their sum again when minted back.
  async exportGenesis(state) {
    const balances = [];
    for await (const [key, value] of state.scan(utf8ToBytes('bank/bal/')))
      balances.push({ address: bytesToAddress(key.subarray(9)), amount: bytesToBigint(value).toString() });
    return { params: await exportParams(state, { name: M, params: bankParams }), balances };
  },
  invariants: bankInvariants,
};
