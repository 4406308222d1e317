// RUN: tfc-opt %s -split-input-file -tfc-convert-attn-to-linalg -verify-diagnostics | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-attn-sdpa-strategy="key-tile=64 query-rows=32" -tfc-convert-attn-to-linalg -verify-diagnostics | FileCheck %s --check-prefix=TILES

// attn.sdpa is lowered here end to end (tiling, then decomposition of each
// tile); tfc-attn-sdpa-strategy.mlir, tfc-attn-tile-sdpa.mlir and
// decompose-online-attention.mlir test the three stages alone.

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

// GQA, causal: flash attention. Each block of queries stacks the rows of the 2
// query heads of a K/V head query-major ([2, qb*2, 8], scaled); every block has
// qb = min(128, n) queries (the last one starts at n - qb, overlapping), so its
// buffers have sizes fixed for the call. The keys are visited in tiles of 256
// (a decode step, qb = 1: 256 x 256 / 2) up to the block's last visible key,
// carrying the running max, sum and output; scores exist only per tile
// ([2, rows, tile]).
// Flat score row rho is query i0 + (rho mod rows) / 2 for the causal mask.

// CHECK-DAG: #[[$QMAJOR:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>
// CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @sdpa_gqa_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<4x?x8xf32>, %[[K:.*]]: tensor<2x?x8xf32>, %[[V:.*]]: tensor<2x?x16xf32>)
// CHECK-DAG: %[[N:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<4x?x8xf32>
// CHECK-DAG: %[[M:.*]] = tensor.dim %[[K]], %{{.*}} : tensor<2x?x8xf32>
// CHECK: %[[SHIFT:.*]] = arith.subi %[[M]], %[[N]] : index
// CHECK: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [2, 2, %[[N]], 8] : tensor<4x?x8xf32> into tensor<2x2x?x8xf32>
// CHECK-NOT: linalg.batch_matmul
// CHECK: %[[QBLOCK:.*]] = arith.constant 128 : index
// CHECK: %[[QB:.*]] = arith.minsi %[[QBLOCK]], %[[N]] : index
// CHECK: %[[ROWS:.*]] = arith.muli %[[QB]], %{{.*}}
// CHECK: %[[STATEROWS:.*]] = arith.muli %[[ROWS]], %{{.*}}
// CHECK: %[[ONEQ:.*]] = arith.cmpi eq, %[[QB]], %{{.*}}
// CHECK-DAG: %[[DECODETILE:.*]] = arith.constant 32768 : index
// CHECK-DAG: %[[KEYTILE:.*]] = arith.constant 256 : index
// CHECK: %[[KSTEP:.*]] = arith.select %[[ONEQ]], %[[DECODETILE]], %[[KEYTILE]] : index
// CHECK: %[[BLOCKS:.*]] = scf.for %[[START:.*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[OUT:.*]] = %{{.*}}) -> (tensor<2x2x?x16xf32>)
// CHECK:   %[[LASTSTART:.*]] = arith.subi %[[N]], %[[QB]]
// CHECK:   %[[I0:.*]] = arith.minsi %[[START]], %[[LASTSTART]]
// CHECK:   %[[QS:.*]] = tensor.extract_slice %[[Q4]][0, 0, %[[I0]], 0] [2, 2, %[[QB]], 8]
// CHECK:   linalg.generic {indexing_maps = [#[[$QMAJOR]], {{.*}}]{{.*}} ins(%[[QS]] : tensor<2x2x?x8xf32>)
// CHECK:     arith.constant 0.353553385 : f32
// CHECK:   %[[QBLK:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3]] : tensor<2x?x2x8xf32> into tensor<2x?x8xf32>
// CHECK:   %[[LAST:.*]] = arith.addi %[[I0]], %[[QB]]
// CHECK:   %[[LASTPOS:.*]] = arith.addi %[[LAST]], %[[SHIFT]]
// CHECK:   %[[KEND:.*]] = arith.minsi %[[M]], %[[LASTPOS]]
// CHECK:   tensor.empty(%[[STATEROWS]]) : tensor<?xf32>
// CHECK:   %[[KEYLOOP:.*]]:3 = scf.for %[[J0:.*]] = %{{.*}} to %[[KEND]] step %[[KSTEP]] iter_args(%[[MAXIN:.*]] = %{{.*}}, %[[SUMIN:.*]] = %{{.*}}, %[[ACCIN:.*]] = %{{.*}}) -> (tensor<?xf32>, tensor<?xf32>, tensor<2x?x16xf32>)
// CHECK:     %[[T:.*]] = arith.minsi
// CHECK:     %[[KT:.*]] = tensor.extract_slice %[[K]][0, %[[J0]], 0] [2, %[[T]], 8] [1, 1, 1] : tensor<2x?x8xf32> to tensor<2x?x8xf32>
// CHECK:     %[[VT:.*]] = tensor.extract_slice %[[V]][0, %[[J0]], 0] [2, %[[T]], 16] [1, 1, 1] : tensor<2x?x16xf32> to tensor<2x?x16xf32>
// CHECK:     tensor.empty(%[[ROWS]], %[[T]]) : tensor<2x?x?xf32>
// CHECK:     %[[S:.*]] = linalg.batch_matmul_transpose_b ins(%[[QBLK]], %[[KT]] : tensor<2x?x8xf32>, tensor<2x?x8xf32>) outs(%{{.*}} : tensor<2x?x?xf32>)
// CHECK:     %[[S2:.*]] = tensor.collapse_shape %[[S]] {{\[}}[0, 1], [2]] : tensor<2x?x?xf32> into tensor<?x?xf32>
// CHECK:     %[[LIM0:.*]] = arith.addi %[[I0]], %[[SHIFT]]
// CHECK:     %[[LIM:.*]] = arith.subi %[[LIM0]], %[[J0]]
// CHECK:     %[[TMAX:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[S2]] :
// CHECK:       %[[RHO:.*]] = linalg.index 0
// CHECK:       %[[J:.*]] = linalg.index 1
// CHECK:       %[[R:.*]] = arith.remui %[[RHO]], %[[ROWS]]
// CHECK:       %[[QI:.*]] = arith.divui %[[R]], %{{.*}}
// CHECK:       %[[QLAST:.*]] = arith.addi %[[QI]], %[[LIM]]
// CHECK:       %[[MASKED:.*]] = arith.cmpi sgt, %[[J]], %[[QLAST]]
// CHECK:       arith.select %[[MASKED]]
// CHECK:       arith.maximumf
// CHECK:     %[[UPD:.*]]:3 = linalg.generic {{.*}} ins(%[[TMAX]] : tensor<?xf32>) outs(%[[MAXIN]], %[[SUMIN]], %{{.*}} : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>)
// CHECK:       %[[NEWMAX:.*]] = arith.maximumf
// CHECK:       %[[DIFF:.*]] = arith.subf %{{.*}}, %[[NEWMAX]]
// CHECK:       %[[ALPHA:.*]] = math.exp %[[DIFF]]
// CHECK:       %[[LSCALED:.*]] = arith.mulf %{{.*}}, %[[ALPHA]]
// CHECK:       linalg.yield %[[NEWMAX]], %[[LSCALED]], %[[ALPHA]]
// CHECK:     %[[P:.*]] = linalg.generic {indexing_maps = [#[[$ROW]], #[[$ID2]]], {{.*}} ins(%[[UPD]]#0 : tensor<?xf32>) outs(%[[S2]] : tensor<?x?xf32>)
// CHECK:       math.exp
// CHECK:       arith.cmpi sgt
// CHECK:       arith.select
// CHECK:     %[[L:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[P]] : tensor<?x?xf32>) outs(%[[UPD]]#1 : tensor<?xf32>)
// CHECK:       arith.addf
// CHECK:     %[[O2:.*]] = tensor.collapse_shape %[[ACCIN]]
// CHECK:     %[[OS:.*]] = linalg.generic {indexing_maps = [#[[$ROW]], #[[$ID2]]], {{.*}} ins(%[[UPD]]#2 : tensor<?xf32>) outs(%[[O2]] : tensor<?x16xf32>)
// CHECK:       arith.mulf
// CHECK:     %[[O3:.*]] = tensor.expand_shape %[[OS]]
// CHECK:     %[[P3:.*]] = tensor.expand_shape %[[P]]
// CHECK:     %[[ONEW:.*]] = linalg.batch_matmul ins(%[[P3]], %[[VT]] : tensor<2x?x?xf32>, tensor<2x?x16xf32>) outs(%[[O3]] : tensor<2x?x16xf32>)
// CHECK:     scf.yield %[[UPD]]#0, %[[L]], %[[ONEW]]
// CHECK:   %[[OE:.*]] = tensor.expand_shape %[[KEYLOOP]]#2 {{\[}}[0], [1, 2], [3]] output_shape [2, %[[QB]], 2, 16]
// CHECK:   %[[LE:.*]] = tensor.expand_shape %[[KEYLOOP]]#1 {{\[}}[0, 1, 2]] output_shape [2, %[[QB]], 2]
// CHECK:   %[[DEST:.*]] = tensor.extract_slice %[[OUT]][0, 0, %[[I0]], 0] [2, 2, %[[QB]], 16]
// CHECK:   %[[NORMED:.*]] = linalg.generic {{.*}} ins(%[[OE]], %[[LE]] : tensor<2x?x2x16xf32>, tensor<2x?x2xf32>) outs(%[[DEST]] : tensor<2x2x?x16xf32>)
// CHECK:     arith.divf
// CHECK:   %[[INS:.*]] = tensor.insert_slice %[[NORMED]] into %[[OUT]][0, 0, %[[I0]], 0] [2, 2, %[[QB]], 16]
// CHECK:   scf.yield %[[INS]]
// CHECK: %[[RES:.*]] = tensor.collapse_shape %[[BLOCKS]] {{\[}}[0, 1], [2], [3]] : tensor<2x2x?x16xf32> into tensor<4x?x16xf32>
// CHECK: return %[[RES]]

// TILES-LABEL: func @sdpa_gqa_causal
// TILES: arith.constant 16 : index
// TILES-DAG: %[[DECODETILE:.*]] = arith.constant 1024 : index
// TILES-DAG: %[[KEYTILE:.*]] = arith.constant 64 : index
// TILES: %[[KSTEP:.*]] = arith.select %{{.*}}, %[[DECODETILE]], %[[KEYTILE]]
// TILES: %[[QSTEP:.*]] = arith.constant 16 : index
// TILES: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[QSTEP]]
// TILES: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[KSTEP]]
func.func @sdpa_gqa_causal(%q: tensor<4x?x8xf32>, %k: tensor<2x?x8xf32>, %v: tensor<2x?x16xf32>) -> tensor<4x?x16xf32> {
  %o = attn.sdpa %q, %k, %v {heads = 4 : i64, kv_heads = 2 : i64, causal, scale = 0.35355339059327373 : f64}
         : tensor<4x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x16xf32> -> tensor<4x?x16xf32>
  return %o : tensor<4x?x16xf32>
}

// -----

// Without causal there is no mask, and every block visits all m keys; one
// query head per K/V head needs no division of the row index.

// CHECK-LABEL: func @sdpa_plain
// CHECK-SAME: (%[[Q:.*]]: tensor<2x?x8xf32>, %[[K:.*]]: tensor<2x?x8xf32>)
// CHECK: %[[M:.*]] = tensor.dim %[[K]], %{{.*}} : tensor<2x?x8xf32>
// CHECK: scf.for
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[M]] step
// CHECK-NOT: arith.cmpi
// CHECK-NOT: arith.divui
// CHECK: return
func.func @sdpa_plain(%q: tensor<2x?x8xf32>, %k: tensor<2x?x8xf32>) -> tensor<2x?x8xf32> {
  %o = attn.sdpa %q, %k, %k {heads = 2 : i64, kv_heads = 2 : i64, scale = 0.125 : f64}
         : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  return %o : tensor<2x?x8xf32>
}

// -----

// Static shapes, MQA over 600 keys: nothing of the [*, 300, 600] scores (nor of
// [*, 600, 600]) exists; the score tiles are dynamic in rows and keys.

// CHECK-LABEL: func @sdpa_static_long
// CHECK-NOT: x600xf32>
// CHECK: linalg.batch_matmul_transpose_b {{.*}} -> tensor<1x?x?xf32>
// CHECK-NOT: x600xf32>
// CHECK: return {{.*}} : tensor<2x300x16xf32>
func.func @sdpa_static_long(%q: tensor<2x300x16xf32>, %k: tensor<1x600x16xf32>, %v: tensor<1x600x16xf32>) -> tensor<2x300x16xf32> {
  %o = attn.sdpa %q, %k, %v {heads = 2 : i64, kv_heads = 1 : i64, causal, scale = 0.25 : f64}
         : tensor<2x300x16xf32>, tensor<1x600x16xf32>, tensor<1x600x16xf32> -> tensor<2x300x16xf32>
  return %o : tensor<2x300x16xf32>
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
  %y = attn.rope %x offset %pos {theta = 1.0e+04 : f64, style = #attn<rope_style half>} : tensor<2x?x8xf32>
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
  %y = attn.rope %x {theta = 1.0e+04 : f64, style = #attn<rope_style interleaved>} : tensor<2x?x8xf32>
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

// -----

// A rolling cache of 4 slots. ring_window: c = min(pos, 3) cached positions
// from slot (pos - c) mod 4, in at most two slices (to the end of the ring,
// then from slot 0), then the new rows at row c. ring_update: the last
// k = min(n, 4) new rows into slots from (pos + n - k) mod 4, likewise.

// CHECK-LABEL: func.func @ring
// CHECK-SAME: (%[[C:.*]]: tensor<2x1x4x16xf32>, %[[K:.*]]: tensor<1x?x16xf32>, %[[L:.*]]: index, %[[P:.*]]: index)
// CHECK: %[[CACHED:.*]] = arith.minsi %[[P]], %{{.*}}
// CHECK: %[[N:.*]] = tensor.dim %[[K]]
// CHECK: %[[FIRST:.*]] = arith.subi %[[P]], %[[CACHED]]
// CHECK: %[[SLOT:.*]] = arith.remsi %[[FIRST]]
// CHECK: %[[TOEND:.*]] = arith.subi %{{.*}}, %[[SLOT]]
// CHECK: %[[C0:.*]] = arith.minsi %[[CACHED]], %[[TOEND]]
// CHECK: %[[C1:.*]] = arith.subi %[[CACHED]], %[[C0]]
// CHECK: %[[ROWS:.*]] = arith.addi %[[CACHED]], %[[N]]
// CHECK: %[[E:.*]] = tensor.empty(%[[ROWS]]) : tensor<1x?x16xf32>
// CHECK: %[[S0:.*]] = tensor.extract_slice %[[C]][%[[L]], 0, %[[SLOT]], 0] [1, 1, %[[C0]], 16]
// CHECK: %[[W0:.*]] = tensor.insert_slice %[[S0]] into %[[E]]
// CHECK: %[[S1:.*]] = tensor.extract_slice %[[C]][%[[L]], 0, %{{.*}}, 0] [1, 1, %[[C1]], 16]
// CHECK: %[[W1:.*]] = tensor.insert_slice %[[S1]] into %[[W0]]
// CHECK: %[[W:.*]] = tensor.insert_slice %[[K]] into %[[W1]][0, %[[CACHED]], 0] [1, %{{.*}}, 16]
// CHECK: %[[KEPT:.*]] = arith.minsi %{{.*}}, %{{.*}}
// CHECK: %[[SKIP:.*]] = arith.subi %{{.*}}, %[[KEPT]]
// CHECK: %[[START:.*]] = arith.addi %[[P]], %[[SKIP]]
// CHECK: %[[USLOT:.*]] = arith.remsi %[[START]]
// CHECK: %[[R0:.*]] = tensor.extract_slice %[[K]][0, %[[SKIP]], 0]
// CHECK: %[[U0:.*]] = tensor.insert_slice %[[R0]] into %[[C]][%[[L]], 0, %[[USLOT]], 0]
// CHECK: %[[R1:.*]] = tensor.extract_slice %[[K]]
// CHECK: %[[U:.*]] = tensor.insert_slice %[[R1]] into %[[U0]][%[[L]], 0, %{{.*}}, 0]
// CHECK: return %[[W]], %[[U]]
func.func @ring(%cache: tensor<2x1x4x16xf32>, %k: tensor<1x?x16xf32>, %layer: index, %pos: index) -> (tensor<1x?x16xf32>, tensor<2x1x4x16xf32>) {
  %w = attn.ring_window %cache[%layer], %k at %pos : tensor<2x1x4x16xf32>, tensor<1x?x16xf32> -> tensor<1x?x16xf32>
  %u = attn.ring_update %cache[%layer], %k at %pos : tensor<2x1x4x16xf32>, tensor<1x?x16xf32>
  return %w, %u : tensor<1x?x16xf32>, tensor<2x1x4x16xf32>
}
