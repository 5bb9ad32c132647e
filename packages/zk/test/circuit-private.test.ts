// compile(model, { weights: 'private' }) on the tiny MLP: packed weight elements and biases are
// private values bound by weightCommitment(model), the last public signal; the honest trace
// satisfies (also at the extreme weights and inputs the slot width is sized for), ±1 on any private
// wire (element, bias, product, slot bit, intermediate, Poseidon state) violates a constraint, the
// R1CS does not depend on W, and a witness for other weights cannot claim W's commitment.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type QuantModel, type QuantTensor, quantize, runInt } from '@aivm/runtime';
import { buildGraph, randTensor, rng } from '../../runtime/test/quant-helpers.ts';
import {
  BN254_R,
  commitInputs,
  compile,
  firstViolation,
  fmod,
  type R1cs,
  slotBits,
  weightCommitment,
  weightCommitmentElements,
  witnessFromTrace,
  writeR1cs,
} from '../src/index.ts';
import { tinyModel } from './helpers/tiny.ts';

const { model, x } = tinyModel();

function witnessOf(m: QuantModel, opts: Parameters<typeof compile>[1]) {
  const circuit = compile(m, opts);
  const run = runInt(m, { x }, { trace: true });
  const trace = run.trace as NonNullable<typeof run.trace>;
  return { circuit, trace, run, w: witnessFromTrace(circuit, trace) };
}

/** The same architecture (and rescale constants) with one weight of each layer and one bias changed. */
function otherWeights(m: QuantModel): QuantModel {
  const c = structuredClone(m);
  const gemms = c.nodes.filter((n) => n.kernel === 'linear');
  (gemms[0].params.weight as Int8Array)[5] += (gemms[0].params.weight as Int8Array)[5] > 0 ? -3 : 3;
  (gemms[1].params.weight as Int8Array)[2] += (gemms[1].params.weight as Int8Array)[2] > 0 ? -1 : 1;
  (gemms[1].params.bias as Int32Array)[0] += 1;
  return c;
}

const wc = weightCommitment(model);

describe("compile(model, { weights: 'private' }) on the tiny MLP", () => {
  it('public signals: outputs, inputs (or their commitment), then the weight commitment', () => {
    const pub = witnessOf(model, { weights: 'private' });
    const y = [...(pub.trace.get('y') as { data: Int8Array }).data].map((v) => fmod(BigInt(v)));
    const xq = [...(pub.trace.get('x') as { data: Int8Array }).data].map((v) => fmod(BigInt(v)));
    assert.equal(pub.circuit.weights, 'private');
    assert.equal(pub.circuit.r1cs.nOutputs, 3);
    assert.equal(pub.circuit.r1cs.nPubInputs, 9);
    assert.deepEqual(pub.w.publicSignals, [...y, ...xq, wc]);
    assert.equal(firstViolation(pub.circuit.r1cs, pub.w.wires), -1);
    assert.deepEqual(pub.circuit.committedWeights, [
      { node: 'Gemm_0', weights: 32, biases: 4, elements: 8 },
      { node: 'Gemm_2', weights: 12, biases: 3, elements: 4 },
    ]);

    const com = witnessOf(model, { weights: 'private', inputs: 'committed' });
    assert.equal(com.circuit.r1cs.nPubInputs, 2);
    assert.deepEqual(com.w.publicSignals, [...y, commitInputs(xq), wc]);
    assert.equal(firstViolation(com.circuit.r1cs, com.w.wires), -1);
    // The outputs are the runtime's, as in public-weights mode.
    assert.deepEqual(witnessOf(model, {}).w.publicSignals.slice(0, 3), y);
  });

  it('weightCommitment packs each input column of a layer into signed slots, then the biases', () => {
    const gemms = model.nodes.filter((n) => n.kernel === 'linear');
    // Slot widths: K·128·128 < 2^(L−1): K = 8 → 2^17 < 2^18, L = 19; K = 4 → 2^16 < 2^17, L = 18.
    assert.deepEqual([slotBits(8), slotBits(4), slotBits(784), slotBits(9)], [19, 18, 25, 19]);
    const elements = weightCommitmentElements(model);
    assert.equal(elements.length, 8 + 4 + 4 + 3);
    // Every element decodes (signed base-2^L digits) back to the column of weights it packs.
    const decode = (e: bigint, L: number, n: number): number[] => {
      let v = e > BN254_R / 2n ? e - BN254_R : e;
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        let d = v & ((1n << BigInt(L)) - 1n);
        if (d >= 1n << BigInt(L - 1)) d -= 1n << BigInt(L);
        out.push(Number(d));
        v = (v - d) >> BigInt(L);
      }
      assert.equal(v, 0n);
      return out;
    };
    let at = 0;
    for (const [node, L] of [
      [gemms[0], 19],
      [gemms[1], 18],
    ] as const) {
      const W = node.params.weight as Int8Array;
      const N = (node.params.bias as Int32Array).length;
      const K = W.length / N;
      for (let k = 0; k < K; k++)
        assert.deepEqual(
          decode(elements[at++], L, N),
          Array.from({ length: N }, (_, n) => W[n * K + k]),
        );
    }
    const bs = gemms.flatMap((n) => [...(n.params.bias as Int32Array)]);
    assert.deepEqual(
      elements.slice(at),
      bs.map((b) => (b < 0 ? BN254_R + BigInt(b) : BigInt(b))),
    );
    assert.equal(wc, commitInputs(elements));
  });

  it('the slots hold the extreme accumulators: every weight −127 or 127 against inputs of −127', () => {
    for (const w of [-127, 127]) {
      const m = structuredClone(model);
      for (const n of m.nodes) if (n.kernel === 'linear') (n.params.weight as Int8Array).fill(w);
      const input = { x: { ...x, data: new Float32Array(x.data.length).fill(-1e6) } };
      const run = runInt(m, input, { trace: true });
      const trace = run.trace as NonNullable<typeof run.trace>;
      assert.ok([...(trace.get('x') as { data: Int8Array }).data].every((v) => v === -127));
      const circuit = compile(m, { weights: 'private' });
      const wit = witnessFromTrace(circuit, trace);
      assert.equal(firstViolation(circuit.r1cs, wit.wires), -1);
      assert.equal(wit.publicSignals.at(-1), weightCommitment(m));
    }
  });

  it('refuses a bias outside the slot range ±2^(L−1), with the node named', () => {
    for (const b of [1 << 18, -(1 << 18) - 1]) {
      const m = structuredClone(model);
      (m.nodes[0].params.bias as Int32Array)[1] = b;
      assert.throws(() => weightCommitment(m), /node "Gemm_0".*bias -?\d+ of output 1 is outside ±2\^18/s);
      const run = runInt(m, { x }, { trace: true });
      assert.throws(
        () =>
          witnessFromTrace(compile(m, { weights: 'private' }), run.trace as NonNullable<typeof run.trace>),
        /outside ±2\^18/,
      );
    }
    // The largest allowed biases prove.
    for (const b of [(1 << 18) - 1, -(1 << 18)]) {
      const m = structuredClone(model);
      (m.nodes[0].params.bias as Int32Array)[1] = b;
      const run = runInt(m, { x }, { trace: true });
      const wit = witnessFromTrace(
        compile(m, { weights: 'private' }),
        run.trace as NonNullable<typeof run.trace>,
      );
      assert.equal(wit.publicSignals.at(-1), weightCommitment(m));
    }
  });

  it('changing any single weight or bias changes the commitment', () => {
    const seen = new Set<bigint>([wc]);
    let changed = 0;
    for (const [ni, node] of model.nodes.entries()) {
      for (const key of ['weight', 'bias'] as const) {
        const arr = node.params[key];
        if (!(arr instanceof Int8Array || arr instanceof Int32Array)) continue;
        for (let k = 0; k < arr.length; k++) {
          const m = structuredClone(model);
          const a = m.nodes[ni].params[key] as Int8Array | Int32Array;
          a[k] = a[k] === 127 ? 126 : a[k] + 1;
          const c = weightCommitment(m);
          assert.ok(!seen.has(c), `${node.name}.${key}[${k}]`);
          seen.add(c);
          changed++;
        }
      }
    }
    assert.equal(changed, 44 + 7);
  });

  it('perturbing any private wire by one unit violates a constraint', () => {
    const { circuit, w } = witnessOf(model, { weights: 'private', inputs: 'committed' });
    const r = circuit.r1cs;
    const uses: number[][] = Array.from({ length: r.nWires }, () => []);
    r.constraints.forEach((c, i) => {
      for (const l of [c.a, c.b, c.c]) for (const s of l.keys()) if (uses[s].at(-1) !== i) uses[s].push(i);
    });
    const kinds = { element: 0, bias: 0, product: 0, slotBit: 0, other: 0 };
    for (let s = 1 + r.nOutputs + r.nPubInputs; s < r.nWires; s++) {
      for (const delta of [1n, -1n]) {
        const bad = w.wires.slice();
        bad[s] = fmod(bad[s] + delta);
        assert.notEqual(firstViolation(r, bad, uses[s]), -1, `${r.labels[s]} ${delta}`);
      }
      const l = r.labels[s];
      if (/\.e\d+$/.test(l)) kinds.element++;
      else if (/\.bias\d+$/.test(l)) kinds.bias++;
      else if (/\.p\d+$/.test(l)) kinds.product++;
      else if (/\.s\d+\.b\d+$/.test(l)) kinds.slotBit++;
      else kinds.other++;
    }
    assert.deepEqual(
      { ...kinds, other: kinds.other > 1000 },
      {
        element: 8 + 4,
        bias: 7,
        product: 8 + 4,
        slotBit: 4 * 19 + 3 * 18,
        other: true,
      },
    );
    // A flipped slot bit alone (still boolean) breaks the split of the products into slots.
    const bit = r.labels.indexOf('Gemm_0[0,0+4].s2.b3');
    assert.ok(bit > 0);
    const flipped = w.wires.slice();
    flipped[bit] = 1n - flipped[bit];
    assert.notEqual(firstViolation(r, flipped), -1);
    console.log(`${r.constraints.length} constraints, ${r.nWires} wires, ${JSON.stringify(kinds)}`);
  });

  it('the R1CS is the same for every W; a witness for other weights cannot claim W’s commitment', () => {
    const other = otherWeights(model);
    const wc2 = weightCommitment(other);
    assert.notEqual(wc2, wc);
    for (const inputs of ['public', 'committed'] as const) {
      const a = witnessOf(model, { weights: 'private', inputs });
      const b = witnessOf(other, { weights: 'private', inputs });
      assert.deepEqual(writeR1cs(b.circuit.r1cs), writeR1cs(a.circuit.r1cs), inputs);
      const r1: R1cs = a.circuit.r1cs;
      // Other weights, honest for themselves: satisfy W's circuit with their own commitment ...
      assert.equal(firstViolation(r1, b.w.wires), -1);
      assert.equal(b.w.publicSignals.at(-1), wc2);
      // ... and not with W's (the commitment wire is the last public one).
      const last = r1.nOutputs + r1.nPubInputs;
      const claim = b.w.wires.slice();
      claim[last] = wc;
      assert.notEqual(firstViolation(r1, claim), -1);
      const claim2 = a.w.wires.slice();
      claim2[last] = wc2;
      assert.notEqual(firstViolation(r1, claim2), -1);
    }
    // Public weights, by contrast, are in the constraints.
    assert.notDeepEqual(writeR1cs(compile(other).r1cs), writeR1cs(compile(model).r1cs));
  });

  it('refuses unknown modes', () => {
    assert.throws(() => compile(model, { weights: 'secret' as never }), RangeError);
    assert.throws(() => compile(model, { inputs: 'hidden' as never }), RangeError);
  });
});

describe("compile(model, { weights: 'private' }) on a tiny CNN (Conv 1→2 3x3 pad 1, Relu, MaxPool, Gemm)", () => {
  const r = rng(11);
  const window = { strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], kernel_shape: [2, 2] };
  const graph = buildGraph({
    inputs: { x: ['N', 1, 4, 4] },
    initializers: {
      k: randTensor([2, 1, 3, 3], r, -0.8, 0.8),
      kb: randTensor([2], r, -0.2, 0.2),
      w: randTensor([3, 8], r, -0.6, 0.6),
      wb: randTensor([3], r, -0.2, 0.2),
    },
    nodes: [
      {
        op: 'Conv',
        inputs: ['x', 'k', 'kb'],
        outputs: ['c'],
        attrs: { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1, kernel_shape: [3, 3] },
      },
      { op: 'Relu', inputs: ['c'], outputs: ['h'] },
      { op: 'MaxPool', inputs: ['h'], outputs: ['p'], attrs: { ...window, ceil_mode: 0 } },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'], attrs: { axis: 1 } },
      {
        op: 'Gemm',
        inputs: ['f', 'w', 'wb'],
        outputs: ['y'],
        attrs: { transA: 0, transB: 1, alpha: 1, beta: 1 },
      },
    ],
    outputs: ['y'],
  });
  const cnn = quantize(graph, [{ x: randTensor([16, 1, 4, 4], r, -1, 1) }]);
  const input = { x: randTensor([1, 1, 4, 4], r, -1.5, 1.5) };

  it('the trace satisfies; the last signal is weightCommitment; ±1 on any private wire violates', () => {
    const circuit = compile(cnn, { weights: 'private', inputs: 'committed' });
    const trace = runInt(cnn, input, { trace: true }).trace as Map<string, QuantTensor>;
    const w = witnessFromTrace(circuit, trace);
    const rr = circuit.r1cs;
    assert.deepEqual(circuit.committedWeights, [
      { node: cnn.nodes[0].name, weights: 18, biases: 2, elements: 9 },
      { node: cnn.nodes.at(-1)?.name, weights: 24, biases: 3, elements: 8 },
    ]);
    assert.equal(w.publicSignals.length, 5);
    assert.equal(w.publicSignals[4], weightCommitment(cnn));
    assert.equal(firstViolation(rr, w.wires), -1);
    const uses: number[][] = Array.from({ length: rr.nWires }, () => []);
    rr.constraints.forEach((c, i) => {
      for (const l of [c.a, c.b, c.c]) for (const s of l.keys()) if (uses[s].at(-1) !== i) uses[s].push(i);
    });
    let products = 0;
    for (let s = 1 + rr.nOutputs + rr.nPubInputs; s < rr.nWires; s++) {
      for (const delta of [1n, -1n]) {
        const bad = w.wires.slice();
        bad[s] = fmod(bad[s] + delta);
        assert.notEqual(firstViolation(rr, bad, uses[s]), -1, `${rr.labels[s]} ${delta}`);
      }
      if (/\.p\d+$/.test(rr.labels[s])) products++;
    }
    // One product per in-image tap of a 3x3 window with pad 1 (100 over the 16 positions), both
    // channels in one pack; + 8 for the Gemm (its 3 outputs in one pack).
    assert.equal(products, 100 + 8);
    // Other conv weights, same R1CS, honest for themselves, but not with this commitment.
    const other = structuredClone(cnn);
    const k = other.nodes[0].params.weight as Int8Array;
    k[4] += k[4] > 0 ? -1 : 1;
    const c2 = compile(other, { weights: 'private', inputs: 'committed' });
    assert.deepEqual(writeR1cs(c2.r1cs), writeR1cs(rr));
    const w2 = witnessFromTrace(c2, runInt(other, input, { trace: true }).trace as Map<string, QuantTensor>);
    assert.equal(firstViolation(rr, w2.wires), -1);
    const claim = w2.wires.slice();
    claim[rr.nOutputs + rr.nPubInputs] = weightCommitment(cnn);
    assert.notEqual(firstViolation(rr, claim), -1);
  });
});
