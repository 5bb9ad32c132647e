// Attestation equivocation (docs/evm.md): two signatures of one attestation key over two different
// AivmResults with one requestId, or two different AivmValidatorSets with one setId. A light client
// on an EVM chain would accept either, so the validator is slashed slashFractionAttestation and
// tombstoned, as for a consensus double sign. Each (kind, subject, key) is punished once.

import type { Infer } from '@aivm/codec';
import { type Address, equalBytes, recoverAddress } from '@aivm/crypto';
import {
  ATTEST_RESULT,
  attestationDigest,
  attestationShapeError,
  attestationSubject,
  type SignedAttestation,
} from '../../attestation.ts';
import { ERR, ModuleError } from '../../errors.ts';
import { GAS } from '../../gas.ts';
import { type ExecContext, readParams } from '../../module.ts';
import { slashingEvents } from './events.ts';
import type { SlashingInference, SlashingStaking } from './expected.ts';
import type { SlashingAttestationEvidence } from './messages.ts';
import { slashingParams } from './params.ts';
import { getAttestationEvidence, setAttestationEvidence } from './store.ts';

/** Jail end for a tombstoned validator: never. */
const FOREVER = 2n ** 64n - 1n;

function invalid(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ModuleError(message, ERR.INVALID_EVIDENCE);
}

function signerOf(ctx: ExecContext, which: string, a: SignedAttestation, digest: Uint8Array): Address {
  ctx.gas.consume(GAS.SIG_RECOVER);
  try {
    return recoverAddress(digest, a.signature);
  } catch (err) {
    throw new ModuleError(`${which}: bad signature: ${(err as Error).message}`, ERR.INVALID_EVIDENCE);
  }
}

export async function handleAttestationEvidence(
  ctx: ExecContext,
  keeper: SlashingStaking,
  inference: SlashingInference,
  msg: Infer<typeof SlashingAttestationEvidence>,
  sender: Address,
): Promise<void> {
  const { first, second } = msg;
  for (const [which, a] of [
    ['first', first],
    ['second', second],
  ] as const) {
    const shape = attestationShapeError(a);
    invalid(shape === undefined, `${which}: ${shape}`);
  }
  invalid(first.kind === second.kind, 'the two attestations are of different kinds');
  const subject = attestationSubject(first);
  invalid(
    subject === attestationSubject(second),
    first.kind === ATTEST_RESULT
      ? 'the two attestations are for different requestIds'
      : 'the two attestations are for different setIds',
  );
  const d1 = attestationDigest(ctx.block.chainId, first);
  const d2 = attestationDigest(ctx.block.chainId, second);
  invalid(!equalBytes(d1, d2), 'the two attestations sign the same message: no conflict');
  const signer = signerOf(ctx, 'first', first, d1);
  invalid(
    signerOf(ctx, 'second', second, d2) === signer,
    'the two attestations are signed by different keys',
  );
  const operator = await keeper.attestationKeyHolder(ctx, signer);
  invalid(
    operator !== undefined,
    `${signer} is not the attestation key of any validator (now or in the kept sets)`,
  );
  const punished = await getAttestationEvidence(ctx, first.kind, subject, signer);
  if (punished !== undefined)
    throw new ModuleError(
      `this equivocation of ${signer} was already punished at height ${punished}`,
      ERR.DUPLICATE_EVIDENCE,
    );
  const v = await keeper.getValidator(ctx, operator);
  invalid(v !== undefined, `no validator ${operator}`);
  invalid(!v.tombstoned, `validator ${operator} is already tombstoned`);
  // The stake at risk since the attested fact existed: the request's finalization, the set's start.
  const since =
    first.kind === ATTEST_RESULT
      ? await inference.finalizedAt(ctx, subject)
      : (await keeper.getAttestationSet(ctx, subject))?.startHeight;
  const infractionHeight =
    since !== undefined && since >= 1n && since <= ctx.block.height ? since : ctx.block.height;
  const p = await readParams(ctx, 'slashing', slashingParams);
  const burned = await keeper.slash(ctx, operator, infractionHeight, p.slashFractionAttestation);
  await keeper.jail(ctx, operator, FOREVER, true);
  setAttestationEvidence(ctx, first.kind, subject, signer, ctx.block.height);
  slashingEvents.emit(ctx, 'attestationEquivocation', {
    operator,
    signer,
    kind: String(first.kind),
    subject: subject.toString(),
    burned: burned.toString(),
    reporter: sender,
  });
}
