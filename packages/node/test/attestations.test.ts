// Attestations on a real single-validator node (docs/evm.md): an on-chain inference is finalized in
// its own block and the node signs its AivmResult with its attestation key; aivm_getAttestations
// answers the message, digest and signature (the signer recovers, it holds all the power). Gossip
// of other signers is checked item by item (a second Attestations over the node's database with a
// stand-in p2p): garbage and non-members are rejected, a member's signature kept once, one for a
// request not yet committed held until its block. A restarted node keeps what it signed.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  aivmResultDigest,
  getInferenceInput,
  getInferenceRequest,
  modelIdToBytes32,
  WEI_PER_CGPT,
} from '@aivm/chain';
import { encode } from '@aivm/codec';
import {
  bytesToHex,
  ed25519GenerateKey,
  hexToBytes,
  keccak256,
  privateKeyToAddress,
  recoverAddress,
  sha256,
  signDigest,
} from '@aivm/crypto';
import type { P2P, Verdict } from '@aivm/p2p';
import { encodeArtifact, importOnnx, quantize } from '@aivm/runtime';
import { AivmClient, publishModel, requestInference, TIERS, Wallet } from '@aivm/sdk';
import { tanhSigmoidCalibration, tanhSigmoidOnnx } from '../../cli/test/tiny-models.ts';
import {
  AivmNode,
  AttestationGossipSchema,
  Attestations,
  buildGenesis,
  createLogger,
  DEFAULT_SELF_STAKE_WEI,
} from '../src/index.ts';
import { RPC_METHOD_INDEX } from '../src/rpc/methods.ts';

const key = (name: string) => sha256(new TextEncoder().encode(`attestations test ${name}`));
const OWNER = key('owner');
const REQUESTER = key('requester');
const ATTESTATION = key('attestation');
const CHAIN_ID = 7n;

type Signature = { signer: string; signature: string };
type Answer = {
  kind: string;
  message: { requestId: string; modelId: string; tier: number; inputHash: string; outputHash: string };
  digest: string;
  height: string;
  setId: string;
  signatures: Signature[];
  signedPower: string;
  totalPower: string;
};

let home: string;
let node: AivmNode;
let client: AivmClient;
let modelId: string;
const validator = ed25519GenerateKey();

let nextId = 1;
async function rpc(method: string, params: unknown): Promise<unknown> {
  const res = await fetch(node.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
  assert.equal(body.error, undefined, JSON.stringify(body.error));
  const check = RPC_METHOD_INDEX.get(method)!.result.schema.safeParse(body.result);
  assert.ok(check.success, `result does not match its schema: ${check.error?.message}`);
  return body.result;
}

function genesis() {
  return buildGenesis({
    chainId: CHAIN_ID,
    genesisTimeMs: 1_700_000_000_000,
    validators: [
      {
        operator: privateKeyToAddress(key('validator')),
        consensusPubKey: validator.publicKey,
        selfStakeWei: DEFAULT_SELF_STAKE_WEI,
        attestationKey: privateKeyToAddress(ATTESTATION),
      },
    ],
    balances: [OWNER, REQUESTER].map((k) => ({
      address: privateKeyToAddress(k),
      amountWei: 1000n * WEI_PER_CGPT,
    })),
  });
}

async function start(): Promise<void> {
  node = await AivmNode.start({
    home: join(home, 'node'),
    genesis: genesis(),
    validatorKey: validator.secretKey,
    attestationKey: ATTESTATION,
    rpc: { host: '127.0.0.1', port: 0 },
    blockIntervalMs: 100,
    emptyBlocks: true,
    logger: createLogger('silent'),
  });
  client = new AivmClient(node.rpcUrl, { timeoutMs: 10_000 });
}

/** A finalized on-chain request's id. */
async function infer(): Promise<bigint> {
  const sent = await requestInference(Wallet.fromPrivateKey(REQUESTER, client), {
    modelId,
    tier: 'onchain',
    input: [[0.1, 0.2, 0.3, 0.4, -0.5, 0.6, 0.7, 0.8]],
  });
  return sent.requestId;
}

async function attestation(requestId: bigint): Promise<Answer | null> {
  // Attestations are written in the commit callback; poll briefly for the block after.
  for (let i = 0; i < 100; i++) {
    const a = (await rpc('aivm_getAttestations', { requestId: requestId.toString() })) as Answer | null;
    if (a && a.signatures.length > 0) return a;
    await new Promise((r) => setTimeout(r, 50));
  }
  return (await rpc('aivm_getAttestations', { requestId: requestId.toString() })) as Answer | null;
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'aivm-attestations-'));
  await start();
  const model = quantize(importOnnx(tanhSigmoidOnnx()), [
    { x: { dtype: 'float32', shape: [64, 8], data: Float32Array.from(tanhSigmoidCalibration(64).flat()) } },
  ]);
  modelId = (
    await publishModel(Wallet.fromPrivateKey(OWNER, client), {
      artifact: encodeArtifact(model),
      name: 'tanh-sigmoid',
      inputSchema: '[1,8]',
      outputSchema: '[1,3]',
      priceWei: WEI_PER_CGPT / 100n,
      tiers: TIERS.onchain,
      skipBlobUpload: true,
      timeoutMs: 30_000,
    })
  ).id;
});

after(async () => {
  client.close();
  await node.close();
  await rm(home, { recursive: true, force: true });
});

describe('attestations on a node', { timeout: 120_000 }, () => {
  let requestId: bigint;
  let answer: Answer;

  it('signs the AivmResult of a finalized request; aivm_getAttestations answers it', async () => {
    requestId = await infer();
    answer = (await attestation(requestId))!;
    const req = (await getInferenceRequest(node.store.state, requestId))!;
    const input = await getInferenceInput(node.store.state, requestId);
    assert.equal(req.status, 'finalized');
    const fields = {
      requestId,
      modelId: modelIdToBytes32(modelId),
      tier: TIERS.onchain,
      inputHash: keccak256(input),
      outputHash: keccak256(req.output),
    };
    assert.deepEqual(answer.message, {
      requestId: requestId.toString(),
      modelId: bytesToHex(fields.modelId),
      tier: 1,
      inputHash: bytesToHex(fields.inputHash),
      outputHash: bytesToHex(fields.outputHash),
    });
    assert.equal(answer.kind, 'AivmResult');
    assert.equal(answer.digest, bytesToHex(aivmResultDigest(CHAIN_ID, fields)));
    assert.equal(answer.setId, '1');
    assert.equal(answer.signatures.length, 1);
    const [sig] = answer.signatures as [Signature];
    assert.equal(sig.signer, privateKeyToAddress(ATTESTATION));
    assert.equal(recoverAddress(hexToBytes(answer.digest), hexToBytes(sig.signature)), sig.signer);
    assert.equal(answer.signedPower, answer.totalPower);
    assert.equal(answer.totalPower, (DEFAULT_SELF_STAKE_WEI / WEI_PER_CGPT).toString());
    assert.equal(await rpc('aivm_getAttestations', { requestId: '999999' }), null);
    assert.equal(await rpc('aivm_getValidatorSetAttestation', { setId: '1' }), null); // genesis set
  });

  it('checks gossip: garbage and non-members rejected, a member kept once, an early one held', async () => {
    let handler: ((data: Uint8Array) => Verdict | Promise<Verdict>) | undefined;
    const published: Uint8Array[] = [];
    const p2p = {
      subscribe: (_t: string, h: typeof handler) => {
        handler = h;
      },
      publish: async (_t: string, data: Uint8Array) => {
        published.push(data);
      },
    } as unknown as P2P;
    const other = new Attestations({
      db: node.store.db,
      chainId: CHAIN_ID,
      state: node.store.state,
      logger: createLogger('silent'),
      p2p,
    });
    const gossip = (items: { kind: number; subject: bigint; signature: Uint8Array }[]) =>
      handler!(encode(AttestationGossipSchema, items));
    assert.equal(await handler!(new Uint8Array([1, 2, 3])), 'reject');
    assert.equal(await gossip([]), 'reject');
    const digest = hexToBytes(answer.digest);
    // A signer outside the set.
    assert.equal(
      await gossip([{ kind: 1, subject: requestId, signature: signDigest(digest, key('stranger')) }]),
      'reject',
    );
    // The member's signature over another message recovers to someone else.
    const wrong = signDigest(keccak256(digest), ATTESTATION);
    assert.equal(await gossip([{ kind: 1, subject: requestId, signature: wrong }]), 'reject');
    assert.equal(await gossip([{ kind: 3, subject: requestId, signature: wrong }]), 'reject');
    assert.equal(await gossip([{ kind: 1, subject: requestId, signature: new Uint8Array(65) }]), 'reject');
    // The member's real signature: already held (its own).
    const good = hexToBytes(answer.signatures[0]!.signature);
    assert.equal(await gossip([{ kind: 1, subject: requestId, signature: good }]), 'ignore');
    // A request this node has not finalized yet: held, then checked when its block commits.
    const next = requestId + 1n;
    assert.equal(await gossip([{ kind: 1, subject: next, signature: good }]), 'accept');
    assert.equal(other.address, undefined);
    assert.equal(published.length, 0, 'a node without a key publishes nothing');
  });

  it('a restarted node serves what it collected and does not sign again', async () => {
    client.close();
    await node.close();
    await start();
    const again = (await attestation(requestId))!;
    assert.deepEqual(again, answer);
    const second = await infer();
    const b = (await attestation(second))!;
    assert.equal(b.signatures.length, 1);
    assert.equal(BigInt(b.height) > BigInt(answer.height), true);
  });
});
