// RUN: tfc-opt %s -split-input-file -tfc-attn-sdpa-strategy | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-attn-sdpa-strategy="key-tile=64 query-rows=32" | FileCheck %s --check-prefix=TILES --enable-var-scope
// RUN: not tfc-opt %s -split-input-file -tfc-attn-sdpa-strategy="key-tile=0" 2>&1 | FileCheck %s --check-prefix=BADTILE
// RUN: not tfc-opt %s -split-input-file -tfc-attn-sdpa-strategy="query-rows=65537" 2>&1 | FileCheck %s --check-prefix=BADROWS
// BADTILE: tfc-attn-sdpa-strategy: key-tile (0) and query-rows (256) must be between 1 and 65536
// BADROWS: tfc-attn-sdpa-strategy: key-tile (256) and query-rows (65537) must be between 1 and 65536

// Every attn.sdpa gets the tiling of the options, and nothing else changes.

// CHECK-LABEL: func @records_tiling
// CHECK-SAME: (%[[Q:.*]]: tensor<4x?x8xf32>, %[[K:.*]]: tensor<2x?x8xf32>)
// CHECK: %[[O:.*]] = attn.sdpa %[[Q]], %[[K]], %[[K]] {causal, heads = 4 : i64, kv_heads = 2 : i64, scale = 5.000000e-01 : f64, tiling = #attn.sdpa_tiling<query_rows = 256, key_tile = 256>}
// CHECK: %[[P:.*]] = attn.sdpa %[[Q]], %[[K]], %[[K]] {heads = 4 : i64, kv_heads = 2 : i64, scale = 2.500000e-01 : f64, tiling = #attn.sdpa_tiling<query_rows = 256, key_tile = 256>}
// CHECK: return %[[O]], %[[P]]
// TILES-LABEL: func @records_tiling
// TILES-COUNT-2: tiling = #attn.sdpa_tiling<query_rows = 32, key_tile = 64>
// TILES-NOT: sdpa_tiling
func.func @records_tiling(%q: tensor<4x?x8xf32>, %k: tensor<2x?x8xf32>) -> (tensor<4x?x8xf32>, tensor<4x?x8xf32>) {
  %o = attn.sdpa %q, %k, %k {heads = 4 : i64, kv_heads = 2 : i64, causal, scale = 0.5 : f64}
         : tensor<4x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<4x?x8xf32>
  %p = attn.sdpa %q, %k, %k {heads = 4 : i64, kv_heads = 2 : i64, scale = 0.25 : f64}
         : tensor<4x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<4x?x8xf32>
  return %o, %p : tensor<4x?x8xf32>, tensor<4x?x8xf32>
}

// -----

// A tiling already on the op (set by hand or by an earlier choice) is kept.

// CHECK-LABEL: func @keeps_tiling
// CHECK: tiling = #attn.sdpa_tiling<query_rows = 8, key_tile = 4>
// TILES-LABEL: func @keeps_tiling
// TILES: tiling = #attn.sdpa_tiling<query_rows = 8, key_tile = 4>
func.func @keeps_tiling(%q: tensor<2x?x8xf32>) -> tensor<2x?x8xf32> {
  %o = attn.sdpa %q, %q, %q {heads = 2 : i64, kv_heads = 2 : i64, scale = 0.5 : f64,
                             tiling = #attn.sdpa_tiling<query_rows = 8, key_tile = 4>}
         : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  return %o : tensor<2x?x8xf32>
}
