// RUN: tfc-opt %s -split-input-file -tfc-attn-kv-cache="kv-type=bf16" | FileCheck %s --enable-var-scope --check-prefix=BF16
// RUN: tfc-opt %s -split-input-file -tfc-attn-kv-cache="kv-type=q8_0" | FileCheck %s --enable-var-scope --check-prefix=Q8
// RUN: not tfc-opt %s -split-input-file -tfc-attn-kv-cache="kv-type=q4" 2>&1 | FileCheck %s --check-prefix=BAD

// --kv-type: the new keys and values are stored through attn.kv_quant (once per
// position), the caches hold the storage type (bf16 values; Q8_0 blocks of heads of
// 64 as 2 x 34 bytes), attention reads attn.kv_dequant of the view.

// BF16-LABEL: func.func @decoder
// BF16-SAME: %[[POS:[^:]*]]: index, %[[KC:.*]]: tensor<3x2x16x64xbf16>, %[[VC:.*]]: tensor<3x2x16x64xbf16>)
// BF16: scf.for %[[I:.*]] = {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[KI:.*]] = %[[KC]], %[[VI:.*]] = %[[VC]])
// BF16:   %[[KQ:.*]] = attn.kv_quant %{{.*}} : tensor<2x?x64xf32> -> tensor<2x?x64xbf16>
// BF16:   %[[K2:.*]] = attn.cache_update %[[KI]][%[[I]]], %[[KQ]] at %[[POS]] : tensor<3x2x16x64xbf16>, tensor<2x?x64xbf16>
// BF16:   %[[KV:.*]] = attn.cache_view %[[K2]][%[[I]]] upto %{{.*}} : tensor<3x2x16x64xbf16> -> tensor<2x?x64xbf16>
// BF16:   %[[K:.*]] = attn.kv_dequant %[[KV]] : tensor<2x?x64xbf16> -> tensor<2x?x64xf32>
// BF16:   %[[VQ:.*]] = attn.kv_quant
// BF16:   attn.cache_update %[[VI]][%[[I]]], %[[VQ]]
// BF16:   %[[V:.*]] = attn.kv_dequant
// BF16:   attn.sdpa %{{.*}}, %[[K]], %[[V]] {causal

// Q8-LABEL: func.func @decoder
// Q8-SAME: tensor<3x2x16x68xi8>, %{{.*}}: tensor<3x2x16x68xi8>)
// Q8:   %[[KQ:.*]] = attn.kv_quant %{{.*}} : tensor<2x?x64xf32> -> tensor<2x?x68xi8>
// Q8:   %[[K2:.*]] = attn.cache_update %{{.*}}, %[[KQ]] at %{{.*}} : tensor<3x2x16x68xi8>, tensor<2x?x68xi8>
// Q8:   %[[KV:.*]] = attn.cache_view %[[K2]]
// Q8:   %[[K:.*]] = attn.kv_dequant %[[KV]] : tensor<2x?x68xi8> -> tensor<2x?x64xf32>
// Q8:   attn.sdpa %{{.*}}, %[[K]], %{{.*}} {causal

// BAD: kv cache: kv-type must be f32, bf16 or q8_0, not 'q4'
module attributes {attn.max_seq = 16 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x128xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %emb = attn.weight "emb.weight" : tensor<10x128xf32>
    %x0 = attn.embedding %emb, %tokens : tensor<10x128xf32>, tensor<?xi32> -> tensor<?x128xf32>
    %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%x = %x0) -> (tensor<?x128xf32>) {
      %q = attn.split_heads %x : tensor<?x128xf32> -> tensor<2x?x64xf32>
      %k = attn.split_heads %x : tensor<?x128xf32> -> tensor<2x?x64xf32>
      %v = attn.split_heads %x : tensor<?x128xf32> -> tensor<2x?x64xf32>
      %o = attn.sdpa %q, %k, %v {heads = 2 : i64, kv_heads = 2 : i64, causal, scale = 0.125 : f64} : tensor<2x?x64xf32>, tensor<2x?x64xf32>, tensor<2x?x64xf32> -> tensor<2x?x64xf32>
      %m = attn.merge_heads %o : tensor<2x?x64xf32> -> tensor<?x128xf32>
      scf.yield %m : tensor<?x128xf32>
    }
    return %r : tensor<?x128xf32>
  }
}

// -----

// Q8_0 of heads of 8 (not a multiple of 32): the documented fallback, an f32 cache
// with no conversion; a sliding window's ring stores bf16 and reads its window back.

// Q8-LABEL: func.func @decoder
// Q8-SAME: tensor<1x2x4x8xf32>
// Q8-NOT: attn.kv_quant
// Q8: attn.ring_update
// BF16-LABEL: func.func @decoder
// BF16-SAME: %[[POS:[^:]*]]: index, %{{.*}}: tensor<1x2x4x8xbf16>
// BF16: %[[KQ:.*]] = attn.kv_quant %{{.*}} : tensor<2x?x8xf32> -> tensor<2x?x8xbf16>
// BF16: %[[W:.*]] = attn.ring_window %{{.*}}, %[[KQ]] at %[[POS]] : tensor<1x2x4x8xbf16>, tensor<2x?x8xbf16> -> tensor<2x?x8xbf16>
// BF16: attn.kv_dequant %[[W]] : tensor<2x?x8xbf16> -> tensor<2x?x8xf32>
// BF16: attn.ring_update %{{.*}}, %[[KQ]] at %[[POS]] : tensor<1x2x4x8xbf16>, tensor<2x?x8xbf16>
module attributes {attn.max_seq = 16 : i64} {
  func.func @decoder(%tokens: tensor<?xi32>) -> tensor<?x16xf32> {
    %emb = attn.weight "emb.weight" : tensor<10x16xf32>
    %x = attn.embedding %emb, %tokens : tensor<10x16xf32>, tensor<?xi32> -> tensor<?x16xf32>
    %q = attn.split_heads %x : tensor<?x16xf32> -> tensor<2x?x8xf32>
    %k = attn.split_heads %x : tensor<?x16xf32> -> tensor<2x?x8xf32>
    %v = attn.split_heads %x : tensor<?x16xf32> -> tensor<2x?x8xf32>
    %o = attn.sdpa %q, %k, %v {heads = 2 : i64, kv_heads = 2 : i64, causal, window = 4 : i64, scale = 0.35 : f64} : tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32> -> tensor<2x?x8xf32>
    %m = attn.merge_heads %o : tensor<2x?x8xf32> -> tensor<?x16xf32>
    return %m : tensor<?x16xf32>
  }
}
