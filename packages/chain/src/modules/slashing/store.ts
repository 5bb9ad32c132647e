// Typed accessors over "slashing/": per consensus address, the signing info and the missed-block
// bit array of the sliding window (bit i = missed the block at window index i).

import { decode, encode, type Infer, t } from '@aivm/codec';
import { type Address, addressToBytes, concatBytes, u64be, utf8ToBytes } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import type { ExecContext } from '../../module.ts';

/** The module's name: its key prefix, its events' module and its account seed. */
export const M = 'slashing';

export const SigningInfoSchema = t.struct('SigningInfo', {
  /** Height from which the window is counted (first seen, or unjailed). */
  startHeight: t.uint64,
  /** Blocks counted so far; the window index is indexOffset mod signedBlocksWindow. */
  indexOffset: t.uint64,
  /** Set bits in the bit array. */
  missed: t.uint32,
});
export type SigningInfo = Infer<typeof SigningInfoSchema>;

const INFO = utf8ToBytes('slashing/info/');
const BITS = utf8ToBytes('slashing/missed/');
const ATTESTATION_EVIDENCE = utf8ToBytes('slashing/attev/');

export async function getSigningInfo(state: KVReader, consensus: Address): Promise<SigningInfo | undefined> {
  const raw = await state.get(concatBytes(INFO, addressToBytes(consensus)));
  return raw ? decode(SigningInfoSchema, raw) : undefined;
}

export function setSigningInfo(ctx: ExecContext, consensus: Address, info: SigningInfo): void {
  ctx.set(concatBytes(INFO, addressToBytes(consensus)), encode(SigningInfoSchema, info));
}

export async function getMissedBits(state: KVReader, consensus: Address): Promise<Uint8Array | undefined> {
  return state.get(concatBytes(BITS, addressToBytes(consensus)));
}

export function setMissedBits(ctx: ExecContext, consensus: Address, bits: Uint8Array): void {
  ctx.set(concatBytes(BITS, addressToBytes(consensus)), bits);
}

/** Key of a punished attestation equivocation: (kind, subject id, attestation key). */
const attEvidenceKey = (kind: number, subject: bigint, signer: Address) =>
  concatBytes(ATTESTATION_EVIDENCE, Uint8Array.of(kind), u64be(subject), addressToBytes(signer));

/** The height at which an equivocation of `signer` about (kind, subject) was punished, if it was. */
export async function getAttestationEvidence(
  state: KVReader,
  kind: number,
  subject: bigint,
  signer: Address,
): Promise<bigint | undefined> {
  const raw = await state.get(attEvidenceKey(kind, subject, signer));
  return raw ? decode(t.uint64, raw) : undefined;
}

export function setAttestationEvidence(
  ctx: ExecContext,
  kind: number,
  subject: bigint,
  signer: Address,
  height: bigint,
): void {
  ctx.set(attEvidenceKey(kind, subject, signer), encode(t.uint64, height));
}
