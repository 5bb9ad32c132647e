// aivm evm deploy: the AIVM contracts on an EVM chain (docs/evm.md): the light client on the AIVM
// chain's current attestation set, the oracle on it, and for each --models id its Groth16 verifier
// (compiled from the verification key the AIVM chain stores) and its registration with its AIVM
// price; the oracle converts AIVM costs to ETH at --wei-per-cgpt plus --premium-bps.

import { AivmClient } from '@aivm/sdk';
import type { Command } from 'commander';
import { globals, intArg } from '../args.ts';
import { UsageError } from '../home.ts';
import { print } from '../output.ts';
import { StatusLine } from '../progress.ts';
import { evmKey, urlArg } from './relayer.ts';

export function registerEvmCommands(program: Command): void {
  const evm = program
    .command('evm')
    .description('AIVM for EVM chains: deploy the oracle, light client and model verifiers');
  evm
    .command('deploy')
    .description(
      "deploy AivmLightClient (on the AIVM chain's current attestation set), AivmOracle and, for each model, its zk verifier and registration; prints the addresses",
    )
    .requiredOption('--evm-rpc <url>', 'JSON-RPC endpoint of the EVM chain')
    .option(
      '--dev-account <i>',
      'deploy from dev mnemonic account i (anvil and devnets only: the keys are public)',
    )
    .option('--from-key-file <file>', 'file holding the deployer private key (0x hex)')
    .option('--aivm-rpc <url>', 'JSON-RPC endpoint of the AIVM node (default: --rpc, AIVM_RPC)')
    .option('--models <ids>', 'comma-separated AIVM model ids to register')
    .requiredOption(
      '--wei-per-cgpt <eth>',
      'the rate AIVM costs convert at: ETH per 1 CGPT, a decimal (e.g. 0.0005; 0 makes them free)',
    )
    .option('--premium-bps <bps>', "the relayer's premium on the converted AIVM cost, basis points", '0')
    .option(
      '--estimate-from <aivm-address>',
      "AIVM account the request gas is estimated from (holds the model's price; default: the model's owner)",
    )
    .option('--timeout-blocks <n>', 'blocks after which an undelivered request can be refunded', '7200')
    .action(async (opts, cmd: Command) => {
      const g = globals(cmd);
      const evmRpc = urlArg(opts.evmRpc, '--evm-rpc');
      const aivmRpc = urlArg(opts.aivmRpc ?? g.rpc, '--aivm-rpc');
      const key = await evmKey({ keyFile: opts.fromKeyFile, devAccount: opts.devAccount }, [
        '--from-key-file',
        '--dev-account',
      ]);
      const premiumBps = intArg(opts.premiumBps, '--premium-bps', 0, 65_535);
      const timeoutBlocks = intArg(opts.timeoutBlocks, '--timeout-blocks', 1, 2 ** 40 - 1);
      const models = String(opts.models ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const { connectEvm, EvmInputError, formatWeiPerCgpt, modelIdToBytes32, parseWeiPerCgpt } = await import(
        '@aivm/evm'
      );
      let weiPerCgpt: bigint;
      try {
        weiPerCgpt = parseWeiPerCgpt(String(opts.weiPerCgpt));
      } catch (err) {
        if (err instanceof EvmInputError) throw new UsageError(`--wei-per-cgpt: ${err.message}`);
        throw err;
      }
      if (weiPerCgpt >= 2n ** 96n) throw new UsageError('--wei-per-cgpt: at most 79228162514 ETH per CGPT');
      for (const m of models)
        try {
          modelIdToBytes32(m);
        } catch (err) {
          if (err instanceof EvmInputError) throw new UsageError(`--models: ${err.message}`);
          throw err;
        }
      const { deployFromAivm } = await import('@aivm/evm/node');
      const aivm = new AivmClient(aivmRpc, { timeoutMs: 60_000 });
      const status = new StatusLine(!g.json);
      try {
        const { pub, wallet } = await connectEvm(evmRpc, key);
        const d = await deployFromAivm(pub, wallet!, aivm, {
          models,
          weiPerCgpt,
          premiumBps,
          ...(opts.estimateFrom ? { estimateFrom: String(opts.estimateFrom) } : {}),
          oracle: { timeoutBlocks },
          onStep: (s) => status.update(s),
        });
        status.done();
        print(
          g,
          {
            evmChainId: d.evmChainId,
            aivmChainId: d.aivmChainId,
            attestationSetId: d.setId,
            lightClient: d.lightClient,
            oracle: d.oracle,
            weiPerCgpt,
            ethPerCgpt: formatWeiPerCgpt(weiPerCgpt),
            premiumBps,
            models: d.models.map((m) => ({
              id: m.aivmModelId,
              modelId: m.modelId,
              verifier: m.verifier,
              inputMode: m.config.inputMode === 1 ? 'committed' : 'public',
              inputLen: m.config.inputLen,
              outputLen: m.config.outputLen,
              tiers: m.config.tiers,
              aivmPriceWei: m.config.aivmPriceWei,
              aivmGasWei: m.config.aivmGasWei,
              aivmOnchainGasWei: m.config.aivmOnchainGasWei,
            })),
          },
          () =>
            [
              `light client ${d.lightClient} (AIVM chain ${d.aivmChainId}, attestation set ${d.setId})`,
              `oracle       ${d.oracle} (${formatWeiPerCgpt(weiPerCgpt)} ETH per CGPT, premium ${premiumBps} bps)`,
              ...d.models.map(
                (m) =>
                  `model ${m.aivmModelId} = ${m.modelId}, verifier ${m.verifier}, tiers ${m.config.tiers}, AIVM price ${m.config.aivmPriceWei} CGPT wei`,
              ),
            ].join('\n'),
        );
      } finally {
        status.done();
        aivm.close();
        await (await import('@aivm/zk/verify')).releaseCurve();
      }
    });
}
