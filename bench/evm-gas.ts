// bench:evm-gas — gas of AIVM's EVM contracts on a real anvil (cancun bytecode, solc 0.8.37,
// optimizer 200 runs, viaIR): fulfillZk with real Groth16 proofs (committed input, committed
// input + private weights, public input; a 10-score digit-classifier-shaped model: the verifier's
// cost depends on the number of public signals, not on the model's size), fulfillAttested with
// 4 and 32 validators (the fewest signers holding > 2/3), requestInference. The callback is a
// consumer that returns at once (the callback's base cost). References measured in the same run:
// a plain ETH transfer and the bare verifyProof transaction on each verifier.
//
//   npm run bench:evm-gas

import { keccak256 } from '@aivm/crypto';
import { createLegacyTx } from '@ethereumjs/tx';
import { Account, type Address, createAddressFromPrivateKey } from '@ethereumjs/util';
import { createVM, runTx } from '@ethereumjs/vm';
import { type Abi, encodeFunctionData, type Hex } from 'viem';
import {
  bytes,
  deployStack,
  encodeInput,
  encodeOutput,
  hex,
  oracleAbi,
  registerModel,
  resultDigest,
  signPacked,
  startEnv,
  TestConsumer,
  validators,
} from '../packages/contracts/test/helpers.ts';
import {
  registerZkModel,
  requestZk,
  terminateCurve,
  type ZkMode,
  zkFixture,
} from '../packages/contracts/test/zk-fixture.ts';

const env = await startEnv();

/** Gas of the whole verifyProof transaction on @ethereumjs/vm (mainnet gas schedule), a cross-check of anvil's. */
async function ethereumjsVerifyGas(bytecode: Hex, data: Hex): Promise<{ gas: bigint; ok: boolean }> {
  const vm = await createVM();
  const pk = new Uint8Array(32).fill(9);
  const sender = createAddressFromPrivateKey(pk);
  await vm.stateManager.putAccount(sender, new Account(0n, 10n ** 21n));
  let nonce = 0n;
  const send = (d: Uint8Array, to?: Address) =>
    runTx(vm, {
      tx: createLegacyTx({ nonce: nonce++, gasPrice: 10n ** 9n, gasLimit: 30_000_000n, to, data: d }).sign(
        pk,
      ),
      skipBlockGasLimitValidation: true,
    });
  const dep = await send(bytes(bytecode));
  const r = await send(bytes(data), dep.createdAddress as Address);
  const ret = r.execResult.returnValue;
  return { gas: r.totalGasSpent, ok: ret.length === 32 && ret[31] === 1 };
}
type Row = { what: string; gas: bigint; goal?: bigint; ref?: { name: string; gas: bigint } };
const rows: Row[] = [];
const CALLBACK_GAS = 50_000;
const NOOP = 3;

try {
  const transfer = await env.pub.waitForTransactionReceipt({
    hash: await env.wallets[0]!.sendTransaction({
      to: env.addresses[5] ?? env.addresses[1]!,
      value: 1n,
      account: env.wallets[0]!.account!,
      chain: env.chain,
    }),
  });
  const ethTransfer = { name: 'ETH transfer', gas: transfer.gasUsed };

  // ---- zk path
  const zkCases: { name: string; mode: ZkMode; goal?: bigint }[] = [
    { name: 'committed input', mode: { inputs: 'committed' }, goal: 350_000n },
    {
      name: 'committed input, private weights',
      mode: { inputs: 'committed', weights: 'private' },
      goal: 350_000n,
    },
    { name: 'public input (8 values)', mode: { inputs: 'public' } },
  ];
  {
    const { oracle, consumer } = await deployStack(env, validators(4, 'bench-zk'));
    await env.write({ address: consumer, abi: TestConsumer.abi, functionName: 'setMode', args: [NOOP] });
    let n = 0;
    for (const c of zkCases) {
      const z = await zkFixture(c.mode);
      const modelId: Hex = `0x${(++n).toString(16).padStart(64, '0')}`;
      const verifier = await registerZkModel(env, oracle, modelId, z);
      const gasOf: bigint[] = [];
      let bare = 0n;
      let lastVerifyData: Hex = '0x';
      for (let k = 0; k < 3; k++) {
        const p = await z.prove(10 + k);
        const input = encodeInput(p.input);
        const id = await requestZk(env, { oracle, consumer }, modelId, z, p, CALLBACK_GAS, 'ipfs://x');
        const r = await env.write(
          {
            address: oracle,
            abi: oracleAbi,
            functionName: 'fulfillZk',
            args: [id, encodeOutput(p.output), p.proof, c.mode.inputs === 'public' ? input : '0x'],
          },
          2,
        );
        gasOf.push(r.gasUsed);
        // The bare verifier transaction with the same proof (snarkjs calldata order).
        const pr = p.artifact.proof;
        const data = encodeFunctionData({
          abi: z.verifier.abi as Abi,
          functionName: 'verifyProof',
          args: [
            [BigInt(pr.pi_a[0]!), BigInt(pr.pi_a[1]!)],
            [
              [BigInt(pr.pi_b[0]![1]!), BigInt(pr.pi_b[0]![0]!)],
              [BigInt(pr.pi_b[1]![1]!), BigInt(pr.pi_b[1]![0]!)],
            ],
            [BigInt(pr.pi_c[0]!), BigInt(pr.pi_c[1]!)],
            p.artifact.publicSignals.map(BigInt),
          ] as never,
        });
        lastVerifyData = data;
        const h = await env.wallets[3]!.sendTransaction({
          to: verifier,
          gas: 1_000_000n, // explicit: snarkjs' verifier returns false (no revert) when a precompile runs out of gas, so an estimate finds a cheap failing run
          data,
          account: env.wallets[3]!.account!,
          chain: env.chain,
        });
        bare = (await env.pub.waitForTransactionReceipt({ hash: h })).gasUsed;
      }
      const gas = gasOf.sort()[1] as bigint;
      // Cross-check: the same verify transaction on @ethereumjs/vm (mainnet gas schedule).
      const ej = await ethereumjsVerifyGas(z.verifier.bytecode, lastVerifyData);
      if (!ej.ok) throw new Error('@ethereumjs/vm refused the honest proof');
      if (ej.gas !== bare) throw new Error(`verify gas differs: anvil ${bare}, @ethereumjs/vm ${ej.gas}`);
      rows.push({
        what: `fulfillZk, ${c.name} (${z.nPublic} public signals)`,
        gas,
        goal: c.goal,
        ref: { name: 'bare verifyProof tx', gas: bare },
      });
    }
  }

  // ---- attestation path
  for (const size of [4, 32]) {
    const set = validators(size, `bench-${size}`);
    const { oracle, consumer } = await deployStack(env, set);
    await env.write({ address: consumer, abi: TestConsumer.abi, functionName: 'setMode', args: [NOOP] });
    const modelId: Hex = `0x${'ee'.repeat(32)}`;
    await registerModel(env, oracle, modelId, {
      tiers: 1,
      aivmPriceWei: 10n ** 18n,
      aivmGasWei: 0n,
      aivmOnchainGasWei: 0n,
    });
    const signers = Math.floor((2 * size) / 3) + 1; // equal powers: the fewest with > 2/3
    const gasOf: bigint[] = [];
    for (let k = 0; k < 3; k++) {
      const input = encodeInput([k, 1, 2, 3, 4, 5, 6, 7]);
      const q = await env.read<bigint>({
        address: oracle,
        abi: oracleAbi,
        functionName: 'quote',
        args: [modelId, 1, CALLBACK_GAS],
      });
      const req = await env.write({
        address: consumer,
        abi: TestConsumer.abi,
        functionName: 'request',
        args: [modelId, input, 1, CALLBACK_GAS, '0x'],
        value: q,
      });
      if (size === 4 && k === 2)
        rows.push({
          what: 'requestInference (8-byte input, via a consumer)',
          gas: req.gasUsed,
          ref: ethTransfer,
        });
      const id =
        (await env.read<bigint>({ address: oracle, abi: oracleAbi, functionName: 'nextRequestId' })) - 1n;
      const output = encodeOutput([1, 2, 3, 4, 5, 6, 7, 8, 9, 10 + k]);
      const digest = resultDigest({
        requestId: id,
        modelId,
        tier: 1,
        inputHash: hex(keccak256(bytes(input))),
        outputHash: hex(keccak256(bytes(output))),
      });
      const r = await env.write(
        {
          address: oracle,
          abi: oracleAbi,
          functionName: 'fulfillAttested',
          args: [id, id, output, signPacked(digest, set.slice(0, signers))],
        },
        2,
      );
      gasOf.push(r.gasUsed);
    }
    rows.push({
      what: `fulfillAttested, ${size} validators (${signers} signatures)`,
      gas: gasOf.sort()[1] as bigint,
      goal: size === 4 ? 150_000n : 400_000n,
      ref: ethTransfer,
    });
    if (size === 4) {
      // requestInference from an EOA with an MNIST-sized input (784 bytes) and a committed request.
      await registerModel(env, oracle, `0x${'ef'.repeat(32)}`, {
        inputLen: 784,
        tiers: 1,
        aivmPriceWei: 10n ** 18n,
        aivmGasWei: 0n,
        aivmOnchainGasWei: 0n,
      });
      const q = await env.read<bigint>({
        address: oracle,
        abi: oracleAbi,
        functionName: 'quote',
        args: [`0x${'ef'.repeat(32)}`, 1, CALLBACK_GAS],
      });
      const big = await env.write(
        {
          address: oracle,
          abi: oracleAbi,
          functionName: 'requestInference',
          args: [`0x${'ef'.repeat(32)}`, hex(new Uint8Array(784).fill(3)), 1, CALLBACK_GAS, '0x'],
          value: q,
        },
        1,
      );
      rows.push({ what: 'requestInference (784-byte input, EOA)', gas: big.gasUsed, ref: ethTransfer });
      const c = await env.write(
        {
          address: oracle,
          abi: oracleAbi,
          functionName: 'requestInferenceCommitted',
          args: [modelId, 12345n, `0x${'aa'.repeat(32)}`, 'ipfs://bafkreiexample', 1, CALLBACK_GAS, '0x'],
          value: q,
        },
        1,
      );
      rows.push({ what: 'requestInferenceCommitted (EOA)', gas: c.gasUsed, ref: ethTransfer });
    }
  }
} finally {
  await terminateCurve();
  await env.stop();
}

const w = Math.max(...rows.map((r) => r.what.length));
console.log(
  `\nAIVM EVM gas (anvil, one transaction each; median of 3 where repeated; callback: a consumer that returns at once, limit ${CALLBACK_GAS})\n`,
);
console.log(
  `${'case'.padEnd(w)}  ${'gas'.padStart(9)}  ${'goal'.padStart(9)}  verdict  reference (same run)`,
);
for (const r of rows) {
  const verdict = r.goal === undefined ? '' : r.gas <= r.goal ? 'met' : 'MISSED';
  const ref = r.ref
    ? `${r.ref.name} ${r.ref.gas} gas: ×${(Number(r.gas) / Number(r.ref.gas)).toFixed(2)}`
    : '';
  console.log(
    `${r.what.padEnd(w)}  ${r.gas.toString().padStart(9)}  ${(r.goal?.toString() ?? '-').padStart(9)}  ${verdict.padEnd(7)}  ${ref}`,
  );
}
