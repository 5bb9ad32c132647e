// What one simulator seed is made of: the validators and their powers, who is Byzantine and how
// (silent, equivocating, or twinned), the network (loss, delay, duplication, GST, a partition in
// time) and the adversarial round plan: links cut for the messages of one height/round/kind, aimed
// at splitting locks across rounds. Everything is drawn from the seed with integers only.

/** Small seeded PRNG (splitmix32 seeding an xorshift128): integers only, no Math.random. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const mix = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = mix();
    this.s1 = mix();
    this.s2 = mix();
    this.s3 = mix() | 1;
  }

  /** Uniform 32-bit unsigned integer. */
  next(): number {
    const t = this.s0 ^ (this.s0 << 11);
    this.s0 = this.s1;
    this.s1 = this.s2;
    this.s2 = this.s3;
    this.s3 = (this.s3 ^ (this.s3 >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.s3;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return this.next() % n;
  }

  /** True with probability percent/100. */
  chance(percent: number): boolean {
    return this.int(100) < percent;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/**
 * silent: never sends. equivocate: runs the machine but signs conflicting votes and proposals
 * (different values to different validators, stale re-proposals, proposals out of turn).
 * twin: two instances of the honest code share the identity and key (Twins, Bano et al. 2020), so
 * the identity double-signs without being coded to.
 */
export type ByzantineKind = 'silent' | 'equivocate' | 'twin';
export type MessageKind = 'proposal' | 'prevote' | 'precommit';

export type Scenario = {
  /** Per validator identity. */
  powers: bigint[];
  byzantine: (ByzantineKind | null)[];
  totalPower: bigint;
  byzantinePower: bigint;
  /** Byzantine power is exactly 1/3: safety must hold, progress is not required. */
  boundary: boolean;
  /** Simulated processes; a twinned identity has two. instanceOf[i] is instance i's identity. */
  instanceOf: number[];
  gstMs: number;
  lossPct: number;
  dupPct: number;
  maxDelayPreGstMs: number;
  /** Before GST, between `fromMs` and `untilMs`, instances on different sides cannot talk. */
  partition: { fromMs: number; untilMs: number; side: boolean[] } | null;
  /**
   * Before GST, messages of `${height}/${round}/${kind}` are dropped on the links set in the
   * instance-by-instance matrix (row: sender, column: receiver), relays included: CUT_ALWAYS
   * until GST, CUT_WHILE_IN_ROUND only while the receiver has not gone past that round.
   */
  cuts: Map<string, Uint8Array>;
  /** Whether drawRoundPlan is to be called (drawn with the rest, applied once proposers are known). */
  adversarial: boolean;
  /** The plan holds a lock split; its roles must stay up, so nobody crashes. */
  lockSplit: boolean;
  /** Short names of the cut plans, for the scenario line. */
  plan: string[];
};

export type ScenarioOptions = { validators?: number; heights: number };

/** Highest round of each height the round plan may cut. */
const PLAN_ROUNDS = 4;
/** Heights the round plan covers (at most). */
const PLAN_HEIGHTS = 3;

export const CUT_ALWAYS = 1;
export const CUT_WHILE_IN_ROUND = 2;

export const cutKey = (height: bigint | number, round: number, kind: MessageKind): string =>
  `${height}/${round}/${kind}`;

export function drawScenario(rng: Rng, opts: ScenarioOptions): Scenario {
  const n = opts.validators ?? 4 + rng.int(4);
  if (!Number.isSafeInteger(n) || n < 1 || n > 100)
    throw new RangeError(`validators must be 1..100, got ${n}`);
  const boundary = n >= 3 && rng.chance(20);
  const { powers, byzantine } = boundary ? drawBoundary(rng, n) : drawBelowThird(rng, n);
  let totalPower = 0n;
  let byzantinePower = 0n;
  for (let i = 0; i < n; i++) {
    totalPower += powers[i]!;
    if (byzantine[i] !== null) byzantinePower += powers[i]!;
  }
  const instanceOf: number[] = [];
  for (let i = 0; i < n; i++) instanceOf.push(i);
  for (let i = 0; i < n; i++) if (byzantine[i] === 'twin') instanceOf.push(i);

  const adversarial = rng.chance(60);
  const gstMs = adversarial ? 3000 + rng.int(9000) : 1000 + rng.int(9000);
  const lossPct = adversarial ? rng.int(10) : rng.int(35);
  const dupPct = rng.int(20);
  const maxDelayPreGstMs = adversarial ? 20 + rng.int(300) : 20 + rng.int(1500);
  let partition: Scenario['partition'] = null;
  if (rng.chance(50)) {
    const fromMs = rng.int(gstMs);
    partition = { fromMs, untilMs: fromMs + rng.int(gstMs - fromMs + 1), side: drawSides(rng, instanceOf) };
  }
  return {
    powers,
    byzantine,
    totalPower,
    byzantinePower,
    boundary,
    instanceOf,
    gstMs,
    lossPct,
    dupPct,
    maxDelayPreGstMs,
    partition,
    cuts: new Map(),
    plan: [],
    adversarial,
    lockSplit: false,
  };
}

/** Up to two Byzantine validators with less than 1/3 of the power between them. */
function drawBelowThird(rng: Rng, n: number): { powers: bigint[]; byzantine: (ByzantineKind | null)[] } {
  const powers = Array.from({ length: n }, () => BigInt(1 + rng.int(10)));
  const total = powers.reduce((a, b) => a + b, 0n);
  const byzantine: (ByzantineKind | null)[] = powers.map(() => null);
  let byzPower = 0n;
  let count = 0;
  const wanted = rng.int(3);
  for (const i of shuffled(rng, n)) {
    if (count >= wanted) break;
    if ((byzPower + powers[i]!) * 3n < total) {
      byzantine[i] = drawKind(rng);
      byzPower += powers[i]!;
      count++;
    }
  }
  return { powers, byzantine };
}

/**
 * One or two Byzantine validators holding exactly 1/3 of the power: the most Tendermint's safety
 * tolerates (two quorums of more than 2/3 still share an honest validator), and the case a
 * quorum of "at least 2/3" gets wrong.
 */
function drawBoundary(rng: Rng, n: number): { powers: bigint[]; byzantine: (ByzantineKind | null)[] } {
  const k = n >= 5 && rng.chance(40) ? 2 : 1;
  const honestCount = n - k;
  const powers: bigint[] = Array.from({ length: n }, () => 0n);
  const order = shuffled(rng, n);
  let byz = 0;
  for (let j = 0; j < k; j++) {
    const p = 1 + rng.int(6);
    powers[order[j]!] = BigInt(p);
    byz += p;
  }
  // Honest power must be exactly twice the Byzantine power, at least 1 each.
  if (2 * byz < honestCount) {
    const extra = Math.ceil(honestCount / 2) - byz;
    powers[order[0]!] = powers[order[0]!]! + BigInt(extra);
    byz += extra;
  }
  const honest = order.slice(k);
  for (const i of honest) powers[i] = 1n;
  for (let left = 2 * byz - honestCount; left > 0; left--) {
    const i = rng.pick(honest);
    powers[i] = powers[i]! + 1n;
  }
  const byzantine: (ByzantineKind | null)[] = powers.map(() => null);
  for (let j = 0; j < k; j++) byzantine[order[j]!] = drawKind(rng);
  return { powers, byzantine };
}

function drawKind(rng: Rng): ByzantineKind {
  const x = rng.int(100);
  return x < 15 ? 'silent' : x < 55 ? 'equivocate' : 'twin';
}

/** A random two-sided split of the instances, with the two instances of each twin on opposite sides. */
function drawSides(rng: Rng, instanceOf: readonly number[]): boolean[] {
  const side = instanceOf.map(() => rng.chance(50));
  const first = new Map<number, number>();
  instanceOf.forEach((identity, i) => {
    const j = first.get(identity);
    if (j === undefined) first.set(identity, i);
    else side[i] = !side[j]!;
  });
  return side;
}

/** Proposer identity of (height, round). */
export type ProposerOf = (height: number, round: number) => number;

/**
 * Fills sc.cuts for the first rounds of the first heights. Each (height, round, kind) may get a
 * split in two (twins apart), a deaf instance (receives nothing), a mute one (its messages reach no
 * one) or sparse links. Then, half the time, a lock split aimed at the proposer schedule (see
 * planLockSplit).
 */
export function drawRoundPlan(rng: Rng, sc: Scenario, heights: number, proposerOf: ProposerOf): void {
  const m = sc.instanceOf.length;
  const kinds: MessageKind[] = ['proposal', 'prevote', 'precommit'];
  const lastHeight = Math.min(heights, PLAN_HEIGHTS);
  const density = rng.int(25);
  for (let h = 1; h <= lastHeight; h++) {
    for (let r = 0; r < PLAN_ROUNDS; r++) {
      for (const kind of kinds) {
        if (!rng.chance(density)) continue;
        const c = cutMatrix(sc, cutKey(h, r, kind));
        const shape = rng.int(4);
        if (shape === 0) {
          const side = drawSides(rng, sc.instanceOf);
          for (let a = 0; a < m; a++)
            for (let b = 0; b < m; b++) if (side[a] !== side[b]) c[a * m + b] = CUT_ALWAYS;
          sc.plan.push(`split ${h}/${r}/${kind}`);
        } else if (shape === 1) {
          const deaf = rng.int(m);
          for (let a = 0; a < m; a++) c[a * m + deaf] = CUT_ALWAYS;
          sc.plan.push(`deaf#${deaf} ${h}/${r}/${kind}`);
        } else if (shape === 2) {
          const mute = rng.int(m);
          for (let b = 0; b < m; b++) c[mute * m + b] = CUT_ALWAYS;
          sc.plan.push(`mute#${mute} ${h}/${r}/${kind}`);
        } else {
          for (let i = 0; i < m * m; i++) if (rng.chance(30)) c[i] = CUT_ALWAYS;
          sc.plan.push(`sparse ${h}/${r}/${kind}`);
        }
      }
    }
  }
  if (rng.chance(60)) planLockSplit(rng, sc, 1 + rng.int(Math.min(2, lastHeight)), proposerOf);
}

function cutMatrix(sc: Scenario, key: string): Uint8Array {
  let c = sc.cuts.get(key);
  if (c === undefined) {
    c = new Uint8Array(sc.instanceOf.length * sc.instanceOf.length);
    sc.cuts.set(key, c);
  }
  return c;
}

/**
 * A lock split at height h, aimed with the proposer schedule and the powers (earlier rounds of
 * the height fail: their proposal reaches no one):
 *
 * - optional "hidden polka" in round r-1: every validator prevotes B (those in Z0 miss the
 *   proposal and prevote nil), but only P, the proposer of round r+1, sees the 2f+1 prevotes for B
 *   in time (the prevotes of W reach the others only after they left the round). P locks B; the
 *   rest time out and precommit nil.
 * - round r: those in Z (P among them) miss the proposal A and prevote nil; the others see the
 *   polka for A and lock it. Decider D receives every precommit and decides A, but its precommit
 *   reaches no one and, from round r+1 on, D hears nothing of height h (so it cannot hand out the
 *   decision); the others hold too few precommits for A and go on to round r+1 locked on A.
 * - round r+1: P re-proposes B with its older proof of lock (validRound r-1), or, if the proposer is
 *   an equivocator, it may re-propose a stale value or claim validRound r for a fresh one.
 *
 * Only the lock on A keeps the rest from deciding something else, so any bug in locking, the
 * valid-round rule or the proof-of-lock check shows up as an agreement violation.
 */
function planLockSplit(rng: Rng, sc: Scenario, h: number, proposerOf: ProposerOf): void {
  const n = sc.powers.length;
  const honestCode = (i: number) => sc.byzantine[i] === null || sc.byzantine[i] === 'twin';
  let H = 0n; // power that runs the honest code
  let E = 0n; // equivocating power: may back either side
  for (let i = 0; i < n; i++) {
    if (honestCode(i)) H += sc.powers[i]!;
    else if (sc.byzantine[i] === 'equivocate') E += sc.powers[i]!;
  }
  const q = (sc.totalPower * 2n) / 3n + 1n;
  const power = (set: readonly number[]) => set.reduce((a, i) => a + sc.powers[i]!, 0n);
  const candidates = Array.from({ length: n }, (_, i) => i).filter(honestCode);
  const subset = (from: readonly number[], must: readonly number[]): number[] =>
    from.filter((i) => must.includes(i) || rng.chance(35));
  // With an equivocator around, aim half the plans at an equivocating proposer in round r+1.
  const aimAtEquivocator = E > 0n && rng.chance(50);
  for (let attempt = 0; attempt < 40; attempt++) {
    const hidden = !aimAtEquivocator && rng.chance(60);
    const r = (hidden ? 1 : 0) + rng.int(aimAtEquivocator ? 3 : 2);
    const pr = proposerOf(h, r);
    const next = proposerOf(h, r + 1);
    if (aimAtEquivocator && sc.byzantine[next] !== 'equivocate') continue;
    const decider = rng.pick(candidates.filter((i) => sc.byzantine[i] === null));
    if (decider === undefined || decider === pr) continue;
    let P = -1;
    if (hidden) {
      P = next;
      if (!honestCode(P) || P === pr || P === decider || P === proposerOf(h, r - 1)) continue;
    }
    const Z = subset(
      candidates.filter((i) => i !== decider && i !== pr),
      P >= 0 ? [P] : [],
    );
    const rest = H - power(Z);
    if (!(rest >= q && rest - sc.powers[decider]! < q && H - sc.powers[decider]! >= q)) continue;
    let Z0: number[] = [];
    let W: number[] = [];
    if (hidden) {
      const p0 = proposerOf(h, r - 1);
      Z0 = subset(
        candidates.filter((i) => i !== P && i !== p0),
        [],
      );
      W = subset(
        candidates.filter((i) => !Z0.includes(i)),
        [P],
      );
      const pol = H - power(Z0);
      if (!(pol >= q && pol - power(W) < q && H - power(W) >= q)) continue;
    }
    applyLockSplit(sc, h, r, { decider, Z, P, Z0, W });
    sc.lockSplit = true;
    sc.plan.push(
      `lock-split h${h} r${r} decider val${decider} nil [${Z.map((i) => `val${i}`).join(' ')}]` +
        (hidden
          ? `; hidden polka r${r - 1} for val${P}, nil [${Z0.map((i) => `val${i}`).join(' ')}], late [${W.map((i) => `val${i}`).join(' ')}]`
          : ''),
    );
    return;
  }
}

function applyLockSplit(
  sc: Scenario,
  h: number,
  r: number,
  roles: { decider: number; Z: number[]; P: number; Z0: number[]; W: number[] },
): void {
  const m = sc.instanceOf.length;
  // The rounds before the plan fail: nobody receives their proposal, so all prevote nil.
  for (let early = 0; early < r - (roles.P < 0 ? 0 : 1); early++) {
    const c = cutMatrix(sc, cutKey(h, early, 'proposal'));
    c.fill(CUT_ALWAYS);
  }
  const instances = (ids: readonly number[]) =>
    sc.instanceOf.map((id, i) => (ids.includes(id) ? i : -1)).filter((i) => i >= 0);
  const D = instances([roles.decider]);
  const proposal = cutMatrix(sc, cutKey(h, r, 'proposal'));
  for (const z of instances(roles.Z)) for (let a = 0; a < m; a++) proposal[a * m + z] = CUT_ALWAYS;
  const precommit = cutMatrix(sc, cutKey(h, r, 'precommit'));
  for (const d of D) for (let b = 0; b < m; b++) precommit[d * m + b] = CUT_ALWAYS;
  // Equivocators collude: their precommits of round r reach only the decider.
  const equivocators = sc.instanceOf
    .map((id, i) => (sc.byzantine[id] === 'equivocate' ? i : -1))
    .filter((i) => i >= 0);
  for (const e of equivocators)
    for (let b = 0; b < m; b++) if (!D.includes(b)) precommit[e * m + b] = CUT_ALWAYS;
  for (let later = r + 1; later < PLAN_ROUNDS + 4; later++) {
    for (const kind of ['proposal', 'prevote', 'precommit'] as const) {
      const c = cutMatrix(sc, cutKey(h, later, kind));
      for (const d of D) for (let a = 0; a < m; a++) c[a * m + d] = CUT_ALWAYS;
    }
  }
  if (roles.P < 0) return;
  const P = instances([roles.P]);
  const proposal0 = cutMatrix(sc, cutKey(h, r - 1, 'proposal'));
  for (const z of instances(roles.Z0)) for (let a = 0; a < m; a++) proposal0[a * m + z] = CUT_ALWAYS;
  const prevote0 = cutMatrix(sc, cutKey(h, r - 1, 'prevote'));
  // P's own relays of the proof of lock count as "late" too, so P is in W.
  for (const w of [...instances(roles.W), ...equivocators])
    for (let b = 0; b < m; b++) if (!P.includes(b)) prevote0[w * m + b] = CUT_WHILE_IN_ROUND;
}

export function shuffled(rng: Rng, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
