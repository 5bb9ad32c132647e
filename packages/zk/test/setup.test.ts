// Development setup (direct .zkey from known toxic waste) checked against snarkjs itself: byte-equal
// to snarkjs' newZKey where τ = α = β = 1 (the un-contributed ptau), snarkjs reads the key, proves
// with our .wtns, verifies; tampered public signals and a wrong witness fail. The production path
// (newZKey + phase-2 contributions + verifyFromR1cs) on a tiny ptau, and the key cache.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runInt } from '@aivm/runtime';
import * as snarkjs from 'snarkjs';
import { compile, fmod, witnessFromTrace, writeR1cs, writeWtns } from '../src/index.ts';
import {
  _lagrangeAt,
  devSetup,
  domainPower,
  isDevZkey,
  loadOrCreateKeys,
  readR1csInfo,
  setupFromPtau,
  zkeyFromToxicWaste,
} from '../src/setup.ts';
import { Bn254Wasm, windowsFor } from '../src/setup-wasm.ts';
import { tinyModel } from './helpers/tiny.ts';

const { model, x } = tinyModel();
// Unfused: the circuit the fixture keys below were written for (fusing the ReLU is newer).
const circuit = compile(model, { fuseRelu: false });
const run = runInt(model, { x }, { trace: true });
const witness = witnessFromTrace(circuit, run.trace as NonNullable<typeof run.trace>);
const r1csBytes = writeR1cs(circuit.r1cs);
const wtns = writeWtns(witness.wires);
const info = readR1csInfo(r1csBytes);
const pow = domainPower(info);
const quiet = { warn() {}, info() {}, error() {}, debug() {} };

const dir = mkdtempSync(join(tmpdir(), 'aivm-zk-setup-'));
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  await g.curve_bn128?.terminate();
});

type Sections = Map<number, Uint8Array>;
function sections(b: Uint8Array): Sections {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Sections = new Map();
  let p = 12;
  for (let i = 0; i < v.getUint32(8, true); i++) {
    const type = v.getUint32(p, true);
    const size = Number(v.getBigUint64(p + 4, true));
    out.set(type, b.subarray(p + 12, p + 12 + size));
    p += 12 + size;
  }
  return out;
}

async function ptau(power: number, contribute: boolean): Promise<string> {
  const curve = await snarkjs.curves.getCurveFromName('bn128');
  const p0 = join(dir, `p0-${power}-${contribute}.ptau`);
  const pf = join(dir, `pf-${power}-${contribute}.ptau`);
  await snarkjs.powersOfTau.newAccumulator(curve, power, p0, quiet);
  let src = p0;
  if (contribute) {
    src = join(dir, `p1-${power}.ptau`);
    await snarkjs.powersOfTau.contribute(p0, src, 'test', 'entropy for a test only', quiet);
  }
  await snarkjs.powersOfTau.preparePhase2(src, pf, quiet);
  return pf;
}

describe('development setup (direct zkey from known toxic waste)', () => {
  it('Lagrange basis values sum to one and are an indicator on the domain', () => {
    const L = _lagrangeAt(123456789n, 4);
    assert.equal(fmod(L.reduce((s, v) => s + v, 0n)), 1n);
    assert.deepEqual(_lagrangeAt(1n, 3), [1n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
  });

  it('is byte-identical to snarkjs newZKey for τ = α = β = γ = δ = 1 (un-contributed ptau)', {
    timeout: 120_000,
  }, async () => {
    const pf = await ptau(pow + 1, false);
    const ref: { type: 'mem'; data?: Uint8Array } = { type: 'mem' };
    await snarkjs.zKey.newZKey({ type: 'mem', data: r1csBytes }, pf, ref, quiet);
    const ours = await zkeyFromToxicWaste(r1csBytes, { tau: 1n, alpha: 1n, beta: 1n, gamma: 1n, delta: 1n });
    const a = sections(ref.data as Uint8Array);
    const b = sections(ours.zkey);
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const id of a.keys())
      if (id !== 10)
        assert.ok(Buffer.from(a.get(id) as Uint8Array).equals(b.get(id) as Uint8Array), `section ${id}`);
    assert.equal(ours.zkey.length, (ref.data as Uint8Array).length);
  });

  it('snarkjs reads the dev key, proves with our .wtns and verifies; tampering fails', {
    timeout: 120_000,
  }, async () => {
    const t0 = performance.now();
    const kp = await devSetup(r1csBytes, 'test seed');
    console.log(
      `tiny circuit: ${info.nConstraints} constraints, domain 2^${pow}, dev setup ${kp.ms.toFixed(0)} ms (${JSON.stringify(kp.timings)})`,
    );
    assert.ok(isDevZkey(kp.zkey));
    assert.equal(kp.vk.insecure, true);
    const again = await devSetup(r1csBytes, 'test seed');
    assert.ok(Buffer.from(again.zkey).equals(kp.zkey), 'reproducible from the seed');
    const other = await devSetup(r1csBytes, 'other seed');
    assert.ok(!Buffer.from(other.zkey).equals(kp.zkey));
    const vk = await snarkjs.zKey.exportVerificationKey({ type: 'mem', data: kp.zkey } as never, quiet);
    assert.equal(vk.nPublic, info.nOutputs + info.nPubInputs);
    const { proof, publicSignals } = await snarkjs.groth16.prove(
      { type: 'mem', data: kp.zkey } as never,
      wtns,
      quiet,
    );
    assert.deepEqual(publicSignals, witness.publicSignals.map(String));
    assert.equal(await snarkjs.groth16.verify(kp.vk, publicSignals, proof, quiet), true);
    for (const i of [0, 5]) {
      const bad = publicSignals.slice();
      bad[i] = fmod(BigInt(bad[i]) + 1n).toString();
      assert.equal(await snarkjs.groth16.verify(kp.vk, bad, proof, quiet), false);
    }
    // A key from another seed does not accept this proof.
    assert.equal(await snarkjs.groth16.verify(other.vk, publicSignals, proof, quiet), false);
    // A witness that violates a constraint yields a proof that does not verify.
    const w = witness.wires.slice();
    w[w.length - 1] = fmod(w[w.length - 1] + 1n);
    const bad = await snarkjs.groth16.prove({ type: 'mem', data: kp.zkey } as never, writeWtns(w), quiet);
    assert.equal(await snarkjs.groth16.verify(kp.vk, bad.publicSignals, bad.proof, quiet), false);
    console.log(`  dev setup + checks ${(performance.now() - t0).toFixed(0)} ms`);
  });
});

describe('development setup: wasm comb and worker threads', () => {
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

  it('writes exactly the bytes of the previous implementation (fixture hashes)', {
    timeout: 120_000,
  }, async () => {
    // sha256 of the keys that the implementation before the wasm-comb rewrite (bigint field part,
    // 8-bit comb as ffjavascript task lists) wrote for these inputs.
    assert.equal(sha(r1csBytes), '8c6bb41a7503b301df4f207a6cff1588012cb787d87bf383b5f12bfa6a9dcf57');
    const want: [string, string][] = [
      ['test seed', '3878a3b74313288543ca3be85a7a240fe7f742e9461519d3cbfa07424f6fe082'],
      ['other seed', '44d5b1accb0fb31ce98d1f72dd9f80db2b24cf3f833df6348503cb7b13ac3f2c'],
    ];
    for (const [seed, hash] of want) assert.equal(sha((await devSetup(r1csBytes, seed)).zkey), hash, seed);
    const ones = await zkeyFromToxicWaste(r1csBytes, { tau: 1n, alpha: 1n, beta: 1n, gamma: 1n, delta: 1n });
    assert.equal(sha(ones.zkey), '256592f1c2fd282c7f9bbd6a662a2fd4eef574df571331eeda8b9d5e281892d3');
    const small = await zkeyFromToxicWaste(r1csBytes, {
      tau: 5n,
      alpha: 2n,
      beta: 3n,
      gamma: 7n,
      delta: 11n,
    });
    assert.equal(sha(small.zkey), 'fa9aec8da20f109b7a9e3d16b43dbca30cec0fa6cf463f517e558117e9fa4b81');
  });

  it('comb multiplication matches ffjavascript timesScalar in G1 and G2 (edge scalars, odd windows)', {
    timeout: 120_000,
  }, async () => {
    type C = {
      G1: {
        g: unknown;
        timesScalar(p: unknown, s: bigint): unknown;
        toRprLEM(b: Uint8Array, o: number, p: unknown): void;
      };
      G2: {
        g: unknown;
        timesScalar(p: unknown, s: bigint): unknown;
        toRprLEM(b: Uint8Array, o: number, p: unknown): void;
      };
      tm: { code: Uint8Array };
    };
    const getCurve = snarkjs.curves.getCurveFromName as unknown as (n: string, o: object) => Promise<C>;
    const curve = await getCurve('bn128', { singleThread: true });
    const f = await Bn254Wasm.create(curve.tm.code);
    const r = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
    const ks = [0n, 1n, 2n, 3n, r - 1n, r - 2n, (1n << 253n) + 12345n, 1n << 128n, (r * 2n) / 3n];
    for (let i = 0; i < 6; i++) ks.push((BigInt(i + 1) * 0x9e3779b97f4a7c15f39cc0605cedc834n ** 3n) % r);
    const sb = new Uint8Array(ks.length * 32);
    ks.forEach((k, i) => {
      for (let j = 0; j < 32; j++) sb[i * 32 + j] = Number((k >> BigInt(8 * j)) & 0xffn);
    });
    for (const group of ['G1', 'G2'] as const) {
      const G = curve[group];
      const s = group === 'G1' ? 64 : 128;
      const gen = new Uint8Array(s);
      G.toRprLEM(gen, 0, G.g);
      for (const w of [7, 13]) {
        const rows = f.combRows(group, gen, w, 0, windowsFor(w));
        const table = f.alloc(rows.length);
        f.set(table, rows);
        const got = f.combMul(group, table, w, sb);
        ks.forEach((k, i) => {
          const want = new Uint8Array(s);
          G.toRprLEM(want, 0, G.timesScalar(G.g, k));
          assert.ok(Buffer.from(got.subarray(i * s, (i + 1) * s)).equals(want), `${group} w=${w} k=${k}`);
        });
      }
    }
  });
});

describe('production setup from a prepared ptau', () => {
  it('newZKey, two recorded contributions, verifyFromR1cs; proof verifies', {
    timeout: 300_000,
  }, async () => {
    const pf = await ptau(pow, true);
    const kp = await setupFromPtau(r1csBytes, pf, [
      { name: 'alice', entropy: 'alice entropy 1' },
      { name: 'bob', entropy: 'bob entropy 2' },
    ]);
    assert.equal(kp.contributions?.length, 2);
    assert.deepEqual(
      kp.contributions?.map((c) => c.name),
      ['alice', 'bob'],
    );
    for (const c of kp.contributions ?? []) assert.match(c.hash, /^[0-9a-f]{128}$/);
    assert.ok(!isDevZkey(kp.zkey));
    const { proof, publicSignals } = await snarkjs.groth16.prove(
      { type: 'mem', data: kp.zkey } as never,
      wtns,
      quiet,
    );
    assert.equal(await snarkjs.groth16.verify(kp.vk, publicSignals, proof, quiet), true);
    console.log(`production setup (2 contributions + verify): ${kp.ms.toFixed(0)} ms`);
    await assert.rejects(setupFromPtau(r1csBytes, pf, []), /at least one/);
  });
});

describe('key cache', () => {
  it('creates once, then loads by circuit hash; dev and seeds are separate entries', {
    timeout: 60_000,
  }, async () => {
    const cache = join(dir, 'cache');
    const a = await loadOrCreateKeys(cache, r1csBytes, { kind: 'dev', seed: 's' });
    assert.equal(a.cached, false);
    const b = await loadOrCreateKeys(cache, r1csBytes, { kind: 'dev', seed: 's' });
    assert.equal(b.cached, true);
    assert.ok(Buffer.from(b.zkey).equals(a.zkey));
    assert.deepEqual(b.vk, JSON.parse(JSON.stringify(a.vk)));
    assert.ok(a.zkeyPath.includes(a.circuitHash));
    const c = await loadOrCreateKeys(cache, r1csBytes, { kind: 'dev', seed: 't' });
    assert.equal(c.cached, false);
    // A corrupted zkey is rebuilt.
    writeFileSync(a.zkeyPath, new Uint8Array(10));
    const d = await loadOrCreateKeys(cache, r1csBytes, { kind: 'dev', seed: 's' });
    assert.equal(d.cached, false);
    assert.ok(Buffer.from(readFileSync(a.zkeyPath)).equals(a.zkey));
  });
});
