// What a provider serves: its serving policy, judged on what the chain says about a model (owner,
// price, tiers, the publisher's declared zk constraint count) BEFORE the provider spends anything on
// it, and again on the real constraint count once the circuit is compiled (within a budget).
// Every published zk model would otherwise cost a provider that serves "every model" a circuit
// compilation, a key setup and the keys' memory (docs/security.md, attack 3).

import { InferenceUpdateProvider, TIER_ZK } from '@aivm/chain';
import { asBig } from './exec.ts';

/** Most models a provider may list on chain (the registration schema's bound, read from it). */
export const MAX_PROVIDER_MODELS = InferenceUpdateProvider.fields.models.max;

export type ServingPolicy = {
  /**
   * Largest zk circuit (constraints) this provider compiles and sets up keys for. The default,
   * 2^16 = 65,536, is 4.5x the MNIST MLP (14,498 constraints) and below the 90,000-constraint
   * models of the reported attack: at 2^16 a setup takes about 10 s on 2 cores, the proving key is
   * about 65 MB on disk, and key plus compiled circuit about 260 MB in memory while loaded (3 KB
   * of circuit and 1 KB of key a constraint, measured on a 36,298-constraint MLP). Raise it for
   * larger models.
   */
  maxConstraints: number;
  /**
   * Smallest model price (priceWei, paid per slot) per constraint of its circuit: a zk model with
   * priceWei < minPricePerConstraintWei * constraints is not served. Default 0: the chain's own
   * floor (inference param zkPricePerConstraintWei) is the only price limit.
   */
  minPricePerConstraintWei: bigint;
  /** Model ids served; empty: any model the other rules admit. */
  allowModels: string[];
  /** Owners (publishers) whose models are served; empty: any owner. */
  allowOwners: string[];
  /** Model ids never served. */
  denyModels: string[];
};

export const DEFAULT_SERVING_POLICY: ServingPolicy = {
  maxConstraints: 2 ** 16,
  minPricePerConstraintWei: 0n,
  allowModels: [],
  allowOwners: [],
  denyModels: [],
};

/** Largest maxConstraints: snarkjs' largest powers-of-tau (2^28) bounds every Groth16 circuit. */
export const MAX_POLICY_CONSTRAINTS = 2 ** 28;

/** A serving policy option out of bounds (a CLI flag or a ProviderOptions field). */
export class PolicyError extends Error {
  override name = 'PolicyError';
}

const MODEL_ID = /^[a-z0-9]{1,128}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** The default policy with `given` fields over it, checked: throws PolicyError naming the field. */
export function servingPolicy(given: Partial<ServingPolicy> = {}): ServingPolicy {
  const p: ServingPolicy = { ...DEFAULT_SERVING_POLICY, ...given };
  if (
    !Number.isSafeInteger(p.maxConstraints) ||
    p.maxConstraints < 0 ||
    p.maxConstraints > MAX_POLICY_CONSTRAINTS
  )
    throw new PolicyError(`maxConstraints must be an integer within 0..${MAX_POLICY_CONSTRAINTS}`);
  if (typeof p.minPricePerConstraintWei !== 'bigint' || p.minPricePerConstraintWei < 0n)
    throw new PolicyError('minPricePerConstraintWei must be a bigint >= 0');
  for (const [field, list] of [
    ['allowModels', p.allowModels],
    ['denyModels', p.denyModels],
  ] as const)
    for (const id of list)
      if (!MODEL_ID.test(id)) throw new PolicyError(`${field}: ${JSON.stringify(id)} is not a model id`);
  if (p.allowModels.length > MAX_PROVIDER_MODELS)
    throw new PolicyError(
      `allowModels lists more than the ${MAX_PROVIDER_MODELS} models a provider may register`,
    );
  for (const a of p.allowOwners)
    if (!ADDRESS.test(a)) throw new PolicyError(`allowOwners: ${JSON.stringify(a)} is not an address`);
  return {
    ...p,
    allowModels: [...p.allowModels],
    allowOwners: p.allowOwners.map((a) => a.toLowerCase()),
    denyModels: [...p.denyModels],
  };
}

/**
 * True when the policy admits every model whatever its owner, id or price: the only case in which
 * a provider that serves no zk tier may register with an empty model list (= every model).
 */
export function admitsEveryModel(p: ServingPolicy): boolean {
  return (
    p.allowModels.length === 0 &&
    p.allowOwners.length === 0 &&
    p.denyModels.length === 0 &&
    p.minPricePerConstraintWei === 0n
  );
}

/** What the chain says about a model (its models/model query record), as the policy reads it. */
export type ModelOffer = {
  id: string;
  owner: string;
  status: string;
  priceWei: bigint;
  tiers: number;
  /** The publisher's declared zk constraint count; undefined when the chain does not say (or says 0). */
  zkConstraints: number | undefined;
};

/** A models/model record as a ModelOffer (`tiers` as the chain's bit mask). */
export function offerOf(record: Record<string, unknown>, tiers: number): ModelOffer {
  // 0 is the chain's "no zk tier": a record that says 0 for a zk model (one published before the
  // field existed) declares nothing, and its circuit is judged once compiled within maxConstraints.
  const declared =
    record.zkConstraints === undefined || record.zkConstraints === null ? 0n : asBig(record.zkConstraints);
  return {
    id: String(record.id ?? ''),
    owner: String(record.owner ?? '').toLowerCase(),
    status: String(record.status ?? ''),
    priceWei: asBig(record.priceWei),
    tiers,
    zkConstraints: declared > 0n ? Number(declared) : undefined,
  };
}

/**
 * Why the policy refuses the model before anything is spent on it (no artifact fetch, no
 * compilation, no setup), or undefined when it may be prepared. `zk`: the provider would prepare
 * the model's zk circuit (it serves the zk tier and the model offers it).
 */
export function refuseOffer(p: ServingPolicy, offer: ModelOffer, zk: boolean): string | undefined {
  if (offer.status !== 'active') return `the model is ${offer.status || 'unknown'}, not active`;
  if (p.denyModels.includes(offer.id)) return 'the model is in denyModels';
  if (p.allowModels.length > 0 && !p.allowModels.includes(offer.id)) return 'the model is not in allowModels';
  if (p.allowOwners.length > 0 && !p.allowOwners.includes(offer.owner))
    return `its owner ${offer.owner} is not in allowOwners`;
  if (zk && offer.zkConstraints !== undefined) return refuseCircuit(p, offer, offer.zkConstraints);
  return undefined;
}

/** Why the policy refuses a zk circuit of `constraints` constraints for this offer, or undefined. */
export function refuseCircuit(p: ServingPolicy, offer: ModelOffer, constraints: number): string | undefined {
  if (constraints > p.maxConstraints)
    return `its circuit has ${constraints} constraints, more than maxConstraints ${p.maxConstraints}`;
  const floor = p.minPricePerConstraintWei * BigInt(constraints);
  if (offer.priceWei < floor)
    return `its price ${offer.priceWei} wei is below minPricePerConstraintWei ${p.minPricePerConstraintWei} x ${constraints} constraints = ${floor} wei`;
  return undefined;
}

/** True when the provider prepares a zk circuit for this model (it serves zk and the model offers it). */
export function preparesZk(servedTiers: number, modelTiers: number): boolean {
  return (servedTiers & TIER_ZK) !== 0 && (modelTiers & TIER_ZK) !== 0;
}
