// models invariants: each model's stake totals are the sums over its reviews, and the models
// account holds every reviewer's bonded and unbonding stake, the rewards not yet claimed and the
// storage deposits held.

import { decode } from '@aivm/codec';
import { bytesToAddress, bytesToUtf8, utf8ToBytes } from '@aivm/crypto';
import type { KVScanner } from '@aivm/state';
import type { Invariant } from '../../module.ts';
import { backed } from '../bank/invariants.ts';
import { getBalance } from '../bank/store.ts';
import { pendingReward } from './keeper.ts';
import {
  getModelRecord,
  MODELS_ACCOUNT,
  type ModelRecord,
  ModelRecordSchema,
  type Review,
  ReviewSchema,
} from './store.ts';

const REVIEWS = utf8ToBytes('models/rv/');
const MODELS = utf8ToBytes('models/m/');

/** Every stored review, by model id (key: models/rv/<id>/<reviewer 20 bytes>). */
async function reviews(state: KVScanner): Promise<{ id: string; reviewer: string; review: Review }[]> {
  const out: { id: string; reviewer: string; review: Review }[] = [];
  for await (const [key, value] of state.scan(REVIEWS)) {
    const id = bytesToUtf8(key.subarray(REVIEWS.length, key.length - 21));
    out.push({
      id,
      reviewer: bytesToAddress(key.subarray(key.length - 20)),
      review: decode(ReviewSchema, value),
    });
  }
  return out;
}

/**
 * What the models account owes: bonded stake, unbonding stake and unclaimed rewards of every
 * review, and the storage deposits held by models.
 */
export async function modelsOwed(state: KVScanner): Promise<{
  bonded: bigint;
  unbonding: bigint;
  rewards: bigint;
  reviews: number;
  deposits: bigint;
  models: number;
}> {
  const models = new Map<string, ModelRecord | undefined>();
  let bonded = 0n;
  let unbonding = 0n;
  let rewards = 0n;
  const all = await reviews(state);
  for (const { id, review } of all) {
    if (!models.has(id)) models.set(id, await getModelRecord(state, id));
    const m = models.get(id);
    bonded += review.stakeWei;
    for (const u of review.unbonding) unbonding += u.amountWei;
    if (m) rewards += pendingReward(m, review);
  }
  let deposits = 0n;
  let count = 0;
  for await (const [, value] of state.scan(MODELS)) {
    deposits += decode(ModelRecordSchema, value).depositWei;
    count++;
  }
  return { bonded, unbonding, rewards, reviews: all.length, deposits, models: count };
}

export const modelsInvariants: Invariant[] = [
  {
    name: 'reviewer-stake',
    async check(state) {
      const sums = new Map<string, { stake: bigint; rating: bigint }>();
      for (const { id, review } of await reviews(state)) {
        const s = sums.get(id) ?? { stake: 0n, rating: 0n };
        s.stake += review.stakeWei;
        s.rating += review.stakeWei * BigInt(review.rating);
        sums.set(id, s);
      }
      const wrong: string[] = [];
      for await (const [, value] of state.scan(MODELS)) {
        const m = decode(ModelRecordSchema, value);
        const s = sums.get(m.id) ?? { stake: 0n, rating: 0n };
        sums.delete(m.id);
        if (s.stake !== m.totalStakeWei)
          wrong.push(
            `model ${m.id} records ${m.totalStakeWei} wei of reviewer stake but its reviews sum to ${s.stake} wei`,
          );
        if (s.rating !== m.ratingStakeSum)
          wrong.push(
            `model ${m.id} records a rating-stake sum of ${m.ratingStakeSum} but its reviews sum to ${s.rating}`,
          );
      }
      for (const [id, s] of sums) wrong.push(`reviews of ${s.stake} wei name unknown model ${id}`);
      return wrong.length ? wrong.join('; ') : undefined;
    },
  },
  {
    name: 'account-backed',
    async check(state) {
      const owed = await modelsOwed(state);
      return backed(
        'the models account',
        await getBalance(state, MODELS_ACCOUNT),
        owed.bonded + owed.unbonding + owed.rewards + owed.deposits,
        `${owed.reviews} reviews: bonded ${owed.bonded} + unbonding ${owed.unbonding} + unclaimed rewards ${owed.rewards}; deposits of ${owed.models} models ${owed.deposits}`,
      );
    },
  },
];
