// The BFT consensus engine: drives the pure Tendermint machine of @aivm/consensus with real
// messages (p2p gossip), real timers, real blocks (built from the mempool, executed before they
// are voted on) and a write-ahead log, and catches up by block sync when it falls behind.
//
// Everything that touches the machine or the store runs on one serial queue, so a proposal's
// execution, a decision's commit and a sync never interleave. Every input is appended (fsynced)
// to the WAL before its outputs are carried out: after a crash, replaying the log rebuilds the
// machine exactly and it signs nothing that conflicts with what it may already have sent.

import {
  type Block,
  type BlockResult,
  type Proposal as ChainProposal,
  type Commit,
  ExecutionFault,
  encodeBlock,
  executeBlock,
  headerHash,
  InvalidBlock,
  NO_VALID_ROUND,
  proposalSignBytes,
  readValidatorSet,
  type SetMember,
  type SignedVote,
  SignedVoteSchema,
  VOTE_PRECOMMIT,
  VOTE_PREVOTE,
  validatorAddress,
  verifyCommit,
  voteSignBytes,
} from '@aivm/chain';
import { decode, encode } from '@aivm/codec';
import {
  Consensus,
  FileWal,
  type Input,
  type Output,
  type Proposal,
  type TimeoutConfig,
  type Vote,
} from '@aivm/consensus';
import { proposerFor } from '@aivm/consensus/proposer';
import {
  type Address,
  bytesToHex,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  equalBytes,
  type Hex,
  hexToBytes,
  keccak256,
} from '@aivm/crypto';
import type { P2P, Verdict } from '@aivm/p2p';
import type { Logger } from 'pino';
import {
  BlockByHashRequestSchema,
  BlockByHashResponseSchema,
  BlocksRequestSchema,
  BlocksResponseSchema,
  type CommittedBlock,
  MAX_PULLED_VOTES,
  MAX_SYNC_BLOCKS,
  PROTOCOL_BLOCK_BY_HASH,
  PROTOCOL_BLOCKS,
  PROTOCOL_ROUND_STATE,
  PROTOCOL_STATUS,
  type ProposalMessage,
  ProposalMessageSchema,
  RoundStateRequestSchema,
  RoundStateResponseSchema,
  StatusSchema,
} from './bft-wire.ts';
import { buildBlock } from './block-builder.ts';
import type { ChainStore } from './chain-store.ts';
import type { ConsensusEngine } from './engine.ts';
import type { Mempool } from './mempool.ts';

export type BftEngineOptions = {
  store: ChainStore;
  mempool: Mempool;
  p2p: P2P;
  walPath: string;
  /** ed25519 secret key of this validator; null runs a full node that follows without voting. */
  validatorKey: Uint8Array | null;
  timeouts: TimeoutConfig;
  /** Pause after a commit before the next height starts, so transactions can gather (Tendermint's timeout_commit). */
  commitDelayMs: number;
  maxTxsPerBlock: number;
  logger: Logger;
  onCommit: (block: Block, hash: Hex, result: BlockResult) => Promise<void> | void;
  /** Two conflicting signed votes by one validator, seen by this node. */
  onEvidence?: (a: SignedVote, b: SignedVote) => void;
  /** Test mode only: sign a second, conflicting vote for every vote (double signing). */
  equivocate?: boolean;
  now?: () => number;
};

/** Messages for the next heights kept until this node gets there. */
const MAX_EARLY_MESSAGES = 2_048;
/** How far in the future (by this node's clock) a proposed block's time may be. */
const MAX_CLOCK_DRIFT_MS = 10_000n;
const STATUS_INTERVAL_MS = 1_000;
/** Blocks per sync or round-state response stop here (the p2p layer refuses responses over 16 MiB). */
const MAX_RESPONSE_PAYLOAD = 8 * 1024 * 1024;
const ZERO32 = new Uint8Array(32);

type BlockEntry = { block: Block; result: BlockResult | null };

const lc = (a: string) => a.toLowerCase();

type ConsensusMessage = SignedVote | ProposalMessage;
const heightOf = (m: ConsensusMessage): bigint => ('proposal' in m ? m.proposal.height : m.height);
/** One vote per signer, kind, round and block hash. */
const voteKey = (v: SignedVote): string =>
  `${lc(v.validator)}:${v.kind}:${v.round}:${bytesToHex(v.blockHash)}`;

export class BftEngine implements ConsensusEngine {
  readonly #o: BftEngineOptions;
  readonly #self: Address | null;
  readonly #wal: FileWal;
  #machine: Consensus;
  #height = 0n;
  #set: SetMember[] = [];
  #members = new Map<string, SetMember>();
  /** Blocks seen for the current height (proposed or built), by hash, with their execution. */
  #blocks = new Map<string, BlockEntry>();
  #early: ConsensusMessage[] = [];
  /** Accepted messages of the current height, served to peers that pull them. */
  #heldVotes = new Map<string, SignedVote>();
  #heldProposals: ProposalMessage[] = [];
  #pulling = false;
  #heightStartedAt = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #timers = new Set<NodeJS.Timeout>();
  #statusTimer: NodeJS.Timeout | undefined;
  #stopped = true;
  #replaying = false;
  /** getValue seen during replay and not yet answered by a logged value. */
  #pendingGetValue: { height: bigint; round: number } | null = null;
  #syncing = false;

  constructor(options: BftEngineOptions) {
    this.#o = options;
    this.#self = options.validatorKey ? validatorAddress(ed25519PublicKey(options.validatorKey)) : null;
    this.#wal = FileWal.open(options.walPath);
    if (this.#wal.truncatedBytes > 0) {
      // A crash mid-write tore the last record: it was never acted on, so dropping it is safe, but
      // an operator should see that the log was cut (and how much) rather than find out later.
      options.logger.warn(
        {
          path: options.walPath,
          bytes: this.#wal.truncatedBytes,
          records: this.#wal.truncatedRecords,
        },
        'consensus WAL ended in a torn record (a crash mid-write); cut it off',
      );
    }
    this.#machine = this.#newMachine();
  }

  get height(): bigint {
    return this.#height;
  }

  #newMachine(): Consensus {
    return new Consensus({ self: this.#self ? lc(this.#self) : null, timeouts: this.#o.timeouts });
  }

  async start(): Promise<void> {
    this.#stopped = false;
    const { p2p } = this.#o;
    p2p.subscribe('proposals', (data) => this.#onGossip('proposal', data));
    p2p.subscribe('votes', (data) => this.#onGossip('vote', data));
    p2p.handle(PROTOCOL_STATUS, async () => this.#status());
    p2p.handle(PROTOCOL_BLOCKS, async (req) => this.#serveBlocks(req));
    p2p.handle(PROTOCOL_BLOCK_BY_HASH, async (req) => this.#serveBlockByHash(req));
    p2p.handle(PROTOCOL_ROUND_STATE, async (req) => this.#serveRoundState(req));
    p2p.on('peer:connect', () => void this.#pullRoundState());
    await this.#serial(() => this.#resume());
    this.#statusTimer = setInterval(() => this.#checkPeers(), STATUS_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#statusTimer);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await this.#queue.catch(() => undefined);
    this.#wal.close();
  }

  /** Runs `fn` after everything queued before it; errors are logged, never break the queue. */
  #serial<T>(fn: () => Promise<T>): Promise<T | undefined> {
    const run = this.#queue.then(async () => {
      if (this.#stopped) return undefined;
      try {
        return await fn();
      } catch (err) {
        this.#o.logger.error({ err }, 'consensus step failed');
        return undefined;
      }
    });
    this.#queue = run;
    return run;
  }

  // ---- heights ---------------------------------------------------------------------------------

  /** At start: replay the WAL if it is for the height we are in, else begin that height afresh. */
  async #resume(): Promise<void> {
    const height = this.#o.store.head.height + 1n;
    await this.#loadSet(height);
    if (this.#wal.height() === height) {
      // The log is of the height whose set #loadSet just read, so the resolver needs no arguments.
      const inputs = this.#wal.readAll(() => this.#proposerFn());
      this.#o.logger.info({ height: height.toString(), inputs: inputs.length }, 'replaying consensus WAL');
      this.#machine = this.#newMachine();
      this.#replaying = true;
      try {
        for (const input of inputs) await this.#step(input, false);
      } finally {
        this.#replaying = false;
      }
      const pending = this.#pendingGetValue;
      this.#pendingGetValue = null;
      if (pending) await this.#handle({ type: 'getValue', ...pending });
    } else {
      await this.#beginHeight(height);
    }
  }

  async #loadSet(height: bigint): Promise<void> {
    this.#height = height;
    this.#heightStartedAt = Date.now();
    this.#set = await readValidatorSet(this.#o.store.state, 'current');
    this.#members = new Map(this.#set.map((v) => [lc(v.address), v]));
    this.#blocks = new Map();
    this.#heldVotes = new Map();
    this.#heldProposals = [];
  }

  #proposerFn(): (round: number) => string {
    const set = this.#set;
    const cache = new Map<number, string>();
    return (round) => {
      let p = cache.get(round);
      if (p === undefined) {
        p = lc(proposerFor(set, round));
        cache.set(round, p);
      }
      return p;
    };
  }

  async #beginHeight(height: bigint): Promise<void> {
    await this.#loadSet(height);
    const start: Input = {
      type: 'start',
      height,
      validators: this.#set.map((v) => ({ address: lc(v.address), power: v.power })),
      proposer: this.#proposerFn(),
    };
    this.#machine = this.#newMachine();
    this.#wal.startHeight(start);
    await this.#step(start, false);
    // Messages that arrived early for this height, now that its validator set is known.
    const early = this.#early.filter((m) => heightOf(m) === height);
    this.#early = this.#early.filter((m) => heightOf(m) > height);
    for (const m of early) await this.#accept(m);
  }

  // ---- machine I/O -----------------------------------------------------------------------------

  async #step(input: Input, log: boolean): Promise<void> {
    // Peers' messages are logged without fsync; the log is synced before this node signs anything.
    if (log && !this.#replaying) this.#wal.append(input, input.type !== 'vote' && input.type !== 'proposal');
    if (this.#replaying && input.type === 'value') this.#pendingGetValue = null;
    const outputs = this.#machine.step(input);
    if (outputs.some((o) => o.type === 'vote' || o.type === 'propose')) this.#wal.sync();
    if (this.#o.logger.isLevelEnabled('trace')) {
      const show = (x: object) =>
        JSON.stringify(x, (_k, v) =>
          typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? undefined : v,
        );
      this.#o.logger.trace({ input: show(input), outputs: outputs.map(show) }, 'consensus step');
    }
    for (const out of outputs) await this.#handle(out);
  }

  async #handle(out: Output): Promise<void> {
    switch (out.type) {
      case 'getValue':
        if (this.#replaying) {
          this.#pendingGetValue = { height: out.height, round: out.round };
          return;
        }
        return this.#propose(out.height, out.round);
      case 'propose':
        return this.#broadcastProposal(out.proposal);
      case 'vote':
        return this.#castVote(out.vote);
      case 'scheduleTimeout': {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          const { kind, height, round } = out;
          void this.#serial(() => this.#step({ type: 'timeout', kind, height, round }, true));
          // A timeout often means messages were missed: ask peers for what they hold.
          void this.#pullRoundState();
        }, out.durationMs);
        this.#timers.add(timer);
        return;
      }
      case 'decide':
        return this.#decide(out.height, out.round, out.value, out.commit);
      case 'evidence':
        return this.#evidence(out.a, out.b);
    }
  }

  async #propose(height: bigint, round: number): Promise<void> {
    if (height !== this.#height || !this.#self) return;
    const t0 = performance.now();
    const built = await buildBlock(this.#o.store, this.#o.mempool, {
      proposer: this.#self,
      nowMs: (this.#o.now ?? Date.now)(),
      maxTxs: this.#o.maxTxsPerBlock,
      logger: this.#o.logger,
    });
    const value = bytesToHex(built.hash);
    this.#o.logger.debug(
      { height: height.toString(), txs: built.block.txs.length, ms: Math.round(performance.now() - t0) },
      'built block',
    );
    this.#blocks.set(value, { block: built.block, result: built.result });
    await this.#step({ type: 'value', height, round, value }, true);
  }

  async #broadcastProposal(p: Proposal): Promise<void> {
    const entry = this.#blocks.get(p.value);
    if (!entry || !this.#o.validatorKey) {
      // Replayed after a crash: the block body of our own proposal is gone; peers time out instead.
      this.#o.logger.warn({ height: p.height.toString(), round: p.round }, 'cannot re-broadcast proposal');
      return;
    }
    const blockHash = hexToBytes(p.value as Hex);
    const validRound = p.validRound < 0 ? NO_VALID_ROUND : p.validRound;
    const signature = ed25519Sign(
      proposalSignBytes(this.#o.store.chain.chainId, p.height, p.round, validRound, blockHash),
      this.#o.validatorKey,
    );
    const proposal: ChainProposal = {
      height: p.height,
      round: p.round,
      validRound,
      blockHash,
      proposer: this.#self!,
      signature,
    };
    const msg: ProposalMessage = { proposal, block: entry.block };
    this.#holdProposal(msg);
    await this.#o.p2p.publish('proposals', encode(ProposalMessageSchema, msg));
    // The machine counts its own proposal through the same path as everyone else's.
    await this.#step({ type: 'proposal', proposal: { ...p, signature }, valid: true }, true);
  }

  #signVote(kind: 1 | 2, height: bigint, round: number, blockHash: Uint8Array): SignedVote {
    const signature = ed25519Sign(
      voteSignBytes(this.#o.store.chain.chainId, kind, height, round, blockHash),
      this.#o.validatorKey!,
    );
    return { kind, height, round, blockHash, validator: this.#self!, signature };
  }

  async #castVote(v: Vote): Promise<void> {
    if (!this.#o.validatorKey) return;
    const kind = v.kind === 'prevote' ? VOTE_PREVOTE : VOTE_PRECOMMIT;
    const blockHash = v.value === null ? ZERO32 : hexToBytes(v.value as Hex);
    const signed = this.#signVote(kind, v.height, v.round, blockHash);
    this.#holdVote(signed);
    await this.#o.p2p.publish('votes', encode(SignedVoteSchema, signed));
    if (this.#o.equivocate && !this.#replaying) {
      // Byzantine test mode: a second vote for another value at the same height, round and kind.
      const other = this.#signVote(kind, v.height, v.round, keccak256(blockHash));
      await this.#o.p2p.publish('votes', encode(SignedVoteSchema, other));
    }
    await this.#step({ type: 'vote', vote: { ...v, signature: signed.signature } }, true);
  }

  async #decide(height: bigint, round: number, value: string, votes: Vote[]): Promise<void> {
    if (height !== this.#height) return;
    let entry = this.#blocks.get(value);
    if (!entry) entry = await this.#fetchBlock(value);
    if (!entry) {
      // Decided without the block body (we only saw the votes): sync will bring it with its commit.
      this.#o.logger.warn({ height: height.toString(), value }, 'decided a block this node does not have');
      return;
    }
    const { store } = this.#o;
    const result =
      entry.result ??
      (await executeBlock(store.state, entry.block, { chain: store.chain, parent: store.head }));
    const commit: Commit = {
      height,
      round,
      blockHash: hexToBytes(value as Hex),
      signatures: votes
        .filter((v) => v.signature)
        .map((v) => ({ validator: this.#members.get(v.validator)!.address, signature: v.signature! }))
        .sort((a, b) => (lc(a.validator) < lc(b.validator) ? -1 : 1)),
    };
    const t0 = performance.now();
    await store.commitBlock(entry.block, result, commit);
    await this.#o.onCommit(entry.block, store.headHash, result);
    this.#o.logger.debug(
      { height: height.toString(), txs: entry.block.txs.length, ms: Math.round(performance.now() - t0) },
      'committed block',
    );
    this.#blocks.clear();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const next = height + 1n;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      // Unless block sync moved this node past `next` meanwhile.
      void this.#serial(async () => {
        if (this.#o.store.head.height + 1n === next && this.#height === height) await this.#beginHeight(next);
      });
    }, this.#o.commitDelayMs);
    this.#timers.add(timer);
  }

  #evidence(a: Vote, b: Vote): void {
    const member = this.#members.get(a.validator);
    if (!member || !a.signature || !b.signature) return;
    const toSigned = (v: Vote): SignedVote => ({
      kind: v.kind === 'prevote' ? VOTE_PREVOTE : VOTE_PRECOMMIT,
      height: v.height,
      round: v.round,
      blockHash: v.value === null ? ZERO32 : hexToBytes(v.value as Hex),
      validator: member.address,
      signature: v.signature!,
    });
    this.#o.logger.warn({ validator: member.address, height: a.height.toString() }, 'double signing seen');
    this.#o.onEvidence?.(toSigned(a), toSigned(b));
  }

  // ---- incoming gossip -------------------------------------------------------------------------

  async #onGossip(kind: 'vote' | 'proposal', data: Uint8Array): Promise<Verdict> {
    if (this.#stopped) return 'ignore';
    let msg: ConsensusMessage;
    try {
      msg = kind === 'vote' ? decode(SignedVoteSchema, data) : decode(ProposalMessageSchema, data);
    } catch {
      return 'reject';
    }
    return (await this.#serial(() => this.#accept(msg))) ?? 'ignore';
  }

  /** Checks one proposal or vote against the current height and feeds it to the machine. */
  async #accept(msg: ConsensusMessage): Promise<Verdict> {
    const height = heightOf(msg);
    if (height < this.#height) return 'ignore';
    if (height > this.#height) {
      if (this.#early.length < MAX_EARLY_MESSAGES) this.#early.push(msg);
      if (height > this.#height + 1n) void this.#syncFromPeers();
      return 'ignore';
    }
    return 'proposal' in msg ? this.#acceptProposal(msg) : this.#acceptVote(msg);
  }

  async #acceptVote(v: SignedVote): Promise<Verdict> {
    const member = this.#members.get(lc(v.validator));
    if (!member || (v.kind !== VOTE_PREVOTE && v.kind !== VOTE_PRECOMMIT)) return 'reject';
    const bytes = voteSignBytes(this.#o.store.chain.chainId, v.kind as 1 | 2, v.height, v.round, v.blockHash);
    if (!ed25519Verify(v.signature, bytes, member.pubKey)) return 'reject';
    const vote: Vote = {
      kind: v.kind === VOTE_PREVOTE ? 'prevote' : 'precommit',
      height: v.height,
      round: v.round,
      value: equalBytes(v.blockHash, ZERO32) ? null : bytesToHex(v.blockHash),
      validator: lc(v.validator),
      signature: v.signature,
    };
    this.#holdVote(v);
    await this.#step({ type: 'vote', vote }, true);
    return 'accept';
  }

  #holdVote(v: SignedVote): void {
    if (this.#heldVotes.size < MAX_PULLED_VOTES) this.#heldVotes.set(voteKey(v), v);
  }

  #holdsProposal(m: ProposalMessage): boolean {
    return this.#heldProposals.some(
      (p) => p.proposal.round === m.proposal.round && equalBytes(p.proposal.blockHash, m.proposal.blockHash),
    );
  }

  #holdProposal(m: ProposalMessage): void {
    if (this.#holdsProposal(m)) return;
    this.#heldProposals.push(m);
    // Keep the latest rounds' proposals: a lagging peer needs the one of the round now running.
    if (this.#heldProposals.length > 4) this.#heldProposals.shift();
  }

  async #serveRoundState(req: Uint8Array): Promise<Uint8Array> {
    const { height, haveProposals } = decode(RoundStateRequestSchema, req);
    const current = height === this.#height;
    const proposals: ProposalMessage[] = [];
    let bytes = 0;
    for (const m of current ? [...this.#heldProposals].reverse() : []) {
      const held = (h: { round: number; blockHash: Uint8Array }) =>
        h.round === m.proposal.round && equalBytes(h.blockHash, m.proposal.blockHash);
      if (haveProposals.some(held)) continue;
      bytes += encodeBlock(m.block).length;
      if (proposals.length > 0 && bytes > MAX_RESPONSE_PAYLOAD) break;
      proposals.push(m);
    }
    return encode(RoundStateResponseSchema, {
      proposals,
      votes: current ? [...this.#heldVotes.values()] : [],
    });
  }

  /** Pulls the current height's proposals and votes from every peer and feeds what is new. */
  async #pullRoundState(): Promise<void> {
    if (this.#pulling || this.#stopped) return;
    this.#pulling = true;
    try {
      const height = this.#height;
      const request = encode(RoundStateRequestSchema, {
        height,
        haveProposals: this.#heldProposals.map((m) => ({
          round: m.proposal.round,
          blockHash: m.proposal.blockHash,
        })),
      });
      await Promise.all(
        this.#o.p2p.peers().map(async (peer) => {
          try {
            const res = decode(
              RoundStateResponseSchema,
              await this.#o.p2p.request(peer.id, PROTOCOL_ROUND_STATE, request, { timeoutMs: 3_000 }),
            );
            for (const m of res.proposals) {
              if (!this.#holdsProposal(m)) await this.#serial(() => this.#accept(m));
            }
            const fresh = res.votes.filter((v) => !this.#heldVotes.has(voteKey(v)));
            if (fresh.length > 0)
              await this.#serial(async () => {
                for (const v of fresh) await this.#accept(v);
              });
          } catch (err) {
            this.#o.logger.debug({ err, peer: peer.id }, 'round state pull failed');
          }
        }),
      );
    } finally {
      this.#pulling = false;
    }
  }

  async #acceptProposal(msg: ProposalMessage): Promise<Verdict> {
    const { proposal: p, block } = msg;
    const member = this.#members.get(lc(p.proposer));
    if (!member) return 'reject';
    const chainId = this.#o.store.chain.chainId;
    if (
      !ed25519Verify(
        p.signature,
        proposalSignBytes(chainId, p.height, p.round, p.validRound, p.blockHash),
        member.pubKey,
      )
    )
      return 'reject';
    if (!equalBytes(headerHash(block.header), p.blockHash)) return 'reject';
    const value = bytesToHex(p.blockHash);
    this.#holdProposal(msg);
    let entry = this.#blocks.get(value);
    if (!entry) {
      const t0 = performance.now();
      entry = { block, result: await this.#execute(block, p.proposer) };
      this.#o.logger.debug(
        { height: p.height.toString(), txs: block.txs.length, ms: Math.round(performance.now() - t0) },
        'executed proposal',
      );
      this.#blocks.set(value, entry);
    }
    const proposal: Proposal = {
      height: p.height,
      round: p.round,
      value,
      validRound: p.validRound === NO_VALID_ROUND ? -1 : p.validRound,
      proposer: lc(p.proposer),
      signature: p.signature,
    };
    await this.#step({ type: 'proposal', proposal, valid: entry.result !== null }, true);
    return 'accept';
  }

  /** Executes a proposed block on top of the head; null when it is invalid. */
  async #execute(block: Block, proposer: Address): Promise<BlockResult | null> {
    const { store } = this.#o;
    const h = block.header;
    const tooLate = h.timeMs > BigInt((this.#o.now ?? Date.now)()) + MAX_CLOCK_DRIFT_MS;
    if (tooLate || lc(h.proposer) !== lc(proposer) || h.height !== this.#height) return null;
    try {
      return await executeBlock(store.state, block, { chain: store.chain, parent: store.head });
    } catch (err) {
      if (err instanceof ExecutionFault) {
        // Not a verdict on the block: this machine cannot execute it. Prevote nil rather than
        // vote on a guess; if the rest of the network commits it, this node stops at that
        // height (commit and sync fail the same way) until an operator looks.
        this.#o.logger.error(
          { height: h.height.toString(), err },
          'execution fault: cannot execute the proposed block on this machine; not voting for it',
        );
        return null;
      }
      if (!(err instanceof InvalidBlock)) throw err;
      this.#o.logger.info({ height: h.height.toString(), reason: err.message }, 'invalid proposed block');
      return null;
    }
  }

  // ---- sync ------------------------------------------------------------------------------------

  #status(): Uint8Array {
    const { store } = this.#o;
    return encode(StatusSchema, {
      chainId: store.chain.chainId,
      height: store.head.height,
      headHash: hexToBytes(store.headHash),
    });
  }

  async #serveBlocks(req: Uint8Array): Promise<Uint8Array> {
    const { from, count } = decode(BlocksRequestSchema, req);
    const { store } = this.#o;
    const out: CommittedBlock[] = [];
    const n = Math.min(count, MAX_SYNC_BLOCKS);
    let bytes = 0;
    for (let h = from; h < from + BigInt(n) && h <= store.head.height; h++) {
      const [block, commit] = await Promise.all([store.getBlock(h), store.getCommit(h)]);
      if (!block || !commit) break;
      // Stay well inside the p2p response limit: large blocks come fewer at a time.
      bytes += encodeBlock(block).length;
      if (out.length > 0 && bytes > MAX_RESPONSE_PAYLOAD) break;
      out.push({ block, commit });
    }
    return encode(BlocksResponseSchema, out);
  }

  async #serveBlockByHash(req: Uint8Array): Promise<Uint8Array> {
    const { hash } = decode(BlockByHashRequestSchema, req);
    const value = bytesToHex(hash);
    const entry = this.#blocks.get(value);
    if (entry) return encode(BlockByHashResponseSchema, [entry.block]);
    const height = await this.#o.store.heightOf(value);
    const block = height !== undefined ? await this.#o.store.getBlock(height) : undefined;
    return encode(BlockByHashResponseSchema, block ? [block] : []);
  }

  /** Asks peers for a block body by hash (a decision whose proposal never reached us). */
  async #fetchBlock(value: string): Promise<BlockEntry | undefined> {
    for (const peer of this.#o.p2p.peers()) {
      try {
        const res = await this.#o.p2p.request(
          peer.id,
          PROTOCOL_BLOCK_BY_HASH,
          encode(BlockByHashRequestSchema, { hash: hexToBytes(value as Hex) }),
          { timeoutMs: 2_000 },
        );
        const [block] = decode(BlockByHashResponseSchema, res);
        if (block && bytesToHex(headerHash(block.header)) === value) {
          const entry = { block, result: await this.#execute(block, block.header.proposer) };
          if (entry.result) return entry;
        }
      } catch (err) {
        this.#o.logger.debug({ err, peer: peer.id }, 'block by hash failed');
      }
    }
    return undefined;
  }

  #checkPeers(): void {
    if (this.#stopped || this.#syncing) return;
    void this.#syncFromPeers();
    // Stuck in a height (messages lost, or sent before a peer was connected): gossip never
    // repeats a message, so pull what peers hold.
    if (Date.now() - this.#heightStartedAt > STATUS_INTERVAL_MS) void this.#pullRoundState();
  }

  /**
   * Catches up from the peer with the highest head: fetches blocks with their commits, verifies
   * each commit against the validator set this node computed for that height, executes and stores
   * them, then begins consensus at the new height.
   */
  async #syncFromPeers(): Promise<void> {
    if (this.#syncing) return;
    this.#syncing = true;
    try {
      const { p2p, store } = this.#o;
      let best: { peer: string; height: bigint } | undefined;
      for (const peer of p2p.peers()) {
        try {
          const s = decode(
            StatusSchema,
            await p2p.request(peer.id, PROTOCOL_STATUS, new Uint8Array(0), { timeoutMs: 2_000 }),
          );
          if (s.chainId !== store.chain.chainId) {
            p2p.penalize(peer.id, 'status for another chain');
            continue;
          }
          if (!best || s.height > best.height) best = { peer: peer.id, height: s.height };
        } catch {
          // unreachable peer: try the others
        }
      }
      if (!best || best.height <= store.head.height) return;
      const target = best;
      while (!this.#stopped && store.head.height < target.height) {
        const from = store.head.height + 1n;
        const count = Number(
          target.height - store.head.height < BigInt(MAX_SYNC_BLOCKS)
            ? target.height - store.head.height
            : BigInt(MAX_SYNC_BLOCKS),
        );
        const raw = await p2p.request(
          target.peer,
          PROTOCOL_BLOCKS,
          encode(BlocksRequestSchema, { from, count }),
          { timeoutMs: 10_000 },
        );
        const blocks = decode(BlocksResponseSchema, raw);
        if (blocks.length === 0) break;
        const applied = await this.#serial(() => this.#applySynced(blocks, target.peer));
        if (!applied) break;
      }
    } catch (err) {
      this.#o.logger.warn({ err }, 'block sync failed');
    } finally {
      this.#syncing = false;
    }
  }

  async #applySynced(blocks: CommittedBlock[], peer: string): Promise<boolean> {
    const { store } = this.#o;
    let advanced = false;
    for (const { block, commit } of blocks) {
      const h = block.header.height;
      if (h !== store.head.height + 1n) continue; // consensus got there first
      const hash = headerHash(block.header);
      try {
        if (commit.height !== h || !equalBytes(commit.blockHash, hash))
          throw new InvalidBlock('commit is for another block');
        const set = await readValidatorSet(store.state, 'current');
        verifyCommit(set, store.chain.chainId, h, commit.round, hash, commit.signatures);
        const result = await executeBlock(store.state, block, { chain: store.chain, parent: store.head });
        await store.commitBlock(block, result, commit);
        await this.#o.onCommit(block, store.headHash, result);
        advanced = true;
      } catch (err) {
        if (!(err instanceof InvalidBlock)) throw err;
        this.#o.p2p.penalize(peer, `sync: ${err.message}`);
        this.#o.logger.warn({ height: h.toString(), reason: err.message }, 'peer sent an invalid block');
        break;
      }
    }
    if (advanced) {
      this.#o.logger.info({ height: store.head.height.toString() }, 'synced');
      for (const t of this.#timers) clearTimeout(t);
      this.#timers.clear();
      await this.#beginHeight(store.head.height + 1n);
    }
    return advanced;
  }
}
