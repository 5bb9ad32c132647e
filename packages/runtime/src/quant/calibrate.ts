// Activation ranges for quantization: runs the float reference executor on the calibration
// samples and measures, for every float value, the largest magnitude (or a percentile of the
// magnitudes). Maxima and integer histogram counts do not depend on the order in which values
// are visited, so the result is deterministic for a given float executor.
// Browser-safe: no node: imports.
import { runFloat } from '../float/execute.ts';
import { type FloatTensor, type Graph, type IntTensor, ModelError } from '../graph.ts';
import type { CalibrationMethod } from './model.ts';

export type CalibrationOptions = {
  method: CalibrationMethod;
  /** Percentile of |x| in (0, 100] kept in range when method is 'percentile'. */
  percentile: number;
  /** Values whose only consumers are Relu: their range is measured on max(x, 0). */
  positiveOnly: ReadonlySet<string>;
};

/** Histogram resolution of the percentile method. */
export const HISTOGRAM_BINS = 2048;

type Sample = Record<string, FloatTensor | IntTensor>;

function forEachFloatValue(
  graph: Graph,
  sample: Sample,
  f: (name: string, data: Float32Array) => void,
): void {
  const { trace } = runFloat(graph, sample, { trace: true });
  for (const vi of graph.inputs) {
    const t = sample[vi.name];
    if (t?.dtype === 'float32') f(vi.name, t.data);
  }
  if (!trace) throw new ModelError('the float executor returned no trace');
  for (const [name, t] of trace) if (t.dtype === 'float32') f(name, t.data);
}

/** Range (a non-negative real, or NaN/∞ when the model produced them) of every float value. */
export function calibrateRanges(
  graph: Graph,
  samples: readonly Sample[],
  opts: CalibrationOptions,
): Map<string, number> {
  if (samples.length === 0) throw new ModelError('quantization needs at least one calibration sample');
  const maxima = new Map<string, number>();
  let bad: string | undefined;
  for (const sample of samples)
    forEachFloatValue(graph, sample, (name, x) => {
      const pos = opts.positiveOnly.has(name);
      let m = maxima.get(name) ?? 0;
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        const e = pos ? v : v < 0 ? -v : v;
        if (e > m) m = e;
        else if (bad === undefined && Number.isNaN(v)) bad = name;
      }
      maxima.set(name, m);
    });
  if (bad !== undefined) throw new ModelError(`calibration produced NaN in value "${bad}"`);
  if (opts.method === 'maxabs') return maxima;
  if (!(opts.percentile > 0 && opts.percentile <= 100))
    throw new ModelError(`percentile must be in (0, 100], got ${opts.percentile}`);

  // Second pass: integer histograms of the magnitudes over [0, max] per value.
  const hist = new Map<string, Float64Array>();
  for (const sample of samples)
    forEachFloatValue(graph, sample, (name, x) => {
      const max = maxima.get(name) ?? 0;
      if (!(max > 0) || !Number.isFinite(max)) return;
      const pos = opts.positiveOnly.has(name);
      let h = hist.get(name);
      if (!h) {
        h = new Float64Array(HISTOGRAM_BINS);
        hist.set(name, h);
      }
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        const e = pos ? Math.max(v, 0) : v < 0 ? -v : v;
        const b = Math.floor((e / max) * HISTOGRAM_BINS);
        h[b >= HISTOGRAM_BINS ? HISTOGRAM_BINS - 1 : b]++;
      }
    });
  const ranges = new Map<string, number>();
  for (const [name, max] of maxima) {
    const h = hist.get(name);
    if (!h) {
      ranges.set(name, max);
      continue;
    }
    let total = 0;
    for (let b = 0; b < HISTOGRAM_BINS; b++) total += h[b];
    const need = Math.ceil((opts.percentile / 100) * total);
    let cum = 0;
    let b = 0;
    for (; b < HISTOGRAM_BINS - 1; b++) {
      cum += h[b];
      if (cum >= need) break;
    }
    ranges.set(name, ((b + 1) / HISTOGRAM_BINS) * max);
  }
  return ranges;
}
