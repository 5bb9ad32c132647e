// @aivm/runtime: deterministic AI execution. ONNX import -> float graph -> quantized integer model
// -> integer kernels whose results are bit-identical everywhere. Browser-safe.

export * from './core.ts';
export { runFloat } from './float/execute.ts';
export { readNpy } from './npy.ts';
export { importOnnx } from './onnx/import.ts';
export { buildOnnxModel } from './onnx/writer.ts';
export { quantize } from './quant/quantize.ts';
