// The two MNIST classifiers, forward and backward by hand on typed arrays, one sample at a time
// (gradients accumulate over a batch, then Adam steps). Layouts are chosen for speed while
// training; `exportLayout` gives each parameter in ONNX/PyTorch layout for the ONNX file.
//
// mlp: input [N,784] -> Gemm(784->128) -> Relu -> Gemm(128->10) -> logits
// cnn: input [N,1,28,28] -> Conv(1->C1, 3x3, pad 1) -> Relu -> MaxPool(2x2, stride 2)
//      -> Conv(C1->C2, 3x3, pad 1) -> Relu -> MaxPool(2x2, stride 2) -> Flatten -> Gemm(C2*49->10)

import { CLASS_COUNT, IMAGE_PIXELS, IMAGE_SIZE, type Xorshift32 } from './mnist-data.ts';
import { createParam, type Param, softmaxCrossEntropy } from './nn.ts';

export type ModelKind = 'mlp' | 'cnn';

export type Net = {
  kind: ModelKind;
  params: Param[];
  /** Logits of the last sample passed to `forward` or `trainSample`. */
  logits: Float64Array;
  /** Forward pass of the image at pixel offset `off` of `images`. */
  forward(images: Float32Array, off: number): void;
  /** Forward + backward; adds scale * dLoss/dParam to every grad; returns p(label). */
  trainSample(images: Float32Array, off: number, label: number, scale: number): number;
  /** Each parameter's values and shape in the layout the ONNX file stores. */
  exportLayout(): Array<{ name: string; shape: number[]; data: Float32Array }>;
};

/** Transposes a [rows, cols] row-major matrix into a float32 [cols, rows] one. */
function transposeToFloat32(src: Float64Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

export const MLP_HIDDEN = 128;

export function createMlp(rng: Xorshift32): Net {
  const H = MLP_HIDDEN;
  const C = CLASS_COUNT;
  const IN = IMAGE_PIXELS;
  // Kaiming-uniform for the ReLU layer, 1/sqrt(fan_in) for the logits layer (PyTorch's default).
  const w1 = createParam('fc1.weight', [IN, H], Math.sqrt(6 / IN), rng);
  const b1 = createParam('fc1.bias', [H], 0, rng);
  const w2 = createParam('fc2.weight', [H, C], 1 / Math.sqrt(H), rng);
  const b2 = createParam('fc2.bias', [C], 0, rng);
  const h = new Float64Array(H);
  const dh = new Float64Array(H);
  const logits = new Float64Array(C);
  const dlogits = new Float64Array(C);

  function forward(x: Float32Array, off: number): void {
    const W1 = w1.value;
    h.set(b1.value);
    for (let i = 0; i < IN; i++) {
      const xi = x[off + i];
      if (xi === 0) continue; // MNIST is ~80% zeros
      const row = i * H;
      for (let j = 0; j < H; j++) h[j] += xi * W1[row + j];
    }
    for (let j = 0; j < H; j++) if (h[j] < 0) h[j] = 0;
    const W2 = w2.value;
    logits.set(b2.value);
    for (let j = 0; j < H; j++) {
      const hj = h[j];
      if (hj === 0) continue;
      const row = j * C;
      for (let k = 0; k < C; k++) logits[k] += hj * W2[row + k];
    }
  }

  function trainSample(x: Float32Array, off: number, label: number, scale: number): number {
    forward(x, off);
    const p = softmaxCrossEntropy(logits, 0, C, label, dlogits, scale);
    const W2 = w2.value;
    const gW2 = w2.grad;
    for (let k = 0; k < C; k++) b2.grad[k] += dlogits[k];
    for (let j = 0; j < H; j++) {
      const hj = h[j];
      if (hj === 0) {
        dh[j] = 0;
        continue;
      }
      const row = j * C;
      let s = 0;
      for (let k = 0; k < C; k++) {
        gW2[row + k] += hj * dlogits[k];
        s += W2[row + k] * dlogits[k];
      }
      dh[j] = s;
    }
    const gW1 = w1.grad;
    for (let j = 0; j < H; j++) b1.grad[j] += dh[j];
    for (let i = 0; i < IN; i++) {
      const xi = x[off + i];
      if (xi === 0) continue;
      const row = i * H;
      for (let j = 0; j < H; j++) gW1[row + j] += xi * dh[j];
    }
    return p;
  }

  return {
    kind: 'mlp',
    params: [w1, b1, w2, b2],
    logits,
    forward,
    trainSample,
    exportLayout: () => [
      { name: w1.name, shape: [H, IN], data: transposeToFloat32(w1.value, IN, H) },
      { name: b1.name, shape: [H], data: Float32Array.from(b1.value) },
      { name: w2.name, shape: [C, H], data: transposeToFloat32(w2.value, H, C) },
      { name: b2.name, shape: [C], data: Float32Array.from(b2.value) },
    ],
  };
}

export const CNN_CHANNELS = [8, 16] as const;

export function createCnn(rng: Xorshift32): Net {
  const [C1, C2] = CNN_CHANNELS;
  const C = CLASS_COUNT;
  const S0 = IMAGE_SIZE; // 28
  const S1 = S0 / 2; // 14
  const S2 = S1 / 2; // 7
  const P0 = S0 + 2; // padded widths
  const P1 = S1 + 2;
  const F = C2 * S2 * S2; // 784
  const wc1 = createParam('conv1.weight', [C1, 1, 3, 3], Math.sqrt(6 / 9), rng);
  const bc1 = createParam('conv1.bias', [C1], 0, rng);
  const wc2 = createParam('conv2.weight', [C2, C1, 3, 3], Math.sqrt(6 / (C1 * 9)), rng);
  const bc2 = createParam('conv2.bias', [C2], 0, rng);
  const wf = createParam('fc.weight', [F, C], 1 / Math.sqrt(F), rng);
  const bf = createParam('fc.bias', [C], 0, rng);

  const xpad = new Float64Array(P0 * P0); // borders stay 0
  const a1 = new Float64Array(C1 * S0 * S0); // conv1 pre-activation
  const p1pad = new Float64Array(C1 * P1 * P1); // pooled relu(conv1), zero border
  const idx1 = new Int32Array(C1 * S1 * S1); // argmax position in a1 of each pooled value
  const a2 = new Float64Array(C2 * S1 * S1);
  const f = new Float64Array(F); // pooled relu(conv2) = flattened features
  const idx2 = new Int32Array(F);
  const logits = new Float64Array(C);
  const dlogits = new Float64Array(C);
  const df = new Float64Array(F);
  const dp1pad = new Float64Array(C1 * P1 * P1);

  /** out[c] = bias[c] + sum over 3x3 taps, from a zero-padded input of width `pw`. */
  function conv3x3(
    input: Float64Array,
    cin: number,
    pw: number,
    W: Float64Array,
    B: Float64Array,
    cout: number,
    out: Float64Array,
    s: number,
  ): void {
    const plane = s * s;
    for (let co = 0; co < cout; co++) {
      const o = co * plane;
      out.fill(B[co], o, o + plane);
      for (let ci = 0; ci < cin; ci++) {
        const inBase = ci * pw * pw;
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const w = W[((co * cin + ci) * 3 + ky) * 3 + kx];
            for (let y = 0; y < s; y++) {
              const ro = o + y * s;
              const ri = inBase + (y + ky) * pw + kx;
              for (let x = 0; x < s; x++) out[ro + x] += w * input[ri + x];
            }
          }
        }
      }
    }
  }

  /** 2x2/2 max pool of relu(input[c, s, s]); writes value, and argmax position into `idx`. */
  function reluPool(
    input: Float64Array,
    channels: number,
    s: number,
    out: Float64Array,
    outWidth: number,
    outPad: number,
    idx: Int32Array,
  ): void {
    const h = s / 2;
    for (let c = 0; c < channels; c++) {
      for (let py = 0; py < h; py++) {
        for (let px = 0; px < h; px++) {
          const q0 = c * s * s + 2 * py * s + 2 * px;
          let best = q0;
          if (input[q0 + 1] > input[best]) best = q0 + 1;
          if (input[q0 + s] > input[best]) best = q0 + s;
          if (input[q0 + s + 1] > input[best]) best = q0 + s + 1;
          const v = Math.max(input[best], 0);
          idx[(c * h + py) * h + px] = best;
          out[c * outWidth * outWidth + (py + outPad) * outWidth + px + outPad] = v;
        }
      }
    }
  }

  function forward(x: Float32Array, off: number): void {
    for (let y = 0; y < S0; y++) {
      for (let xx = 0; xx < S0; xx++) xpad[(y + 1) * P0 + xx + 1] = x[off + y * S0 + xx];
    }
    conv3x3(xpad, 1, P0, wc1.value, bc1.value, C1, a1, S0);
    reluPool(a1, C1, S0, p1pad, P1, 1, idx1);
    conv3x3(p1pad, C1, P1, wc2.value, bc2.value, C2, a2, S1);
    reluPool(a2, C2, S1, f, S2, 0, idx2);
    const Wf = wf.value;
    logits.set(bf.value);
    for (let i = 0; i < F; i++) {
      const fi = f[i];
      if (fi === 0) continue;
      const row = i * C;
      for (let k = 0; k < C; k++) logits[k] += fi * Wf[row + k];
    }
  }

  function trainSample(x: Float32Array, off: number, label: number, scale: number): number {
    forward(x, off);
    const p = softmaxCrossEntropy(logits, 0, C, label, dlogits, scale);
    const Wf = wf.value;
    const gWf = wf.grad;
    for (let k = 0; k < C; k++) bf.grad[k] += dlogits[k];
    for (let i = 0; i < F; i++) {
      const fi = f[i];
      if (fi === 0) {
        df[i] = 0; // relu was off: no gradient flows below
        continue;
      }
      const row = i * C;
      let s = 0;
      for (let k = 0; k < C; k++) {
        gWf[row + k] += fi * dlogits[k];
        s += Wf[row + k] * dlogits[k];
      }
      df[i] = s;
    }

    // conv2: only the pooled maxima with a live relu carry gradient (at most 1 in 4 positions).
    dp1pad.fill(0);
    const W2 = wc2.value;
    const gW2 = wc2.grad;
    const plane1 = S1 * S1;
    for (let i = 0; i < F; i++) {
      const g = df[i];
      if (g === 0) continue;
      const pos = idx2[i];
      const co = (pos / plane1) | 0;
      const rem = pos - co * plane1;
      const y = (rem / S1) | 0;
      const xx = rem - y * S1;
      bc2.grad[co] += g;
      for (let ci = 0; ci < C1; ci++) {
        const wBase = (co * C1 + ci) * 9;
        const inBase = ci * P1 * P1 + y * P1 + xx;
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const q = inBase + ky * P1 + kx;
            gW2[wBase + ky * 3 + kx] += g * p1pad[q];
            dp1pad[q] += W2[wBase + ky * 3 + kx] * g;
          }
        }
      }
    }

    // conv1, again only through the pooled maxima whose relu is live.
    const gW1 = wc1.grad;
    const plane0 = S0 * S0;
    for (let c = 0; c < C1; c++) {
      for (let py = 0; py < S1; py++) {
        for (let px = 0; px < S1; px++) {
          const q = c * P1 * P1 + (py + 1) * P1 + px + 1;
          if (p1pad[q] === 0) continue;
          const g = dp1pad[q];
          if (g === 0) continue;
          const pos = idx1[(c * S1 + py) * S1 + px];
          const rem = pos - c * plane0;
          const y = (rem / S0) | 0;
          const xx = rem - y * S0;
          bc1.grad[c] += g;
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) gW1[c * 9 + ky * 3 + kx] += g * xpad[(y + ky) * P0 + xx + kx];
          }
        }
      }
    }
    return p;
  }

  return {
    kind: 'cnn',
    params: [wc1, bc1, wc2, bc2, wf, bf],
    logits,
    forward,
    trainSample,
    exportLayout: () => [
      { name: wc1.name, shape: wc1.shape, data: Float32Array.from(wc1.value) },
      { name: bc1.name, shape: bc1.shape, data: Float32Array.from(bc1.value) },
      { name: wc2.name, shape: wc2.shape, data: Float32Array.from(wc2.value) },
      { name: bc2.name, shape: bc2.shape, data: Float32Array.from(bc2.value) },
      { name: wf.name, shape: [C, F], data: transposeToFloat32(wf.value, F, C) },
      { name: bf.name, shape: [C], data: Float32Array.from(bf.value) },
    ],
  };
}

export function parameterCount(net: Net): number {
  return net.params.reduce((n, p) => n + p.value.length, 0);
}
