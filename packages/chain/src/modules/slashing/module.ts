// slashing: punishes validator faults. Double sign (two conflicting signed votes, submitted by
// anyone) burns slashFractionDoubleSign and tombstones; downtime (too few signatures in a sliding
// window of commits) burns slashFractionDowntime and jails for downtimeJailDurationMs.

import { decode, encode, type Infer, t, toJson } from '@aivm/codec';
import { type Address, bytesToHex, ed25519Verify, equalBytes, hexToBytes } from '@aivm/crypto';
import { type SignedVote, VOTE_PRECOMMIT, VOTE_PREVOTE, type VoteKind, voteSignBytes } from '../../block.ts';
import { decMul } from '../../dec.ts';
import { exportStateSection, importModuleState } from '../../genesis.ts';
import {
  defineMsg,
  defineQuery,
  type ExecContext,
  type Module,
  paramsFromJson,
  readParams,
  requireThat,
  writeParams,
} from '../../module.ts';
import { readValidatorSet } from '../../validators.ts';
import { handleAttestationEvidence } from './attestation.ts';
import { slashingEvents } from './events.ts';
import type { SlashingInference, SlashingStaking } from './expected.ts';
import { SlashingAttestationEvidence, SlashingSubmitEvidence, SlashingUnjail } from './messages.ts';
import { type SlashingParams, slashingParams } from './params.ts';
import {
  getMissedBits,
  getSigningInfo,
  M,
  SigningInfoSchema,
  setMissedBits,
  setSigningInfo,
} from './store.ts';

/** Jail end for a tombstoned validator: never. */
const FOREVER = 2n ** 64n - 1n;

function verifyVote(ctx: ExecContext, vote: SignedVote, pubKey: Uint8Array): boolean {
  const bytes = voteSignBytes(
    ctx.block.chainId,
    vote.kind as VoteKind,
    vote.height,
    vote.round,
    vote.blockHash,
  );
  return ed25519Verify(vote.signature, bytes, pubKey);
}

async function handleEvidence(
  ctx: ExecContext,
  keeper: SlashingStaking,
  msg: Infer<typeof SlashingSubmitEvidence>,
  sender: Address,
): Promise<void> {
  const p = await readParams(ctx, 'slashing', slashingParams);
  const { a, b } = msg;
  requireThat(
    a.kind === VOTE_PREVOTE || a.kind === VOTE_PRECOMMIT,
    'vote kind must be 1 (prevote) or 2 (precommit)',
  );
  requireThat(a.kind === b.kind, 'the two votes are of different kinds');
  requireThat(
    a.height === b.height && a.round === b.round,
    'the two votes are for different heights or rounds',
  );
  requireThat(
    a.validator.toLowerCase() === b.validator.toLowerCase(),
    'the two votes are from different validators',
  );
  requireThat(
    !equalBytes(a.blockHash, b.blockHash),
    'the two votes are for the same block hash: no conflict',
  );
  requireThat(a.height >= 1n && a.height <= ctx.block.height, `evidence height ${a.height} is in the future`);
  requireThat(
    ctx.block.height - a.height <= p.maxEvidenceAgeBlocks,
    `evidence is older than ${p.maxEvidenceAgeBlocks} blocks`,
  );
  const v = await keeper.getValidatorByConsensusAddress(ctx, a.validator);
  requireThat(v !== undefined, `no validator with consensus address ${a.validator}`);
  requireThat(!v.tombstoned, `validator ${v.operator} is already tombstoned`);
  requireThat(verifyVote(ctx, a, v.consensusPubKey), 'vote a: bad signature');
  requireThat(verifyVote(ctx, b, v.consensusPubKey), 'vote b: bad signature');
  const burned = await keeper.slash(ctx, v.operator, a.height, p.slashFractionDoubleSign);
  await keeper.jail(ctx, v.operator, FOREVER, true);
  slashingEvents.emit(ctx, 'doubleSign', {
    operator: v.operator,
    consensusAddress: v.consensusAddress,
    height: a.height.toString(),
    burned: burned.toString(),
    reporter: sender,
  });
}

function bitsFor(window: number): Uint8Array {
  return new Uint8Array(Math.ceil(window / 8));
}

/** Records, for every member of the parent's set, whether it signed the parent's commit. */
async function trackLiveness(ctx: ExecContext, keeper: SlashingStaking, p: SlashingParams): Promise<void> {
  if (ctx.block.height < 2n) return; // block 1 carries no commit
  const signers = new Set(ctx.block.lastCommit.signers.map((s) => s.toLowerCase()));
  const window = BigInt(p.signedBlocksWindow);
  const maxMissed = window - decMul(window, p.minSignedPerWindow);
  for (const member of await readValidatorSet(ctx, 'previous')) {
    const v = await keeper.getValidatorByConsensusAddress(ctx, member.address);
    if (!v || v.jailed) continue;
    let info = await getSigningInfo(ctx, member.address);
    let bits = await getMissedBits(ctx, member.address);
    if (!info || !bits || bits.length !== bitsFor(p.signedBlocksWindow).length) {
      // First time seen, or the window size changed by governance: start counting afresh.
      info = { startHeight: ctx.block.height, indexOffset: 0n, missed: 0 };
      bits = bitsFor(p.signedBlocksWindow);
    } else {
      bits = bits.slice();
    }
    const index = Number(info.indexOffset % window);
    const byte = index >> 3;
    const mask = 1 << (index & 7);
    const wasMissed = (bits[byte]! & mask) !== 0;
    const missed = !signers.has(member.address.toLowerCase());
    if (missed && !wasMissed) {
      bits[byte]! |= mask;
      info.missed += 1;
    } else if (!missed && wasMissed) {
      bits[byte]! &= ~mask;
      info.missed -= 1;
    }
    info.indexOffset += 1n;
    if (missed)
      slashingEvents.emit(ctx, 'missedBlock', {
        consensusAddress: member.address,
        missed: String(info.missed),
      });
    if (ctx.block.height > info.startHeight + window && BigInt(info.missed) > maxMissed) {
      // The missed block is the parent; stake that left after it is slashed too.
      const burned = await keeper.slash(ctx, v.operator, ctx.block.height - 1n, p.slashFractionDowntime);
      await keeper.jail(ctx, v.operator, ctx.block.timeMs + p.downtimeJailDurationMs, false);
      slashingEvents.emit(ctx, 'downtime', {
        operator: v.operator,
        missed: String(info.missed),
        burned: burned.toString(),
      });
      info = { startHeight: ctx.block.height, indexOffset: 0n, missed: 0 };
      bits = bitsFor(p.signedBlocksWindow);
    }
    setSigningInfo(ctx, member.address, info);
    setMissedBits(ctx, member.address, bits);
  }
}

/** Without inference: attestation evidence counts the stake at risk from the evidence's block. */
const NO_INFERENCE: SlashingInference = { finalizedAt: async () => undefined };

export function createSlashingModule(
  keeper: SlashingStaking,
  inference: SlashingInference = NO_INFERENCE,
): Module {
  return {
    name: M,
    messages: {
      'slashing/submitEvidence': defineMsg({
        schema: SlashingSubmitEvidence,
        description:
          'Report a double sign: two conflicting votes signed by one validator (anyone may submit)',
        handler: (ctx, msg, sender) => handleEvidence(ctx, keeper, msg, sender),
      }),
      'slashing/attestationEvidence': defineMsg({
        schema: SlashingAttestationEvidence,
        description:
          'Report an attestation equivocation: one attestation key signed two different AivmResults for one requestId or two different AivmValidatorSets for one setId (anyone may submit); the validator is slashed and tombstoned',
        handler: (ctx, msg, sender) => handleAttestationEvidence(ctx, keeper, inference, msg, sender),
      }),
      'slashing/unjail': defineMsg({
        schema: SlashingUnjail,
        description: "Return the sender's jailed validator to the candidates once its jail time is over",
        handler: async (ctx, _msg, sender) => {
          const v = await keeper.getValidator(ctx, sender);
          requireThat(v !== undefined, `${sender} is not a validator operator`);
          await keeper.unjail(ctx, sender);
          // Count the window afresh, so past misses do not jail it again at once.
          const p = await readParams(ctx, 'slashing', slashingParams);
          setSigningInfo(ctx, v.consensusAddress, {
            startHeight: ctx.block.height,
            indexOffset: 0n,
            missed: 0,
          });
          setMissedBits(ctx, v.consensusAddress, bitsFor(p.signedBlocksWindow));
        },
      }),
    },
    queries: {
      signingInfo: defineQuery({
        params: t.struct('SlashingSigningInfoQuery', { consensusAddress: t.address }),
        description: 'Liveness record of a validator (by consensus address); null if never tracked',
        handler: async (state, q) => {
          const info = await getSigningInfo(state, q.consensusAddress);
          return info ? toJson(SigningInfoSchema, info) : null;
        },
      }),
      params: defineQuery({
        params: t.struct('SlashingParamsQuery', {}),
        description: 'Current slashing parameters',
        handler: async (state) =>
          toJson(slashingParams.schema, await readParams(state, 'slashing', slashingParams)),
      }),
    },
    params: slashingParams,
    async initGenesis(ctx, json) {
      const section = (json ?? {}) as { params?: unknown; state?: unknown };
      writeParams(ctx, 'slashing', slashingParams, paramsFromJson(slashingParams, section.params));
      importModuleState(ctx, 'slashing', section.state);
    },
    // Signing infos and missed-block bits; each window's start height is exported as 0 (genesis.ts).
    async exportGenesis(state) {
      const section = await exportStateSection(state, { name: M, params: slashingParams });
      for (const e of section.state) {
        if (!e[0].startsWith('slashing/info/')) continue;
        const info = decode(SigningInfoSchema, hexToBytes(e[2]));
        e[2] = bytesToHex(encode(SigningInfoSchema, { ...info, startHeight: 0n }));
      }
      return section;
    },
    async beginBlock(ctx) {
      await trackLiveness(ctx, keeper, await readParams(ctx, 'slashing', slashingParams));
    },
  };
}
