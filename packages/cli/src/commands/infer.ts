// aivm infer: request a verifiable inference of a published model and follow it to its final
// result, with the proof (verified locally for zk) and the fee breakdown.

import { type Hex, bytesToHex as toHex } from '@aivm/crypto';
import { execute, quantizeInput } from '@aivm/node';
import { decodeArtifact, modelId, type QuantModel } from '@aivm/runtime';
import {
  type AivmClient,
  getModel,
  getModelPart,
  getModelVerificationKey,
  getZkProof,
  InferenceRequestRefused,
  type ModelInfo,
  priceFloorWei,
  requestInference,
  requestResult,
  TIERS,
  type TierName,
  verifyZkResult,
  waitForRequest,
} from '@aivm/sdk';
import type { Command } from 'commander';
import { cgptArg, globals, intArg } from '../args.ts';
import { UsageError } from '../home.ts';
import { formatCgpt, print } from '../output.ts';
import { StatusLine } from '../progress.ts';
import { rpcClient, signerWallet, withSigner } from '../signer.ts';
import { readInputs } from './model.ts';

/**
 * The model's artifact: from the node's blob store over RPC, else (models with an on-chain tier)
 * from chain state with proofs; checked against the id either way.
 */
export async function fetchArtifact(client: AivmClient, model: ModelInfo): Promise<QuantModel> {
  const id = model.id;
  let bytes: Uint8Array | null = null;
  let why = 'the node does not hold it';
  try {
    bytes = await client.getBlob(id);
  } catch (err) {
    why = (err as Error).message;
  }
  if (!bytes && model.tiers & (TIERS.onchain | TIERS.optimistic))
    bytes = await getModelPart(client, id, 0, model.artifactSize);
  if (!bytes) throw new UsageError(`cannot fetch the artifact of model ${id}: ${why}`);
  if (modelId(bytes) !== id) throw new UsageError(`the artifact fetched for ${id} does not match its id`);
  return decodeArtifact(bytes);
}

function feeLines(r: { fees: Record<string, bigint> }): string[] {
  const f = r.fees;
  return [
    'fees',
    `  model owner  ${formatCgpt(f.ownerWei ?? 0n)} CGPT`,
    `  provider     ${formatCgpt(f.providerWei ?? 0n)} CGPT`,
    `  reviewers    ${formatCgpt(f.reviewersWei ?? 0n)} CGPT`,
    `  protocol     ${formatCgpt(f.protocolWei ?? 0n)} CGPT`,
    `  refunded     ${formatCgpt(f.refundWei ?? 0n)} CGPT`,
  ];
}

export function registerInferCommand(program: Command): void {
  withSigner(
    program
      .command('infer <modelId>')
      .description('request a verifiable inference and wait for the final result, its proof and fees'),
  )
    .requiredOption(
      '--input <file>',
      'input tensor, .npy or JSON (float; quantized with the model input scale)',
    )
    .option('--tier <tier>', 'onchain | zk | optimistic', 'zk')
    .option('--max-fee <CGPT>', 'most to pay (default: price x redundancy)')
    .option('--redundancy <n>', 'independent providers (zk and optimistic)', '1')
    .option('--timeout <s>', 'give up waiting after this many seconds', '600')
    .action(async (id: string, opts, cmd: Command) => {
      const g = globals(cmd);
      const tierName = opts.tier as TierName;
      if (!(tierName in TIERS)) throw new UsageError('--tier must be onchain, zk or optimistic');
      const tier = TIERS[tierName];
      const redundancy = intArg(opts.redundancy, '--redundancy', 1, 16);
      const client = rpcClient(cmd);
      const status = new StatusLine(!g.json);
      const log = (line: string) => {
        if (!g.json) {
          status.update('');
          process.stderr.write(`\r\x1b[2K${line}\n`);
        }
      };
      try {
        let model: ModelInfo;
        try {
          model = await getModel(client, id);
        } catch (err) {
          throw new UsageError(`model ${id}: ${(err as Error).message}`);
        }
        if ((model.tiers & tier) === 0)
          throw new UsageError(
            `model ${id} does not offer the ${tierName} tier (it offers ${model.tierNames.join(', ')})`,
          );
        if (tier !== TIERS.onchain) {
          // The chain refuses zk and optimistic requests for a model priced below its tier's floor.
          const floorWei = await priceFloorWei(client, model, tier);
          if (model.priceWei < floorWei)
            throw new UsageError(
              `model ${id} is priced ${formatCgpt(model.priceWei)} CGPT (${model.priceWei} wei), below the chain's floor of ` +
                `${formatCgpt(floorWei)} CGPT (${floorWei} wei) for the ${tierName} tier ` +
                '(minPriceWei, or the declared constraints or gas estimate times their price; see docs/inference.md)',
            );
        }
        status.update('fetching the model artifact');
        const qm = await fetchArtifact(client, model);
        const inputs = await readInputs(opts.input, qm.inputs);
        const float = inputs[qm.inputs[0]!]!;
        let input: Uint8Array;
        try {
          input = quantizeInput(qm, float.data as Float32Array);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        const local = execute(qm, input);
        const wallet = await signerWallet(cmd, opts, client);
        const maxFeeWei =
          opts.maxFee !== undefined ? cgptArg(opts.maxFee, '--max-fee') : model.priceWei * BigInt(redundancy);
        status.update('sending the request');
        const t0 = Date.now();
        let sent: Awaited<ReturnType<typeof requestInference>>;
        try {
          sent = await requestInference(wallet, { modelId: id, tier, input, maxFeeWei, redundancy });
        } catch (err) {
          // The chain's refusal text as is (e.g. redundancy above the eligible providers).
          if (err instanceof InferenceRequestRefused) throw new UsageError(err.message);
          throw err;
        }
        log(`request ${sent.requestId} (${tierName}) in block ${sent.record.height}, tx ${sent.txHash}`);
        const timeoutMs = intArg(opts.timeout, '--timeout', 1, 86_400) * 1000;
        const transitions: { status: string; reason: string; ms: number }[] = [];
        const done = await waitForRequest(client, sent.requestId, {
          timeoutMs,
          onStatus: (c) => {
            transitions.push({ status: c.status, reason: c.reason, ms: Date.now() - t0 });
            log(
              `  ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${c.status.padEnd(10)} ${c.reason}`,
            );
            status.update(`waiting: ${c.status}`);
          },
        });
        let proof: { proof: Uint8Array; txHash: Hex } | undefined;
        let verified: boolean | undefined;
        // A finalized request may be partial (k of r slots paid): its result is the first PAID slot's.
        // `done` is the request as read once it was finalized or failed: nothing changes after that.
        const final = done;
        const res = requestResult(final);
        const paidSlot = res.slot;
        if (tier === TIERS.zk && done.status === 'finalized' && paidSlot >= 0) {
          const p = await getZkProof(client, done, paidSlot);
          if (p) {
            proof = p;
            status.update('verifying the proof locally');
            const vk = await getModelVerificationKey(client, model);
            verified = await verifyZkResult({
              proof: p.proof,
              output: done.slots[paidSlot]!.output,
              input,
              vk,
              zkInputs: model.zkInputs,
              ...(model.zkWeights === 'private' ? { weightCommitment: model.weightCommitment } : {}),
            });
            const { releaseCurve } = await import('@aivm/zk/verify');
            await releaseCurve();
          }
        }
        status.done();
        const finalized = final.status === 'finalized' && res.slot >= 0;
        const paid = `${res.paid} of ${res.slots} slots paid`;
        const result = {
          requestId: sent.requestId,
          modelId: id,
          tier: tierName,
          status: final.status,
          reason: final.reason,
          output: finalized ? res.values : final.values,
          class: finalized ? res.cls : final.cls,
          paidSlot: res.slot,
          slotsPaid: res.paid,
          slots: res.slots,
          localClass: local.cls,
          matchesLocalRun: finalized ? toHex(res.output) === toHex(local.output) : undefined,
          proof: proof
            ? { points: toHex(proof.proof), tx: proof.txHash, verifiedLocally: verified }
            : undefined,
          fees: final.fees,
          maxFeeWei,
          providers: final.slots.map((s) => s.provider),
          transitions,
          ms: Date.now() - t0,
        };
        print(g, result, () =>
          [
            `request ${result.requestId}: ${final.status}${final.reason ? ` (${final.reason})` : ''}`,
            ...(finalized
              ? [
                  ...(res.slots > 1 ? [`slots   ${paid}; output of slot ${res.slot}`] : []),
                  `output  [${res.values.join(', ')}]`,
                  `class   ${res.cls}${result.matchesLocalRun ? ' (matches a local run of the model)' : ` (local run: ${local.cls})`}`,
                ]
              : []),
            ...(proof
              ? [
                  `proof   ${toHex(proof.proof)}`,
                  `        ${verified ? 'VALID: verified locally against the model verification key' : 'INVALID against the model verification key'}`,
                ]
              : []),
            ...(tier !== TIERS.onchain ? [`provider ${final.slots.map((s) => s.provider).join(', ')}`] : []),
            ...feeLines(final),
            `took ${(result.ms / 1000).toFixed(1)} s`,
          ].join('\n'),
        );
        if (!finalized || verified === false) process.exitCode = 2;
      } finally {
        status.done();
        client.close();
      }
    });
}
