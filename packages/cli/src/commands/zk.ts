// aivm zk compile | setup | prove | verify | export-verifier: zero-knowledge proofs of inference.

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { decodeArtifact, modelId, type QuantModel, runInt } from '@aivm/runtime';
import { compile, proofFromJson, proofToJson, witnessFromTrace, writeR1cs, writeWtns } from '@aivm/zk';
import {
  exportSolidityVerifier,
  loadOrCreateKeys,
  prove,
  releaseCurve,
  type SetupMode,
  verifyProof,
} from '@aivm/zk/node';
import type { Command } from 'commander';
import { globals } from '../args.ts';
import { readJson, UsageError, writeFileAtomic } from '../home.ts';
import { print } from '../output.ts';
import { StatusLine } from '../progress.ts';
import { readInputs } from './model.ts';

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
  const o = cmd.optsWithGlobals() as { keys?: string };
  return o.keys ?? process.env.AIVM_ZK_KEYS ?? join(homedir(), '.aivm', 'zk-keys');
}

function setupMode(opts: { ptau?: string; contribution?: string[]; seed?: string }): SetupMode {
  if (!opts.ptau) return { kind: 'dev', seed: opts.seed };
  const contributions = (opts.contribution ?? []).map((c) => {
    const at = c.indexOf(':');
    if (at < 1) throw new UsageError(`--contribution expects name:entropy, got "${c}"`);
    return { name: c.slice(0, at), entropy: c.slice(at + 1) };
  });
  if (contributions.length === 0)
    throw new UsageError('--ptau needs at least one --contribution name:entropy');
  return { kind: 'ptau', ptauPath: opts.ptau, contributions };
}

async function keysFor(model: QuantModel, cmd: Command, mode: SetupMode, status: StatusLine) {
  status.update('compiling the circuit');
  const circuit = compile(model);
  const r1cs = writeR1cs(circuit.r1cs);
  status.update(
    mode.kind === 'dev' ? 'development setup (insecure keys, for testing)' : 'setup from the ceremony ptau',
  );
  const keys = await loadOrCreateKeys(keysDir(cmd), r1cs, mode);
  return { circuit, r1cs, keys };
}

export function registerZkCommands(program: Command): void {
  const zk = program
    .command('zk')
    .description('zero-knowledge proofs that an output came from a committed model')
    .option('--keys <dir>', 'key cache directory (or AIVM_ZK_KEYS; default ~/.aivm/zk-keys)');

  zk.command('compile <model>')
    .description('compile a model artifact into a circuit: constraint count and public signals')
    .option('--out <file.r1cs>', 'write the R1CS in snarkjs format')
    .action(async (file: string, opts, cmd: Command) => {
      const { model, id } = await loadArtifact(file);
      const circuit = compile(model);
      if (opts.out) await writeFileAtomic(opts.out, writeR1cs(circuit.r1cs), 0o644);
      const publicSignals = [
        ...circuit.publicOutputs.map((v) => ({ ...v, role: 'output' })),
        ...circuit.publicInputs.map((v) => ({ ...v, role: 'input' })),
      ];
      const result = {
        model: id,
        constraints: circuit.r1cs.constraints.length,
        wires: circuit.r1cs.nWires,
        publicSignals,
        byNode: circuit.constraintsByNode,
      };
      print(globals(cmd), result, () =>
        [
          `model ${id}`,
          `constraints  ${result.constraints.toLocaleString('en-US')}   wires ${result.wires.toLocaleString('en-US')}`,
          `public signals (in order): ${publicSignals.map((p) => `${p.role} ${p.name} [${p.shape.join(', ')}]`).join(', ')}`,
          ...circuit.constraintsByNode.map(
            (n) => `  ${n.node.padEnd(24)} ${n.kernel.padEnd(10)} ${n.constraints.toLocaleString('en-US')}`,
          ),
        ].join('\n'),
      );
    });

  zk.command('setup <model>')
    .description('proving and verification keys: development (default, insecure) or from a ceremony ptau')
    .option('--ptau <file>', 'prepared powers-of-tau file from a public ceremony (production path)')
    .option(
      '--contribution <name:entropy>',
      'a phase-2 contribution (repeatable, with --ptau)',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .option('--seed <text>', 'seed of the development keys', 'aivm-dev')
    .action(async (file: string, opts, cmd: Command) => {
      const { model, id } = await loadArtifact(file);
      const status = new StatusLine(!globals(cmd).json);
      try {
        const { circuit, keys } = await keysFor(model, cmd, setupMode(opts), status);
        status.done();
        const result = {
          model: id,
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
        await releaseCurve();
      }
    });

  zk.command('prove <model>')
    .description('run the model on an input and prove the output (keys from the cache, made if missing)')
    .requiredOption('--input <file>', 'input tensor, .npy or JSON')
    .option('--out <file>', 'proof file (JSON)', 'proof.json')
    .option('--ptau <file>', 'use production keys from this ptau instead of development keys')
    .option(
      '--contribution <name:entropy>',
      'phase-2 contribution for --ptau (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .action(async (file: string, opts, cmd: Command) => {
      const { model, id } = await loadArtifact(file);
      const status = new StatusLine(!globals(cmd).json);
      try {
        const { circuit, keys } = await keysFor(model, cmd, setupMode(opts), status);
        const inputs = await readInputs(opts.input, model.inputs);
        status.update('running the model');
        const run = runInt(model, inputs, { trace: true });
        const witness = witnessFromTrace(circuit, run.trace!);
        const result = await prove(keys.zkey, writeWtns(witness.wires), {
          onProgress: (p) => status.update(`proving: ${p.message}`),
        });
        await writeFileAtomic(opts.out, `${proofToJson(result)}\n`, 0o644);
        status.done();
        const outputs = Object.fromEntries(model.outputs.map((o) => [o, Array.from(run.outputs[o]!.data)]));
        print(
          globals(cmd),
          {
            model: id,
            proof: opts.out,
            outputs,
            proveMs: result.proveMs,
            publicSignals: result.publicSignals.length,
          },
          () =>
            [
              `proof written to ${opts.out} (${result.proveMs.toFixed(0)} ms)`,
              ...Object.entries(outputs).map(([k, v]) => `  ${k} = [${v.join(', ')}]`),
            ].join('\n'),
        );
      } finally {
        status.done();
        await releaseCurve();
      }
    });

  zk.command('verify <proof>')
    .description("verify a proof against a model's verification key")
    .requiredOption('--model <artifact>', 'the model artifact the proof is about')
    .option('--ptau <file>', 'verify against production keys from this ptau')
    .option(
      '--contribution <name:entropy>',
      'phase-2 contribution for --ptau (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .action(async (proofFile: string, opts, cmd: Command) => {
      const { model, id } = await loadArtifact(opts.model);
      const artifact = proofFromJson(await readJson<unknown>(proofFile, 'proof'));
      const status = new StatusLine(!globals(cmd).json);
      try {
        const { keys } = await keysFor(model, cmd, setupMode(opts), status);
        status.update('verifying');
        const valid = await verifyProof(keys.vk as never, artifact);
        status.done();
        print(globals(cmd), { model: id, valid }, () =>
          valid ? `valid proof for model ${id}` : `INVALID proof for model ${id}`,
        );
        if (!valid) process.exitCode = 2;
      } finally {
        status.done();
        await releaseCurve();
      }
    });

  zk.command('export-verifier <model>')
    .description("write the Solidity verifier contract for a model's keys")
    .option('--out <file>', 'Solidity file', 'Verifier.sol')
    .option('--ptau <file>', 'export for production keys from this ptau')
    .option(
      '--contribution <name:entropy>',
      'phase-2 contribution for --ptau (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .action(async (file: string, opts, cmd: Command) => {
      const { model, id } = await loadArtifact(file);
      const status = new StatusLine(!globals(cmd).json);
      try {
        const { keys } = await keysFor(model, cmd, setupMode(opts), status);
        const source = await exportSolidityVerifier(keys.vk as never);
        await writeFileAtomic(opts.out, source, 0o644);
        status.done();
        print(
          globals(cmd),
          { model: id, out: opts.out, bytes: source.length },
          () => `wrote ${opts.out} for model ${id}`,
        );
      } finally {
        status.done();
        await releaseCurve();
      }
    });
}
