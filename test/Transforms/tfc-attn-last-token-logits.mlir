// RUN: tfc-opt %s -split-input-file -tfc-attn-last-token-logits | FileCheck %s --enable-var-scope

// @decoder stays; @decoder_last is a copy whose output head reads the last row.

// CHECK-LABEL: func.func @decoder
// CHECK-SAME: -> (tensor<?x10xf32>, tensor<1x1x8x4xf32>)
// CHECK: attn.linear %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<10x4xf32> -> tensor<?x10xf32>
// CHECK-LABEL: func.func @decoder_last
// CHECK-SAME: (%{{.*}}: tensor<?xi32>, %{{.*}}: index, %[[KC:.*]]: tensor<1x1x8x4xf32>) -> (tensor<1x10xf32>, tensor<1x1x8x4xf32>)
// CHECK: %[[X:.*]] = attn.embedding
// CHECK: %[[N:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x4xf32>
// CHECK: %[[LAST:.*]] = arith.subi %[[N]], %{{.*}} : index
// CHECK: %[[ROW:.*]] = tensor.extract_slice %[[X]][%[[LAST]], 0] [1, 4] [1, 1] : tensor<?x4xf32> to tensor<1x4xf32>
// CHECK: %[[L:.*]] = attn.linear %[[ROW]], %{{.*}} : tensor<1x4xf32>, tensor<10x4xf32> -> tensor<1x10xf32>
// CHECK: return %[[L]], %[[KC]]
module {
  func.func @decoder(%tokens: tensor<?xi32>, %pos: index, %kc: tensor<1x1x8x4xf32>) -> (tensor<?x10xf32>, tensor<1x1x8x4xf32>) attributes {attn.stateful} {
    %emb = attn.weight "emb.weight" : tensor<10x4xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    %y = attn.linear %x, %emb : tensor<?x4xf32>, tensor<10x4xf32> -> tensor<?x10xf32>
    return %y, %kc : tensor<?x10xf32>, tensor<1x1x8x4xf32>
  }
}

// -----

// An output that is not a linear layer: nothing to save, no variant.

// CHECK-LABEL: func.func @decoder
// CHECK-NOT: @decoder_last
module {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x4xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x4xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    return %x : tensor<?x4xf32>
  }
}
