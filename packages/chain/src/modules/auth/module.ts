// auth: accounts' nonces and the transaction fee parameters that the ante checks enforce.

import { fromJson, t } from '@aivm/codec';
import { bytesToAddress, bytesToBigint, utf8ToBytes } from '@aivm/crypto';
import { exportParams } from '../../genesis.ts';
import { defineQuery, type Module, paramsFromJson, readParams, writeParams } from '../../module.ts';
import { getBalance } from '../bank/store.ts';
import { authParams } from './params.ts';
import { getNonce, M, setNonce } from './store.ts';

const NONCES = utf8ToBytes('auth/nonce/');
const AuthGenesisNonces = t.array(
  t.struct('GenesisNonce', { address: t.address, nonce: t.uint64 }),
  10_000_000,
);

export const authModule: Module = {
  name: M,
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
    const section = (json ?? {}) as { params?: unknown; nonces?: unknown };
    writeParams(ctx, 'auth', authParams, paramsFromJson(authParams, section.params));
    // Nonces carried over by an export, so transactions signed for the old chain cannot replay.
    for (const n of fromJson(AuthGenesisNonces, section.nonces ?? [])) setNonce(ctx, n.address, n.nonce);
  },
  async exportGenesis(state) {
    const nonces = [];
    for await (const [key, value] of state.scan(NONCES))
      nonces.push({
        address: bytesToAddress(key.subarray(NONCES.length)),
        nonce: bytesToBigint(value).toString(),
      });
    return { params: await exportParams(state, { name: M, params: authParams }), nonces };
  },
};
