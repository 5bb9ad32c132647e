// aivm infer: request a verifiable inference of a published model and follow it to its final
// result, with the proof (verified locally for zk) and the fee breakdown.

import { type Hex, bytesToHex as toHex } from '@aivm/crypto';
import { execute } from '@aivm/node';
import { InputError, type QuantModel, quantizeInput } from '@aivm/runtime';
import {
  type AivmClient,
  ArtifactUnavailableError,
  getModelArtifact,
  getModelVerificationKey,
  getRequest,
  getZkProof,
  InferenceRequestRefused,
  type ModelInfo,
  priceFloorWei,
  type ReadOutput,
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
import { publishedModel, readInputs } from './model.ts';

/** The model's artifact (the SDK's getModelArtifact: blob store, else chain state with proofs). */
export async function fetchArtifact(client: AivmClient, model: ModelInfo): Promise<QuantModel> {
  try {
    return (await getModelArtifact(client, model)).model;
  } catch (err) {
    if (err instanceof ArtifactUnavailableError) throw new UsageError(err.message);
    throw err;
  }
}

/** Up to 12 numbers as short decimals, then how many more. */
function shortList(xs: number[]): string {
  const head = xs.slice(0, 12).map((x) => String(Number(x.toPrecision(4))));
  return `[${head.join(', ')}${xs.length > 12 ? `, … ${xs.length - 12} more` : ''}]`;
}

/** A result in the model's units for people: values, class, probabilities when the model makes them. */
export function resultLines(r: ReadOutput): string[] {
  const unit = r.kind === 'index' ? 'index output' : `int32 x scale ${Number(r.scale.toPrecision(6))}`;
  const p = r.probabilities;
  return [
    `values  ${shortList(r.values)}  (${unit})`,
    ...(p
      ? [`class   ${r.argmax} (probability ${Number(p[r.argmax]!.toPrecision(4))}, ${r.activation} output)`]
      : [`class   ${r.argmax} (argmax of the scores; the model ends in no softmax or sigmoid)`]),
  ];
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
        const model = await publishedModel(client, id);
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
          input = quantizeInput(qm, float.data);
        } catch (err) {
          if (err instanceof InputError) throw new UsageError(`${opts.input}: ${err.message}`);
          throw err;
        }
        // The optimistic tier pays a computed result only after its challenge window: say how long.
        const windowBlocks =
          tier === TIERS.optimistic
            ? BigInt(
                String(
                  ((await client.query('inference/params')) as { challengeWindowBlocks?: unknown })
                    .challengeWindowBlocks ?? 0,
                ),
              )
            : 0n;
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
        const transitions: { status: string; reason: string; ms: number; height?: string }[] = [];
        let countdown: ReturnType<typeof setInterval> | undefined;
        const stopCountdown = () => {
          if (countdown) clearInterval(countdown);
          countdown = undefined;
        };
        const startCountdown = async () => {
          stopCountdown();
          const req = await getRequest(client, sent.requestId).catch(() => undefined);
          let computedAt = 0n;
          // The latest computed slot's window ends last; bigints, so no Math.max.
          for (const sl of req?.slots ?? []) if (sl.computedAt > computedAt) computedAt = sl.computedAt;
          if (computedAt === 0n) return;
          const end = computedAt + windowBlocks;
          log(
            `           challenge window: ${windowBlocks} blocks (challengeWindowBlocks), from block ${computedAt} to ${end}; anyone may challenge the result until then`,
          );
          const tick = async () => {
            const h = (await client.status().catch(() => undefined))?.height;
            if (h !== undefined && countdown)
              status.update(`challenge window: ${end > h ? end - h : 0n} blocks left (ends at block ${end})`);
          };
          countdown = setInterval(() => void tick(), 500);
          await tick();
        };
        let done: Awaited<ReturnType<typeof waitForRequest>>;
        try {
          done = await waitForRequest(client, sent.requestId, {
            timeoutMs,
            record: sent.record,
            onStatus: (c) => {
              transitions.push({
                status: c.status,
                reason: c.reason,
                ms: Date.now() - t0,
                ...(c.height !== undefined ? { height: c.height.toString() } : {}),
              });
              log(
                `  ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${c.height !== undefined ? `block ${c.height}`.padEnd(12) : ''.padEnd(12)}${c.status.padEnd(10)} ${c.reason}`,
              );
              status.update(`waiting: ${c.status}`);
              if (c.status === 'computed' && tier === TIERS.optimistic) void startCountdown();
              else stopCountdown();
            },
          });
        } finally {
          stopCountdown();
        }
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
          // In the model's units; `output` (int32, what the chain stores and proofs are about) and
          // `scale` kept alongside for verification: values[i] = output[i] * scale.
          values: done.result?.values ?? null,
          ...(done.result?.probabilities ? { probabilities: done.result.probabilities } : {}),
          output: finalized ? res.outputInts : final.outputInts,
          scale: done.result?.scale ?? null,
          outputKind: done.result ? done.result.activation : null,
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
          ...(tier === TIERS.optimistic ? { challengeWindowBlocks: windowBlocks } : {}),
          transitions,
          ms: Date.now() - t0,
        };
        print(g, result, () =>
          [
            `request ${result.requestId}: ${final.status}${final.reason ? ` (${final.reason})` : ''}`,
            ...(finalized
              ? [
                  ...(res.slots > 1 ? [`slots   ${paid}; output of slot ${res.slot}`] : []),
                  ...(done.result ? resultLines(done.result) : []),
                  `output  ${shortList(res.outputInts)}  (int32, as stored on chain)`,
                  `        ${result.matchesLocalRun ? 'matches a local run of the model' : `differs from a local run of the model (class ${local.cls})`}`,
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
