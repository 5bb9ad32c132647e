// npm run demo:evm [-- --json]: AIVM for EVM chains in one command, with real processes: anvil
// (1 s blocks), an AIVM devnet with its inference provider, `aivm evm deploy` (light client,
// oracle, the MNIST model's verifier and registration) and an `aivm relayer`. Two DigitGame
// consumers, one on the zk tier and one on the on-chain tier, each get a real MNIST test digit
// (packages/cli/assets/mnist-digit-7.json); each request is followed across both chains and its
// result printed with its status history. Exits 0 only when both were delivered and verified on
// the EVM side (the zk proof by the model's verifier contract, and again locally; the on-chain
// tier's result by the light client's check of the validators' attestation).

import { join } from 'node:path';
import { DigitGame, verifyDeliveredProof, type WatchStep, watchRequest } from '@aivm/evm';
import { parseEventLogs } from 'viem';
import {
  deployDigitGame,
  playDigit,
  type RelayerProc,
  startEvmStack,
  startRelayer,
} from '../packages/cli/test/evm-helpers.ts';

const json = process.argv.includes('--json');
const say = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

type TierRun = {
  tier: 'zk' | 'onchain';
  game: string;
  requestId: string;
  target: number;
  classified?: number;
  won?: boolean;
  delivered: boolean;
  path?: string;
  deliveryTx?: string;
  verified: boolean;
  verifiedBy?: string;
  error?: string;
  history: (WatchStep & { atS: number })[];
};

async function main(): Promise<number> {
  const t0 = Date.now();
  say('starting anvil (1 s blocks) and an AIVM devnet with its provider...');
  const s = await startEvmStack({ blockTime: 1 });
  let relayer: RelayerProc | undefined;
  const runs: TierRun[] = [];
  try {
    say(`anvil ${s.anvil.url}, devnet ${s.devnet.rpcUrl}, model ${s.mnist}`);
    say(`deployed: oracle ${s.deployment.oracle}, light client ${s.deployment.lightClient}`);
    say(
      `          MNIST verifier ${s.deployment.models[0]?.verifier} (tiers ${s.deployment.models[0]?.tiers})`,
    );
    relayer = startRelayer(s, join(s.dir, 'relayer'), { evmAccount: 1, aivmAccount: 1, confirmations: 2 });
    await relayer.waitFor((l) => l.event === 'started', 'the relayer to start', 60_000);
    say('relayer started (EVM dev account 1, AIVM dev account 1, 2 confirmations)');
    const games = { zk: await deployDigitGame(s, 2), onchain: await deployDigitGame(s, 1) };
    await Promise.all(
      (['zk', 'onchain'] as const).map(async (tier) => {
        const game = games[tier];
        const play = await playDigit(s, game, s.digit7, tier === 'zk' ? 2 : 3);
        const start = Date.now();
        const run: TierRun = {
          tier,
          game,
          requestId: play.id.toString(),
          target: play.target,
          delivered: false,
          verified: false,
          history: [],
        };
        runs.push(run);
        say(
          `${tier}: DigitGame ${game} played the sample 7 (target ${play.target}): oracle request ${play.id}`,
        );
        try {
          const w = await watchRequest(s.pub, s.deployment.oracle, play.id, {
            aivm: s.aivm,
            timeoutMs: 300_000,
            onStep: (st) => {
              run.history.push({ ...st, atS: (st.atMs - start) / 1000 });
              say(
                `  ${tier} ${st.chain.padEnd(4)} ${st.status}${st.detail ? ` (${st.detail})` : ''} +${((st.atMs - start) / 1000).toFixed(1)} s`,
              );
            },
          });
          run.delivered = w.request.status === 'Fulfilled' && w.delivery !== undefined;
          run.path = w.delivery?.path;
          run.deliveryTx = w.delivery?.txHash;
          if (w.delivery) {
            const receipt = await s.pub.getTransactionReceipt({ hash: w.delivery.txHash });
            const result = parseEventLogs({ abi: DigitGame.abi, logs: receipt.logs, eventName: 'Result' })[0];
            run.classified = result ? Number(result.args.classified) : undefined;
            run.won = result?.args.won;
          }
          if (w.delivery?.path === 'zk') {
            // On the EVM side the verifier contract accepted it (fulfillZk); checked again here.
            run.verified = (
              await verifyDeliveredProof(s.pub, s.deployment.oracle, play.id, { aivm: s.aivm })
            ).valid;
            run.verifiedBy = 'Groth16 verifier contract on the EVM, and locally against the key on AIVM';
          } else if (w.delivery?.path === 'attested') {
            run.verified = true; // fulfillAttested reverts unless the light client counts > 2/3 of the power
            run.verifiedBy = "AivmLightClient: > 2/3 of the AIVM validators' power signed the result";
          }
          say(
            `${tier}: ${w.request.status} by ${w.delivery?.path ?? '-'} delivery, class ${run.classified} (${run.won ? 'won' : 'not the target'}), verified: ${run.verified}`,
          );
        } catch (err) {
          run.error = (err as Error).message.split('\n')[0];
          say(`${tier}: not delivered: ${run.error}`);
          const errs = relayer?.lines.filter((l) => l.event === 'error' || l.event === 'done') ?? [];
          if (errs.length) say(`  relayer: ${errs.map((e) => JSON.stringify(e)).join('\n  relayer: ')}`);
        }
      }),
    );
  } finally {
    await relayer?.stop();
    await s.stop();
    await (await import('@aivm/zk/verify')).releaseCurve();
  }
  const ok = runs.length === 2 && runs.every((r) => r.delivered && r.verified && r.classified === 7);
  if (json)
    process.stdout.write(
      `${JSON.stringify({ ok, seconds: (Date.now() - t0) / 1000, runs }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
    );
  else say(ok ? 'both delivered and verified on the EVM side' : 'FAILED: not both delivered and verified');
  return ok ? 0 : 1;
}

process.exitCode = await main().catch((err) => {
  process.stderr.write(`demo:evm failed: ${(err as Error).stack ?? err}\n`);
  return 1;
});
