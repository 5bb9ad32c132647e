// Attestations for EVM chains (docs/evm.md, attestation path). After each committed block a
// validator whose attestation key is in the attestation set signs an AivmResult for every inference
// request the block finalized, and the members of set n - 1 sign AivmValidatorSet(n) when set n
// began. Every node keeps the messages of its committed blocks and the signatures it receives (its
// own and gossiped ones, on the p2p topic 'attestations') in its LevelDB for retentionBlocks
// blocks, and answers aivm_getAttestations / aivm_getValidatorSetAttestation from there.
//
// The message of a subject is what this node's own chain says (a gossiped item carries only kind,
// subject and signature), so a signature over anything else recovers to a non-member and is
// refused. What this node signed is written before it is gossiped: a restarted node finds it and
// never signs a second message for one requestId or setId.

import {
  ATTEST_RESULT,
  ATTEST_VALIDATOR_SET,
  type AttestationSet,
  aivmResultDigest,
  aivmResultOf,
  aivmValidatorSetDigest,
  attestationMembersHash,
  type BlockResult,
  type ChainEvent,
  getAttestationSet,
  getCurrentAttestationSet,
  getInferenceInput,
  getInferenceRequest,
  inferenceEvents,
  stakingEvents,
} from '@aivm/chain';
import { decode, encode, type Infer, t } from '@aivm/codec';
import {
  type Address,
  addressToBytes,
  bytesToAddress,
  bytesToHex,
  concatBytes,
  equalBytes,
  type Hex,
  privateKeyToAddress,
  readU64be,
  recoverAddress,
  signDigest,
  u64be,
  utf8ToBytes,
} from '@aivm/crypto';
import type { P2P, Verdict } from '@aivm/p2p';
import type { BatchOp, Database, KVReader } from '@aivm/state';
import type { Logger } from './logger.ts';

/** Blocks an attestation (message and signatures) is kept after the block that made it. */
export const DEFAULT_ATTESTATION_RETENTION_BLOCKS = 100_000;
/** Gossiped signatures for subjects this node has not committed yet, kept until it has. */
const MAX_PENDING = 4_096;
/** Items in one gossip message (one block's results, in batches). */
const MAX_GOSSIP_ITEMS = 256;
/** Records pruned per committed block at most (the rest on the next blocks). */
const MAX_PRUNE_PER_BLOCK = 512;

export const AttestationGossipSchema = t.array(
  t.struct('AttestationGossipItem', { kind: t.uint8, subject: t.uint64, signature: t.bytes(65) }),
  MAX_GOSSIP_ITEMS,
);
type GossipItem = Infer<typeof AttestationGossipSchema>[number];

const MemberSchema = t.struct('AttestationMember', { signer: t.address, power: t.uint64 });

/** What this node keeps of one subject: the message, its digest, and the set whose members sign it. */
const RecordSchema = t.struct('AttestationRecord', {
  kind: t.uint8,
  subject: t.uint64,
  /** Height of the committed block that made the subject (finalized the request, began the set). */
  height: t.uint64,
  digest: t.bytes32,
  /** AivmResult fields (zero for a validator set). */
  modelId: t.bytes32,
  tier: t.uint8,
  inputHash: t.bytes32,
  outputHash: t.bytes32,
  /** AivmValidatorSet: the new set's members (what membersHash hashes). */
  members: t.array(MemberSchema, 10_000),
  /** The attestation set whose members sign this subject, with its members. */
  signingSetId: t.uint64,
  signingMembers: t.array(MemberSchema, 10_000),
});
type AttestationRecord = Infer<typeof RecordSchema>;

const OwnSchema = t.struct('AttestationOwn', { digest: t.bytes32, signature: t.bytes(65) });

const P_RECORD = utf8ToBytes('a:m:');
const P_SIG = utf8ToBytes('a:s:');
const P_OWN = utf8ToBytes('a:o:');
const P_HEIGHT = utf8ToBytes('a:h:');

const subjectKey = (kind: number, subject: bigint) => concatBytes(Uint8Array.of(kind), u64be(subject));
const recordKey = (kind: number, subject: bigint) => concatBytes(P_RECORD, subjectKey(kind, subject));
const ownKey = (kind: number, subject: bigint) => concatBytes(P_OWN, subjectKey(kind, subject));
const sigPrefix = (kind: number, subject: bigint) => concatBytes(P_SIG, subjectKey(kind, subject));
const sigKey = (kind: number, subject: bigint, signer: Address) =>
  concatBytes(sigPrefix(kind, subject), addressToBytes(signer));
const heightKey = (height: bigint, kind: number, subject: bigint) =>
  concatBytes(P_HEIGHT, u64be(height), subjectKey(kind, subject));

/** One past the last key starting with `prefix`. */
function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  throw new RangeError('no end for an all-0xff prefix');
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const ZERO = '0x0000000000000000000000000000000000000000';

/** What aivm_getAttestations / aivm_getValidatorSetAttestation answer. */
export type AttestationView = {
  kind: 'AivmResult' | 'AivmValidatorSet';
  domain: { name: string; version: string; chainId: bigint };
  /** The typed message's fields (bytes32 as hex). */
  message: Record<string, string | number>;
  /** AivmValidatorSet: the new set's members, in order (what membersHash hashes). */
  members?: { signer: Address; power: bigint }[];
  digest: Hex;
  height: bigint;
  /** The attestation set whose members signed (AivmResult: the set after the block; AivmValidatorSet: setId - 1). */
  setId: bigint;
  signatures: { signer: Address; signature: Hex }[];
  signedPower: bigint;
  totalPower: bigint;
};

export type AttestationsOptions = {
  db: Database;
  chainId: bigint;
  /** Committed state (attestation sets, requests). */
  state: KVReader;
  logger: Logger;
  p2p?: P2P;
  /** This node's attestation key (secp256k1); absent: it collects and serves but never signs. */
  key?: Uint8Array;
  retentionBlocks?: number;
};

export class Attestations {
  readonly #db: Database;
  readonly #chainId: bigint;
  readonly #state: KVReader;
  readonly #logger: Logger;
  readonly #p2p: P2P | undefined;
  readonly #key: Uint8Array | undefined;
  readonly address: Address | undefined;
  readonly #retention: bigint;
  /** Gossiped items whose subject this node has not committed yet, by "kind:subject". */
  readonly #pending = new Map<string, GossipItem[]>();
  #pendingCount = 0;
  /** Serializes commits and gossip handling, so checks and writes never interleave. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(o: AttestationsOptions) {
    this.#db = o.db;
    this.#chainId = o.chainId;
    this.#state = o.state;
    this.#logger = o.logger;
    this.#p2p = o.p2p;
    this.#key = o.key;
    this.address = o.key ? privateKeyToAddress(o.key) : undefined;
    this.#retention = BigInt(o.retentionBlocks ?? DEFAULT_ATTESTATION_RETENTION_BLOCKS);
    o.p2p?.subscribe('attestations', (data) => this.#serial(() => this.#receive(data)));
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * After a block is committed (state is that block's): records the requests it finalized and the
   * set it began, signs what this node's key is a member for, stores that, then gossips it.
   * Reads of state happen before this returns; the engine awaits it before the next block.
   */
  onCommit(height: bigint, result: BlockResult): Promise<void> {
    const events: ChainEvent[] = [
      ...result.receipts.flatMap((r) =>
        r.events.map((e) => ({
          module: e.module,
          type: e.type,
          attributes: Object.fromEntries(e.attributes.map((a) => [a.key, a.value])),
        })),
      ),
      ...result.blockEvents,
    ];
    return this.#serial(() => this.#commit(height, events));
  }

  async #commit(height: bigint, events: ChainEvent[]): Promise<void> {
    const finalized = new Set<bigint>();
    const newSets: bigint[] = [];
    for (const e of events) {
      const s = inferenceEvents.match(e, 'status');
      if (s?.status === 'finalized') finalized.add(BigInt(s.id));
      const a = stakingEvents.match(e, 'attestationSet');
      if (a) newSets.push(BigInt(a.id));
    }
    const records: AttestationRecord[] = [];
    if (finalized.size > 0) {
      const set = await getCurrentAttestationSet(this.#state);
      for (const id of finalized) {
        const req = await getInferenceRequest(this.#state, id);
        if (!set || !req) continue;
        const r = aivmResultOf({
          id,
          modelId: req.modelId,
          tier: req.tier,
          input: await getInferenceInput(this.#state, id),
          output: req.output,
        });
        records.push({
          kind: ATTEST_RESULT,
          subject: id,
          height,
          digest: aivmResultDigest(this.#chainId, r),
          modelId: r.modelId,
          tier: r.tier,
          inputHash: r.inputHash,
          outputHash: r.outputHash,
          members: [],
          signingSetId: set.id,
          signingMembers: set.members,
        });
      }
    }
    for (const id of newSets) {
      const set = await getAttestationSet(this.#state, id);
      const previous = await getAttestationSet(this.#state, id - 1n);
      if (!set || !previous) continue; // the genesis set: no set before it signs
      records.push(setRecord(this.#chainId, height, set, previous));
    }
    const ops: BatchOp[] = [];
    for (const rec of records) {
      ops.push({ type: 'put', key: recordKey(rec.kind, rec.subject), value: encode(RecordSchema, rec) });
      ops.push({ type: 'put', key: heightKey(height, rec.kind, rec.subject), value: new Uint8Array(0) });
    }
    // Sign, and keep what was signed in the same batch: written before anything is gossiped.
    const outgoing: GossipItem[] = [];
    if (this.#key && this.address) {
      for (const rec of records) {
        if (!rec.signingMembers.some((m) => same(m.signer, this.address!))) continue;
        const signature = await this.#signOnce(rec);
        if (!signature) continue;
        ops.push({
          type: 'put',
          key: ownKey(rec.kind, rec.subject),
          value: encode(OwnSchema, { digest: rec.digest, signature }),
        });
        ops.push({ type: 'put', key: sigKey(rec.kind, rec.subject, this.address), value: signature });
        outgoing.push({ kind: rec.kind, subject: rec.subject, signature });
      }
    }
    ops.push(...(await this.#pruneOps(height)));
    await this.#db.write(ops);
    for (let i = 0; i < outgoing.length; i += MAX_GOSSIP_ITEMS) {
      const batch = encode(AttestationGossipSchema, outgoing.slice(i, i + MAX_GOSSIP_ITEMS));
      void this.#p2p?.publish('attestations', batch).catch(() => undefined);
    }
    if (outgoing.length > 0)
      this.#logger.debug({ height: height.toString(), signed: outgoing.length }, 'attestations signed');
    // Signatures that arrived before this block did.
    for (const rec of records) {
      const k = `${rec.kind}:${rec.subject}`;
      const items = this.#pending.get(k);
      if (!items) continue;
      this.#pending.delete(k);
      this.#pendingCount -= items.length;
      for (const item of items) await this.#admit(item);
    }
  }

  /** The signature of `rec` by this node's key; never a second message for one subject. */
  async #signOnce(rec: AttestationRecord): Promise<Uint8Array | undefined> {
    const raw = await this.#db.get(ownKey(rec.kind, rec.subject));
    if (raw) {
      const own = decode(OwnSchema, raw);
      if (equalBytes(own.digest, rec.digest)) return own.signature;
      this.#logger.error(
        { kind: rec.kind, subject: rec.subject.toString() },
        'refusing to attest: this node already signed another message for this subject',
      );
      return undefined;
    }
    return signDigest(rec.digest, this.#key!);
  }

  /** Deletes records of blocks older than the retention window (a bounded number per block). */
  async #pruneOps(height: bigint): Promise<BatchOp[]> {
    if (height <= this.#retention) return [];
    const cutoff = height - this.#retention;
    const ops: BatchOp[] = [];
    let n = 0;
    for await (const [key] of this.#db.iterate({
      gte: P_HEIGHT,
      lt: concatBytes(P_HEIGHT, u64be(cutoff)),
      limit: MAX_PRUNE_PER_BLOCK,
    })) {
      const at = P_HEIGHT.length + 8;
      const kind = key[at]!;
      const subject = readU64be(key, at + 1);
      ops.push({ type: 'del', key });
      ops.push({ type: 'del', key: recordKey(kind, subject) });
      ops.push({ type: 'del', key: ownKey(kind, subject) });
      const prefix = sigPrefix(kind, subject);
      for await (const [sk] of this.#db.iterate({ gte: prefix, lt: prefixEnd(prefix) }))
        ops.push({ type: 'del', key: sk });
      if (++n >= MAX_PRUNE_PER_BLOCK) break;
    }
    return ops;
  }

  /** A peer's gossip: every item checked; one that can never be valid rejects the message. */
  async #receive(data: Uint8Array): Promise<Verdict> {
    let items: GossipItem[];
    try {
      items = decode(AttestationGossipSchema, data);
    } catch {
      return 'reject';
    }
    if (items.length === 0) return 'reject';
    let fresh = false;
    for (const item of items) {
      const outcome = await this.#admit(item);
      if (outcome === 'invalid') return 'reject';
      if (outcome === 'added' || outcome === 'pending') fresh = true;
    }
    return fresh ? 'accept' : 'ignore';
  }

  async #admit(item: GossipItem): Promise<'added' | 'known' | 'pending' | 'invalid'> {
    if (item.kind !== ATTEST_RESULT && item.kind !== ATTEST_VALIDATOR_SET) return 'invalid';
    const raw = await this.#db.get(recordKey(item.kind, item.subject));
    if (!raw) {
      // Not committed here yet (or long pruned): hold it until the block arrives, within bounds.
      if (this.#pendingCount >= MAX_PENDING) return 'known';
      const k = `${item.kind}:${item.subject}`;
      const list = this.#pending.get(k) ?? [];
      if (list.length >= 1_000) return 'known';
      list.push(item);
      this.#pending.set(k, list);
      this.#pendingCount++;
      return 'pending';
    }
    const rec = decode(RecordSchema, raw);
    let signer: Address;
    try {
      signer = recoverAddress(rec.digest, item.signature);
    } catch {
      return 'invalid';
    }
    // A signature over another message recovers to an address outside the set.
    if (same(signer, ZERO) || !rec.signingMembers.some((m) => same(m.signer, signer))) return 'invalid';
    const key = sigKey(item.kind, item.subject, signer);
    if (await this.#db.get(key)) return 'known';
    await this.#db.write([{ type: 'put', key, value: item.signature }]);
    return 'added';
  }

  /** The attestation of a request's result, or undefined when this node has none (not finalized, pruned). */
  async result(requestId: bigint): Promise<AttestationView | undefined> {
    return this.#view(ATTEST_RESULT, requestId);
  }

  /** The attestation of set `setId` by the members of set setId - 1, or undefined. */
  async validatorSet(setId: bigint): Promise<AttestationView | undefined> {
    return this.#view(ATTEST_VALIDATOR_SET, setId);
  }

  async #view(kind: number, subject: bigint): Promise<AttestationView | undefined> {
    const raw = await this.#db.get(recordKey(kind, subject));
    if (!raw) return undefined;
    const rec = decode(RecordSchema, raw);
    const prefix = sigPrefix(kind, subject);
    const signatures: { signer: Address; signature: Hex }[] = [];
    for await (const [key, value] of this.#db.iterate({ gte: prefix, lt: prefixEnd(prefix) }))
      signatures.push({ signer: bytesToAddress(key.subarray(prefix.length)), signature: bytesToHex(value) });
    // Keys sort by address bytes: ascending signers.
    let totalPower = 0n;
    let signedPower = 0n;
    for (const m of rec.signingMembers) {
      totalPower += m.power;
      if (!same(m.signer, ZERO) && signatures.some((s) => same(s.signer, m.signer))) signedPower += m.power;
    }
    const domain = { name: 'AIVM', version: '1', chainId: this.#chainId };
    const common = {
      domain,
      digest: bytesToHex(rec.digest),
      height: rec.height,
      setId: rec.signingSetId,
      signatures,
      signedPower,
      totalPower,
    };
    if (kind === ATTEST_RESULT)
      return {
        kind: 'AivmResult',
        message: {
          requestId: subject.toString(),
          modelId: bytesToHex(rec.modelId),
          tier: rec.tier,
          inputHash: bytesToHex(rec.inputHash),
          outputHash: bytesToHex(rec.outputHash),
        },
        ...common,
      };
    return {
      kind: 'AivmValidatorSet',
      message: { setId: subject.toString(), membersHash: bytesToHex(attestationMembersHash(rec.members)) },
      members: rec.members.map((m) => ({ signer: m.signer, power: m.power })),
      ...common,
    };
  }

  /** Waits for the commits and gossip handled so far (tests, shutdown). */
  async idle(): Promise<void> {
    await this.#serial(async () => undefined);
  }
}

function setRecord(
  chainId: bigint,
  height: bigint,
  set: AttestationSet,
  previous: AttestationSet,
): AttestationRecord {
  const membersHash = attestationMembersHash(set.members);
  const z = new Uint8Array(32);
  return {
    kind: ATTEST_VALIDATOR_SET,
    subject: set.id,
    height,
    digest: aivmValidatorSetDigest(chainId, { setId: set.id, membersHash }),
    modelId: z,
    tier: 0,
    inputHash: z,
    outputHash: z,
    members: set.members,
    signingSetId: previous.id,
    signingMembers: previous.members,
  };
}
