// RUN: tfc-opt %s -split-input-file -verify-diagnostics -tfc-lower-entry-points

// A stacked weight's layers need not be side by side, so it can only be read
// one layer at a time: directly, or through a slice of several whole layers
// (one layer's experts) that is itself read one layer at a time.

func.func @decoder(%tokens: tensor<?xi32>) -> tensor<2x4x4xf32> {
  %w = attn.weight "l." * ".w" layers 2 : tensor<2x4x4xf32>
  %s = tensor.extract_slice %w[0, 0, 0] [2, 4, 4] [1, 1, 1] : tensor<2x4x4xf32> to tensor<2x4x4xf32>
  // expected-error @+1 {{stacked weight 'l.*.w' may only be read through slices of one layer}}
  return %s : tensor<2x4x4xf32>
}

// -----

func.func @decoder(%tokens: tensor<?xi32>) -> tensor<4x2xf32> {
  %w = attn.weight "l." * ".w" layers 2 : tensor<2x4x4xf32>
  // expected-error @+1 {{stacked weight 'l.*.w' may only be read through slices of one layer}}
  %s = tensor.extract_slice %w[0, 0, 2] [1, 4, 2] [1, 1, 1] : tensor<2x4x4xf32> to tensor<1x4x2xf32>
  %r = tensor.collapse_shape %s [[0, 1], [2]] : tensor<1x4x2xf32> into tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}
