// Deterministic simulator: N validators running the consensus core in one process, over a seeded
// simulated network (delay, loss, duplication, reordering, a partition that heals at GST), with
// crashes and restarts (replaying each node's WAL, kept in memory) and Byzantine validators
// (equivocating proposals and votes, silence). Virtual time only: a seed replays exactly.
//
// Checked on every run: agreement, validity, commits carry >2/3 power, no honest validator ever
// signs two different votes for the same height/round/kind (the WAL's promise), evidence only
// names Byzantine validators, and progress: every honest node decides `heights` heights within
// PROGRESS_BOUND_MS of virtual time after GST.

import { Consensus } from './machine.ts';
import { advancePriorities, type PrioritizedValidator, proposerFor } from './proposer.ts';
import type { Input, Output, Proposal, TimeoutConfig, Validator, ValueId, Vote } from './types.ts';
import { inputFromJson, inputToJson } from './wal-record.ts';

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

export type ByzantineKind = 'silent' | 'equivocate';

export type SimOptions = {
  seed: number;
  /** Number of validators; by default 4 to 7, drawn from the seed. */
  validators?: number;
  /** Heights every honest node must decide. */
  heights?: number;
  /** Deliberately broken honest machines, to show that the checks fail. */
  unsafe?: {
    noLocking?: boolean;
    /** Restart crashed nodes without their WAL (fresh machine at the next undecided height). */
    forgetWal?: boolean;
  };
  /** Receives a line per event when given (the CLI's --verbose). */
  log?: (line: string) => void;
};

export type SimResult = {
  seed: number;
  ok: boolean;
  violations: string[];
  /** Human summary of the drawn scenario. */
  scenario: string;
  validators: number;
  byzantine: number;
  gstMs: number;
  endMs: number;
  /** Virtual time from GST until every honest node had decided the target heights (0 when done before GST). */
  afterGstMs: number;
  maxRound: number;
  deliveries: number;
  crashes: number;
  evidence: number;
};

/** Virtual time after GST within which every honest node must reach the target height. */
export const PROGRESS_BOUND_MS = 60_000;
const GOSSIP_INTERVAL_MS = 400;
export const SIM_TIMEOUTS: TimeoutConfig = {
  propose: { baseMs: 300, deltaMs: 100 },
  prevote: { baseMs: 200, deltaMs: 100 },
  precommit: { baseMs: 200, deltaMs: 100 },
};

type Message = { kind: 'proposal'; proposal: Proposal } | { kind: 'vote'; vote: Vote };

type Event =
  | { at: number; seq: number; type: 'deliver'; to: number; msg: Message }
  | { at: number; seq: number; type: 'timeout'; to: number; incarnation: number; input: Input }
  | { at: number; seq: number; type: 'crash'; to: number; midStep: boolean }
  | { at: number; seq: number; type: 'restart'; to: number }
  | { at: number; seq: number; type: 'gossip'; to: number };

type Decision = { round: number; value: ValueId; commit: Vote[]; proposal: Proposal | undefined };

type SimNode = {
  index: number;
  address: string;
  power: bigint;
  byzantine: ByzantineKind | null;
  machine: Consensus | null;
  incarnation: number;
  /** The WAL: JSON lines of the current height's inputs, surviving crashes. */
  wal: string[];
  /** The block store: decisions survive crashes. */
  decided: Map<bigint, Decision>;
  /** Own signed messages of the current height, re-sent by gossip. */
  own: Map<string, Message>;
  /** Votes received at the current (and next) height, for relaying (see the gossip event). */
  votesSeen: Map<string, Vote>;
  /** Highest height/round seen from each peer, to relay round-change evidence to peers behind us. */
  peerRound: Map<number, { height: bigint; round: number }>;
  proposalsSeen: Map<string, Proposal>;
  lastCatchUp: Map<string, number>;
  crashAtNextInput: boolean;
};

type EventWithoutSeq = Event extends infer E ? (E extends Event ? Omit<E, 'seq'> : never) : never;

/** Binary min-heap of events by (time, sequence): equal times keep their scheduling order. */
class EventQueue {
  private readonly heap: Event[] = [];
  private seq = 0;
  get size(): number {
    return this.heap.length;
  }
  push(e: EventWithoutSeq): void {
    const ev = { ...e, seq: this.seq++ } as Event;
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Event | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
const before = (a: Event, b: Event): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

export function runSimulation(opts: SimOptions): SimResult {
  const rng = new Rng(opts.seed);
  const log = opts.log;
  const targetHeights = BigInt(opts.heights ?? 3);
  const n = opts.validators ?? 4 + rng.int(4);
  if (!Number.isSafeInteger(n) || n < 1 || n > 100)
    throw new RangeError(`validators must be 1..100, got ${n}`);

  // ---- scenario, all drawn from the seed ---------------------------------------------------
  const nodes: SimNode[] = [];
  let total = 0n;
  for (let i = 0; i < n; i++) {
    const power = BigInt(1 + rng.int(10));
    total += power;
    nodes.push({
      index: i,
      address: `val${i}`,
      power,
      byzantine: null,
      machine: null,
      incarnation: 0,
      wal: [],
      decided: new Map(),
      own: new Map(),
      votesSeen: new Map(),
      peerRound: new Map(),
      proposalsSeen: new Map(),
      lastCatchUp: new Map(),
      crashAtNextInput: false,
    });
  }
  // Byzantine validators: fewer than 1/3 of the power.
  let byzPower = 0n;
  const byzBudget = rng.int(3); // 0, 1 or 2 Byzantine validators wanted
  for (const i of shuffled(rng, n)) {
    if (nodes.filter((x) => x.byzantine !== null).length >= byzBudget) break;
    const node = nodes[i]!;
    if ((byzPower + node.power) * 3n < total) {
      node.byzantine = rng.chance(30) ? 'silent' : 'equivocate';
      byzPower += node.power;
    }
  }
  const gstMs = 1000 + rng.int(9000);
  const lossPct = rng.int(35);
  const dupPct = rng.int(20);
  const maxDelayPreGst = 20 + rng.int(1500);
  const maxDelayPostGst = 100;
  const partition = rng.chance(50) ? { from: rng.int(gstMs), side: nodes.map(() => rng.chance(50)) } : null;
  const partitionUntil = partition === null ? 0 : partition.from + rng.int(gstMs - partition.from + 1);
  const validatorList: Validator[] = nodes.map((x) => ({ address: x.address, power: x.power }));

  // Proposer rotation: stored priorities advance once per height (heights start at 1).
  const prioritiesAt: PrioritizedValidator[][] = [validatorList.map((v) => ({ ...v, priority: 0n }))];
  const proposerCache = new Map<string, string>();
  const proposerOf = (height: bigint, round: number): string => {
    const key = `${height}/${round}`;
    let p = proposerCache.get(key);
    if (p === undefined) {
      const h = Number(height);
      while (prioritiesAt.length < h)
        prioritiesAt.push(advancePriorities(prioritiesAt[prioritiesAt.length - 1]!).set);
      p = proposerFor(prioritiesAt[h - 1]!, round);
      proposerCache.set(key, p);
    }
    return p;
  };
  const resolveProposer = (height: bigint) => (round: number) => proposerOf(height, round);

  // Values proposed so far: what "executing the block" says about each.
  const registry = new Map<ValueId, { height: bigint; round: number; proposer: string; valid: boolean }>();
  let valueCounter = 0;
  const newValue = (height: bigint, round: number, proposer: string, valid: boolean): ValueId => {
    const v = `h${height}r${round}-${proposer}-${valueCounter++}${valid ? '' : '-bad'}`;
    registry.set(v, { height, round, proposer, valid });
    return v;
  };
  const isValid = (p: Proposal): boolean => {
    const r = registry.get(p.value);
    return r?.valid === true && r.height === p.height;
  };

  const violations: string[] = [];
  const violate = (text: string): void => {
    if (violations.length < 20) violations.push(text);
    log?.(`VIOLATION ${text}`);
  };
  const honestDecisions = new Map<bigint, ValueId>();
  const signedVotes = new Map<string, ValueId | null>();

  const queue = new EventQueue();
  let now = 0;
  let deliveries = 0;
  let crashes = 0;
  let evidence = 0;
  let maxRound = 0;

  // ---- network -----------------------------------------------------------------------------
  const crossesPartition = (a: number, b: number): boolean =>
    partition !== null &&
    now >= partition.from &&
    now < partitionUntil &&
    partition.side[a] !== partition.side[b];
  const send = (from: number, to: number, msg: Message): void => {
    if (from === to) return;
    const pre = now < gstMs;
    if (pre && (rng.chance(lossPct) || crossesPartition(from, to))) return;
    const copies = rng.chance(dupPct) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay = 1 + rng.int(pre ? maxDelayPreGst : maxDelayPostGst);
      queue.push({ at: now + delay, type: 'deliver', to, msg });
    }
  };
  const broadcast = (from: number, msg: Message): void => {
    for (let to = 0; to < n; to++) send(from, to, msg);
  };

  // ---- honest (and equivocating) node behaviour --------------------------------------------
  const startInput = (height: bigint): Extract<Input, { type: 'start' }> => ({
    type: 'start',
    height,
    validators: validatorList,
    proposer: resolveProposer(height),
  });

  /** Feeds inputs (and the inputs their outputs cause) to a node, WAL first. */
  const run = (node: SimNode, first: Input, appendFirst = true): void => {
    const pending: { input: Input; append: boolean }[] = [{ input: first, append: appendFirst }];
    while (pending.length > 0) {
      const { input, append } = pending.shift()!;
      const machine = node.machine;
      if (machine === null) return;
      if (append) node.wal.push(JSON.stringify(inputToJson(input)));
      const outs = machine.step(input);
      if (node.crashAtNextInput) {
        // Crash after the WAL write, before any output is acted on.
        crashNode(node);
        return;
      }
      handleOutputs(node, outs, pending);
    }
  };

  const handleOutputs = (
    node: SimNode,
    outs: Output[],
    pending: { input: Input; append: boolean }[],
  ): void => {
    for (const out of outs) {
      switch (out.type) {
        case 'getValue': {
          const value = newValue(out.height, out.round, node.address, true);
          pending.push({
            input: { type: 'value', height: out.height, round: out.round, value },
            append: true,
          });
          break;
        }
        case 'propose': {
          const p = out.proposal;
          registerOwnProposal(node, p);
          pending.push({ input: { type: 'proposal', proposal: p, valid: isValid(p) }, append: true });
          break;
        }
        case 'vote':
          registerOwnVote(node, out.vote);
          pending.push({ input: { type: 'vote', vote: out.vote }, append: true });
          break;
        case 'scheduleTimeout':
          queue.push({
            at: now + out.durationMs,
            type: 'timeout',
            to: node.index,
            incarnation: node.incarnation,
            input: { type: 'timeout', kind: out.kind, height: out.height, round: out.round },
          });
          if (out.round > maxRound) maxRound = out.round;
          break;
        case 'decide':
          onDecide(node, out, pending);
          break;
        case 'evidence':
          evidence++;
          if (nodes.find((x) => x.address === out.a.validator)?.byzantine === null) {
            violate(
              `evidence against honest ${out.a.validator} at height ${out.a.height} round ${out.a.round}`,
            );
          }
          break;
      }
    }
  };

  const registerOwnProposal = (node: SimNode, p: Proposal): void => {
    node.proposalsSeen.set(`${p.height}/${p.round}/${p.value}`, p);
    if (node.byzantine === 'equivocate') {
      // Send the real proposal to some peers and a conflicting one (possibly invalid) to others.
      const evil: Proposal = {
        ...p,
        value: newValue(p.height, p.round, node.address, rng.chance(50)),
        validRound: -1,
      };
      for (let to = 0; to < n; to++) {
        const which = rng.int(3);
        if (which !== 1) send(node.index, to, { kind: 'proposal', proposal: p });
        if (which !== 0) send(node.index, to, { kind: 'proposal', proposal: evil });
      }
      return;
    }
    const msg: Message = { kind: 'proposal', proposal: p };
    node.own.set(`p/${p.round}/${p.value}`, msg);
    broadcast(node.index, msg);
    log?.(`${now} ${node.address} proposes ${p.value} h${p.height} r${p.round} vr${p.validRound}`);
  };

  const registerOwnVote = (node: SimNode, v: Vote): void => {
    if (node.byzantine === 'equivocate') {
      // The other vote backs another value of this height when there is one, so that the
      // Byzantine power can join two conflicting quorums; otherwise nil (or a made-up value).
      const others = [...registry.keys()].filter(
        (x) => registry.get(x)!.height === v.height && x !== v.value,
      );
      const other: ValueId | null =
        others.length > 0 && rng.chance(70) ? rng.pick(others) : v.value === null ? `fake-${v.height}` : null;
      const evil: Vote = { ...v, value: other };
      for (let to = 0; to < n; to++) {
        const which = rng.int(3);
        if (which !== 1) send(node.index, to, { kind: 'vote', vote: v });
        if (which !== 0) send(node.index, to, { kind: 'vote', vote: evil });
      }
      return;
    }
    const key = `${v.validator}/${v.height}/${v.round}/${v.kind}`;
    const before = signedVotes.get(key);
    if (before !== undefined && before !== v.value) {
      violate(
        `honest ${v.validator} signed conflicting ${v.kind}s at h${v.height} r${v.round}: ${before} and ${v.value}`,
      );
    }
    signedVotes.set(key, v.value);
    const msg: Message = { kind: 'vote', vote: v };
    node.own.set(`v/${v.round}/${v.kind}`, msg);
    broadcast(node.index, msg);
    log?.(`${now} ${node.address} ${v.kind} ${v.value ?? 'nil'} h${v.height} r${v.round}`);
  };

  const onDecide = (
    node: SimNode,
    out: Extract<Output, { type: 'decide' }>,
    pending: { input: Input; append: boolean }[],
  ): void => {
    const { height, round, value, commit } = out;
    log?.(`${now} ${node.address} DECIDES ${value} h${height} r${round}`);
    if (node.byzantine === null) {
      checkDecision(node, out);
      const first = honestDecisions.get(height);
      if (first === undefined) honestDecisions.set(height, value);
      else if (first !== value)
        violate(`agreement: height ${height} decided ${first} and ${value} (${node.address})`);
    }
    const proposal = node.proposalsSeen.get(`${height}/${round}/${value}`);
    node.decided.set(height, { round, value, commit, proposal });
    // Commit the block, then rotate the WAL to the next height, carrying the buffered messages.
    const machine = node.machine!;
    const start = startInput(height + 1n);
    const carried = machine.nextHeightInputs();
    node.wal = [start, ...carried].map((x) => JSON.stringify(inputToJson(x)));
    node.own.clear();
    for (const [key, v] of node.votesSeen) if (v.height <= height) node.votesSeen.delete(key);
    pending.length = 0; // leftover inputs of the decided height no longer matter
    pending.push({ input: start, append: false });
  };

  const checkDecision = (node: SimNode, out: Extract<Output, { type: 'decide' }>): void => {
    const entry = registry.get(out.value);
    if (entry === undefined || !entry.valid || entry.height !== out.height) {
      violate(
        `validity: ${node.address} decided ${out.value} at h${out.height}, which is not a valid value of it`,
      );
    } else if (proposerOf(entry.height, entry.round) !== entry.proposer) {
      violate(`validity: ${out.value} was not made by the proposer of its round`);
    }
    let power = 0n;
    const seen = new Set<string>();
    for (const v of out.commit) {
      if (
        v.kind !== 'precommit' ||
        v.height !== out.height ||
        v.round !== out.round ||
        v.value !== out.value ||
        seen.has(v.validator)
      ) {
        violate(`commit of ${node.address} at h${out.height} holds a wrong or repeated vote`);
      }
      seen.add(v.validator);
      power += nodes.find((x) => x.address === v.validator)?.power ?? 0n;
    }
    if (power * 3n <= total * 2n)
      violate(`commit of ${node.address} at h${out.height} has only ${power}/${total}`);
  };

  const crashNode = (node: SimNode): void => {
    node.machine = null;
    node.crashAtNextInput = false;
    node.incarnation++;
    crashes++;
    // Back by GST at the latest (a mid-step crash happens at the node's next input, possibly later).
    queue.push({ at: now + 1 + rng.int(Math.max(1, gstMs - now)), type: 'restart', to: node.index });
    log?.(`${now} ${node.address} CRASHES`);
  };

  const restartNode = (node: SimNode): void => {
    const machine = machineForNode(node);
    node.machine = machine;
    node.own.clear();
    log?.(`${now} ${node.address} RESTARTS replaying ${node.wal.length} WAL records`);
    if (opts.unsafe?.forgetWal === true && node.wal.length > 0) {
      const start = startInput(BigInt(node.decided.size + 1));
      node.wal = [JSON.stringify(inputToJson(start))];
      run(node, start, false);
      return;
    }
    if (node.wal.length === 0) {
      run(node, startInput(1n));
      return;
    }
    // Replay the WAL through the fresh machine, then act on everything it asks for again: the
    // same votes (checked against what was signed before), timeouts, and a decision if the crash
    // came after the deciding input was logged.
    const outs: Output[] = [];
    for (const line of node.wal) outs.push(...machine.step(inputFromJson(JSON.parse(line), resolveProposer)));
    const pending: { input: Input; append: boolean }[] = [];
    handleOutputs(node, outs, pending);
    for (const p of pending) run(node, p.input, p.append);
  };

  const machineForNode = (node: SimNode): Consensus =>
    new Consensus({
      self: node.address,
      timeouts: SIM_TIMEOUTS,
      ...(opts.unsafe?.noLocking === true && node.byzantine === null ? { unsafe: { noLocking: true } } : {}),
    });

  const deliver = (node: SimNode, msg: Message): void => {
    const machine = node.machine;
    if (machine === null) return;
    deliveries++;
    const h = msg.kind === 'vote' ? msg.vote.height : msg.proposal.height;
    const sender = msg.kind === 'vote' ? msg.vote.validator : msg.proposal.proposer;
    const state = machine.state();
    const from = nodes.findIndex((x) => x.address === sender);
    const round = msg.kind === 'vote' ? msg.vote.round : msg.proposal.round;
    const known = node.peerRound.get(from);
    if (known === undefined || h > known.height || (h === known.height && round > known.round)) {
      node.peerRound.set(from, { height: h, round });
    }
    if (h < state.height) {
      catchUp(node, h, sender);
      return;
    }
    if (msg.kind === 'proposal') {
      node.proposalsSeen.set(`${h}/${msg.proposal.round}/${msg.proposal.value}`, msg.proposal);
      run(node, { type: 'proposal', proposal: msg.proposal, valid: isValid(msg.proposal) });
    } else {
      const v = msg.vote;
      if (v.height <= state.height + 1n && node.votesSeen.size < 10_000) {
        node.votesSeen.set(`${v.height}/${v.round}/${v.kind}/${v.validator}/${v.value}`, v);
      }
      run(node, { type: 'vote', vote: v });
    }
  };

  /** A peer is behind: send it the decided proposal and its commit, so it can decide too (block sync stand-in). */
  const catchUp = (node: SimNode, height: bigint, peer: string): void => {
    const d = node.decided.get(height);
    const to = nodes.findIndex((x) => x.address === peer);
    if (d === undefined || to < 0 || d.proposal === undefined) return;
    const key = `${peer}/${height}`;
    const last = node.lastCatchUp.get(key);
    if (last !== undefined && now - last < GOSSIP_INTERVAL_MS) return;
    node.lastCatchUp.set(key, now);
    send(node.index, to, { kind: 'proposal', proposal: d.proposal });
    for (const v of d.commit) send(node.index, to, { kind: 'vote', vote: v });
  };

  // ---- schedule ----------------------------------------------------------------------------
  for (const node of nodes) {
    if (node.byzantine === 'silent') continue;
    queue.push({ at: 0, type: 'restart', to: node.index });
    queue.push({ at: 1 + rng.int(GOSSIP_INTERVAL_MS), type: 'gossip', to: node.index });
    // Up to two crashes per honest node before GST (a crash while down is a no-op).
    for (let c = node.byzantine === null ? rng.int(3) : 0; c > 0; c--) {
      queue.push({ at: rng.int(gstMs), type: 'crash', to: node.index, midStep: rng.chance(50) });
    }
  }
  const byz = nodes.filter((x) => x.byzantine !== null);
  const scenario =
    `seed ${opts.seed}: ${n} validators (powers ${nodes.map((x) => x.power).join(',')}), ` +
    `byzantine [${byz.map((x) => `${x.address}:${x.byzantine}`).join(' ')}], GST ${gstMs} ms, loss ${lossPct}%, ` +
    `dup ${dupPct}%, delay <= ${maxDelayPreGst} ms before GST, ` +
    (partition === null ? 'no partition' : `partition ${partition.from}-${partitionUntil} ms`);
  log?.(scenario);

  const honest = nodes.filter((x) => x.byzantine === null);
  const done = (): boolean => honest.every((x) => x.decided.has(targetHeights));
  const deadline = gstMs + PROGRESS_BOUND_MS;
  let doneAt = -1;

  for (;;) {
    const ev = queue.pop();
    if (ev === undefined) break;
    if (ev.at > deadline) break;
    now = ev.at;
    const node = nodes[ev.to]!;
    switch (ev.type) {
      case 'deliver':
        deliver(node, ev.msg);
        break;
      case 'timeout':
        if (node.machine !== null && ev.incarnation === node.incarnation) run(node, ev.input);
        break;
      case 'crash':
        if (node.machine !== null) {
          if (ev.midStep) node.crashAtNextInput = true;
          else crashNode(node);
        }
        break;
      case 'restart':
        if (node.machine === null) restartNode(node);
        break;
      case 'gossip':
        if (node.machine !== null && node.byzantine === null) {
          for (const msg of node.own.values()) broadcast(node.index, msg);
          // Relay the proof of lock, as real gossip does: peers that missed some of these prevotes
          // (or saw an equivocator's other vote first) could otherwise never accept our validValue.
          const st = node.machine.state();
          if (st.validRound >= 0) {
            for (const v of node.votesSeen.values()) {
              if (
                v.height === st.height &&
                v.kind === 'prevote' &&
                v.round === st.validRound &&
                v.value === st.validValue
              ) {
                broadcast(node.index, { kind: 'vote', vote: v });
              }
            }
          }
          // A peer still in an earlier round gets what moved us on: the votes of our round (they
          // let it skip ahead, line 55) and the precommits of the round before (they let it time
          // out of that round, line 47), Byzantine ones included. The paper's model assumes
          // exactly this: a message one correct process received reaches every correct process.
          for (const [peer, pr] of node.peerRound) {
            if (pr.height !== st.height || pr.round >= st.round || peer === node.index) continue;
            for (const v of node.votesSeen.values()) {
              if (v.height !== st.height) continue;
              if (v.round === st.round || (v.round === st.round - 1 && v.kind === 'precommit')) {
                send(node.index, peer, { kind: 'vote', vote: v });
              }
            }
          }
        }
        queue.push({ at: now + GOSSIP_INTERVAL_MS, type: 'gossip', to: node.index });
        break;
    }
    if (violations.length > 0) break;
    if (done()) {
      doneAt = now;
      break;
    }
  }
  if (doneAt < 0 && violations.length === 0) {
    const heights = honest.map((x) => `${x.address}:${x.decided.size}`).join(' ');
    violate(
      `progress: not every honest node decided ${targetHeights} heights by GST + ${PROGRESS_BOUND_MS} ms (${heights})`,
    );
  }
  return {
    seed: opts.seed,
    ok: violations.length === 0,
    violations,
    scenario,
    validators: n,
    byzantine: byz.length,
    gstMs,
    endMs: now,
    afterGstMs: doneAt < 0 ? -1 : Math.max(0, doneAt - gstMs),
    maxRound,
    deliveries,
    crashes,
    evidence,
  };
}

function shuffled(rng: Rng, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
