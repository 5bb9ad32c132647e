// priceFloorWei: the SDK's (and `aivm infer`'s) pre-check of a model's price follows the chain's
// tier floors from the node's current inference params.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { AivmClient, type ModelInfo, priceFloorWei, TIERS } from '../src/index.ts';
import { ok, TinyRpc } from './tiny-rpc.ts';

let rpc: TinyRpc;
let client: AivmClient;

before(async () => {
  rpc = new TinyRpc();
  await rpc.start();
  client = new AivmClient(rpc.url);
  rpc.handlers.aivm_query = (p) => {
    assert.equal(p.path, 'inference/params');
    return ok({ minPriceWei: '1000', zkPricePerConstraintWei: '7', optimisticPricePerGasWei: '3' });
  };
});

after(async () => {
  client.close();
  await rpc.stop();
});

it('is 0 on chain, else the larger of minPriceWei and the declared cost times its price', async () => {
  const model = (zkConstraints: bigint, gasEstimate: bigint) => ({ zkConstraints, gasEstimate }) as ModelInfo;
  assert.equal(await priceFloorWei(client, model(10_000n, 10_000n), TIERS.onchain), 0n);
  assert.equal(await priceFloorWei(client, model(10_000n, 0n), TIERS.zk), 70_000n);
  assert.equal(await priceFloorWei(client, model(100n, 0n), TIERS.zk), 1000n, 'minPriceWei bounds it below');
  assert.equal(await priceFloorWei(client, model(0n, 5_000n), TIERS.optimistic), 15_000n);
  assert.equal(rpc.requests.length, 3, 'the on-chain tier needs no params');
});
