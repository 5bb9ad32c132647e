// Deterministic simulator: N validators running the consensus core in one process, over a seeded
// simulated network (delay, loss, duplication, reordering, a partition that heals at GST), with
// crashes and restarts (replaying each node's WAL, kept in memory) and Byzantine validators:
// silent ones, equivocators (conflicting votes, different proposals to different validators,
// stale re-proposals, proposals out of turn) and Twins (two honest instances of one identity on
// opposite sides of partitions). Seeds may also carry a round plan (sim-scenario.ts): links cut for
// one height/round/kind, including lock splits aimed at the proposer schedule. Virtual time only:
// a seed replays exactly.
//
// Checked on every run: agreement, validity, commits carry >2/3 power, no honest validator ever
// signs two different votes for the same height/round/kind (the WAL's promise), evidence only
// names Byzantine (or twinned) validators, and progress: every honest node decides `heights`
// heights within PROGRESS_BOUND_MS of virtual time after GST, except when the Byzantine power is
// exactly 1/3, where only safety is promised.

import { Consensus } from './machine.ts';
import { advancePriorities, type PrioritizedValidator, proposerFor } from './proposer.ts';
import {
  type ByzantineKind,
  CUT_ALWAYS,
  cutKey,
  drawRoundPlan,
  drawScenario,
  type MessageKind,
  Rng,
  type Scenario,
} from './sim-scenario.ts';
import type {
  Input,
  Output,
  Proposal,
  TimeoutConfig,
  UnsafeRules,
  Validator,
  ValueId,
  Vote,
} from './types.ts';
import { inputFromJson, inputToJson } from './wal-record.ts';

export { type ByzantineKind, Rng } from './sim-scenario.ts';

export type SimOptions = {
  seed: number;
  /** Number of validators; by default 4 to 7, drawn from the seed. */
  validators?: number;
  /** Heights every honest node must decide. */
  heights?: number;
  /** Deliberately broken honest machines, to show that the checks fail. */
  unsafe?: SimUnsafe;
  /** Receives a line per event when given (the CLI's --verbose). */
  log?: (line: string) => void;
};

/**
 * The broken machine rules (run by every instance of honest code, twins included) plus one broken
 * engine habit: `forgetWal` restarts crashed nodes without their WAL (a fresh machine at the next
 * undecided height).
 */
export type SimUnsafe = UnsafeRules & { forgetWal?: boolean };

export type SimResult = {
  seed: number;
  ok: boolean;
  violations: string[];
  /** Human summary of the drawn scenario. */
  scenario: string;
  validators: number;
  byzantine: number;
  /** Validator identities run by two instances of the honest code. */
  twins: number;
  /** Byzantine power was exactly 1/3 (safety checked, progress not required). */
  boundary: boolean;
  /** Links cut for some height/round/kind by the adversarial round plan. */
  roundPlan: boolean;
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
/** With exactly 1/3 Byzantine power, how long after GST the run goes on checking safety. */
const BOUNDARY_WATCH_MS = 15_000;
const GOSSIP_INTERVAL_MS = 400;
export const SIM_TIMEOUTS: TimeoutConfig = {
  propose: { baseMs: 300, deltaMs: 100 },
  prevote: { baseMs: 200, deltaMs: 100 },
  precommit: { baseMs: 200, deltaMs: 100 },
};

type Message = { kind: 'proposal'; proposal: Proposal } | { kind: 'vote'; vote: Vote };

type Event =
  | { at: number; seq: number; type: 'deliver'; from: number; to: number; msg: Message }
  | { at: number; seq: number; type: 'timeout'; to: number; incarnation: number; input: Input }
  | { at: number; seq: number; type: 'crash'; to: number; midStep: boolean }
  | { at: number; seq: number; type: 'restart'; to: number }
  | { at: number; seq: number; type: 'gossip'; to: number };

type Decision = { round: number; value: ValueId; commit: Vote[]; proposal: Proposal | undefined };

/** One simulated process. Twins are two of these with the same address. */
type SimNode = {
  index: number;
  identity: number;
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
  /** Highest height/round seen from each peer instance, to relay round-change evidence to peers behind us. */
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
  const sc: Scenario = drawScenario(rng, {
    heights: Number(targetHeights),
    ...(opts.validators !== undefined ? { validators: opts.validators } : {}),
  });
  const n = sc.powers.length;
  const total = sc.totalPower;
  const m = sc.instanceOf.length;
  const nodes: SimNode[] = sc.instanceOf.map((identity, index) => ({
    index,
    identity,
    address: `val${identity}`,
    power: sc.powers[identity]!,
    byzantine: sc.byzantine[identity]!,
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
  }));
  const identities = nodes.slice(0, n);
  const { gstMs, lossPct, dupPct, partition } = sc;
  const maxDelayPreGst = sc.maxDelayPreGstMs;
  const maxDelayPostGst = 100;
  const validatorList: Validator[] = identities.map((x) => ({ address: x.address, power: x.power }));

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
  const byAddress = new Map(identities.map((x) => [x.address, x.index]));
  if (sc.adversarial)
    drawRoundPlan(rng, sc, Number(targetHeights), (h, r) => byAddress.get(proposerOf(BigInt(h), r))!);

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
    now >= partition.fromMs &&
    now < partition.untilMs &&
    partition.side[a] !== partition.side[b];
  const cutByPlan = (from: number, to: number, msg: Message): boolean => {
    if (sc.cuts.size === 0) return false;
    const { height, round } = msg.kind === 'proposal' ? msg.proposal : msg.vote;
    const kind: MessageKind = msg.kind === 'proposal' ? 'proposal' : msg.vote.kind;
    const cut = sc.cuts.get(cutKey(height, round, kind))?.[from * m + to] ?? 0;
    if (cut === 0) return false;
    if (cut === CUT_ALWAYS) return true;
    // CUT_WHILE_IN_ROUND: only while the receiver has not gone past the message's round.
    const st = nodes[to]!.machine?.state();
    return st === undefined || st.height < height || (st.height === height && st.round <= round);
  };
  const send = (from: number, to: number, msg: Message): void => {
    if (from === to) return;
    const pre = now < gstMs;
    if (pre && (rng.chance(lossPct) || crossesPartition(from, to) || cutByPlan(from, to, msg))) return;
    const copies = rng.chance(dupPct) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay = 1 + rng.int(pre ? maxDelayPreGst : maxDelayPostGst);
      queue.push({ at: now + delay, type: 'deliver', from, to, msg });
    }
  };
  const broadcast = (from: number, msg: Message): void => {
    for (let to = 0; to < m; to++) send(from, to, msg);
  };
  /** The identity's status decides what the checks expect of it: twins are Byzantine power. */
  const isHonest = (address: string): boolean =>
    identities.find((x) => x.address === address)?.byzantine === null;

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
          if (out.kind === 'propose' && node.byzantine === 'equivocate') proposeOutOfTurn(node, out);
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
          if (isHonest(out.a.validator)) {
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
      // Send the real proposal to some peers and a conflicting one to others: a fresh value
      // (usually valid, sometimes with a made-up validRound) or a stale re-proposal of an earlier
      // round's value with that round as validRound, which only a node honouring its lock rejects.
      const stale = [...registry.entries()].filter(
        ([, r]) => r.height === p.height && r.round < p.round && r.valid,
      );
      let evil: Proposal;
      if (stale.length > 0 && rng.chance(40)) {
        const [value, r] = rng.pick(stale);
        evil = { ...p, value, validRound: r.round };
      } else {
        // A claimed proof of lock from the round before, where locks are most likely.
        const validRound = rng.chance(50) ? p.round - 1 : -1;
        evil = { ...p, value: newValue(p.height, p.round, node.address, rng.chance(80)), validRound };
      }
      for (let to = 0; to < m; to++) {
        const which = rng.int(3);
        if (which !== 1) send(node.index, to, { kind: 'proposal', proposal: p });
        if (which !== 0) send(node.index, to, { kind: 'proposal', proposal: evil });
      }
      log?.(`${now} ${node.address} equivocates: proposes ${p.value} and ${evil.value} vr${evil.validRound}`);
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
      for (let to = 0; to < m; to++) {
        const which = rng.int(3);
        if (which !== 1) send(node.index, to, { kind: 'vote', vote: v });
        if (which !== 0) send(node.index, to, { kind: 'vote', vote: evil });
      }
      return;
    }
    // The WAL's promise, for honest validators only: a twin's two instances sign independently.
    if (node.byzantine === null) {
      const key = `${v.validator}/${v.height}/${v.round}/${v.kind}`;
      const before = signedVotes.get(key);
      if (before !== undefined && before !== v.value) {
        violate(
          `honest ${v.validator} signed conflicting ${v.kind}s at h${v.height} r${v.round}: ${before} and ${v.value}`,
        );
      }
      signedVotes.set(key, v.value);
    }
    const msg: Message = { kind: 'vote', vote: v };
    node.own.set(`v/${v.round}/${v.kind}`, msg);
    broadcast(node.index, msg);
    log?.(`${now} ${node.address} ${v.kind} ${v.value ?? 'nil'} h${v.height} r${v.round}`);
  };

  /** An equivocator also proposes in rounds that are not its own, to some of the validators. */
  const proposeOutOfTurn = (node: SimNode, t: Extract<Output, { type: 'scheduleTimeout' }>): void => {
    if (proposerOf(t.height, t.round) === node.address || !rng.chance(50)) return;
    const p: Proposal = {
      height: t.height,
      round: t.round,
      value: newValue(t.height, t.round, node.address, rng.chance(80)),
      validRound: -1,
      proposer: node.address,
    };
    for (let to = 0; to < m; to++)
      if (rng.chance(60)) send(node.index, to, { kind: 'proposal', proposal: p });
    log?.(`${now} ${node.address} proposes out of turn ${p.value} h${p.height} r${p.round}`);
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
      power += identities.find((x) => x.address === v.validator)?.power ?? 0n;
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

  // The broken rules are run by every instance of the honest code (twins included), as in Twins.
  const { forgetWal: _, ...brokenRules } = opts.unsafe ?? {};
  const machineForNode = (node: SimNode): Consensus =>
    new Consensus({
      self: node.address,
      timeouts: SIM_TIMEOUTS,
      ...(node.byzantine !== 'equivocate' && Object.keys(brokenRules).length > 0
        ? { unsafe: brokenRules }
        : {}),
    });

  const instancesOf = new Map<string, number[]>();
  for (const x of nodes) instancesOf.set(x.address, [...(instancesOf.get(x.address) ?? []), x.index]);
  /** The instance that signed a message: its sender, or for a relayed one the signer's only instance (-1 for a twin). */
  const signerInstance = (from: number, signer: string): number => {
    if (nodes[from]!.address === signer) return from;
    const list = instancesOf.get(signer);
    return list?.length === 1 ? list[0]! : -1;
  };

  const deliver = (node: SimNode, from: number, msg: Message): void => {
    const machine = node.machine;
    if (machine === null) return;
    deliveries++;
    const h = msg.kind === 'vote' ? msg.vote.height : msg.proposal.height;
    const signer = signerInstance(from, msg.kind === 'vote' ? msg.vote.validator : msg.proposal.proposer);
    const state = machine.state();
    const round = msg.kind === 'vote' ? msg.vote.round : msg.proposal.round;
    const known = node.peerRound.get(signer);
    if (
      signer >= 0 &&
      (known === undefined || h > known.height || (h === known.height && round > known.round))
    ) {
      node.peerRound.set(signer, { height: h, round });
    }
    if (h < state.height) {
      if (signer >= 0) catchUp(node, h, signer);
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
  const catchUp = (node: SimNode, height: bigint, to: number): void => {
    const d = node.decided.get(height);
    if (d === undefined || d.proposal === undefined) return;
    const key = `${to}/${height}`;
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
    for (let c = node.byzantine === null && !sc.lockSplit ? rng.int(3) : 0; c > 0; c--) {
      queue.push({ at: rng.int(gstMs), type: 'crash', to: node.index, midStep: rng.chance(50) });
    }
  }
  const byz = identities.filter((x) => x.byzantine !== null);
  const twins = byz.filter((x) => x.byzantine === 'twin').length;
  const scenario =
    `seed ${opts.seed}: ${n} validators (powers ${identities.map((x) => x.power).join(',')}), ` +
    `byzantine [${byz.map((x) => `${x.address}:${x.byzantine}`).join(' ')}]` +
    `${sc.boundary ? ' holding exactly 1/3' : ''}, GST ${gstMs} ms, loss ${lossPct}%, ` +
    `dup ${dupPct}%, delay <= ${maxDelayPreGst} ms before GST, ` +
    (partition === null ? 'no partition' : `partition ${partition.fromMs}-${partition.untilMs} ms`) +
    (sc.plan.length > 0 ? `, round plan: ${sc.plan.join('; ')}` : '');
  log?.(scenario);

  const honest = nodes.filter((x) => x.byzantine === null);
  const done = (): boolean => honest.every((x) => x.decided.has(targetHeights));
  // With exactly 1/3 Byzantine power progress is not guaranteed: watch safety for a while, then stop.
  const deadline = gstMs + (sc.boundary ? BOUNDARY_WATCH_MS : PROGRESS_BOUND_MS);
  let doneAt = -1;

  for (;;) {
    const ev = queue.pop();
    if (ev === undefined) break;
    if (ev.at > deadline) break;
    now = ev.at;
    const node = nodes[ev.to]!;
    switch (ev.type) {
      case 'deliver':
        deliver(node, ev.from, ev.msg);
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
        if (node.machine !== null && (node.byzantine === null || node.byzantine === 'twin')) {
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
  if (doneAt < 0 && violations.length === 0 && !sc.boundary) {
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
    twins,
    boundary: sc.boundary,
    roundPlan: sc.plan.length > 0,
    gstMs,
    endMs: now,
    afterGstMs: doneAt < 0 ? -1 : Math.max(0, doneAt - gstMs),
    maxRound,
    deliveries,
    crashes,
    evidence,
  };
}
