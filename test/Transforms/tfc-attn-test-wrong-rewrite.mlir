// RUN: tfc-opt %s -tfc-attn-test-wrong-rewrite | FileCheck %s --enable-var-scope

// The deliberately wrong rewrite of the --verify-passes tests: every norm's
// epsilon times 1000, nothing else touched.

// CHECK-LABEL: func.func @decoder
// CHECK: attn.rms_norm %{{.*}}, %{{.*}} {eps = 1.000000e-02 : f64}
// CHECK: attn.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {eps = 1.000000e-03 : f64}
// CHECK: attn.linear
func.func @decoder(%arg0: tensor<?xi32>) -> tensor<?x16xf32> {
  %0 = attn.weight "emb.weight" : tensor<16x8xf32>
  %1 = attn.embedding %0, %arg0 : tensor<16x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
  %2 = attn.weight "rms.weight" : tensor<8xf32>
  %3 = attn.rms_norm %1, %2 {eps = 1.000000e-05 : f64} : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  %4 = attn.weight "ln.weight" : tensor<8xf32>
  %5 = attn.weight "ln.bias" : tensor<8xf32>
  %6 = attn.layer_norm %3, %4, %5 {eps = 1.000000e-06 : f64} : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  %7 = attn.weight "head.weight" : tensor<16x8xf32>
  %8 = attn.linear %6, %7 : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  return %8 : tensor<?x16xf32>
}
