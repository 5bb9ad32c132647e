// Attestations of AIVM results and validator sets for EVM chains (docs/evm.md, attestation path):
// the EIP-712 messages the validators sign with their attestation keys (and the proof of possession
// that registers a key, AivmAttestationKey), their digests, the ABI
// encoding of an attestation set's members, and the signed-attestation schema that equivocation
// evidence and p2p gossip carry. One module, browser-safe, shared by the chain (evidence), the node
// (signing, collecting), the SDK, the relayer and tests, so every side hashes the same bytes.

import { t } from '@aivm/codec';
import {
  type Address,
  addressToBytes,
  bytesToHex,
  concatBytes,
  equalBytes,
  type Hex,
  hashTypedData,
  keccak256,
  recoverAddress,
  signDigest,
  type TypedData,
  type TypedDataTypes,
} from '@aivm/crypto';
import { CID } from 'multiformats/cid';
import { EIP712_DOMAIN_NAME, EIP712_DOMAIN_VERSION } from './tx.ts';

/** Attestation kinds as SignedAttestation.kind carries them. */
export const ATTEST_RESULT = 1;
export const ATTEST_VALIDATOR_SET = 2;
export type AttestationKind = typeof ATTEST_RESULT | typeof ATTEST_VALIDATOR_SET;

/** `AivmResult(uint64 requestId,bytes32 modelId,uint8 tier,bytes32 inputHash,bytes32 outputHash)`. */
export type AivmResult = {
  requestId: bigint;
  /** The sha2-256 digest inside the model's CID. */
  modelId: Uint8Array;
  /** Tier bit: 1 on-chain, 2 zk, 4 optimistic. */
  tier: number;
  /** keccak256 of the request's input bytes. */
  inputHash: Uint8Array;
  /** keccak256 of the request's output bytes as the chain stores them (int32 little-endian). */
  outputHash: Uint8Array;
};

/** `AivmValidatorSet(uint64 setId,bytes32 membersHash)`. */
export type AivmValidatorSet = { setId: bigint; membersHash: Uint8Array };

/** A member of an attestation set: its attestation key (zero when none) and voting power. */
export type AttestationMember = { signer: Address; power: bigint };

export const AIVM_RESULT_TYPES: TypedDataTypes = Object.freeze({
  AivmResult: [
    { name: 'requestId', type: 'uint64' },
    { name: 'modelId', type: 'bytes32' },
    { name: 'tier', type: 'uint8' },
    { name: 'inputHash', type: 'bytes32' },
    { name: 'outputHash', type: 'bytes32' },
  ],
}) as TypedDataTypes;

export const AIVM_VALIDATOR_SET_TYPES: TypedDataTypes = Object.freeze({
  AivmValidatorSet: [
    { name: 'setId', type: 'uint64' },
    { name: 'membersHash', type: 'bytes32' },
  ],
}) as TypedDataTypes;

/**
 * `AivmAttestationKey(address operator)`: signed by an attestation key to prove that whoever
 * registers it for the validator `operator` holds it (staking/setAttestationKey carries it).
 */
export const AIVM_ATTESTATION_KEY_TYPES: TypedDataTypes = Object.freeze({
  AivmAttestationKey: [{ name: 'operator', type: 'address' }],
}) as TypedDataTypes;

/** The domain AIVM transactions use: { name: 'AIVM', version: '1', chainId }. */
export function attestationDomain(chainId: bigint): TypedData['domain'] {
  return { name: EIP712_DOMAIN_NAME, version: EIP712_DOMAIN_VERSION, chainId };
}

/** The typed data of an AivmResult (what eth_signTypedData_v4 or viem's signTypedData take). */
export function aivmResultTypedData(chainId: bigint, r: AivmResult): TypedData {
  return {
    domain: attestationDomain(chainId),
    types: AIVM_RESULT_TYPES,
    primaryType: 'AivmResult',
    message: {
      requestId: r.requestId,
      modelId: r.modelId,
      tier: r.tier,
      inputHash: r.inputHash,
      outputHash: r.outputHash,
    },
  };
}

export function aivmValidatorSetTypedData(chainId: bigint, s: AivmValidatorSet): TypedData {
  return {
    domain: attestationDomain(chainId),
    types: AIVM_VALIDATOR_SET_TYPES,
    primaryType: 'AivmValidatorSet',
    message: { setId: s.setId, membersHash: s.membersHash },
  };
}

/** The typed data of an attestation key's proof of possession for the validator `operator`. */
export function aivmAttestationKeyTypedData(chainId: bigint, operator: Address): TypedData {
  return {
    domain: attestationDomain(chainId),
    types: AIVM_ATTESTATION_KEY_TYPES,
    primaryType: 'AivmAttestationKey',
    message: { operator },
  };
}

/** The EIP-712 digest an attestation key signs to be registered for the validator `operator`. */
export function aivmAttestationKeyDigest(chainId: bigint, operator: Address): Uint8Array {
  return hashTypedData(aivmAttestationKeyTypedData(chainId, operator));
}

/**
 * The proof of possession staking/setAttestationKey carries: the attestation key's signature
 * (r || s || v, low s) over `AivmAttestationKey(operator)` in the AIVM domain of `chainId`.
 */
export function signAttestationKeyProof(
  chainId: bigint,
  operator: Address,
  attestationKey: Uint8Array,
): Uint8Array {
  return signDigest(aivmAttestationKeyDigest(chainId, operator), attestationKey);
}

/**
 * The key a proof of possession for `operator` is signed by; throws (InvalidSignatureError) when
 * the signature is malformed (not 65 bytes, bad v, r or s out of range, high s) or recovers nothing.
 */
export function attestationKeyProofSigner(
  chainId: bigint,
  operator: Address,
  signature: Uint8Array,
): Address {
  return recoverAddress(aivmAttestationKeyDigest(chainId, operator), signature);
}

/** The EIP-712 digest a validator signs for an AivmResult. */
export function aivmResultDigest(chainId: bigint, r: AivmResult): Uint8Array {
  return hashTypedData(aivmResultTypedData(chainId, r));
}

/** The EIP-712 digest a validator signs for an AivmValidatorSet. */
export function aivmValidatorSetDigest(chainId: bigint, s: AivmValidatorSet): Uint8Array {
  return hashTypedData(aivmValidatorSetTypedData(chainId, s));
}

const U64_MAX = (1n << 64n) - 1n;

function word(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 31; i >= 0 && v > 0n; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Solidity's `abi.encode(address[] signers, uint64[] powers)`: two head words (the offsets of the
 * two dynamic arrays, 0x40 and 0x40 + 32 * (1 + n)), then each array as its length followed by one
 * 32-byte word per element (addresses and integers left-padded with zeros).
 */
export function encodeAttestationMembers(members: readonly AttestationMember[]): Uint8Array {
  const n = members.length;
  const out = new Uint8Array(64 + 2 * 32 * (1 + n));
  out.set(word(64n), 0);
  const second = 64 + 32 * (1 + n);
  out.set(word(BigInt(second)), 32);
  out.set(word(BigInt(n)), 64);
  out.set(word(BigInt(n)), second);
  members.forEach((m, i) => {
    out.set(addressToBytes(m.signer), 64 + 32 * (1 + i) + 12);
    if (m.power < 0n || m.power > U64_MAX) throw new RangeError(`member ${i}: power out of uint64 range`);
    out.set(word(m.power), second + 32 * (1 + i));
  });
  return out;
}

/** `membersHash = keccak256(abi.encode(address[] signers, uint64[] powers))`. */
export function attestationMembersHash(members: readonly AttestationMember[]): Uint8Array {
  return keccak256(encodeAttestationMembers(members));
}

/**
 * The bytes32 model id of the EVM side: the sha2-256 digest inside the model's CIDv1 (raw codec).
 * Throws on anything but a CIDv1 raw sha2-256 id.
 */
export function modelIdToBytes32(modelId: string): Uint8Array {
  let cid: CID;
  try {
    cid = CID.parse(modelId);
  } catch {
    throw new RangeError(`model id ${JSON.stringify(modelId)} is not a CID`);
  }
  if (cid.version !== 1 || cid.code !== 0x55 || cid.multihash.code !== 0x12 || cid.multihash.size !== 32)
    throw new RangeError(`model id ${modelId} is not a CIDv1 raw sha2-256 id`);
  return cid.multihash.digest.slice();
}

/** The model id (CIDv1 raw sha2-256, base32) of a bytes32 digest: modelIdToBytes32's inverse. */
export function bytes32ToModelId(digest: Uint8Array): string {
  if (digest.length !== 32) throw new RangeError('model digest must be 32 bytes');
  // CIDv1 binary form: version 1, raw codec 0x55, sha2-256 0x12, length 0x20, digest.
  return CID.decode(concatBytes(Uint8Array.of(0x01, 0x55, 0x12, 0x20), digest)).toString();
}

/** The AivmResult of a finalized request from what the chain stores for it. */
export function aivmResultOf(req: {
  id: bigint;
  modelId: string;
  tier: number;
  input: Uint8Array;
  output: Uint8Array;
}): AivmResult {
  return {
    requestId: req.id,
    modelId: modelIdToBytes32(req.modelId),
    tier: req.tier,
    inputHash: keccak256(req.input),
    outputHash: keccak256(req.output),
  };
}

/**
 * A signed attestation as evidence and gossip carry it: `kind` says which message; the fields of
 * the other kind must be zero (one encoding per attestation). `signature` is r || s || v (65 bytes).
 */
export const SignedAttestationSchema = t.struct('SignedAttestation', {
  /** 1: AivmResult, 2: AivmValidatorSet. */
  kind: t.uint8,
  requestId: t.uint64,
  modelId: t.bytes32,
  tier: t.uint8,
  inputHash: t.bytes32,
  outputHash: t.bytes32,
  setId: t.uint64,
  membersHash: t.bytes32,
  signature: t.bytes(65),
});
export type SignedAttestation = {
  kind: number;
  requestId: bigint;
  modelId: Uint8Array;
  tier: number;
  inputHash: Uint8Array;
  outputHash: Uint8Array;
  setId: bigint;
  membersHash: Uint8Array;
  signature: Uint8Array;
};

const Z32 = new Uint8Array(32);

export function signedResult(r: AivmResult, signature: Uint8Array): SignedAttestation {
  return { kind: ATTEST_RESULT, ...r, setId: 0n, membersHash: Z32, signature };
}

export function signedValidatorSet(s: AivmValidatorSet, signature: Uint8Array): SignedAttestation {
  return {
    kind: ATTEST_VALIDATOR_SET,
    requestId: 0n,
    modelId: Z32,
    tier: 0,
    inputHash: Z32,
    outputHash: Z32,
    setId: s.setId,
    membersHash: s.membersHash,
    signature,
  };
}

/** Why a signed attestation is malformed (wrong kind, fields of the other kind set), or undefined. */
export function attestationShapeError(a: SignedAttestation): string | undefined {
  if (a.kind === ATTEST_RESULT) {
    if (a.setId !== 0n || !equalBytes(a.membersHash, Z32))
      return 'an AivmResult attestation must leave setId and membersHash zero';
    return undefined;
  }
  if (a.kind === ATTEST_VALIDATOR_SET) {
    if (
      a.requestId !== 0n ||
      a.tier !== 0 ||
      !equalBytes(a.modelId, Z32) ||
      !equalBytes(a.inputHash, Z32) ||
      !equalBytes(a.outputHash, Z32)
    )
      return 'an AivmValidatorSet attestation must leave the AivmResult fields zero';
    return undefined;
  }
  return `attestation kind must be ${ATTEST_RESULT} (AivmResult) or ${ATTEST_VALIDATOR_SET} (AivmValidatorSet), got ${a.kind}`;
}

/** The id an attestation is about: requestId (AivmResult) or setId (AivmValidatorSet). */
export function attestationSubject(a: SignedAttestation): bigint {
  return a.kind === ATTEST_RESULT ? a.requestId : a.setId;
}

/** The EIP-712 digest of a signed attestation's message (its shape must be valid). */
export function attestationDigest(chainId: bigint, a: SignedAttestation): Uint8Array {
  return a.kind === ATTEST_RESULT
    ? aivmResultDigest(chainId, a)
    : aivmValidatorSetDigest(chainId, { setId: a.setId, membersHash: a.membersHash });
}

/** The signer of a signed attestation; throws (InvalidSignatureError) when it does not recover. */
export function attestationSigner(chainId: bigint, a: SignedAttestation): Address {
  return recoverAddress(attestationDigest(chainId, a), a.signature);
}

/** JSON form of an AivmResult's fields (hex bytes32, decimal requestId). */
export function aivmResultJson(r: AivmResult): {
  requestId: string;
  modelId: Hex;
  tier: number;
  inputHash: Hex;
  outputHash: Hex;
} {
  return {
    requestId: r.requestId.toString(),
    modelId: bytesToHex(r.modelId),
    tier: r.tier,
    inputHash: bytesToHex(r.inputHash),
    outputHash: bytesToHex(r.outputHash),
  };
}
