// aivm model inspect | quantize | run: the deterministic runtime from the command line.

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { bytesToHex } from '@aivm/crypto';
import {
  decodeArtifact,
  dequantize,
  encodeArtifact,
  estimateGas,
  type FloatTensor,
  type Graph,
  importOnnx,
  modelId,
  type QuantModel,
  quantize,
  readNpy,
  runFloat,
  runInt,
} from '@aivm/runtime';
import {
  type AivmClient,
  getModel,
  listModels,
  type ModelInfo,
  ModelNotFoundError,
  publishModel,
  TIERS,
} from '@aivm/sdk';
import type { Command } from 'commander';
import { cgptArg, globals, intArg, parseTiers } from '../args.ts';
import { UsageError, writeFileAtomic } from '../home.ts';
import { formatCgpt, print } from '../output.ts';
import { StatusLine } from '../progress.ts';
import { rpcClient, signerWallet, withSigner } from '../signer.ts';
import {
  DEFAULT_TIER_LIMITS,
  type TierLimits,
  type TierSupport,
  tierLines,
  tierSupport,
  trialQuantize,
} from '../tiers.ts';

// Moved to ../tiers.ts (browser-safe, shared with AIVM Studio); re-exported for existing importers.
export {
  DEFAULT_TIER_LIMITS,
  onchainProblem,
  optimisticProblem,
  type TierLimits,
  type TierSupport,
  tierLines,
  tierSupport,
} from '../tiers.ts';

/** The limits of the chain `client` talks to. */
export async function chainTierLimits(client: AivmClient): Promise<TierLimits> {
  const models = (await client.query('models/params')) as Record<string, unknown>;
  const auth = (await client.query('auth/params')) as Record<string, unknown>;
  return {
    maxOnchainGas: BigInt(String(models.maxOnchainGas ?? DEFAULT_TIER_LIMITS.maxOnchainGas)),
    maxOnchainModelBytes: BigInt(
      String(models.maxOnchainModelBytes ?? DEFAULT_TIER_LIMITS.maxOnchainModelBytes),
    ),
    maxTxGas: BigInt(String(auth.maxTxGas ?? DEFAULT_TIER_LIMITS.maxTxGas)),
  };
}

type Loaded = { kind: 'onnx'; graph: Graph } | { kind: 'artifact'; model: QuantModel; bytes: Uint8Array };

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch {
    throw new UsageError(`cannot read ${what} ${path}`);
  }
}

/** An .onnx file imports to a float graph; anything else must be an AIVM model artifact. */
async function loadModel(path: string): Promise<Loaded> {
  const bytes = await readBytes(path, 'model');
  if (path.endsWith('.onnx')) return { kind: 'onnx', graph: importOnnx(bytes) };
  return { kind: 'artifact', model: decodeArtifact(bytes), bytes };
}

/** A rectangular nested JSON array as a float tensor. */
function tensorFromJson(value: unknown, what: string): FloatTensor {
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const flat = (Array.isArray(value) ? value.flat(Number.POSITIVE_INFINITY) : [value]) as unknown[];
  if (
    flat.length !== shape.reduce((a, b) => a * b, 1) ||
    flat.some((x) => typeof x !== 'number' || !Number.isFinite(x))
  ) {
    throw new UsageError(`${what} must be a rectangular array of finite numbers`);
  }
  return { dtype: 'float32', shape, data: Float32Array.from(flat as number[]) };
}

/** Inputs from .npy (the model's first input) or JSON ({ name: nested array } or a bare array). */
/** A published model's record; a usage error naming the fix when the chain has none with this id. */
export async function publishedModel(client: AivmClient, id: string): Promise<ModelInfo> {
  try {
    return await getModel(client, id);
  } catch (err) {
    if (err instanceof ModelNotFoundError)
      throw new UsageError(
        `${err.message}: list the published ones with "aivm model list" (--all for inactive ones)`,
      );
    throw err;
  }
}

export async function readInputs(path: string, inputNames: string[]): Promise<Record<string, FloatTensor>> {
  const bytes = await readBytes(path, 'input file');
  if (path.endsWith('.npy')) return { [inputNames[0]!]: readNpy(bytes) };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new UsageError(`input file is neither .npy nor JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(json)) return { [inputNames[0]!]: tensorFromJson(json, 'input') };
  if (typeof json !== 'object' || json === null)
    throw new UsageError('JSON input must be an array or an object of arrays');
  const out: Record<string, FloatTensor> = {};
  for (const name of inputNames) {
    if (!(name in json)) throw new UsageError(`JSON input lacks "${name}"`);
    out[name] = tensorFromJson((json as Record<string, unknown>)[name], name);
  }
  return out;
}

/** The declared shape of each model input (symbolic dimensions as strings). */
function declaredInputs(m: Loaded): { name: string; shape: (number | string)[] }[] {
  if (m.kind === 'onnx') return m.graph.inputs;
  const shapes = new Map(m.model.values.map((v) => [v.name, v.shape]));
  return m.model.inputs.map((name) => ({ name, shape: shapes.get(name) ?? [] }));
}

/**
 * Inputs of another rank than the model's taken as `infer` takes them: a tensor with the element
 * count of one sample (symbolic dimensions at 1), e.g. [784] for [1,784], is reshaped to it; any
 * other count is refused with the shapes that would fit. Inputs of the model's rank (batches) pass.
 */
function fitInputs(m: Loaded, inputs: Record<string, FloatTensor>): Record<string, FloatTensor> {
  const out: Record<string, FloatTensor> = { ...inputs };
  for (const decl of declaredInputs(m)) {
    const t = inputs[decl.name];
    if (!t || t.shape.length === decl.shape.length) continue;
    const one = decl.shape.map((d) => (typeof d === 'number' ? d : 1));
    const n = one.reduce((a, b) => a * b, 1);
    if (t.data.length !== n)
      throw new UsageError(
        `input "${decl.name}" of the model is [${decl.shape.join(', ')}] (${n} elements per sample); ` +
          `got shape [${t.shape.join(', ')}] with ${t.data.length} elements: give ${n} numbers, or the shape [${one.join(', ')}]`,
      );
    out[decl.name] = { ...t, shape: one };
  }
  return out;
}

function inputNames(m: Loaded): string[] {
  return m.kind === 'onnx' ? m.graph.inputs.map((i) => i.name) : m.model.inputs;
}

function argmaxRows(t: FloatTensor): number[] {
  const cols = t.shape[t.shape.length - 1] ?? 1;
  const rows: number[] = [];
  for (let r = 0; r * cols < t.data.length; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (t.data[r * cols + c]! > t.data[r * cols + best]!) best = c;
    rows.push(best);
  }
  return rows;
}

/** Shape of a value at batch 1 as the models module writes schemas: "[1,784]". */
export function shapeSchema(model: QuantModel, name: string): string {
  const v = model.values.find((x) => x.name === name);
  return `[${(v?.shape ?? []).map((d) => (typeof d === 'number' ? d : 1)).join(',')}]`;
}

export type ZkPublication = {
  vk: Uint8Array;
  vkHash: `0x${string}`;
  weightCommitment: bigint;
  constraints: number;
  cached: boolean;
};

/** The zk key cache: the option, else AIVM_ZK_KEYS, else `fallback` (~/.aivm/zk-keys). */
export function zkKeysDir(opt: string | undefined, fallback = join(homedir(), '.aivm', 'zk-keys')): string {
  return opt ?? process.env.AIVM_ZK_KEYS ?? fallback;
}

/** Development keys, or production keys from --ptau with at least one --contribution name:entropy. */
export function zkSetupMode(opts: {
  ptau?: string;
  contribution?: string[];
  seed?: string;
}): import('@aivm/zk/node').SetupMode {
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

/** Adds --ptau (with what it is for in this command) and the repeatable --contribution. */
export function withZkKeySource(c: Command, ptauHelp: string): Command {
  return c
    .option('--ptau <file>', ptauHelp)
    .option(
      '--contribution <name:entropy>',
      'a phase-2 contribution for --ptau (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [],
    );
}

/**
 * The verification key a model is published with: its circuit in the given modes, keys from the
 * cache (dev setup, or a ceremony ptau), encoded the way the chain stores them.
 */
export async function zkPublication(
  model: QuantModel,
  modes: { inputs: 'public' | 'committed'; weights: 'public' | 'private' },
  cacheDir: string,
  setup: import('@aivm/zk/node').SetupMode = { kind: 'dev' },
  onStep: (message: string) => void = () => {},
): Promise<ZkPublication> {
  const Z = await import('@aivm/zk');
  const N = await import('@aivm/zk/node');
  onStep('compiling the circuit');
  const circuit = Z.compile(model, modes);
  onStep(
    setup.kind === 'dev' ? 'development key setup (cached by circuit hash)' : 'setup from the ceremony ptau',
  );
  const keys = await N.loadOrCreateKeys(cacheDir, Z.writeR1cs(circuit.r1cs), setup);
  const vk = Z.encodeVerificationKey(keys.vk as never);
  return {
    vk,
    vkHash: bytesToHex(Z.verificationKeyHash(vk)),
    weightCommitment: modes.weights === 'private' ? Z.weightCommitment(model) : 0n,
    constraints: circuit.r1cs.constraints.length,
    cached: keys.cached,
  };
}

function modelLines(m: ModelInfo): string[] {
  return [
    `model ${m.id}`,
    `  name         ${m.name}${m.version ? ` ${m.version}` : ''}`,
    `  owner        ${m.owner}`,
    `  status       ${m.status}`,
    `  tiers        ${m.tierNames.join(', ')}`,
    `  price        ${formatCgpt(m.priceWei)} CGPT per request`,
    `  input        ${m.inputSchema}   output ${m.outputSchema}`,
    ...(m.task ? [`  task         ${m.task}`] : []),
    ...(m.license ? [`  license      ${m.license}`] : []),
    ...(m.tierNames.includes('zk')
      ? [
          `  zk           inputs ${m.zkInputs}, weights ${m.zkWeights}, ${m.zkConstraints} constraints, vk ${m.vkHash}`,
        ]
      : []),
    `  deposit      ${formatCgpt(m.depositWei)} CGPT${m.closedAt > 0n ? `   closed at block ${m.closedAt}` : ''}`,
    `  queries      ${m.queries}   curation ${m.curationScore}`,
    ...(m.description ? [`  ${m.description}`] : []),
  ];
}

export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('inspect, quantize and run AI models');

  model
    .command('inspect <file>')
    .description('operators, shapes, parameters and estimated gas of an .onnx file or a model artifact')
    .option('--batch <n>', 'batch size for the gas estimate', '1')
    .action(async (file: string, opts, cmd: Command) => {
      const m = await loadModel(file);
      const batch = intArg(opts.batch, '--batch', 1, 1_000_000);
      const ops = new Map<string, number>();
      let parameters = 0;
      let inputs: { name: string; shape: (number | string)[] }[];
      let outputs: { name: string; shape: (number | string)[] }[];
      if (m.kind === 'onnx') {
        for (const n of m.graph.nodes) ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
        for (const t of m.graph.initializers.values()) parameters += t.data.length;
        inputs = m.graph.inputs;
        outputs = m.graph.outputs;
      } else {
        for (const n of m.model.nodes) ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
        for (const n of m.model.nodes)
          for (const p of Object.values(n.params)) if (typeof p !== 'number') parameters += p.length;
        const shapes = new Map(m.model.values.map((v) => [v.name, v.shape]));
        inputs = m.model.inputs.map((name) => ({ name, shape: shapes.get(name) ?? [] }));
        outputs = m.model.outputs.map((name) => ({ name, shape: shapes.get(name) ?? [] }));
      }
      const shapes = Object.fromEntries(
        inputs.map((i) => [i.name, i.shape.map((d) => (typeof d === 'number' ? d : batch))]),
      );
      const cost = estimateGas(m.kind === 'onnx' ? m.graph : m.model, shapes);
      // Tier support with the chain's default limits (publish checks against the chain it talks to).
      let tiers: TierSupport[] | null = null;
      let tiersNote: string | undefined;
      try {
        const qm = m.kind === 'onnx' ? trialQuantize(m.graph) : m.model;
        tiers = await tierSupport(qm, m.kind === 'onnx' ? encodeArtifact(qm) : m.bytes);
        if (m.kind === 'onnx')
          tiersNote = 'tiers from a trial quantization; publish checks the artifact again';
      } catch (err) {
        tiersNote = `tiers unknown: the model does not quantize (${(err as Error).message})`;
      }
      const summary = {
        file: basename(file),
        format: m.kind,
        id: m.kind === 'artifact' ? modelId(m.bytes) : null,
        inputs,
        outputs,
        operators: Object.fromEntries([...ops].sort()),
        parameters,
        gas: { batch, ...cost },
        tiers,
        ...(tiersNote ? { tiersNote } : {}),
      };
      print(globals(cmd), summary, () =>
        [
          `${summary.file} (${m.kind === 'onnx' ? 'ONNX, float' : `AIVM artifact ${summary.id}`})`,
          ...inputs.map((i) => `  input   ${i.name} [${i.shape.join(', ')}]`),
          ...outputs.map((o) => `  output  ${o.name} [${o.shape.join(', ')}]`),
          `  parameters  ${parameters.toLocaleString('en-US')}`,
          `  operators   ${[...ops].map(([op, n]) => `${op} x${n}`).join(', ')}`,
          `  gas (batch ${batch})  ${cost.gas.toLocaleString('en-US')}  (${cost.macs.toLocaleString('en-US')} MACs, ${cost.lookups.toLocaleString('en-US')} lookups)`,
          ...(tiers ? tierLines(tiers) : []),
          ...(tiersNote ? [`  (${tiersNote})`] : []),
        ].join('\n'),
      );
    });

  model
    .command('quantize <file.onnx>')
    .description('quantize a float ONNX model on calibration inputs and write the integer artifact')
    .requiredOption('--calibration <file>', 'calibration inputs (.npy or JSON), first dimension = samples')
    .option('--labels <file>', 'class labels for the calibration inputs (.npy or JSON): report accuracy')
    .option('--out <file>', 'artifact path (default: <model>.aivm)')
    .option('--method <m>', 'activation range: maxabs or percentile', 'maxabs')
    .action(async (file: string, opts, cmd: Command) => {
      const m = await loadModel(file);
      if (m.kind !== 'onnx') throw new UsageError('quantize takes an .onnx file');
      if (opts.method !== 'maxabs' && opts.method !== 'percentile')
        throw new UsageError('--method must be maxabs or percentile');
      const inputs = await readInputs(opts.calibration, inputNames(m));
      const qm = quantize(m.graph, [inputs], { method: opts.method });
      const bytes = encodeArtifact(qm);
      const out = opts.out ?? file.replace(/\.onnx$/, '.aivm');
      await writeFileAtomic(out, bytes, 0o644);
      const outName = m.graph.outputs[0]!.name;
      const floatOut = runFloat(m.graph, inputs).outputs[outName] as FloatTensor;
      const intOut = dequantize(runInt(qm, inputs).outputs[outName]!);
      let maxError = 0;
      for (let i = 0; i < floatOut.data.length; i++)
        maxError = Math.max(maxError, Math.abs(floatOut.data[i]! - intOut.data[i]!));
      const tiers = await tierSupport(qm, bytes);
      const result: Record<string, unknown> = {
        id: modelId(bytes),
        artifact: out,
        bytes: bytes.length,
        samples: inputs[inputNames(m)[0]!]!.shape[0],
        maxAbsError: maxError,
        tiers,
      };
      if (opts.labels) {
        const labelsFile = await readInputs(opts.labels, ['labels']);
        const labels = Array.from(labelsFile.labels!.data);
        const fa = argmaxRows(floatOut);
        const qa = argmaxRows(intOut);
        if (labels.length !== fa.length)
          throw new UsageError(`${labels.length} labels for ${fa.length} samples`);
        result.floatAccuracy = fa.filter((p, i) => p === labels[i]).length / labels.length;
        result.quantizedAccuracy = qa.filter((p, i) => p === labels[i]).length / labels.length;
      }
      print(globals(cmd), result, () =>
        [
          `wrote ${out} (${bytes.length.toLocaleString('en-US')} bytes)`,
          `model id       ${result.id}`,
          `max abs error  ${maxError.toPrecision(4)} on ${result.samples} calibration samples`,
          ...(opts.labels
            ? [`accuracy       float ${result.floatAccuracy}, quantized ${result.quantizedAccuracy}`]
            : []),
          ...tierLines(tiers),
        ].join('\n'),
      );
    });

  model
    .command('run <model>')
    .description('run a model artifact (integer runtime) or an .onnx file (float reference) on an input')
    .requiredOption('--input <file>', 'input tensor(s), .npy or JSON')
    .action(async (file: string, opts, cmd: Command) => {
      const m = await loadModel(file);
      const inputs = fitInputs(m, await readInputs(opts.input, inputNames(m)));
      const outputs: Record<string, FloatTensor> = {};
      if (m.kind === 'onnx') {
        for (const [k, v] of Object.entries(runFloat(m.graph, inputs).outputs)) outputs[k] = v as FloatTensor;
      } else {
        for (const [k, v] of Object.entries(runInt(m.model, inputs).outputs)) outputs[k] = dequantize(v);
      }
      const result = Object.fromEntries(
        Object.entries(outputs).map(([k, t]) => [
          k,
          { shape: t.shape, data: Array.from(t.data), argmax: argmaxRows(t) },
        ]),
      );
      print(globals(cmd), result, () =>
        Object.entries(result)
          .map(
            ([k, r]) =>
              `${k} [${r.shape.join(', ')}]  argmax ${r.argmax.join(' ')}\n  ${r.data.map((x) => Number(x.toPrecision(6))).join(' ')}`,
          )
          .join('\n'),
      );
    });

  withZkKeySource(
    withSigner(
      model
        .command('publish <model>')
        .description('publish an .onnx file (quantized first) or an artifact on chain, with its zk key'),
    ),
    'production keys from a ceremony ptau (default: development keys)',
  )
    .requiredOption('--name <name>', 'model name')
    .option('--price <CGPT>', 'price per request (per provider slot)', '0.01')
    .option(
      '--tiers <list>',
      'comma-separated: onchain, zk, optimistic (default: every tier the model supports)',
    )
    .option('--task <task>', 'task, e.g. image-classification', '')
    .option('--license <license>', 'license', '')
    .option('--version <version>', 'version label', '')
    .option('--description <text>', 'description', '')
    .option('--previous <id>', 'the model id this version replaces')
    .option(
      '--calibration <file>',
      '.onnx only: calibration inputs (.npy or JSON), first dimension = samples',
    )
    .option('--method <m>', '.onnx only: activation range, maxabs or percentile', 'maxabs')
    .option('--zk-inputs <mode>', 'public or committed', 'public')
    .option('--zk-weights <mode>', 'public or private', 'public')
    .option('--keys <dir>', 'zk key cache (or AIVM_ZK_KEYS; default ~/.aivm/zk-keys)')
    .action(async (file: string, opts, cmd: Command) => {
      const g = globals(cmd);
      const asked = opts.tiers === undefined ? undefined : parseTiers(opts.tiers);
      if (opts.zkInputs !== 'public' && opts.zkInputs !== 'committed')
        throw new UsageError('--zk-inputs must be public or committed');
      if (opts.zkWeights !== 'public' && opts.zkWeights !== 'private')
        throw new UsageError('--zk-weights must be public or private');
      const m = await loadModel(file);
      let artifact: Uint8Array;
      let qm: QuantModel;
      if (m.kind === 'onnx') {
        if (!opts.calibration)
          throw new UsageError('publishing an .onnx file needs --calibration (as model quantize)');
        if (opts.method !== 'maxabs' && opts.method !== 'percentile')
          throw new UsageError('--method must be maxabs or percentile');
        qm = quantize(m.graph, [await readInputs(opts.calibration, inputNames(m))], { method: opts.method });
        artifact = encodeArtifact(qm);
      } else {
        qm = m.model;
        artifact = m.bytes;
      }
      const id = modelId(artifact);
      const status = new StatusLine(!g.json);
      const client = rpcClient(cmd, 60_000);
      try {
        // The chain's and the providers' checks of each tier, run before anything is sent.
        const support = await tierSupport(qm, artifact, await chainTierLimits(client));
        const supported = support.filter((t) => t.supported);
        let tiers: number;
        if (asked === undefined) {
          if (supported.length === 0)
            throw new UsageError(
              `no tier can serve this model: ${support.map((t) => `${t.tier}: ${t.reason}`).join('; ')}`,
            );
          tiers = supported.reduce((a, t) => a | TIERS[t.tier], 0);
          const left = support.filter((t) => !t.supported);
          const why = `tiers ${supported.map((t) => t.tier).join(', ')}: every tier the model supports${
            left.length > 0 ? ` (${left.map((t) => `${t.tier}: ${t.reason}`).join('; ')})` : ''
          }`;
          if (!g.json) process.stderr.write(`${why}\n`);
        } else {
          tiers = asked;
          const refused = support.filter((t) => !t.supported && asked & TIERS[t.tier]);
          if (refused.length > 0)
            throw new UsageError(
              refused.map((t) => `cannot publish with the ${t.tier} tier: ${t.reason}`).join('\n'),
            );
        }
        const wallet = await signerWallet(cmd, opts, client);
        let zk: ZkPublication | undefined;
        if (tiers & 2) {
          zk = await zkPublication(
            qm,
            { inputs: opts.zkInputs, weights: opts.zkWeights },
            zkKeysDir(opts.keys),
            zkSetupMode({ ptau: opts.ptau, contribution: opts.contribution }),
            (s) => status.update(s),
          );
          const { releaseCurve } = await import('@aivm/zk/node');
          await releaseCurve();
        }
        const published = await publishModel(wallet, {
          artifact,
          name: opts.name,
          task: opts.task,
          license: opts.license,
          version: opts.version,
          description: opts.description,
          inputSchema: shapeSchema(qm, qm.inputs[0]!),
          outputSchema: shapeSchema(qm, qm.outputs[0]!),
          priceWei: cgptArg(opts.price, '--price'),
          tiers,
          ...(zk ? { vk: { bytes: zk.vk, hash: zk.vkHash }, zkConstraints: BigInt(zk.constraints) } : {}),
          zkInputs: opts.zkInputs,
          zkWeights: opts.zkWeights,
          ...(zk?.weightCommitment ? { weightCommitment: zk.weightCommitment } : {}),
          ...(opts.previous ? { previous: opts.previous } : {}),
          onProgress: (s) => status.update(s),
        });
        status.done();
        print(
          g,
          {
            id,
            status: published.model.status,
            tiers: published.model.tierNames,
            tierSupport: support,
            tiersDefaulted: asked === undefined,
            artifactBytes: artifact.length,
            ...(zk ? { vkHash: zk.vkHash, constraints: zk.constraints } : {}),
            txs: published.txHashes,
          },
          () =>
            [
              `published model ${id} (${published.model.status})`,
              `  tiers ${published.model.tierNames.join(', ')}, artifact ${artifact.length.toLocaleString('en-US')} bytes`,
              ...(zk ? [`  zk: ${zk.constraints.toLocaleString('en-US')} constraints, vk ${zk.vkHash}`] : []),
              `  ${published.txHashes.length} transactions`,
            ].join('\n'),
        );
      } finally {
        status.done();
        client.close();
      }
    });

  model
    .command('list')
    .description('published models (active ones unless --all)')
    .option('--owner <address>', 'only this owner')
    .option('--task <task>', 'only this task')
    .option('--text <text>', 'name or description contains (case-insensitive)')
    .option('--all', 'include models still uploading, deprecated or faulty')
    .action(async (opts, cmd: Command) => {
      const client = rpcClient(cmd);
      try {
        const models = await listModels(client, {
          owner: opts.owner,
          task: opts.task,
          text: opts.text,
          includeInactive: Boolean(opts.all),
        });
        print(
          globals(cmd),
          models.map(({ raw: _raw, ...m }) => m),
          () =>
            models.length === 0
              ? 'no models'
              : models
                  .map(
                    (m) =>
                      `${m.id}  ${m.name.padEnd(20)} ${m.tierNames.join(',').padEnd(22)} ${formatCgpt(m.priceWei).padStart(8)} CGPT  ${m.status}  ${m.queries} queries`,
                  )
                  .join('\n'),
        );
      } finally {
        client.close();
      }
    });

  model
    .command('show <id>')
    .description('a published model record')
    .action(async (id: string, _opts, cmd: Command) => {
      const client = rpcClient(cmd);
      try {
        const m = await publishedModel(client, id);
        const { raw: _raw, ...rest } = m;
        print(globals(cmd), rest, () => modelLines(m).join('\n'));
      } finally {
        client.close();
      }
    });
}
