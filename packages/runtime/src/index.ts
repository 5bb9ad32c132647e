// @aivm/runtime: deterministic AI execution. ONNX import -> float graph -> quantized integer model
// -> integer kernels whose results are bit-identical everywhere. Browser-safe.

export * from './artifact.ts';
export * from './commit.ts';
export * from './cost.ts';
export { runFloat } from './float/execute.ts';
export * from './graph.ts';
export { runInt, runIntNode } from './int/execute.ts';
export { validateQuantModel } from './int/validate.ts';
export { readNpy } from './npy.ts';
export { importOnnx } from './onnx/import.ts';
export { buildOnnxModel } from './onnx/writer.ts';
export { dequantize, quantizeTensor } from './quant/boundary.ts';
export * from './quant/model.ts';
export { quantize } from './quant/quantize.ts';
