import { t } from '@aivm/codec';
import { defineQuery, readParams } from '../../module.ts';
import { bankParams } from './params.ts';
import { getBalance, getSupply } from './store.ts';

export const bankQueries = {
  balance: defineQuery({
    params: t.struct('BalanceQuery', { address: t.address }),
    description: 'CGPT balance of an account, in wei (10^-18 CGPT)',
    handler: async (state, p) => ({
      address: p.address,
      balanceWei: (await getBalance(state, p.address)).toString(),
    }),
  }),
  supply: defineQuery({
    params: t.struct('SupplyQuery', {}),
    description: 'Total CGPT supply, in wei',
    handler: async (state) => ({ supplyWei: (await getSupply(state)).toString() }),
  }),
  params: defineQuery({
    params: t.struct('BankParamsQuery', {}),
    description: 'Current bank parameters',
    handler: async (state) => readParams(state, 'bank', bankParams),
  }),
};
