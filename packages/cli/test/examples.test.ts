// Issue 14 (examples run in CI against a devnet, packed-SDK install test): the SDK as a dApp
// developer gets it. The published packages are built and packed (scripts/build-packages.ts),
// installed with npm into a fresh project outside the repository, and examples/node-dapp is run
// from that project against a real `aivm devnet` with its provider: as TypeScript on the Node the
// repository pins (24), and compiled by tsc against the installed declarations on the system's
// Node 20 when there is one. Each run must commit a transfer, publish its tiny model and get it
// active, run an on-chain inference whose values match the runtime's own integer run of that
// artifact, and get a zk MNIST inference of the sample 7 proven, finalized and verified locally.
// examples/browser runs in Debian's Chromium (playwright-core) on the installed package's browser
// bundle: a transfer signed in the page, a zk inference of the sample 7 followed live, its proof
// verified in the page; skipped only where Chromium is not installed (.ci/run installs it).

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeArtifact, inputTensor, modelId, quantizeInput, runInt } from '@aivm/runtime';
import { AivmClient, listModels } from '@aivm/sdk';
import { type Anvil, startAnvil } from '../../../test-support/anvil.ts';
import { CHROMIUM, runBrowserExample } from './browser-example.ts';
import { BIN, type RunningNode, runAivm, startDevnet, tempDir } from './helpers.ts';
import { waitFor } from './network-helpers.ts';
import { installPackedSdk, otherNode, type Run, runCommand } from './packed-sdk.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const EXAMPLES = join(ROOT, 'examples');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const ROOT_MANIFEST = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};
/** The features examples/node-dapp/index.ts sends to its model (step 4). */
const FEATURES = [0.5, -0.25, 0.75, 0.1];
/** A consumer's compiler options: strict, Node's module system, @types/node from the repository. */
const TSC_OPTS = [
  '--strict',
  '--module',
  'nodenext',
  '--target',
  'es2022',
  '--types',
  'node',
  '--typeRoots',
  join(ROOT, 'node_modules', '@types'),
];

/** The example's line for one step (each starts with the step's name and a colon). */
function step(stdout: string, name: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(`${name}: `));
  assert.ok(line, `no "${name}:" line in:\n${stdout}`);
  return line;
}

/**
 * Checks the lines of one node-dapp run (its stdout) and the chain's records behind them. With
 * `events` (a runtime with WebSocket) the script saw every status change, the transient `proven`
 * included; polling sees only the statuses a poll happens to find.
 */
async function checkNodeDapp(
  r: Run,
  client: AivmClient,
  devnetLog: () => string,
  events: boolean,
): Promise<void> {
  const all = `${r.stdout}${r.stderr}\n--- devnet:\n${devnetLog()}`;
  assert.equal(r.code, 0, all);
  assert.match(
    step(r.stdout, 'connected'),
    /^connected: chain \d+ at height \d+, wallet 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266$/,
  );
  assert.match(
    step(r.stdout, 'transfer'),
    /^transfer: committed in block \d+, gas \d+, bob received 1500000000000000000 wei$/,
  );

  const bytes = new Uint8Array(await readFile(join(EXAMPLES, 'node-dapp', 'tiny-scorer.aivm')));
  const id = modelId(bytes);
  assert.equal(step(r.stdout, 'publish'), `publish: model ${id} active, tiers onchain`);

  // The chain's result equals the runtime's own integer run of the artifact on the same input.
  const model = decodeArtifact(bytes);
  const local = runInt(model, { x: inputTensor(model, quantizeInput(model, FEATURES)) }).outputs.y!;
  const onchain = /^onchain: request \d+ finalized, output (\S+) x scale (\S+) = values (\S+)$/.exec(
    step(r.stdout, 'onchain'),
  );
  assert.ok(onchain, r.stdout);
  assert.deepEqual(JSON.parse(onchain[1]!), Array.from(local.data));
  assert.equal(Number(onchain[2]), local.scale);
  assert.deepEqual(
    JSON.parse(onchain[3]!),
    Array.from(local.data, (q) => Math.fround(q * local.scale)),
  );

  const zk = /^zk: request (\d+) finalized, class (\d+), scores (\S+)$/.exec(step(r.stdout, 'zk'));
  assert.ok(zk, r.stdout);
  assert.equal(Number(zk[2]), 7);
  const scores = JSON.parse(zk[3]!) as number[];
  assert.equal(scores.length, 10);
  assert.equal(scores.indexOf(Math.max(...scores)), 7);
  // The statuses the example followed: accepted, then a proof verified on chain, then paid.
  const statuses = r.stdout
    .split('\n')
    .filter((l) => l.startsWith(`  zk request ${zk[1]}: `))
    .map((l) => l.split(': ')[1]!.split(' ')[0]);
  assert.equal(statuses[0], 'pending', r.stdout);
  if (events) assert.ok(statuses.indexOf('proven') > 0, r.stdout);
  assert.equal(statuses.at(-1), 'finalized', r.stdout);
  assert.match(step(r.stdout, 'verify'), /^verify: proof in 0x[0-9a-f]{64} verified$/);

  // The chain agrees: the model is there, published by dev account 0.
  const onChain = (await client.query('models/model', { id })) as { owner: string; status: string };
  assert.equal(onChain.status, 'active');
  assert.equal(onChain.owner.toLowerCase(), '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266');
}

describe('examples on the packed SDK, against a devnet (real processes)', { timeout: 900_000 }, () => {
  let dir: { path: string; remove(): Promise<void> };
  let node: RunningNode | undefined;
  let client: AivmClient;
  let app: string;
  let stage: string;
  let tarballs: string[];
  let anvil: Anvil | undefined;
  let relayer: ChildProcess | undefined;

  before(async () => {
    dir = await tempDir('aivm-examples-');
    const devnet = startDevnet(join(dir.path, 'devnet'));
    // Build, pack and install while the devnet starts and sets up its zk keys. The EVM example also
    // imports viem, which its author installs beside the SDK.
    const packed = installPackedSdk(join(dir.path, 'packed'), [`viem@${ROOT_MANIFEST.devDependencies.viem}`]);
    // An EVM node for the evm-dapp example (the MNIST zk verifier is over EIP-170's 24 KB limit).
    const evm = startAnvil({ args: ['--disable-code-size-limit'] });
    [node, { app, stage, tarballs }, anvil] = await Promise.all([devnet, packed, evm]);
    client = new AivmClient(node.rpcUrl);
    for (const f of ['index.ts', 'tiny-scorer.aivm', 'digit-7.json'])
      cpSync(join(EXAMPLES, 'node-dapp', f), join(app, 'node-dapp', f));
    for (const f of ['index.ts', 'digit-7.json'])
      cpSync(join(EXAMPLES, 'evm-dapp', f), join(app, 'evm-dapp', f));
    // The example's zk request needs an eligible provider: the devnet's registers after start.
    await waitFor(
      'the devnet provider to register',
      async () => Boolean(await client.query('inference/provider', { address: node!.info.provider })),
      { timeoutMs: 120_000, intervalMs: 500, diagnose: () => node!.stderr() },
    );
  });

  after(async () => {
    client?.close();
    relayer?.kill('SIGTERM');
    await anvil?.stop();
    await node?.stop();
    await dir?.remove();
  });

  it('packs @aivm/sdk, @aivm/evm and their @aivm dependencies as built JavaScript with declarations', () => {
    const names = tarballs.map((t) => t.split('/').at(-1)).sort();
    for (const p of ['chain', 'codec', 'contracts', 'crypto', 'evm', 'runtime', 'sdk', 'state', 'zk'])
      assert.ok(names.includes(`aivm-${p}-0.1.0.tgz`), `aivm-${p} packed: ${names.join(', ')}`);
    const installed = join(app, 'node_modules', '@aivm');
    for (const name of names) {
      const pkg = name!.replace(/^aivm-/, '').replace(/-0\.1\.0\.tgz$/, '');
      const manifest = JSON.parse(readFileSync(join(installed, pkg, 'package.json'), 'utf8')) as {
        private?: boolean;
        engines: { node: string };
        exports: Record<string, Record<string, string>>;
        dependencies: Record<string, string>;
      };
      assert.equal(manifest.private, undefined, `${pkg} is publishable`);
      assert.equal(manifest.engines.node, '>=20');
      assert.ok(existsSync(join(installed, pkg, 'README.md')), `${pkg} has its README`);
      assert.ok(existsSync(join(installed, pkg, 'LICENSE')), `${pkg} has the LICENSE`);
      for (const [path, target] of Object.entries(manifest.exports)) {
        assert.match(target.types!, /^\.\/dist\/.+\.d\.ts$/, `${pkg} ${path} types`);
        for (const [cond, file] of Object.entries(target)) {
          assert.ok(
            existsSync(join(installed, pkg, file)),
            `${pkg} ${path} ${cond}: ${file} is in the tarball`,
          );
          if (cond !== 'types') assert.match(file, /\.js$/, `${pkg} ${path} ${cond} is JavaScript`);
        }
      }
      for (const [dep, range] of Object.entries(manifest.dependencies))
        if (dep.startsWith('@aivm/')) assert.equal(range, '0.1.0', `${pkg} pins ${dep}`);
    }
    // No TypeScript source went into a tarball: only dist/ (JavaScript and .d.ts).
    const sdkStage = join(stage, 'sdk');
    assert.ok(existsSync(join(sdkStage, 'dist', 'index.js')));
    assert.ok(existsSync(join(sdkStage, 'dist', 'browser', 'aivm-sdk.js')));
    assert.equal(existsSync(join(sdkStage, 'src')), false);
  });

  it('a TypeScript project type-checks against the installed declarations (strict)', async () => {
    const ok = await runCommand(
      process.execPath,
      [TSC, ...TSC_OPTS, '--outDir', 'out', '--rootDir', 'node-dapp', 'node-dapp/index.ts'],
      { cwd: app },
    );
    assert.equal(ok.code, 0, `${ok.stdout}${ok.stderr}`);
    assert.ok(existsSync(join(app, 'out', 'index.js')));
    // The declarations carry real types, not `any`: a wrong use of the API fails to compile.
    cpSync(join(import.meta.dirname, 'fixtures', 'sdk-type-error.ts.txt'), join(app, 'type-error.ts'));
    const bad = await runCommand(process.execPath, [TSC, ...TSC_OPTS, '--noEmit', 'type-error.ts'], {
      cwd: app,
    });
    assert.equal(bad.code, 2, `${bad.stdout}${bad.stderr}`);
    assert.match(
      bad.stdout,
      /type-error\.ts\(\d+,\d+\): error TS2322: Type 'bigint' is not assignable to type 'number'/,
    );
  });

  it('node-dapp runs from the installed packages on Node 24 (TypeScript run directly)', async () => {
    const r = await runCommand(
      process.execPath,
      [join(app, 'node-dapp', 'index.ts'), '--rpc', node!.rpcUrl],
      {
        cwd: app,
      },
    );
    await checkNodeDapp(r, client, node!.stderr, true);
  });

  it('node-dapp runs from the installed packages on the system Node 20+ (compiled by tsc)', async (t) => {
    const other = otherNode();
    if (!other) return t.skip('no other Node.js of version 20 or more on PATH');
    t.diagnostic(`${other.path} ${other.version}`);
    // Compiled by the previous test; compile here too when it ran alone.
    if (!existsSync(join(app, 'out', 'index.js')))
      await runCommand(
        process.execPath,
        [TSC, ...TSC_OPTS, '--outDir', 'out', '--rootDir', 'node-dapp', 'node-dapp/index.ts'],
        {
          cwd: app,
        },
      );
    // The compiled script reads its data files next to itself.
    for (const f of ['tiny-scorer.aivm', 'digit-7.json'])
      cpSync(join(app, 'node-dapp', f), join(app, 'out', f));
    const r = await runCommand(other.path, [join(app, 'out', 'index.js'), '--rpc', node!.rpcUrl], {
      cwd: app,
    });
    // Node 20 has no global WebSocket: the SDK follows the request by polling.
    await checkNodeDapp(r, client, node!.stderr, Number(/^v(\d+)/.exec(other.version)![1]) >= 22);
  });

  it('examples/browser in Chromium: the installed bundle connects, transfers, runs a zk inference of the sample 7 and verifies its proof in the page', async (t) => {
    if (!existsSync(CHROMIUM)) return t.skip(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
    // The single-file browser bundle from the installed package, as a page without a bundler gets it.
    const sdkBundle = join(app, 'node_modules', '@aivm', 'sdk', 'dist', 'browser', 'aivm-sdk.js');
    assert.equal(node!.info.corsOrigin, '*', 'the devnet answers CORS for any origin');
    const bob = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    const bobBefore = await client.getBalance(bob);

    const r = await runBrowserExample({
      pageDir: join(EXAMPLES, 'browser'),
      sdkBundle,
      rpcUrl: node!.rpcUrl,
      tier: 'zk',
    });
    const all = `log:\n${r.log.join('\n')}\nerrors:\n${r.errors.join('\n')}\n--- devnet:\n${node!.stderr()}`;
    const line = (prefix: string) => {
      const found = r.log.find((l) => l.startsWith(prefix));
      assert.ok(found, `no "${prefix}" line; ${all}`);
      return found;
    };

    assert.deepEqual(r.errors, [], all);
    assert.equal(r.log.filter((l) => l.startsWith('error:')).length, 0, all);
    assert.match(line('connected: '), /^connected: chain 7331 height \d+$/);

    // The transfer the page signed: 1.5 CGPT from dev account 0 to dev account 1, committed.
    const transfer = /^transfer: committed in block (\d+), gas (\d+), 1\.5 CGPT to (0x[0-9a-fA-F]{40})$/.exec(
      line('transfer: '),
    );
    assert.ok(transfer, all);
    assert.equal(transfer[3], bob);
    assert.equal((await client.getBalance(bob)) - bobBefore, 1_500_000_000_000_000_000n);
    const block = await client.getBlock(BigInt(transfer[1]!));
    assert.ok(block, `block ${transfer[1]}`);

    // The zk inference: the sample is a 7; the chain's record agrees with what the page showed.
    const inference = /^inference: request (\d+) finalized class (\d+) tier zk history (\S+)$/.exec(
      line('inference: '),
    );
    assert.ok(inference, all);
    assert.equal(Number(inference[2]), 7);
    const statuses = inference[3]!.split(',');
    assert.equal(statuses[0], 'pending', all);
    assert.ok(statuses.includes('proven'), all);
    assert.equal(statuses.at(-1), 'finalized', all);
    assert.deepEqual(
      r.history.map((h) => h.split(/[ ,]/)[0]),
      statuses,
      'the Status list shows the statuses as they came',
    );
    const onChain = (await client.query('inference/request', { id: inference[1] })) as {
      status: string;
      requester: string;
    };
    assert.equal(onChain.status, 'finalized');
    assert.equal(onChain.requester.toLowerCase(), '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266');
    assert.equal(r.shownClass, '7');
    assert.equal(r.shownProbabilities.length, 10);
    assert.deepEqual(
      r.shownProbabilities.map((p) => p.split(' ')[0]),
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    );
    const percents = r.shownProbabilities.map((p) => Number(/^\d ([0-9.]+)%$/.exec(p)?.[1]));
    assert.equal(percents.indexOf(Math.max(...percents)), 7, r.shownProbabilities.join(' | '));
    const total = percents.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 100) < 1, `probabilities add up to ${total}%`);

    // The proof, checked in the page with the SDK.
    assert.match(line('verify: '), /^verify: proof verified \(tx 0x[0-9a-f]{64}\)$/);
    // The bundle's verifier, run again in the page, accepts that proof and refuses a changed output.
    assert.deepEqual(r.recheck, { asIs: true, outputChanged: false });
  });

  it('evm-dapp runs from the installed @aivm/evm and @aivm/sdk on Node 24 and Node 20: an account on anvil gets the class of the sample 7, delivered with validator attestations', async (t) => {
    // The contracts, deployed by the CLI on the devnet's attestation set, and a relayer process.
    const deployed = await runAivm([
      '--json',
      'evm',
      'deploy',
      '--evm-rpc',
      anvil!.url,
      '--dev-account',
      '0',
      '--aivm-rpc',
      node!.rpcUrl,
      '--models',
      (await listModels(client, { text: 'mnist' }))[0]!.id,
      '--wei-per-cgpt',
      '0.001',
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const { oracle } = JSON.parse(deployed.stdout) as { oracle: string };
    let relayerLog = '';
    relayer = spawn(
      process.execPath,
      [
        BIN,
        '--json',
        '--rpc',
        node!.rpcUrl,
        'relayer',
        '--evm-rpc',
        anvil!.url,
        '--oracle',
        oracle,
        '--home',
        join(dir.path, 'relayer'),
        '--evm-dev-account',
        '1',
        '--dev-account',
        '2',
        '--confirmations',
        '1',
        '--poll-ms',
        '200',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    relayer.stdout!.on('data', (d: Buffer) => (relayerLog = (relayerLog + d.toString()).slice(-20_000)));
    relayer.stderr!.on('data', (d: Buffer) => (relayerLog = (relayerLog + d.toString()).slice(-20_000)));

    const check = (r: Run) => {
      const all = `${r.stdout}${r.stderr}\n--- relayer:\n${relayerLog}\n--- devnet:\n${node!.stderr()}`;
      assert.equal(r.code, 0, all);
      assert.match(
        step(r.stdout, 'connected'),
        /^connected: EVM chain 31337, account 0x[0-9a-fA-F]{40}, oracle /,
      );
      assert.match(
        step(r.stdout, 'model'),
        /^model: bafkrei\S+ = 0x[0-9a-f]{64} on the EVM, 784 input bytes$/,
      );
      const delivered =
        /^delivered: request (\d+) (\w+) via (\w+), class (\d+), output (\S+), EVM statuses (\S+)$/.exec(
          step(r.stdout, 'delivered'),
        );
      assert.ok(delivered, all);
      assert.equal(delivered[2], 'Fulfilled');
      assert.equal(delivered[3], 'attested');
      assert.equal(Number(delivered[4]), 7);
      const output = JSON.parse(delivered[5]!) as number[];
      assert.equal(output.length, 10);
      assert.equal(output.indexOf(Math.max(...output)), 7);
      assert.equal(delivered[6]!.split(',').at(-1), 'Fulfilled');
    };
    const args = ['--evm-rpc', anvil!.url, '--aivm-rpc', node!.rpcUrl, '--oracle', oracle];
    check(await runCommand(process.execPath, [join(app, 'evm-dapp', 'index.ts'), ...args], { cwd: app }));

    const other = otherNode();
    if (!other) return t.diagnostic('no other Node.js of version 20 or more on PATH: Node 20 run skipped');
    const compiled = await runCommand(
      process.execPath,
      [TSC, ...TSC_OPTS, '--outDir', 'out-evm', '--rootDir', 'evm-dapp', 'evm-dapp/index.ts'],
      { cwd: app },
    );
    assert.equal(compiled.code, 0, `${compiled.stdout}${compiled.stderr}`);
    cpSync(join(app, 'evm-dapp', 'digit-7.json'), join(app, 'out-evm', 'digit-7.json'));
    check(
      await runCommand(other.path, [join(app, 'out-evm', 'index.js'), ...args, '--account', '4'], {
        cwd: app,
      }),
    );
  });
});
