// RUN: tfc-opt %s -tfc-convert-attn-to-linalg | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -tfc-convert-attn-to-linalg="moe-dense-reference" | FileCheck %s --check-prefix=DENSE --enable-var-scope

// attn.moe: the routing (router matmul, softmax, the group mask on a [n, groups,
// experts/groups] view, ranks against the row with ties to the lower index, the
// top-k mask, normalization with +1e-20, scaling), then the experts.

// CHECK-LABEL: func @moe
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>, %[[R:.*]]: tensor<4x16xf32>, %[[G:.*]]: tensor<4x8x16xf32>, %[[U:.*]]: tensor<4x8x16xf32>, %[[D:.*]]: tensor<4x16x8xf32>)
// The router matmul is marked: it stays f32 under a quantized --weight-type.
// CHECK: linalg.matmul_transpose_b {tfc.moe_router} ins(%[[X]], %[[R]] : tensor<?x16xf32>, tensor<4x16xf32>)
// CHECK: math.exp
// CHECK: %[[GROUPED:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 2, 2] : tensor<?x4xf32> into tensor<?x2x2xf32>
// CHECK: arith.maximumf
// The rank of a score: the others that are larger, or equal at a lower index.
// CHECK: %[[C:.*]] = linalg.index 1 : index
// CHECK: %[[O:.*]] = linalg.index 2 : index
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf oeq
// CHECK: arith.cmpi ult, %[[O]], %[[C]] : index
// CHECK: tensor.collapse_shape
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK: arith.cmpf olt
// CHECK: arith.constant 9.99999968E-21 : f32
// CHECK: %[[W:.*]] = linalg.generic
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK: arith.mulf
// Grouped: first the rows of every (token, chosen expert) pair, packed expert by
// expert, built in passes over the tokens (i32 in memory: no scalar leaves them): the
// tokens per expert [E], their prefix sums (where each expert's rows start) [E + 1],
// then the token of each row [n x top_k] and each token's rows and weights [n, top_k].
// The router's column is the expert's global index (the first expert this rank holds, 0
// without tensor parallelism, plus the local one); its weights are indexed locally.
// CHECK: %[[COUNTS0:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<4xi32>)
// CHECK: %[[COUNTS:[a-z0-9_]+]] = scf.for %[[T:[a-z0-9_]+]] = %{{.*}} iter_args(%{{.*}} = %[[COUNTS0]]) -> (tensor<4xi32>)
// CHECK: scf.for %[[H:[a-z0-9_]+]] = %{{.*}} iter_args(%[[CS:[a-z0-9_]+]] = %{{.*}}) -> (tensor<4xi32>)
// CHECK: %[[HG:.*]] = arith.addi %{{.*}}, %[[H]] : index
// CHECK: %[[WT:.*]] = tensor.extract %[[W]][%[[T]], %[[HG]]]
// CHECK: arith.cmpf une, %[[WT]]
// CHECK: tensor.insert %{{.*}} into %[[CS]][%[[H]]] : tensor<4xi32>
// CHECK: %[[OFFSETS:[a-z0-9_]+]]:2 = scf.for {{.*}} -> (tensor<5xi32>, tensor<4xi32>)
// CHECK: %[[PLACED:[a-z0-9_]+]]:4 = scf.for {{.*}} -> (tensor<?xi32>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<4xi32>)
// CHECK: scf.if %{{.*}} -> (tensor<?xi32>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<4xi32>, index)
// The rows used, bounded by tokens x top_k for tfc-plan-activations; x gathered into them.
// CHECK: %[[TOTAL32:.*]] = tensor.extract %[[OFFSETS]]#0[%{{.*}}] : tensor<5xi32>
// CHECK: %[[TOTAL:.*]] = arith.index_cast %[[TOTAL32]]
// CHECK: %[[ROWS:.*]] = arith.minsi %[[TOTAL]], %{{.*}} : index
// CHECK: %[[XS:[a-z0-9_]+]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x16xf32>)
// CHECK: tensor.extract %[[PLACED]]#0
// CHECK: tensor.extract %[[X]]
// Gate and up of each expert that has rows (bounded by the token count) into its rows
// of one [rows, 2 x ffn] buffer.
// CHECK: %[[GUOUT:[a-z0-9_]+]] = scf.for %[[E:[a-z0-9_]+]] = %{{.*}} iter_args(%[[GU:[a-z0-9_]+]] = %{{.*}}) -> (tensor<?x16xf32>)
// CHECK: %[[N:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK: scf.if
// CHECK: %[[OFF:.*]] = arith.index_cast
// CHECK: %[[IN:.*]] = tensor.extract_slice %[[XS]][%[[OFF]], 0] [%[[N]], 16]
// CHECK: tensor.extract_slice %[[G]][%[[E]], 0, 0] [1, 8, 16] [1, 1, 1] : tensor<4x8x16xf32> to tensor<8x16xf32>
// CHECK: tensor.extract_slice %[[GU]][%[[OFF]], 0] [%[[N]], 8]
// CHECK: linalg.matmul_transpose_b ins(%[[IN]]
// CHECK: tensor.insert_slice
// CHECK: tensor.extract_slice %[[U]][%[[E]], 0, 0]
// CHECK: [%[[OFF]], 8] [%[[N]], 8]
// CHECK: linalg.matmul_transpose_b ins(%[[IN]]
// CHECK: } else {
// CHECK: scf.yield %[[GU]]
// SwiGLU once over all the rows; then the down product of each expert into its rows of
// D [tokens x top_k, 16].
// CHECK: tensor.extract_slice %[[GUOUT]][0, 0] [%[[ROWS]], 8]
// CHECK: tensor.extract_slice %[[GUOUT]][0, 8] [%[[ROWS]], 8]
// CHECK: math.exp
// CHECK: %[[DOUT:[a-z0-9_]+]] = scf.for %[[E2:[a-z0-9_]+]] = %{{.*}} -> (tensor<?x16xf32>)
// CHECK: tensor.extract_slice %[[D]][%[[E2]], 0, 0] [1, 16, 8] [1, 1, 1] : tensor<4x16x8xf32> to tensor<16x8xf32>
// CHECK: linalg.matmul_transpose_b
// Each token sums its rows of D weighted by the router, in expert order (loops token,
// row, column: the columns innermost).
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[PLACED]]#1, %[[PLACED]]#2 : tensor<?x2xi32>, tensor<?x2xf32>)
// CHECK: tensor.extract %[[DOUT]]
// CHECK-NOT: attn.

// Dense: every expert on every token.
// DENSE-LABEL: func @moe
// DENSE: scf.for %[[E:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}})
// DENSE: %[[GLOBAL:.*]] = arith.addi %{{.*}}, %[[E]] : index
// DENSE-NOT: scf.if
// DENSE: tensor.extract_slice %{{.*}}[%[[E]], 0, 0] [1, 8, 16] [1, 1, 1] : tensor<4x8x16xf32> to tensor<8x16xf32>
// DENSE: linalg.matmul_transpose_b ins(%{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<8x16xf32>)
// DENSE: %[[COL:.*]] = tensor.extract_slice %{{.*}}[0, %[[GLOBAL]]] [%{{.*}}, 1] [1, 1] : tensor<?x4xf32> to tensor<?xf32>
// DENSE: linalg.generic {{.*}} ins(%{{.*}}, %[[COL]] : tensor<?x16xf32>, tensor<?xf32>) outs(%[[ACC]] : tensor<?x16xf32>)
// DENSE-NOT: scf.if
func.func @moe(%x: tensor<?x16xf32>, %r: tensor<4x16xf32>, %g: tensor<4x8x16xf32>, %u: tensor<4x8x16xf32>, %d: tensor<4x16x8xf32>) -> tensor<?x16xf32> {
  %y = attn.moe %x router(%r : tensor<4x16xf32>) experts(%g, %u, %d : tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x16x8xf32>)
         {top_k = 2 : i64, topk_method = #attn<moe_topk group_limited_greedy>, n_group = 2 : i64, topk_group = 1 : i64,
          norm_topk_prob, routed_scaling_factor = 2.0 : f64} : tensor<?x16xf32> -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// DeepSeek-V3's routing: sigmoid scores, the correction bias added along the
// experts for the choice, each group's best two (a top-2 mask on the
// [n * groups, experts/groups] rows) summed into [n, groups], the best groups'
// mask, and the top-k of that; the weights multiply the unbiased scores.
// CHECK-LABEL: func @moe_v3
// CHECK-SAME: %[[B:[a-z0-9]+]]: tensor<8xf32>
// CHECK: %[[LOGITS:.*]] = linalg.matmul_transpose_b
// CHECK: %[[SCORES:.*]] = linalg.generic {{.*}} ins(%[[LOGITS]] : tensor<?x8xf32>)
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: %[[CHOICE:.*]] = linalg.generic {{.*}} ins(%[[SCORES]], %[[B]] : tensor<?x8xf32>, tensor<8xf32>)
// CHECK: arith.addf
// CHECK: tensor.expand_shape %[[CHOICE]] {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 4, 2] : tensor<?x8xf32> into tensor<?x4x2xf32>
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<?x4x2xf32> into tensor<?x2xf32>
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: tensor.expand_shape %[[SUM]] {{\[\[}}0, 1]] output_shape [%{{.*}}, 4] : tensor<?xf32> into tensor<?x4xf32>
// CHECK: linalg.generic {{.*}} ins(%[[SCORES]], %{{.*}} : tensor<?x8xf32>, tensor<?x8xf32>)
// CHECK: arith.mulf
// CHECK-NOT: attn.
func.func @moe_v3(%x: tensor<?x16xf32>, %r: tensor<8x16xf32>, %b: tensor<8xf32>, %g: tensor<8x8x16xf32>, %u: tensor<8x8x16xf32>, %d: tensor<8x16x8xf32>) -> tensor<?x16xf32> {
  %y = attn.moe %x router(%r : tensor<8x16xf32>) bias(%b : tensor<8xf32>) experts(%g, %u, %d : tensor<8x8x16xf32>, tensor<8x8x16xf32>, tensor<8x16x8xf32>)
         {top_k = 3 : i64, topk_method = #attn<moe_topk noaux_tc>, n_group = 4 : i64, topk_group = 2 : i64,
          scoring = #attn<moe_scoring sigmoid>, norm_topk_prob, routed_scaling_factor = 2.5 : f64} : tensor<?x16xf32> -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
