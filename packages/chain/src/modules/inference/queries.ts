// Queries of the inference module (RPC; not gas-metered).

import { t, toJson } from '@aivm/codec';
import { bytesToHex } from '@aivm/crypto';
import { argmaxOf, decodeOutput } from '@aivm/runtime/core';
import type { KVReader } from '@aivm/state';
import { ZERO_ADDRESS } from '../../accounts.ts';
import { ModuleError } from '../../errors.ts';
import { defineQuery, readParams } from '../../module.ts';
import { inferenceParams } from './params.ts';
import {
  DisputeSchema,
  getDispute,
  getInput,
  getProvider,
  getProviderList,
  getRequest,
  type Provider,
  ProviderSchema,
  peekNextRequestId,
  REQUEST_STATUSES,
  type Request,
  RequestSchema,
  requesterCount,
  requesterRequestAt,
  TIER_NAMES,
} from './store.ts';

/** Most requests one list query returns, and most records it reads to find them. */
export const MAX_LIST_LIMIT = 100;
const MAX_SCAN = 10_000;

function outputJson(output: Uint8Array): { values: number[]; class: number } | null {
  if (output.length === 0 || output.length % 4 !== 0) return null;
  const values = decodeOutput(output);
  return { values: Array.from(values), class: argmaxOf(values) };
}

async function requestJson(
  state: KVReader,
  req: Request,
  withInput: boolean,
): Promise<Record<string, unknown>> {
  const json = toJson(RequestSchema, req) as Record<string, unknown>;
  const out = outputJson(req.output);
  const slots = [];
  for (const [i, s] of req.slots.entries()) {
    const slotJson = (json.slots as Record<string, unknown>[])[i]!;
    const so = outputJson(s.output);
    const dispute = s.status === 'challenged' ? await getDispute(state, req.id, i) : undefined;
    slots.push({
      ...slotJson,
      index: i,
      class: so ? so.class : null,
      dispute: dispute ? toJson(DisputeSchema, dispute) : null,
    });
  }
  return {
    ...json,
    tierName: TIER_NAMES[req.tier] ?? '',
    feeWei: (req.priceWei * BigInt(req.redundancy)).toString(),
    outputValues: out ? out.values : null,
    class: out ? out.class : null,
    slots,
    ...(withInput ? { input: bytesToHex(await getInput(state, req.id)) } : {}),
  };
}

function providerJson(p: Provider, minStake: bigint): Record<string, unknown> {
  let unbondingWei = 0n;
  for (const u of p.unbonding) unbondingWei += u.amountWei;
  return {
    ...(toJson(ProviderSchema, p) as Record<string, unknown>),
    unbondingWei: unbondingWei.toString(),
    eligible: p.stakeWei >= minStake && p.capacity > p.openJobs,
  };
}

export const inferenceQueries = {
  request: defineQuery({
    params: t.struct('InferenceRequestQuery', { id: t.uint64 }),
    description: 'A request with its input, slots, outputs, predicted class, disputes and fee breakdown',
    handler: async (state, p) => {
      const req = await getRequest(state, p.id);
      if (!req) throw new ModuleError(`request ${p.id} does not exist`);
      return requestJson(state, req, true);
    },
  }),
  requests: defineQuery({
    params: t.struct('InferenceRequestsQuery', {
      requester: t.address,
      status: t.string(16),
      after: t.uint64,
      limit: t.uint32,
    }),
    // Every field is optional: omitted, it does not filter (limit 0: MAX_LIST_LIMIT).
    defaults: { requester: ZERO_ADDRESS, status: '', after: 0n, limit: 0 },
    description:
      'Requests in id order after `after`, filtered by requester (zero address: any) and status (empty: any); every field optional (limit at most 100)',
    handler: async (state, p) => {
      if (p.status !== '' && !(REQUEST_STATUSES as readonly string[]).includes(p.status))
        throw new ModuleError(`status must be empty or one of ${REQUEST_STATUSES.join(', ')}`);
      const limit = Math.min(p.limit === 0 ? MAX_LIST_LIMIT : p.limit, MAX_LIST_LIMIT);
      const out: Record<string, unknown>[] = [];
      const take = async (id: bigint) => {
        if (id <= p.after) return;
        const req = await getRequest(state, id);
        if (req && (p.status === '' || req.status === p.status))
          out.push(await requestJson(state, req, false));
      };
      let scanned = 0;
      if (p.requester.toLowerCase() === ZERO_ADDRESS) {
        const next = await peekNextRequestId(state);
        for (let id = p.after + 1n; id < next && out.length < limit && scanned < MAX_SCAN; id++, scanned++)
          await take(id);
      } else {
        const n = await requesterCount(state, p.requester);
        for (let i = 0n; i < n && out.length < limit && scanned < MAX_SCAN; i++, scanned++)
          await take(await requesterRequestAt(state, p.requester, i));
      }
      return out;
    },
  }),
  provider: defineQuery({
    params: t.struct('InferenceProviderQuery', { address: t.address }),
    description: 'A provider: stake, unbonding, capacity and open jobs, tiers, models, record of service',
    handler: async (state, p) => {
      const params = await readParams(state, 'inference', inferenceParams);
      const rec = await getProvider(state, p.address);
      if (!rec) throw new ModuleError(`${p.address} is not a registered provider`);
      return providerJson(rec, params.minProviderStakeWei);
    },
  }),
  providers: defineQuery({
    params: t.struct('InferenceProvidersQuery', {}),
    description: 'Every registered provider, in canonical (address) order',
    handler: async (state) => {
      const params = await readParams(state, 'inference', inferenceParams);
      const out: Record<string, unknown>[] = [];
      for (const a of await getProviderList(state)) {
        const rec = await getProvider(state, a);
        if (rec) out.push(providerJson(rec, params.minProviderStakeWei));
      }
      return out;
    },
  }),
  params: defineQuery({
    params: t.struct('InferenceParamsQuery', {}),
    description: 'Current inference parameters',
    handler: async (state) =>
      toJson(inferenceParams.schema, await readParams(state, 'inference', inferenceParams)),
  }),
};
