// Writes a trained MNIST net as an ONNX model (opset 13, dynamic batch 'N', output 'logits'),
// node for node what PyTorch's exporter writes for the same modules (Gemm with transB=1 and
// [out, in] weights, Conv with explicit attributes, Flatten before the classifier).

import {
  buildOnnxModel,
  type OnnxModelSpec,
  type OnnxNodeSpec,
  type OnnxTensor,
} from '../src/onnx/writer.ts';
import { CLASS_COUNT, IMAGE_PIXELS, IMAGE_SIZE } from './mnist-data.ts';
import type { Net } from './models.ts';

export const ONNX_OPSET = 13;
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'logits';

/** The input shape each model declares: the MLP takes flat pixels, the CNN an image. */
export function inputShape(kind: Net['kind']): Array<number | string> {
  return kind === 'mlp' ? ['N', IMAGE_PIXELS] : ['N', 1, IMAGE_SIZE, IMAGE_SIZE];
}

const GEMM_ATTRS = {
  alpha: { type: 'float', value: 1 },
  beta: { type: 'float', value: 1 },
  transB: 1,
} as const;

function conv(name: string, input: string, output: string): OnnxNodeSpec {
  return {
    name,
    op: 'Conv',
    inputs: [input, `${name}.weight`, `${name}.bias`],
    outputs: [output],
    attrs: { dilations: [1, 1], group: 1, kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] },
  };
}

function maxPool(name: string, input: string, output: string): OnnxNodeSpec {
  return {
    name,
    op: 'MaxPool',
    inputs: [input],
    outputs: [output],
    attrs: { ceil_mode: 0, kernel_shape: [2, 2], pads: [0, 0, 0, 0], strides: [2, 2] },
  };
}

export function exportNet(net: Net, modelName: string): Uint8Array {
  const initializers: Record<string, OnnxTensor> = {};
  for (const p of net.exportLayout())
    initializers[p.name] = { dtype: 'float32', shape: p.shape, data: p.data };
  const nodes: OnnxNodeSpec[] =
    net.kind === 'mlp'
      ? [
          {
            name: 'fc1',
            op: 'Gemm',
            inputs: [INPUT_NAME, 'fc1.weight', 'fc1.bias'],
            outputs: ['fc1_out'],
            attrs: GEMM_ATTRS,
          },
          { name: 'relu1', op: 'Relu', inputs: ['fc1_out'], outputs: ['relu1_out'] },
          {
            name: 'fc2',
            op: 'Gemm',
            inputs: ['relu1_out', 'fc2.weight', 'fc2.bias'],
            outputs: [OUTPUT_NAME],
            attrs: GEMM_ATTRS,
          },
        ]
      : [
          conv('conv1', INPUT_NAME, 'conv1_out'),
          { name: 'relu1', op: 'Relu', inputs: ['conv1_out'], outputs: ['relu1_out'] },
          maxPool('pool1', 'relu1_out', 'pool1_out'),
          conv('conv2', 'pool1_out', 'conv2_out'),
          { name: 'relu2', op: 'Relu', inputs: ['conv2_out'], outputs: ['relu2_out'] },
          maxPool('pool2', 'relu2_out', 'pool2_out'),
          {
            name: 'flatten',
            op: 'Flatten',
            inputs: ['pool2_out'],
            outputs: ['flatten_out'],
            attrs: { axis: 1 },
          },
          {
            name: 'fc',
            op: 'Gemm',
            inputs: ['flatten_out', 'fc.weight', 'fc.bias'],
            outputs: [OUTPUT_NAME],
            attrs: GEMM_ATTRS,
          },
        ];
  const spec: OnnxModelSpec = {
    name: modelName,
    opset: ONNX_OPSET,
    producer: 'aivm-training',
    inputs: [{ name: INPUT_NAME, shape: inputShape(net.kind) }],
    outputs: [{ name: OUTPUT_NAME, shape: ['N', CLASS_COUNT] }],
    initializers,
    nodes,
    rawData: true,
  };
  return buildOnnxModel(spec);
}
