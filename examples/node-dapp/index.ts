// A small Node dApp on AIVM, using only @aivm/sdk: a wallet from the dev mnemonic, a transfer and
// its receipt, publishing a tiny model for the on-chain tier, an inference on it with float input,
// a zk inference on the devnet's MNIST model and a local check of its proof. Run it against a
// devnet (`npm start` in another terminal):
//
//   npx node examples/node-dapp/index.ts [--rpc http://127.0.0.1:8545]
//
// Each step prints one line starting with its name, so that a reader (and the CI test in
// packages/cli/test/examples.test.ts) can follow it.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AivmClient,
  blobId,
  DEV_MNEMONIC,
  getModel,
  getModelVerificationKey,
  getZkProof,
  listModels,
  publishModel,
  requestInference,
  verifyZkResult,
  Wallet,
  waitForRequest,
} from '@aivm/sdk';

const CGPT = 10n ** 18n; // amounts are in wei, 10^-18 CGPT

const { values: args } = parseArgs({
  options: { rpc: { type: 'string', default: 'http://127.0.0.1:8545' } },
});
const client = new AivmClient(args.rpc!);

// 1. Wallets: accounts 0 and 1 of the public dev mnemonic that a devnet funds (m/44'/60'/0'/0/i,
// as MetaMask derives them). Everybody knows these keys: never send real funds to them.
const alice = Wallet.fromMnemonic(DEV_MNEMONIC, 0, client);
const bob = Wallet.fromMnemonic(DEV_MNEMONIC, 1, client);
const { chainId, height } = await client.status();
console.log(`connected: chain ${chainId} at height ${height}, wallet ${alice.address}`);

// 2. A transfer of 1.5 CGPT and its receipt. send returns once the node accepted the transaction;
// waitForTx waits until a block commits it.
const bobBefore = await client.getBalance(bob.address);
const hash = await alice.transfer(bob.address, (3n * CGPT) / 2n);
const tx = await client.waitForTx(hash, { timeoutMs: 30_000 });
const received = (await client.getBalance(bob.address)) - bobBefore;
console.log(
  `transfer: ${tx.receipt.success ? 'committed' : `failed (${tx.receipt.error})`} in block ${tx.height}, ` +
    `gas ${tx.receipt.gasUsed}, bob received ${received} wei`,
);

// 3. Publish a tiny model (see generate.ts): the artifact is its own id (a content hash), so the
// same bytes published twice are the same model; a second run of this script reuses it.
const artifact = new Uint8Array(await readFile(join(import.meta.dirname, 'tiny-scorer.aivm')));
let model = await getModel(client, blobId(artifact)).catch(() => undefined);
if (!model || model.status === 'expired') {
  const published = await publishModel(alice, {
    artifact,
    name: 'tiny-scorer',
    task: 'scoring',
    inputSchema: '[1,4]',
    outputSchema: '[1,2]',
    description: 'Two sigmoid scores of four features (AIVM examples/node-dapp)',
    priceWei: 0n, // the on-chain tier has no price floor: validators run it in the block
    tiers: ['onchain'],
  });
  model = published.model;
}
console.log(`publish: model ${model.id} ${model.status}, tiers ${model.tierNames.join(',')}`);

// 4. An on-chain inference with float input: the SDK quantizes it with the model's input scale
// (read once from its artifact). The chain runs it in the request's own block, so it is finalized
// when the transaction is committed; the result comes back in the model's units.
const features = [0.5, -0.25, 0.75, 0.1];
const sent = await requestInference(alice, { modelId: model.id, tier: 'onchain', input: features });
const done = await waitForRequest(client, sent.requestId, { record: sent.record, timeoutMs: 60_000 });
console.log(
  `onchain: request ${sent.requestId} ${done.status}, output ${JSON.stringify(done.result?.output)} ` +
    `x scale ${done.result?.scale} = values ${JSON.stringify(done.result?.values)}`,
);

// 5. A zk inference on the devnet's MNIST model: a provider proves it off chain, the chain checks
// the Groth16 proof and pays the provider. The input is a 28x28 digit as 784 floats in [0, 1].
const [mnist] = await listModels(client, { text: 'mnist' });
if (!mnist) throw new Error('no MNIST model on this chain: run it against `npm start`');
const digit = JSON.parse(await readFile(join(import.meta.dirname, 'digit-7.json'), 'utf8')) as number[][];
const zkSent = await requestInference(alice, { modelId: mnist.id, tier: 'zk', input: digit });
const zkDone = await waitForRequest(client, zkSent.requestId, {
  record: zkSent.record,
  timeoutMs: 240_000,
  onStatus: (s) =>
    console.log(`  zk request ${zkSent.requestId}: ${s.status}${s.reason ? ` (${s.reason})` : ''}`),
});
console.log(
  `zk: request ${zkSent.requestId} ${zkDone.status}, class ${zkDone.result?.argmax}, ` +
    `scores ${JSON.stringify(zkDone.result?.values.map((v) => Number(v.toFixed(3))))}`,
);

// 6. Verify the proof locally instead of trusting the node: the proof from the transaction that
// submitted it, the verification key from chain state (checked with state proofs and against the
// model's vkHash), the quantized input we sent and the output the chain recorded.
const proof = await getZkProof(client, zkDone, zkDone.result?.slot ?? 0);
if (!proof) throw new Error(`no proof found for request ${zkSent.requestId}`);
const verified = await verifyZkResult({
  proof: proof.proof,
  output: proof.output,
  input: zkSent.input,
  vk: await getModelVerificationKey(client, mnist),
  zkInputs: mnist.zkInputs,
});
console.log(`verify: proof in ${proof.txHash} ${verified ? 'verified' : 'INVALID'}`);

client.close();
// The Groth16 verifier keeps worker threads alive after verifying: exit explicitly.
process.exit(verified && done.status === 'finalized' ? 0 : 1);
