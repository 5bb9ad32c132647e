// Stake-weighted provider assignment. The seed is keccak256(parentHash || requestId (u64 BE) ||
// slot (u8) || attempt (u8)): the parent block's hash is fixed before the block is built, so the
// proposer cannot grind it, and every node draws the same provider. r = seed mod total eligible
// stake; the providers are walked in canonical order (ascending address) and the first whose
// cumulative stake exceeds r is drawn. Sampling is without replacement: a provider ever assigned
// a slot of a request is not eligible for that request again.
// In end-block processing the providers serving a (model, tier) pair are read once per block
// (store.ts ProviderView) and filtered in memory for each slot.

import { type Address, bytesToBigint, concatBytes, keccak256, u64be } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import type { InferenceParams } from './params.ts';
import {
  getProvider,
  getProviderList,
  type Provider,
  providerView,
  type Request,
  sameAddress,
} from './store.ts';

export type Candidate = { address: Address; stakeWei: bigint };

export function assignmentSeed(
  parentHash: Uint8Array,
  requestId: bigint,
  slot: number,
  attempt: number,
): Uint8Array {
  return keccak256(
    concatBytes(parentHash, u64be(requestId), Uint8Array.of(slot & 0xff), Uint8Array.of(attempt & 0xff)),
  );
}

/** The drawn candidate (candidates in canonical order, every stake positive), or undefined if none. */
export function drawProvider(candidates: readonly Candidate[], seed: Uint8Array): Address | undefined {
  let total = 0n;
  for (const c of candidates) total += c.stakeWei;
  if (total === 0n) return undefined;
  const r = bytesToBigint(seed) % total;
  let acc = 0n;
  for (const c of candidates) {
    acc += c.stakeWei;
    if (r < acc) return c.address;
  }
  return undefined; // unreachable: r < total
}

/** Whether a provider may take a new job of this request (see docs/inference.md, Providers). */
export function isEligible(
  p: Provider,
  req: Pick<Request, 'tier' | 'modelId' | 'requester' | 'tried'>,
  params: InferenceParams,
): boolean {
  if (p.stakeWei < params.minProviderStakeWei) return false;
  if ((p.tiers & req.tier) === 0) return false;
  if (p.models.length > 0 && !p.models.includes(req.modelId)) return false;
  if (p.openJobs >= p.capacity) return false;
  if (sameAddress(p.address, req.requester)) return false;
  if (req.tried.some((a) => sameAddress(a, p.address))) return false;
  return true;
}

/** Whether a provider offers the tier and the model (the parts an end block cannot change). */
function serves(p: Provider, tier: number, modelId: string): boolean {
  return (p.tiers & tier) !== 0 && (p.models.length === 0 || p.models.includes(modelId));
}

/**
 * Eligible providers in canonical order with their bonded stake as weight. With an end-block
 * provider view open on `state`, the providers serving the (model, tier) pair are read from state
 * at most once per block and the view's copies (kept in step with writes) are filtered.
 */
export async function eligibleCandidates(
  state: KVReader,
  req: Pick<Request, 'tier' | 'modelId' | 'requester' | 'tried'>,
  params: InferenceParams,
): Promise<Candidate[]> {
  const view = providerView(state);
  let providers: Provider[];
  if (view) {
    const key = `${req.tier}/${req.modelId}`;
    let list = view.lists.get(key);
    if (!list) {
      list = [];
      for (const address of await getProviderList(state)) {
        const p = await getProvider(state, address);
        if (p && serves(p, req.tier, req.modelId)) list.push(p);
      }
      view.lists.set(key, list);
    }
    providers = list;
  } else {
    providers = [];
    for (const address of await getProviderList(state)) {
      const p = await getProvider(state, address);
      if (p) providers.push(p);
    }
  }
  const out: Candidate[] = [];
  for (const p of providers)
    if (isEligible(p, req, params)) out.push({ address: p.address, stakeWei: p.stakeWei });
  return out;
}
