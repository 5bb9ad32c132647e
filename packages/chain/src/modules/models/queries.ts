// Queries of the models module (RPC; not gas-metered).

import { t, toJson } from '@aivm/codec';
import { ERR, ModuleError } from '../../errors.ts';
import { defineQuery, readParams } from '../../module.ts';
import { curationScore, getFaultProposalsOpen, pendingReward } from './keeper.ts';
import { modelsParams } from './params.ts';
import {
  getIndexedId,
  getModelCount,
  getModelRecord,
  getReview,
  MODEL_ID,
  type ModelRecord,
  ModelRecordSchema,
} from './store.ts';

/** Most models one list query returns. */
export const MAX_LIST_LIMIT = 100;

/** A record as JSON plus its curation score (0..500). */
export function modelJson(m: ModelRecord): Record<string, unknown> {
  return {
    ...(toJson(ModelRecordSchema, m) as Record<string, unknown>),
    curationScore: curationScore(m).toString(),
  };
}

export const modelsQueries = {
  model: defineQuery({
    params: t.struct('ModelsModelQuery', { id: MODEL_ID }),
    description:
      'A model record with its curation score and the modelFault proposals naming it that are open',
    handler: async (state, p) => {
      const m = await getModelRecord(state, p.id);
      if (!m) throw new ModuleError(`model ${p.id} does not exist`, ERR.NOT_FOUND);
      return { ...modelJson(m), faultProposalsOpen: await getFaultProposalsOpen(state, p.id) };
    },
  }),
  list: defineQuery({
    params: t.struct('ModelsListQuery', {
      owner: t.string(42),
      task: t.string(64),
      text: t.string(128),
      includeInactive: t.bool,
      after: MODEL_ID,
      limit: t.uint32,
    }),
    // Every field is an optional filter: omitted, it does not filter (limit 0: MAX_LIST_LIMIT).
    defaults: { owner: '', task: '', text: '', includeInactive: false, after: '', limit: 0 },
    description:
      'Models ordered by id, after `after`: filters owner, task, text (name or description, case-insensitive); active only unless includeInactive; every field optional (limit at most 100)',
    handler: async (state, p) => {
      const limit = p.limit === 0 ? MAX_LIST_LIMIT : Math.min(p.limit, MAX_LIST_LIMIT);
      const owner = p.owner.toLowerCase();
      const text = p.text.toLowerCase();
      const matches: ModelRecord[] = [];
      const count = await getModelCount(state);
      for (let n = 0n; n < count; n++) {
        const id = await getIndexedId(state, n);
        if (id === undefined || (p.after !== '' && id <= p.after)) continue;
        const m = await getModelRecord(state, id);
        if (!m) continue;
        if (!p.includeInactive && m.status !== 'active') continue;
        if (owner !== '' && m.owner.toLowerCase() !== owner) continue;
        if (p.task !== '' && m.task !== p.task) continue;
        if (
          text !== '' &&
          !m.name.toLowerCase().includes(text) &&
          !m.description.toLowerCase().includes(text)
        )
          continue;
        matches.push(m);
      }
      matches.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const page = matches.slice(0, limit);
      return {
        models: page.map(modelJson),
        next: matches.length > limit ? page[page.length - 1]!.id : '',
      };
    },
  }),
  review: defineQuery({
    params: t.struct('ModelsReviewQuery', { id: MODEL_ID, reviewer: t.address }),
    description: "A reviewer's stake, rating, pending reward and unbonding entries on a model",
    handler: async (state, p) => {
      const m = await getModelRecord(state, p.id);
      if (!m) throw new ModuleError(`model ${p.id} does not exist`, ERR.NOT_FOUND);
      const r = await getReview(state, p.id, p.reviewer);
      return {
        id: p.id,
        reviewer: p.reviewer,
        stakeWei: (r?.stakeWei ?? 0n).toString(),
        rating: r?.rating ?? 0,
        pendingRewardWei: (r ? pendingReward(m, r) : 0n).toString(),
        unbonding: (r?.unbonding ?? []).map((u) => ({
          amountWei: u.amountWei.toString(),
          releaseHeight: u.releaseHeight.toString(),
        })),
      };
    },
  }),
  params: defineQuery({
    params: t.struct('ModelsParamsQuery', {}),
    description: 'Current models parameters',
    handler: async (state) => toJson(modelsParams.schema, await readParams(state, 'models', modelsParams)),
  }),
};
