// RUN: tfc-opt %s -split-input-file -tfc-convert-attn-to-linalg -verify-diagnostics | FileCheck %s --enable-var-scope

// CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @linear_bias
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<172x64xf32>, %[[B:.*]]: tensor<172xf32>)
// CHECK: %[[N:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x64xf32>
// CHECK: %[[E:.*]] = tensor.empty(%[[N]]) : tensor<?x172xf32>
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<?x172xf32>)
// CHECK: %[[MM:.*]] = linalg.matmul_transpose_b ins(%[[X]], %[[W]] : tensor<?x64xf32>, tensor<172x64xf32>) outs(%[[Z]] : tensor<?x172xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$COL]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[B]] : tensor<172xf32>) outs(%[[MM]] : tensor<?x172xf32>)
// CHECK: arith.addf
// CHECK: return %[[Y]]
// CHECK-NOT: attn.
func.func @linear_bias(%x: tensor<?x64xf32>, %w: tensor<172x64xf32>, %b: tensor<172xf32>) -> tensor<?x172xf32> {
  %y = attn.linear %x, %w bias %b : tensor<?x64xf32>, tensor<172x64xf32>, tensor<172xf32> -> tensor<?x172xf32>
  return %y : tensor<?x172xf32>
}

// -----

// attn.weight stays (tfc-lower-entry-points binds it).

// CHECK-LABEL: func @weight_stays
// CHECK: %[[W:.*]] = attn.weight "lm_head.weight" : tensor<16x8xf32>
// CHECK: linalg.matmul_transpose_b ins(%{{.*}}, %[[W]] :
// CHECK-NOT: linalg.generic
func.func @weight_stays(%x: tensor<?x8xf32>) -> tensor<?x16xf32> {
  %w = attn.weight "lm_head.weight" : tensor<16x8xf32>
  %y = attn.linear %x, %w : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[$COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>, %[[W:.*]]: tensor<8xf32>)
// CHECK: %[[SS:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x8xf32>)
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$COL]], #[[$ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[SS]], %[[W]] :
// CHECK:   arith.constant 8.0
// CHECK:   arith.constant 9.99999974E-6 : f32
// CHECK:   math.sqrt
func.func @rms_norm(%x: tensor<?x8xf32>, %w: tensor<8xf32>) -> tensor<?x8xf32> {
  %y = attn.rms_norm %x, %w {eps = 1.0e-05 : f64} : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Two-pass layer norm: the row sum, then the sum of squared deviations.

// CHECK-LABEL: func @layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>, %[[W:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x8xf32>)
// CHECK: %[[DEV:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[SUM]] : tensor<?x8xf32>, tensor<?xf32>)
// CHECK:   arith.subf
// CHECK:   arith.mulf
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[SUM]], %[[DEV]], %[[W]], %[[B]] :
// CHECK:   math.sqrt
func.func @layer_norm(%x: tensor<?x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  %y = attn.layer_norm %x, %w, %b {eps = 1.0e-05 : f64} : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// GQA: the query rows of each group of 2 query heads are stacked per K/V head
// ([2, 2*n, 8]); one batch matmul per product reads each K/V row once for its
// whole group; row r is query r mod n for the causal mask. Flash-style: the keys
// are visited in tiles of 128 with an online softmax (running max, sum, output).

// CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROWS:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @sdpa_gqa_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<4x?x8xf32>, %[[K:.*]]: tensor<2x?x8xf32>, %[[V:.*]]: tensor<2x?x8xf32>)
// CHECK: %[[N:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<4x?x8xf32>
// CHECK: %[[M:.*]] = tensor.dim %[[K]], %{{.*}} : tensor<2x?x8xf32>
// CHECK: %[[QG:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [2, 2, %{{.*}}, 8] : tensor<4x?x8xf32> into tensor<2x2x?x8xf32>
// CHECK: %[[QR:.*]] = tensor.collapse_shape %[[QG]] {{\[}}[0], [1, 2], [3]] : tensor<2x2x?x8xf32> into tensor<2x?x8xf32>
// CHECK: %[[SHIFT:.*]] = arith.subi %[[M]], %[[N]] : index
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[C128:.*]] = arith.constant 128 : index
// CHECK: %[[LOOP:.*]]:3 = scf.for %[[J0:.*]] = %{{.*}} to %[[M]] step %[[C128]] iter_args(%[[MX:.*]] = %{{.*}}, %[[SUM:.*]] = %{{.*}}, %[[ACC:.*]] = %{{.*}}) -> (tensor<2x?xf32>, tensor<2x?xf32>, tensor<2x?x8xf32>)
// CHECK:   %[[REST:.*]] = arith.subi %[[M]], %[[J0]] : index
// CHECK:   %[[TILE:.*]] = arith.minsi %[[C128]], %[[REST]] : index
// CHECK:   %[[KT:.*]] = tensor.extract_slice %[[K]][0, %[[J0]], 0] [2, %[[TILE]], 8] [1, 1, 1]
// CHECK:   %[[VT:.*]] = tensor.extract_slice %[[V]][0, %[[J0]], 0] [2, %[[TILE]], 8] [1, 1, 1]
// CHECK:   %[[S0:.*]] = linalg.batch_matmul_transpose_b ins(%[[QR]], %[[KT]] : tensor<2x?x8xf32>, tensor<2x?x8xf32>) outs(%{{.*}} : tensor<2x?x?xf32>)
// The tile's max over the keys each row sees (row r is query r mod n):
// CHECK:   %[[TMAX:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$ROWS]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[S0]] :
// CHECK:     arith.constant 0.353553385 : f32
// CHECK:     arith.maximumf
// CHECK:     %[[R:.*]] = linalg.index 1 : index
// CHECK:     %[[I:.*]] = arith.remui %[[R]], %[[N]] : index
// CHECK:     %[[J:.*]] = linalg.index 2 : index
// CHECK:     %[[KJ:.*]] = arith.addi %[[J0]], %[[J]] : index
// CHECK:     %[[LAST:.*]] = arith.addi %[[I]], %[[SHIFT]] : index
// CHECK:     arith.cmpi sgt, %[[KJ]], %[[LAST]] : index
// Rescaling of what was accumulated so far, exp(M - max(M, tile max)):
// CHECK:   %[[CORR:.*]] = linalg.generic {{.*}} ins(%[[MX]], %[[TMAX]] :
// CHECK:     arith.cmpf oeq, %{{.*}}, %[[NEGINF]] : f32
// CHECK:     math.exp
// CHECK:   %[[NEWMAX:.*]] = linalg.generic {{.*}} ins(%[[TMAX]] : tensor<2x?xf32>) outs(%[[MX]] : tensor<2x?xf32>)
// CHECK:     arith.maximumf
// CHECK:   %[[P:.*]] = linalg.generic {indexing_maps = [#[[$ROWS]], #[[$ID3]]], {{.*}} ins(%[[NEWMAX]] : tensor<2x?xf32>) outs(%[[S0]] :
// CHECK:     arith.subf
// CHECK:     arith.cmpi sgt
// CHECK:     arith.select
// CHECK:     math.exp
// CHECK:   %[[SCALEDSUM:.*]] = linalg.generic {{.*}} ins(%[[CORR]] : tensor<2x?xf32>) outs(%[[SUM]] : tensor<2x?xf32>)
// CHECK:   %[[NEWSUM:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$ROWS]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P]] : tensor<2x?x?xf32>) outs(%[[SCALEDSUM]] :
// CHECK:   %[[SCALEDACC:.*]] = linalg.generic {{.*}} ins(%[[CORR]] : tensor<2x?xf32>) outs(%[[ACC]] : tensor<2x?x8xf32>)
// CHECK:   %[[PV:.*]] = linalg.batch_matmul ins(%[[P]], %[[VT]] : tensor<2x?x?xf32>, tensor<2x?x8xf32>) outs(%[[SCALEDACC]] : tensor<2x?x8xf32>)
// CHECK:   scf.yield %[[NEWMAX]], %[[NEWSUM]], %[[PV]]
// No score tensor over all m keys:
// CHECK-NOT: tensor<2x?x?xf32>
// CHECK: %[[O:.*]] = linalg.generic {indexing_maps = [#[[$ROWS]], #[[$ID3]]], {{.*}} ins(%[[LOOP]]#1 : tensor<2x?xf32>) outs(%[[LOOP]]#2 :
// CHECK:   arith.divf
// CHECK: %[[OG:.*]] = tensor.expand_shape %[[O]] {{\[}}[0], [1, 2], [3]] output_shape [2, 2, %[[N]], 8] : tensor<2x?x8xf32> into tensor<2x2x?x8xf32>
// CHECK: %[[RES:.*]] = tensor.collapse_shape %[[OG]] {{\[}}[0, 1], [2], [3]] : tensor<2x2x?x8xf32> into tensor<4x?x8xf32>
// CHECK: return %[[RES]]
func.func @sdpa_gqa_causal(%q: tensor<4x?x8xf32>, %k: tensor<2x?x8xf32>, %v: tensor<2x?x8xf32>) -> tensor<4x?x8xf32> {
  %o = attn.sdpa %q, %k, %v {heads = 4 : i64, kv_heads = 2 : i64, causal, scale = 0.35355339059327373 : f64}
         : tensor<4x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<4x?x8xf32>
  return %o : tensor<4x?x8xf32>
}

// -----

// Without causal there is no mask.

// CHECK-LABEL: func @sdpa_plain
// CHECK-NOT: arith.cmpi
// CHECK: return
func.func @sdpa_plain(%q: tensor<2x?x8xf32>, %k: tensor<2x?x8xf32>) -> tensor<2x?x8xf32> {
  %o = attn.sdpa %q, %k, %k {heads = 2 : i64, kv_heads = 2 : i64, scale = 0.125 : f64}
         : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  return %o : tensor<2x?x8xf32>
}

// -----

// "half" pairs j with j +- d/2; angles (offset + t) * theta^(-2i/d) in f64.

// CHECK-LABEL: func @rope_half
// CHECK-SAME: (%[[X:.*]]: tensor<2x?x8xf32>, %[[POS:.*]]: index)
// CHECK: linalg.generic {{.*}} ins(%[[X]] : tensor<2x?x8xf32>)
// CHECK:   %[[H:.*]] = linalg.index 0 : index
// CHECK:   %[[T:.*]] = linalg.index 1 : index
// CHECK:   %[[J:.*]] = linalg.index 2 : index
// CHECK:   %[[HALF:.*]] = arith.constant 4 : index
// CHECK:   %[[FIRST:.*]] = arith.cmpi ult, %[[J]], %[[HALF]] : index
// CHECK:   %[[UP:.*]] = arith.addi %[[J]], %[[HALF]] : index
// CHECK:   %[[DOWN:.*]] = arith.subi %[[J]], %[[HALF]] : index
// CHECK:   %[[PARTNER:.*]] = arith.select %[[FIRST]], %[[UP]], %[[DOWN]] : index
// CHECK:   arith.addi %[[T]], %[[POS]] : index
// CHECK:   math.exp %{{.*}} : f64
// CHECK:   math.cos %{{.*}} : f64
// CHECK:   math.sin %{{.*}} : f64
// CHECK:   tensor.extract %[[X]][%[[H]], %[[T]], %[[PARTNER]]] : tensor<2x?x8xf32>
// CHECK:   %[[MINUS:.*]] = arith.subf
// CHECK:   %[[PLUS:.*]] = arith.addf
// CHECK:   arith.select %[[FIRST]], %[[MINUS]], %[[PLUS]] : f32
func.func @rope_half(%x: tensor<2x?x8xf32>, %pos: index) -> tensor<2x?x8xf32> {
  %y = attn.rope %x offset %pos {theta = 1.0e+04 : f64, style = "half"} : tensor<2x?x8xf32>
  return %y : tensor<2x?x8xf32>
}

// -----

// "interleaved" pairs 2i with 2i + 1.

// CHECK-LABEL: func @rope_interleaved
// CHECK:   %[[J:.*]] = linalg.index 2 : index
// CHECK:   %[[ODD:.*]] = arith.remui %[[J]], %{{.*}} : index
// CHECK:   %[[FIRST:.*]] = arith.cmpi eq, %[[ODD]], %{{.*}} : index
// CHECK:   arith.divui %[[J]], %{{.*}} : index
func.func @rope_interleaved(%x: tensor<2x?x8xf32>) -> tensor<2x?x8xf32> {
  %y = attn.rope %x {theta = 1.0e+04 : f64, style = "interleaved"} : tensor<2x?x8xf32>
  return %y : tensor<2x?x8xf32>
}

// -----

// CHECK-DAG: #[[$GROUP:.*]] = affine_map<(d0, d1, d2) -> (d0 floordiv 4, d1, d2)>
// CHECK-LABEL: func @repeat_kv
// CHECK-SAME: (%[[X:.*]]: tensor<2x?x8xf32>)
// CHECK: %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<8x?x8xf32>
// CHECK: linalg.generic {indexing_maps = [#[[$GROUP]], {{.*}}]{{.*}} ins(%[[X]] : tensor<2x?x8xf32>) outs(%[[E]] : tensor<8x?x8xf32>)
func.func @repeat_kv(%x: tensor<2x?x8xf32>) -> tensor<8x?x8xf32> {
  %y = attn.repeat_kv %x : tensor<2x?x8xf32> -> tensor<8x?x8xf32>
  return %y : tensor<8x?x8xf32>
}

// -----

// CHECK-LABEL: func @heads_layout
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>)
// CHECK: %[[N:.*]] = tensor.dim %[[X]]
// CHECK: %[[EX:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2]] output_shape [%[[N]], 8, 8] : tensor<?x64xf32> into tensor<?x8x8xf32>
// CHECK: %[[H:.*]] = linalg.transpose ins(%[[EX]] : tensor<?x8x8xf32>) outs(%{{.*}} : tensor<8x?x8xf32>) permutation = [1, 0, 2]
// CHECK: %[[SL:.*]] = tensor.extract_slice %[[H]][0, 0, 2] [8, %{{.*}}, 4] [1, 1, 1] : tensor<8x?x8xf32> to tensor<8x?x4xf32>
// CHECK: %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<8x?x12xf32>
// CHECK: %[[C0:.*]] = tensor.insert_slice %[[H]] into %[[E]][0, 0, 0] [8, %{{.*}}, 8] [1, 1, 1] : tensor<8x?x8xf32> into tensor<8x?x12xf32>
// CHECK: %[[C1:.*]] = tensor.insert_slice %[[SL]] into %[[C0]][0, 0, 8] [8, %{{.*}}, 4] [1, 1, 1] : tensor<8x?x4xf32> into tensor<8x?x12xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[C1]] : tensor<8x?x12xf32>) outs(%{{.*}} : tensor<?x8x12xf32>) permutation = [1, 0, 2]
// CHECK: %[[M:.*]] = tensor.collapse_shape %[[T]] {{\[\[}}0], [1, 2]] : tensor<?x8x12xf32> into tensor<?x96xf32>
// CHECK: return %[[M]]
func.func @heads_layout(%x: tensor<?x64xf32>) -> tensor<?x96xf32> {
  %h = attn.split_heads %x : tensor<?x64xf32> -> tensor<8x?x8xf32>
  %s = attn.slice_last %h {offset = 2 : i64} : tensor<8x?x8xf32> -> tensor<8x?x4xf32>
  %c = attn.concat_last %h, %s : tensor<8x?x8xf32>, tensor<8x?x4xf32> -> tensor<8x?x12xf32>
  %m = attn.merge_heads %c : tensor<8x?x12xf32> -> tensor<?x96xf32>
  return %m : tensor<?x96xf32>
}

// -----

// CHECK-LABEL: func @embeddings
// CHECK-SAME: (%[[TABLE:.*]]: tensor<512x64xf32>, %[[TOK:.*]]: tensor<?xi32>, %[[POS:.*]]: index)
// CHECK: linalg.generic {{.*}} ins(%[[TOK]] : tensor<?xi32>)
// CHECK:   %[[ROW:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK:   %[[COL:.*]] = linalg.index 1 : index
// CHECK:   tensor.extract %[[TABLE]][%[[ROW]], %[[COL]]] : tensor<512x64xf32>
// CHECK: linalg.generic
// CHECK:   %[[T:.*]] = linalg.index 0 : index
// CHECK:   %[[P:.*]] = arith.addi %[[T]], %[[POS]] : index
// CHECK:   tensor.extract %[[TABLE]][%[[P]], %{{.*}}] : tensor<512x64xf32>
// CHECK: linalg.generic
// CHECK:   arith.remui
// CHECK:   math.exp %{{.*}} : f64
// CHECK:   math.cos %{{.*}} : f64
// CHECK:   math.sin %{{.*}} : f64
// CHECK:   arith.truncf %{{.*}} : f64 to f32
func.func @embeddings(%table: tensor<512x64xf32>, %tok: tensor<?xi32>, %pos: index) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %e = attn.embedding %table, %tok : tensor<512x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %p = attn.position_embedding %table, %tok offset %pos : tensor<512x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %s = attn.sinusoidal %tok : tensor<?xi32> -> tensor<?x64xf32>
  return %e, %p, %s : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func @elementwise
// CHECK: linalg.generic
// CHECK:   math.erf
// CHECK: linalg.generic
// CHECK:   math.tanh
// CHECK: linalg.generic
// CHECK:   arith.negf
// CHECK:   math.exp
// CHECK: linalg.generic
// CHECK:   arith.maximumf
// CHECK: linalg.generic
// CHECK:   arith.subf
// CHECK: linalg.generic
// CHECK:   arith.constant -1.500000e+00 : f32
// CHECK:   arith.mulf
// CHECK:   arith.constant 2.500000e-01 : f32
// CHECK:   arith.addf
func.func @elementwise(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %a = attn.gelu %x : tensor<?x8xf32>
  %b = attn.gelu_tanh %a : tensor<?x8xf32>
  %c = attn.silu %b : tensor<?x8xf32>
  %d = attn.relu %c : tensor<?x8xf32>
  %e = attn.sub %d, %x : tensor<?x8xf32>
  %f = attn.affine %e {scale = -1.5 : f64, shift = 0.25 : f64} : tensor<?x8xf32>
  return %f : tensor<?x8xf32>
}

// -----

func.func @leftover_attention(%x: tensor<?x8xf32>, %w: tensor<8x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'attn.attention' op must be decomposed before the conversion to linalg (run tfc-attn-decompose first)}}
  %y = attn.attention %x weights(%w, %w, %w, %w : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
         {heads = 2 : i64, kv_heads = 2 : i64, head_dim = 4 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

func.func @leftover_latent(%h: tensor<?x8xf32>, %wq: tensor<8x8xf32>, %wkva: tensor<6x8xf32>, %kvn: tensor<4xf32>, %wkvb: tensor<8x4xf32>, %wo: tensor<8x4xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'attn.latent_attention' op must be decomposed before the conversion to linalg (run tfc-attn-decompose first)}}
  %y = attn.latent_attention %h q(%wq : tensor<8x8xf32>) kv(%wkva, %kvn, %wkvb : tensor<6x8xf32>, tensor<4xf32>, tensor<8x4xf32>) o(%wo : tensor<8x4xf32>)
         {heads = 2 : i64, kv_rank = 4 : i64, rope_dim = 2 : i64, nope_dim = 2 : i64, v_dim = 2 : i64, q_rank = 0 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
