// Seeded property test on a real anvil: a few hundred random requests, deliveries (valid and
// forged attestations, random outputs), markRelayed, refunds, retries, consumer mode switches and
// garbage signatures. A model of the oracle in TypeScript predicts which calls succeed; after
// every step the oracle's ETH balance equals the sum of the fees of open requests, and no
// request's status moves backwards. Replay a failure with AIVM_FUZZ_SEED=<seed>.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keccak256 } from '@aivm/crypto';
import type { Hex } from 'viem';
import { SeededRng } from '../../../test-support/fuzz.ts';
import {
  AivmLightClient,
  bytes,
  deployWithModel,
  type Env,
  hex,
  oracleAbi,
  resultDigest,
  Status,
  signPacked,
  startEnv,
  TestConsumer,
  validators,
} from './helpers.ts';

const SEED = Number(process.env.AIVM_FUZZ_SEED ?? 20261208);
const STEPS = 600;
const TIMEOUT = 8;
const set = validators(4, 'fuzz');
const outsider = validators(1, 'fuzz-outsider');
const modelId: Hex = `0x${'f0'.repeat(32)}`;

let env: Env;
let oracle: Hex;
let consumer: Hex;
let lc: Hex;
before(async () => {
  env = await startEnv();
  ({
    oracle,
    consumer,
    lightClient: lc,
  } = await deployWithModel(
    env,
    set,
    modelId,
    { tiers: 1 | 4, aivmPriceWei: 777_777n, aivmGasWei: 10n ** 15n, aivmOnchainGasWei: 3n },
    { timeoutBlocks: TIMEOUT },
  ));
});
after(() => env?.stop());

type Req = { status: number; fee: bigint; deadline: bigint; tier: number; input: Hex };
const ORDER: Record<number, number[]> = {
  [Status.Pending]: [
    Status.Pending,
    Status.Relayed,
    Status.Fulfilled,
    Status.CallbackFailed,
    Status.Refunded,
  ],
  [Status.Relayed]: [Status.Relayed, Status.Fulfilled, Status.CallbackFailed, Status.Refunded],
  [Status.CallbackFailed]: [Status.CallbackFailed, Status.Fulfilled],
  [Status.Fulfilled]: [Status.Fulfilled],
  [Status.Refunded]: [Status.Refunded],
};

describe(`oracle and light client under seeded random calls (seed ${SEED})`, () => {
  it(`${STEPS} steps keep balance = open fees and statuses moving forward`, {
    timeout: 120_000,
  }, async () => {
    const rng = new SeededRng(SEED);
    const reqs = new Map<bigint, Req>();
    let nextId = 1n;
    let ok = 0;
    let refused = 0;
    const isOpen = (r?: Req) =>
      r !== undefined && (r.status === Status.Pending || r.status === Status.Relayed);
    const attempt = async (expectOk: boolean, what: string, f: () => Promise<unknown>) => {
      let succeeded = true;
      try {
        await f();
      } catch {
        succeeded = false;
      }
      assert.equal(succeeded, expectOk, `step ${what}: expected ${expectOk ? 'success' : 'a revert'}`);
      if (succeeded) ok++;
      else refused++;
      return succeeded;
    };
    const randId = () =>
      nextId > 1n && rng.int(8) !== 0
        ? BigInt(1 + rng.int(Number(nextId - 1n)))
        : nextId + BigInt(rng.int(3));
    const randOutput = (): Hex => hex(rng.bytes(40));

    for (let step = 0; step < STEPS; step++) {
      const op = rng.int(10);
      const label = `${step} op ${op}`;
      if (op <= 2) {
        // requestInference through the consumer.
        const tier = [1, 4, 4, 1, 2, 3][rng.int(6)] as number;
        const gas = rng.int(4) === 0 ? 0 : rng.int(300_000);
        const input: Hex = rng.int(12) === 0 ? hex(rng.bytes(rng.int(16))) : hex(rng.bytes(8));
        const data: Hex = rng.int(15) === 0 ? hex(rng.bytes(1025)) : hex(rng.bytes(rng.int(64)));
        const valid = (tier === 1 || tier === 4) && bytes(input).length === 8 && bytes(data).length <= 1024;
        const quote = valid
          ? await env.read<bigint>({
              address: oracle,
              abi: oracleAbi,
              functionName: 'quote',
              args: [modelId, tier, gas],
            })
          : 0n;
        // Quotes move with the base fee: underpay well below it, or pay it with a margin.
        const under = valid && rng.int(6) === 0;
        const value = under ? quote / 2n : quote + quote / 4n + BigInt(rng.int(1000));
        const done = await attempt(valid && !under, label, () =>
          env.write(
            {
              address: consumer,
              abi: TestConsumer.abi,
              functionName: 'request',
              args: [modelId, input, tier, gas, data],
              value,
            },
            1,
          ),
        );
        if (done) {
          const r = await env.read<{ fee: bigint; deadline: number }>({
            address: oracle,
            abi: oracleAbi,
            functionName: 'getRequest',
            args: [nextId],
          });
          assert.ok(r.fee <= value && r.fee > 0n);
          reqs.set(nextId, { status: Status.Pending, fee: r.fee, deadline: BigInt(r.deadline), tier, input });
          nextId++;
        }
      } else if (op <= 4) {
        // fulfillAttested: a random number of signers, sometimes an outsider or a tampered output.
        const id = randId();
        const r = reqs.get(id);
        const output = randOutput();
        const k = rng.int(5);
        const signers = set
          .slice(0, 4)
          .filter(() => rng.int(4) !== 0)
          .slice(0, k);
        const withOutsider = rng.int(6) === 0;
        const tamper = rng.int(8) === 0;
        const digest = resultDigest({
          requestId: id,
          modelId,
          tier: r?.tier ?? 1,
          inputHash: hex(keccak256(bytes(r?.input ?? '0x'))),
          outputHash: hex(keccak256(bytes(output))),
        });
        const sigs = signPacked(digest, withOutsider ? [...signers, ...outsider] : signers);
        const sent = tamper ? randOutput() : output;
        const expect = isOpen(r) && signers.length >= 3 && !withOutsider && !tamper;
        const done = await attempt(expect, label, () =>
          env.write(
            { address: oracle, abi: oracleAbi, functionName: 'fulfillAttested', args: [id, id, sent, sigs] },
            2,
          ),
        );
        if (done && r) {
          const status = await env.read<number>({
            address: oracle,
            abi: oracleAbi,
            functionName: 'statusOf',
            args: [id],
          });
          assert.ok(status === Status.Fulfilled || status === Status.CallbackFailed);
          r.status = status;
        }
      } else if (op === 5) {
        const id = randId();
        const r = reqs.get(id);
        if (
          await attempt(r?.status === Status.Pending, label, () =>
            env.write(
              {
                address: oracle,
                abi: oracleAbi,
                functionName: 'markRelayed',
                args: [id, BigInt(rng.next())],
              },
              3,
            ),
          )
        )
          (r as Req).status = Status.Relayed;
      } else if (op === 6) {
        const id = randId();
        const r = reqs.get(id);
        const head = await env.pub.getBlockNumber({ cacheTime: 0 });
        const expect = isOpen(r) && head + 1n > (r as Req).deadline;
        if (
          await attempt(expect, label, () =>
            env.write({ address: oracle, abi: oracleAbi, functionName: 'refund', args: [id] }, 3),
          )
        )
          (r as Req).status = Status.Refunded;
      } else if (op === 7) {
        const id = randId();
        const r = reqs.get(id);
        const gas = 300_000 + rng.int(100_000);
        const done = await attempt(r?.status === Status.CallbackFailed, label, () =>
          env.write({ address: oracle, abi: oracleAbi, functionName: 'retryCallback', args: [id, gas] }, 3),
        );
        if (done && r)
          r.status = await env.read<number>({
            address: oracle,
            abi: oracleAbi,
            functionName: 'statusOf',
            args: [id],
          });
      } else if (op === 8) {
        await env.write({
          address: consumer,
          abi: TestConsumer.abi,
          functionName: 'setMode',
          args: [rng.int(3)],
        });
        if (rng.int(2) === 0) await env.mine(1 + rng.int(TIMEOUT));
      } else {
        // Garbage for the light client: never accepted.
        const len = rng.int(3) === 0 ? rng.int(200) : 65 * (1 + rng.int(4));
        let accepted = false;
        try {
          accepted = await env.read<boolean>({
            address: lc,
            abi: AivmLightClient.abi,
            functionName: 'verifyAttestation',
            args: [hex(rng.bytes(32)), hex(rng.bytes(len))],
          });
        } catch {}
        assert.equal(accepted, false, label);
      }

      // Invariants: balance = fees of open requests; statuses only forward (checked on chain every 25 steps).
      const open = [...reqs.values()].filter(isOpen).reduce((s, r) => s + r.fee, 0n);
      assert.equal(await env.balance(oracle), open, `${label}: balance`);
      if (step % 25 === 24 || step === STEPS - 1)
        for (const [id, r] of reqs) {
          const s = await env.read<number>({
            address: oracle,
            abi: oracleAbi,
            functionName: 'statusOf',
            args: [id],
          });
          assert.ok(ORDER[r.status]?.includes(s), `${label}: request ${id} went ${r.status} → ${s}`);
          assert.equal(s, r.status, `${label}: request ${id}`);
        }
    }
    console.log(`fuzz seed ${SEED}: ${ok} calls succeeded, ${refused} refused, ${reqs.size} requests`);
    assert.ok(ok > 50 && refused > 50, `${ok} ok, ${refused} refused: both kinds exercised`);
    assert.ok([...reqs.values()].some((r) => r.status === Status.Refunded));
    assert.ok([...reqs.values()].some((r) => r.status === Status.CallbackFailed));
    assert.ok([...reqs.values()].some((r) => r.status === Status.Fulfilled));
  });
});
