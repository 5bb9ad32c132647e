// @aivm/runtime/core: the integer runtime without ONNX import (which pulls protobufjs): what a chain
// module, an SDK or a browser bundle needs to decode artifacts, price and run models, and check
// layer commitments. Browser-safe.

export * from './artifact.ts';
export * from './commit.ts';
export * from './cost.ts';
export * from './graph.ts';
export { runInt, runIntNode } from './int/execute.ts';
export { validateQuantModel } from './int/validate.ts';
export * from './io.ts';
export { dequantize, quantizeTensor } from './quant/boundary.ts';
export * from './quant/model.ts';
