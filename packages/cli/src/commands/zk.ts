// aivm zk compile | setup | prove | verify | export-verifier | commit: zero-knowledge proofs of
// inference. Every command that builds the circuit takes --inputs public|committed and
// --weights public|private; keys are cached by circuit hash, so the modes never share keys.

import { readFile } from 'node:fs/promises';
import { decodeArtifact, modelId, type QuantModel, runInt } from '@aivm/runtime';
import type * as ZkModule from '@aivm/zk';
import type { Circuit, CompileOptions } from '@aivm/zk';
import type * as ZkNodeModule from '@aivm/zk/node';
import type { SetupMode } from '@aivm/zk/node';
import type { Command } from 'commander';
import { globals } from '../args.ts';
import { readJson, UsageError, writeFileAtomic } from '../home.ts';
import { print } from '../output.ts';
import { StatusLine } from '../progress.ts';
import { readInputs, withZkKeySource, zkKeysDir, zkSetupMode } from './model.ts';

// snarkjs and solc take seconds to load: every other aivm command (a node's start above all) must
// not pay for them, so the zk modules are loaded when a zk command runs.
let Z: typeof ZkModule;
let N: typeof ZkNodeModule;
async function loadZk(): Promise<void> {
  Z ??= await import('@aivm/zk');
  N ??= await import('@aivm/zk/node');
}

async function loadArtifact(path: string): Promise<{ model: QuantModel; id: string }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch {
    throw new UsageError(`cannot read model artifact ${path}`);
  }
  if (path.endsWith('.onnx'))
    throw new UsageError('zk commands take a quantized artifact: run "aivm model quantize" first');
  return { model: decodeArtifact(bytes), id: modelId(bytes) };
}

function keysDir(cmd: Command): string {
  return zkKeysDir((cmd.optsWithGlobals() as { keys?: string }).keys);
}

type ModeOpts = { inputs?: string; weights?: string };

/** The circuit modes of --inputs / --weights, validated. */
function circuitModes(opts: ModeOpts): Required<Pick<CompileOptions, 'inputs' | 'weights'>> {
  const inputs = opts.inputs ?? 'public';
  const weights = opts.weights ?? 'public';
  if (inputs !== 'public' && inputs !== 'committed')
    throw new UsageError(`--inputs must be public or committed, got "${inputs}"`);
  if (weights !== 'public' && weights !== 'private')
    throw new UsageError(`--weights must be public or private, got "${weights}"`);
  return { inputs, weights };
}

/** Adds --inputs and --weights to a command. */
function withModes(c: Command): Command {
  return c
    .option(
      '--inputs <mode>',
      'public (every input element is a public signal) or committed (one Poseidon hash)',
      'public',
    )
    .option(
      '--weights <mode>',
      'public (circuit constants) or private (bound by the weight commitment)',
      'public',
    );
}

/** 0x-prefixed 64-digit hex of a field element. */
function hex(x: bigint): string {
  return `0x${x.toString(16).padStart(64, '0')}`;
}

/** A published weight commitment: 0x-hex or decimal, a field element. */
function parseCommitment(text: string): bigint {
  let v: bigint;
  try {
    v = BigInt(text);
  } catch {
    throw new UsageError(`--commitment must be a hex (0x…) or decimal integer, got "${text}"`);
  }
  if (v < 0n || v >= Z.BN254_R) throw new UsageError('--commitment is not a BN254 scalar-field element');
  return v;
}

/** The public signals in order, with their role (the layout of Circuit's doc comment). */
function publicLayout(circuit: Circuit): { role: string; name: string; shape: number[] }[] {
  return [
    ...circuit.publicOutputs.map((v) => ({ role: 'output', ...v })),
    ...circuit.publicInputs.map((v) => ({ role: 'input', ...v })),
    ...(circuit.committedInputs
      ? [{ role: 'inputCommitment', name: circuit.committedInputs.map((v) => v.name).join(','), shape: [1] }]
      : []),
    ...(circuit.weights === 'private' ? [{ role: 'weightCommitment', name: 'weights', shape: [1] }] : []),
  ];
}

async function keysFor(
  model: QuantModel,
  cmd: Command,
  mode: SetupMode,
  status: StatusLine,
  modes: ModeOpts,
  compiled?: Circuit,
) {
  status.update('compiling the circuit');
  const circuit = compiled ?? Z.compile(model, circuitModes(modes));
  const r1cs = Z.writeR1cs(circuit.r1cs);
  status.update(
    mode.kind === 'dev' ? 'development setup (insecure keys, for testing)' : 'setup from the ceremony ptau',
  );
  const keys = await N.loadOrCreateKeys(keysDir(cmd), r1cs, mode);
  return { circuit, r1cs, keys };
}

export function registerZkCommands(program: Command): void {
  const zk = program
    .command('zk')
    .description('zero-knowledge proofs that an output came from a committed model')
    .option('--keys <dir>', 'key cache directory (or AIVM_ZK_KEYS; default ~/.aivm/zk-keys)');

  withModes(
    zk
      .command('compile <model>')
      .description('compile a model artifact into a circuit: constraint count and public signals')
      .option('--out <file.r1cs>', 'write the R1CS in snarkjs format'),
  ).action(async (file: string, opts, cmd: Command) => {
    await loadZk();
    const { model, id } = await loadArtifact(file);
    const modes = circuitModes(opts);
    const circuit = Z.compile(model, modes);
    if (opts.out) await writeFileAtomic(opts.out, Z.writeR1cs(circuit.r1cs), 0o644);
    const publicSignals = publicLayout(circuit);
    const wc = modes.weights === 'private' ? hex(Z.weightCommitment(model)) : undefined;
    const result = {
      model: id,
      ...modes,
      constraints: circuit.r1cs.constraints.length,
      wires: circuit.r1cs.nWires,
      publicSignals,
      ...(wc ? { weightCommitment: wc } : {}),
      byNode: circuit.constraintsByNode,
    };
    print(globals(cmd), result, () =>
      [
        `model ${id} (inputs ${modes.inputs}, weights ${modes.weights})`,
        `constraints  ${result.constraints.toLocaleString('en-US')}   wires ${result.wires.toLocaleString('en-US')}`,
        `public signals (in order): ${publicSignals.map((p) => `${p.role} ${p.name} [${p.shape.join(', ')}]`).join(', ')}`,
        ...(wc ? [`weight commitment ${wc}`] : []),
        ...circuit.constraintsByNode.map(
          (n) => `  ${n.node.padEnd(24)} ${n.kernel.padEnd(10)} ${n.constraints.toLocaleString('en-US')}`,
        ),
      ].join('\n'),
    );
  });

  withZkKeySource(
    withModes(zk.command('setup <model>')),
    'prepared powers-of-tau file from a public ceremony (production path)',
  )
    .description('proving and verification keys: development (default, insecure) or from a ceremony ptau')
    .option('--seed <text>', 'seed of the development keys', 'aivm-dev')
    .action(async (file: string, opts, cmd: Command) => {
      await loadZk();
      const { model, id } = await loadArtifact(file);
      const status = new StatusLine(!globals(cmd).json);
      try {
        const { circuit, keys } = await keysFor(model, cmd, zkSetupMode(opts), status, opts);
        status.done();
        const result = {
          model: id,
          inputs: circuit.inputs,
          weights: circuit.weights,
          mode: keys.mode,
          circuitHash: keys.circuitHash,
          cached: keys.cached,
          zkey: keys.zkeyPath,
          vk: keys.vkPath,
          constraints: circuit.r1cs.constraints.length,
          contributions: keys.contributions ?? [],
          ms: keys.ms,
        };
        print(globals(cmd), result, () =>
          [
            `${keys.cached ? 'reused' : 'created'} ${keys.mode === 'dev' ? 'DEVELOPMENT (insecure)' : 'production'} keys for model ${id}`,
            `  circuit hash  ${keys.circuitHash}`,
            `  proving key   ${keys.zkeyPath}`,
            `  verification  ${keys.vkPath}`,
            ...(keys.contributions ?? []).map((c) => `  contribution  ${c.name}: ${c.hash}`),
          ].join('\n'),
        );
      } finally {
        status.done();
        await N.releaseCurve();
      }
    });

  withZkKeySource(
    withModes(zk.command('prove <model>')),
    'use production keys from this ptau instead of development keys',
  )
    .description('run the model on an input and prove the output (keys from the cache, made if missing)')
    .requiredOption('--input <file>', 'input tensor, .npy or JSON')
    .option('--out <file>', 'proof file (JSON)', 'proof.json')
    .action(async (file: string, opts, cmd: Command) => {
      await loadZk();
      const { model, id } = await loadArtifact(file);
      const status = new StatusLine(!globals(cmd).json);
      try {
        const { circuit, keys } = await keysFor(model, cmd, zkSetupMode(opts), status, opts);
        const inputs = await readInputs(opts.input, model.inputs);
        status.update('running the model');
        const run = runInt(model, inputs, { trace: true });
        const witness = Z.witnessFromTrace(circuit, run.trace!);
        const result = await N.prove(keys.zkey, Z.writeWtns(witness.wires), {
          onProgress: (p) => status.update(`proving: ${p.message}`),
        });
        // The model id rides along (snarkjs and proofFromJson ignore it) so that verify can say at
        // once that a proof is about another model, before compiling that model's circuit.
        const file = { model: id, ...(JSON.parse(Z.proofToJson(result)) as object) };
        await writeFileAtomic(opts.out, `${JSON.stringify(file)}\n`, 0o644);
        status.done();
        const outputs = Object.fromEntries(model.outputs.map((o) => [o, Array.from(run.outputs[o]!.data)]));
        print(
          globals(cmd),
          {
            model: id,
            inputs: circuit.inputs,
            weights: circuit.weights,
            proof: opts.out,
            outputs,
            proveMs: result.proveMs,
            publicSignals: result.publicSignals.length,
            ...(circuit.weights === 'private'
              ? { weightCommitment: hex(BigInt(result.publicSignals.at(-1) as string)) }
              : {}),
          },
          () =>
            [
              `proof written to ${opts.out} (${result.proveMs.toFixed(0)} ms)`,
              ...Object.entries(outputs).map(([k, v]) => `  ${k} = [${v.join(', ')}]`),
              ...(circuit.weights === 'private'
                ? [`  weight commitment ${hex(BigInt(result.publicSignals.at(-1) as string))}`]
                : []),
            ].join('\n'),
        );
      } finally {
        status.done();
        await N.releaseCurve();
      }
    });

  withZkKeySource(withModes(zk.command('verify <proof>')), 'verify against production keys from this ptau')
    .description("verify a proof against a model's verification key")
    .requiredOption('--model <artifact>', 'the model artifact the proof is about')
    .option(
      '--commitment <hex|decimal>',
      "with --weights private: the published weight commitment the proof must carry (default: the artifact's)",
    )
    .action(async (proofFile: string, opts, cmd: Command) => {
      await loadZk();
      const { model, id } = await loadArtifact(opts.model);
      const json = await readJson<{ model?: unknown }>(proofFile, 'proof');
      const artifact = Z.proofFromJson(json);
      const modes = circuitModes(opts);
      const refuse = (reason: string) => {
        print(
          globals(cmd),
          { model: id, valid: false, reason },
          () => `INVALID proof for model ${id}: ${reason}`,
        );
        process.exitCode = 2;
      };
      // Checked before compiling: another model's circuit may not even compile (an operator zk
      // does not support), which would hide the real problem.
      if (typeof json.model === 'string' && json.model !== id)
        return refuse(`the proof is for model ${json.model}, not ${opts.model} (${id})`);
      // With private weights every W of the architecture shares the key: the proof is about the
      // model only when its last public signal is the model's published weight commitment.
      let expected: bigint | undefined;
      if (modes.weights === 'private')
        expected =
          opts.commitment !== undefined ? parseCommitment(opts.commitment) : Z.weightCommitment(model);
      else if (opts.commitment !== undefined)
        throw new UsageError('--commitment applies to --weights private only');
      const status = new StatusLine(!globals(cmd).json);
      try {
        status.update('compiling the circuit');
        const circuit = Z.compile(model, modes);
        const signals = circuit.r1cs.nOutputs + circuit.r1cs.nPubInputs;
        if (artifact.publicSignals.length !== signals)
          return refuse(
            `the proof has ${artifact.publicSignals.length} public signals, the circuit of ${opts.model} (inputs ${modes.inputs}, weights ${modes.weights}) has ${signals}: it is for another model or other --inputs/--weights`,
          );
        const { keys } = await keysFor(model, cmd, zkSetupMode(opts), status, opts, circuit);
        status.update('verifying');
        let valid = await N.verifyProof(keys.vk as never, artifact);
        let reason = valid ? undefined : 'the Groth16 proof does not verify';
        const commitment = expected === undefined ? undefined : hex(expected);
        if (valid && expected !== undefined && BigInt(artifact.publicSignals.at(-1) as string) !== expected) {
          valid = false;
          reason = 'the proof is for other weights (its weight commitment differs)';
        }
        status.done();
        print(
          globals(cmd),
          {
            model: id,
            valid,
            ...(reason ? { reason } : {}),
            ...(commitment ? { weightCommitment: commitment } : {}),
          },
          () => (valid ? `valid proof for model ${id}` : `INVALID proof for model ${id}: ${reason}`),
        );
        if (!valid) process.exitCode = 2;
      } finally {
        status.done();
        await N.releaseCurve();
      }
    });

  withZkKeySource(
    withModes(zk.command('export-verifier <model>')),
    'export for production keys from this ptau',
  )
    .description("write the Solidity verifier contract for a model's keys")
    .option('--out <file>', 'Solidity file', 'Verifier.sol')
    .action(async (file: string, opts, cmd: Command) => {
      await loadZk();
      const { model, id } = await loadArtifact(file);
      const status = new StatusLine(!globals(cmd).json);
      try {
        const { keys } = await keysFor(model, cmd, zkSetupMode(opts), status, opts);
        const source = await N.exportSolidityVerifier(keys.vk as never);
        await writeFileAtomic(opts.out, source, 0o644);
        status.done();
        print(
          globals(cmd),
          { model: id, out: opts.out, bytes: source.length },
          () => `wrote ${opts.out} for model ${id}`,
        );
      } finally {
        status.done();
        await N.releaseCurve();
      }
    });

  zk.command('commit <model>')
    .description(
      "the Poseidon commitment to a model artifact's weights and biases (what its owner publishes for --weights private)",
    )
    .action(async (file: string, _opts, cmd: Command) => {
      await loadZk();
      const { model, id } = await loadArtifact(file);
      const c = Z.weightCommitment(model);
      print(globals(cmd), { model: id, weightCommitment: hex(c), decimal: c.toString() }, () =>
        [`model ${id}`, `weight commitment ${hex(c)}`, `  (decimal ${c})`].join('\n'),
      );
    });
}
