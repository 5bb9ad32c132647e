// Typed accessors over the gov key prefix "gov/". Proposals that still need end-block work are
// listed in one bounded index record (state cannot be iterated), as are each proposal's voters.

import { decode, encode, type Infer, t } from '@aivm/codec';
import { type Address, addressToBytes, concatBytes, u64be, utf8ToBytes } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { moduleAddress } from '../../accounts.ts';
import type { ExecContext } from '../../module.ts';
import { MAX_ACTIVE_PROPOSALS, MAX_DEPOSITORS_PER_PROPOSAL, MAX_VOTERS_PER_PROPOSAL } from './params.ts';

/** The module's name: its key prefix, its events' module and its account seed. */
export const M = 'gov';

/** Escrow of proposal deposits. */
export const GOV_ACCOUNT = moduleAddress('gov');

export const PROPOSAL_STATUSES = [
  'deposit',
  'voting',
  'passed',
  'rejected',
  'vetoed',
  'failed',
  'expired',
] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

export const TallySchema = t.struct('GovTally', {
  yes: t.uint256,
  no: t.uint256,
  abstain: t.uint256,
  veto: t.uint256,
});
export type Tally = Infer<typeof TallySchema>;

export const ProposalSchema = t.struct('GovProposal', {
  id: t.uint64,
  proposer: t.address,
  kind: t.string(32),
  title: t.string(140),
  description: t.string(10_000),
  paramModule: t.string(64),
  paramsJson: t.string(4_096),
  recipient: t.address,
  amountWei: t.uint256,
  /** The model a modelFault proposal names, '' for other kinds. */
  modelId: t.string(128),
  status: t.string(16),
  submitTimeMs: t.uint64,
  depositEndMs: t.uint64,
  votingStartMs: t.uint64,
  votingEndMs: t.uint64,
  totalDepositWei: t.uint256,
  deposits: t.array(
    t.struct('GovDepositRecord', { depositor: t.address, amountWei: t.uint256 }),
    MAX_DEPOSITORS_PER_PROPOSAL,
  ),
  finalTally: TallySchema,
  /** Why execution failed (status "failed"): its failure code (ERR table), 0 otherwise. */
  failCode: t.uint32,
});
export type Proposal = Omit<Infer<typeof ProposalSchema>, 'status'> & { status: ProposalStatus };

const NEXT_ID = utf8ToBytes('gov/nextId');
const ACTIVE = utf8ToBytes('gov/active');
const PROPOSAL = utf8ToBytes('gov/p/');
const VOTE = utf8ToBytes('gov/v/');
const VOTERS = utf8ToBytes('gov/voters/');

const IdListSchema = t.array(t.uint64, MAX_ACTIVE_PROPOSALS);
const VoterListSchema = t.array(t.address, MAX_VOTERS_PER_PROPOSAL);

export async function nextProposalId(ctx: ExecContext): Promise<bigint> {
  const raw = await ctx.get(NEXT_ID);
  const id = raw ? decode(t.uint64, raw) : 1n;
  ctx.set(NEXT_ID, encode(t.uint64, id + 1n));
  return id;
}

export async function getProposal(state: KVReader, id: bigint): Promise<Proposal | undefined> {
  const raw = await state.get(concatBytes(PROPOSAL, u64be(id)));
  return raw ? (decode(ProposalSchema, raw) as Proposal) : undefined;
}

export function setProposal(ctx: ExecContext, p: Proposal): void {
  ctx.set(concatBytes(PROPOSAL, u64be(p.id)), encode(ProposalSchema, p));
}

export async function getActiveIds(state: KVReader): Promise<bigint[]> {
  const raw = await state.get(ACTIVE);
  return raw ? decode(IdListSchema, raw) : [];
}

export function setActiveIds(ctx: ExecContext, ids: bigint[]): void {
  if (ids.length === 0) ctx.delete(ACTIVE);
  else ctx.set(ACTIVE, encode(IdListSchema, ids));
}

const voteKey = (id: bigint, voter: Address) => concatBytes(VOTE, u64be(id), addressToBytes(voter));

/** The option index (into VOTE_OPTIONS) the account voted, if any. */
export async function getVote(state: KVReader, id: bigint, voter: Address): Promise<number | undefined> {
  const raw = await state.get(voteKey(id, voter));
  return raw ? decode(t.uint8, raw) : undefined;
}

export function setVote(ctx: ExecContext, id: bigint, voter: Address, option: number): void {
  ctx.set(voteKey(id, voter), encode(t.uint8, option));
}

export async function getVoters(state: KVReader, id: bigint): Promise<Address[]> {
  const raw = await state.get(concatBytes(VOTERS, u64be(id)));
  return raw ? decode(VoterListSchema, raw) : [];
}

export function setVoters(ctx: ExecContext, id: bigint, voters: Address[]): void {
  ctx.set(concatBytes(VOTERS, u64be(id)), encode(VoterListSchema, voters));
}

/** Votes are only needed until the tally; the final tally stays in the proposal. */
export async function deleteVotes(ctx: ExecContext, id: bigint): Promise<void> {
  for (const voter of await getVoters(ctx, id)) ctx.delete(voteKey(id, voter));
  ctx.delete(concatBytes(VOTERS, u64be(id)));
}
