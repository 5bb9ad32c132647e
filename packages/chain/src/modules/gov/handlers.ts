// Message handlers and end-block processing of proposals.

import { fromJson, type Infer, toJson } from '@aivm/codec';
import type { Address } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { ZERO_ADDRESS } from '../../accounts.ts';
import { DEC } from '../../dec.ts';
import { ERR, failureCode, ModuleError, OK } from '../../errors.ts';
import {
  type ExecContext,
  type Module,
  type ParamsDef,
  readParams,
  requireThat,
  writeParams,
} from '../../module.ts';
import { burn, transfer } from '../bank/store.ts';
import { govEvents } from './events.ts';
import type { GovDeps } from './expected.ts';
import { type GovDeposit, type GovSubmitProposal, type GovVote, PROPOSAL_KINDS } from './messages.ts';
import { type GovParams, govParams } from './params.ts';
import {
  deleteVotes,
  GOV_ACCOUNT,
  getActiveIds,
  getProposal,
  getVote,
  getVoters,
  M,
  nextProposalId,
  type Proposal,
  setActiveIds,
  setProposal,
  setVote,
  setVoters,
} from './store.ts';
import { decide, optionIndex, tallyVotes } from './tally.ts';

export class ProposalNotFound extends ModuleError {
  constructor(id: bigint) {
    super(`proposal ${id} does not exist`);
  }
}

/**
 * Resolves a parameter change against the target module's current params: the named fields
 * replace theirs, the result must decode and pass the module's own bounds (its `validate`).
 */
export async function resolveParamChange(
  state: KVReader,
  modules: readonly Module[],
  moduleName: string,
  paramsJson: string,
): Promise<{ def: ParamsDef; params: Record<string, unknown> }> {
  const target = modules.find((m) => m.name === moduleName);
  if (!target) throw new ModuleError(`unknown module "${moduleName}"`);
  const def = target.params;
  if (!def) throw new ModuleError(`module ${moduleName} has no parameters`);
  let changes: unknown;
  try {
    changes = JSON.parse(paramsJson);
  } catch {
    throw new ModuleError('paramsJson is not valid JSON');
  }
  if (
    typeof changes !== 'object' ||
    changes === null ||
    Array.isArray(changes) ||
    Object.keys(changes).length === 0
  ) {
    throw new ModuleError('paramsJson must be a non-empty JSON object of the fields to change');
  }
  const current = await readParams(state, moduleName, def);
  const merged = { ...(toJson(def.schema, current) as Record<string, unknown>), ...changes };
  try {
    const params = fromJson(def.schema, merged) as Record<string, unknown>;
    def.validate(params as never);
    return { def, params };
  } catch (err) {
    if (failureCode(err) === undefined) throw err;
    throw new ModuleError(`invalid ${moduleName} params: ${(err as Error).message}`, ERR.INVALID_PARAMS);
  }
}

function startVoting(p: Proposal, nowMs: bigint, params: GovParams): void {
  p.status = 'voting';
  p.votingStartMs = nowMs;
  p.votingEndMs = nowMs + params.votingPeriodMs;
}

export async function handleSubmitProposal(
  ctx: ExecContext,
  deps: GovDeps,
  msg: Infer<typeof GovSubmitProposal>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, govParams);
  requireThat(
    (PROPOSAL_KINDS as readonly string[]).includes(msg.kind),
    `kind must be one of ${PROPOSAL_KINDS.join(', ')}`,
  );
  requireThat(msg.title.trim().length > 0, 'title must not be empty');
  const isParam = msg.kind === 'paramChange';
  const isSpend = msg.kind === 'communityPoolSpend';
  const isFault = msg.kind === 'modelFault';
  requireThat(
    isParam || (msg.paramModule === '' && msg.paramsJson === ''),
    `a ${msg.kind} proposal takes no paramModule/paramsJson`,
  );
  requireThat(
    isSpend || (msg.amountWei === 0n && msg.recipient === ZERO_ADDRESS),
    `a ${msg.kind} proposal takes no recipient/amountWei`,
  );
  requireThat(isFault || msg.modelId === '', `a ${msg.kind} proposal takes no modelId`);
  if (isFault) {
    requireThat(msg.modelId !== '', 'modelId must be set');
    await deps.models.checkCanMarkFaulty(ctx, msg.modelId);
  }
  if (isParam) await resolveParamChange(ctx, deps.modules(), msg.paramModule, msg.paramsJson);
  if (isSpend) {
    requireThat(msg.amountWei > 0n, 'amountWei must be positive');
    requireThat(msg.recipient !== ZERO_ADDRESS, 'recipient must be set');
  }
  const minInitial = (params.minDepositWei * params.minInitialDepositRatio) / DEC;
  requireThat(msg.initialDepositWei >= minInitial, `initial deposit must be at least ${minInitial} wei`);
  const active = await getActiveIds(ctx);
  requireThat(
    active.length < params.maxActiveProposals,
    `too many active proposals (${params.maxActiveProposals})`,
  );

  const id = await nextProposalId(ctx);
  await transfer(ctx, sender, GOV_ACCOUNT, msg.initialDepositWei);
  const now = ctx.block.timeMs;
  const p: Proposal = {
    id,
    proposer: sender,
    kind: msg.kind,
    title: msg.title,
    description: msg.description,
    paramModule: msg.paramModule,
    paramsJson: msg.paramsJson,
    recipient: msg.recipient,
    amountWei: msg.amountWei,
    modelId: msg.modelId,
    status: 'deposit',
    submitTimeMs: now,
    depositEndMs: now + params.maxDepositPeriodMs,
    votingStartMs: 0n,
    votingEndMs: 0n,
    totalDepositWei: msg.initialDepositWei,
    deposits: msg.initialDepositWei > 0n ? [{ depositor: sender, amountWei: msg.initialDepositWei }] : [],
    finalTally: { yes: 0n, no: 0n, abstain: 0n, veto: 0n },
    failCode: 0,
  };
  if (p.totalDepositWei >= params.minDepositWei) startVoting(p, now, params);
  setProposal(ctx, p);
  active.push(id);
  setActiveIds(ctx, active);
  // Reviewers of the model cannot withdraw stake until the proposal ends (closeFaultProposal).
  if (isFault) await deps.models.openFaultProposal(ctx, msg.modelId);
  govEvents.emit(ctx, 'submitProposal', {
    id: id.toString(),
    kind: p.kind,
    proposer: sender,
    status: p.status,
  });
}

export async function handleDeposit(
  ctx: ExecContext,
  msg: Infer<typeof GovDeposit>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, govParams);
  const p = await getProposal(ctx, msg.proposalId);
  if (!p) throw new ProposalNotFound(msg.proposalId);
  requireThat(
    p.status === 'deposit' || p.status === 'voting',
    `proposal ${p.id} no longer takes deposits (${p.status})`,
  );
  requireThat(msg.amountWei > 0n, 'amountWei must be positive');
  const entry = p.deposits.find((d) => d.depositor.toLowerCase() === sender.toLowerCase());
  if (entry) entry.amountWei += msg.amountWei;
  else {
    requireThat(
      p.deposits.length < params.maxDepositorsPerProposal,
      `proposal ${p.id} has the maximum number of depositors`,
    );
    p.deposits.push({ depositor: sender, amountWei: msg.amountWei });
  }
  await transfer(ctx, sender, GOV_ACCOUNT, msg.amountWei);
  p.totalDepositWei += msg.amountWei;
  if (p.status === 'deposit' && p.totalDepositWei >= params.minDepositWei)
    startVoting(p, ctx.block.timeMs, params);
  setProposal(ctx, p);
  govEvents.emit(ctx, 'deposit', {
    id: p.id.toString(),
    depositor: sender,
    amount: msg.amountWei.toString(),
    status: p.status,
  });
}

export async function handleVote(
  ctx: ExecContext,
  deps: GovDeps,
  msg: Infer<typeof GovVote>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, M, govParams);
  const option = optionIndex(msg.option);
  requireThat(option >= 0, 'option must be yes, no, abstain or veto');
  const p = await getProposal(ctx, msg.proposalId);
  if (!p) throw new ProposalNotFound(msg.proposalId);
  requireThat(
    p.status === 'voting' && ctx.block.timeMs < p.votingEndMs,
    `proposal ${p.id} is not in its voting period`,
  );
  // Only stake votes, and requiring some keeps the bounded voter list from being filled by
  // accounts that could not change the outcome anyway.
  requireThat(
    (await deps.staking.getDelegatorValidators(ctx, sender)).length > 0,
    'only accounts with delegations can vote',
  );
  if ((await getVote(ctx, p.id, sender)) === undefined) {
    const voters = await getVoters(ctx, p.id);
    requireThat(
      voters.length < params.maxVotersPerProposal,
      `proposal ${p.id} has the maximum number of voters`,
    );
    voters.push(sender);
    setVoters(ctx, p.id, voters);
  }
  setVote(ctx, p.id, sender, option);
  govEvents.emit(ctx, 'vote', { id: p.id.toString(), voter: sender, option: msg.option });
}

async function executeProposal(ctx: ExecContext, deps: GovDeps, p: Proposal): Promise<void> {
  if (p.kind === 'paramChange') {
    const { def, params } = await resolveParamChange(ctx, deps.modules(), p.paramModule, p.paramsJson);
    writeParams(ctx, p.paramModule, def, params as never);
  } else if (p.kind === 'communityPoolSpend') {
    await deps.communityPool.spend(ctx, p.recipient, p.amountWei);
  } else if (p.kind === 'modelFault') {
    await deps.models.markFaulty(ctx, p.modelId);
  }
}

async function returnDeposits(ctx: ExecContext, p: Proposal, burnThem: boolean): Promise<void> {
  if (burnThem) await burn(ctx, GOV_ACCOUNT, p.totalDepositWei);
  else for (const d of p.deposits) await transfer(ctx, GOV_ACCOUNT, d.depositor, d.amountWei);
}

/** Ends deposit and voting periods that are over at this block's time. */
export async function processProposals(ctx: ExecContext, deps: GovDeps): Promise<void> {
  const ids = await getActiveIds(ctx);
  if (ids.length === 0) return;
  const params = await readParams(ctx, M, govParams);
  const keep: bigint[] = [];
  for (const id of ids) {
    let ended = false;
    // Each proposal alone: a typed failure (a deposit that cannot be returned...) undoes this
    // proposal's step only; it stays active, is tried again next block, and the others go on.
    const code = await ctx.attempt(async () => {
      ended = await endProposal(ctx, deps, params, id);
    });
    if (code !== OK) govEvents.emit(ctx, 'proposalStuck', { id: id.toString(), code: code.toString() });
    if (!ended) keep.push(id);
  }
  if (keep.length !== ids.length) setActiveIds(ctx, keep);
}

/** Ends proposal `id` when its deposit or voting period is over at this block's time; whether it did. */
async function endProposal(ctx: ExecContext, deps: GovDeps, params: GovParams, id: bigint): Promise<boolean> {
  const now = ctx.block.timeMs;
  const p = await getProposal(ctx, id);
  if (!p) return true;
  let reason = '';
  if (p.status === 'deposit' && now >= p.depositEndMs) {
    await returnDeposits(ctx, p, true); // an unsupported proposal costs its deposit (spam guard)
    p.status = 'expired';
    reason = 'minimum deposit not reached in time';
  } else if (p.status === 'voting' && now >= p.votingEndMs) {
    const tally = await tallyVotes(ctx, deps.staking, id);
    const outcome = decide(tally, await deps.staking.totalBondedTokens(ctx), params);
    await deleteVotes(ctx, id);
    p.finalTally = tally;
    await returnDeposits(ctx, p, outcome.result === 'vetoed');
    p.status = outcome.result;
    reason = outcome.reason;
    if (outcome.result === 'passed') {
      // All or nothing: a later check failing leaves none of the earlier writes behind. A
      // proposal that cannot be applied fails on its own with its code; the chain goes on.
      const code = await ctx.attempt(() => executeProposal(ctx, deps, p));
      if (code !== OK) {
        p.status = 'failed';
        p.failCode = code;
        reason = 'execution failed';
      }
    }
  } else return false;
  // However it ended (expired, rejected, vetoed, passed and executed, failed): the model's
  // reviewer releases held for it may go ahead once no other fault proposal is open.
  if (p.kind === 'modelFault') await deps.models.closeFaultProposal(ctx, p.modelId);
  setProposal(ctx, p);
  govEvents.emit(ctx, 'proposalFinished', {
    id: id.toString(),
    status: p.status,
    reason,
    code: p.failCode.toString(),
  });
  return true;
}
