// auth: accounts' nonces and the transaction fee parameters that the ante checks enforce.

import { t } from '@aivm/codec';
import { defineQuery, type Module, paramsFromJson, readParams, writeParams } from '../../module.ts';
import { getBalance } from '../bank/store.ts';
import { authParams } from './params.ts';
import { getNonce } from './store.ts';

export const authModule: Module = {
  name: 'auth',
  messages: {},
  queries: {
    account: defineQuery({
      params: t.struct('AccountQuery', { address: t.address }),
      description: 'Nonce and balance of an account',
      handler: async (state, p) => ({
        address: p.address,
        nonce: (await getNonce(state, p.address)).toString(),
        balanceWei: (await getBalance(state, p.address)).toString(),
      }),
    }),
    params: defineQuery({
      params: t.struct('AuthParamsQuery', {}),
      description: 'Current fee and gas parameters',
      handler: async (state) => readParams(state, 'auth', authParams),
    }),
  },
  params: authParams,
  async initGenesis(ctx, json) {
    const section = (json ?? {}) as { params?: unknown };
    writeParams(ctx, 'auth', authParams, paramsFromJson(authParams, section.params));
  },
};
