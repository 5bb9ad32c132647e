// `aivm testnet --providers`: a real two-validator network (two `aivm start` processes under one
// `aivm testnet` process) whose genesis publishes the MNIST model and whose first validator also
// serves inference. A zk `aivm infer` of the sample digit, sent to the other validator, finalizes
// with class 7, proved by the testnet's provider. Kept small for 2-core machines: 2 validators, 1
// provider, and the zk keys of the shared cache that inference.test.ts also uses.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mnemonicToPrivateKey, privateKeyToAddress } from '@aivm/crypto';
import { modelId } from '@aivm/runtime';
import { AivmClient } from '@aivm/sdk';
import { DEV_PUBLISHER_INDEX, devnetModels, MNIST_ARTIFACT, MNIST_DIGIT } from '../src/commands/node.ts';
import type { TestnetNode } from '../src/commands/testnet.ts';
import { DEV_MNEMONIC } from '../src/home.ts';
import { type RunningNode, runAivm, startAivm, tempDir, ZK_KEYS } from './helpers.ts';
import { freePortRange, waitFor } from './network-helpers.ts';

/** Slow blocks: the default 30-block result deadline then leaves a loaded machine time to prove. */
const BLOCK_MS = 1_000;

describe('aivm testnet --providers (real processes)', { timeout: 600_000 }, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let testnet: RunningNode;
  let info: { dir: string; nodes: TestnetNode[]; model?: string; zkCache?: string };
  let client: AivmClient;
  const diagnose = () => `\n--- aivm testnet stderr ---\n${testnet?.stderr().slice(-4_000) ?? ''}`;

  before(async () => {
    dir = await tempDir('aivm-testnet-ai-');
    mkdirSync(ZK_KEYS, { recursive: true });
    // The zk setup (first run only) before the testnet, whose banner startAivm awaits for 30 s.
    await devnetModels(ZK_KEYS, privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, DEV_PUBLISHER_INDEX)));
    const base = await freePortRange(4);
    testnet = await startAivm([
      'testnet',
      '--dir',
      join(dir.path, 'net'),
      '--validators',
      '2',
      '--providers',
      '1',
      '--accounts',
      '2',
      '--p2p-port',
      String(base),
      '--rpc-port',
      String(base + 2),
      '--block-time',
      String(BLOCK_MS),
      '--zk-cache',
      ZK_KEYS,
    ]);
    info = testnet.info as typeof info;
    client = new AivmClient(info.nodes[1]!.rpcUrl, { timeoutMs: 10_000 });
  });

  after(async () => {
    client?.close();
    const code = await testnet?.stop();
    assert.equal(code, 0, `testnet exited uncleanly:${diagnose()}`);
    await dir?.remove();
  });

  it('lists the provider and the MNIST model in its banner', async () => {
    assert.equal(info.model, modelId(new Uint8Array(await readFile(MNIST_ARTIFACT))));
    assert.equal(info.zkCache, ZK_KEYS);
    assert.deepEqual(
      info.nodes.map((n) => [n.name, n.provider === true]),
      [
        ['validator-0', true],
        ['validator-1', false],
      ],
    );
  });

  it('serves a zk inference of the MNIST digit from its provider validator: class 7', {
    timeout: 420_000,
  }, async () => {
    const provider = info.nodes[0]!.operator;
    // Registered by the node itself once its zk keys are loaded; the stake is the chain minimum.
    const record = await waitFor(
      'validator-0 registered as a provider',
      () => client.query<{ stakeWei: string }>('inference/provider', { address: provider }),
      { timeoutMs: 180_000, intervalMs: 1_000, diagnose },
    );
    const params = await client.query<{ minProviderStakeWei: string }>('inference/params');
    assert.equal(record.stakeWei, params.minProviderStakeWei);
    // The model is on chain from genesis, as every node sees it.
    const model = await client.query<{ owner: string }>('models/model', { id: info.model });
    assert.equal(
      model.owner.toLowerCase(),
      privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, DEV_PUBLISHER_INDEX)).toLowerCase(),
    );

    // Sent to validator-1, which is no provider: the job reaches validator-0 through the chain.
    const r = await runAivm([
      '--rpc',
      info.nodes[1]!.rpcUrl,
      '--json',
      'infer',
      info.model!,
      '--input',
      MNIST_DIGIT,
      '--tier',
      'zk',
      '--dev-account',
      '0',
      '--timeout',
      '300',
    ]);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}${diagnose()}`);
    const out = JSON.parse(r.stdout) as {
      status: string;
      class: number;
      matchesLocalRun: boolean;
      providers: string[];
      proof?: { verifiedLocally: boolean };
    };
    assert.equal(out.status, 'finalized');
    assert.equal(out.class, 7);
    assert.equal(out.matchesLocalRun, true);
    assert.equal(out.proof?.verifiedLocally, true);
    assert.deepEqual(
      out.providers.map((p) => p.toLowerCase()),
      [provider.toLowerCase()],
    );
  });
});
