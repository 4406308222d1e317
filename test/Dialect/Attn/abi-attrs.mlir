// RUN: tfc-opt %s | tfc-opt | FileCheck %s --enable-var-scope
// RUN: tfc-opt %s --mlir-print-op-generic | tfc-opt | FileCheck %s --enable-var-scope

// Round trip of the ABI attributes that tfc-lower-entry-points and
// tfc-plan-activations leave for the emitter (AttnAttrs.td), on func.func and,
// after convert-func-to-llvm, on llvm.func.

// CHECK: module attributes {attn.kv_caches = [#attn.kv_cache<tensor<2x1x16x8xf32>, seq_dim = 2>],
// CHECK-SAME: attn.weight_slots = [#attn.weight_slot<"emb.weight", shape = [16, 8], dtype = f32, init = random>,
// CHECK-SAME: #attn.weight_slot<"l." * ".p" * ".weight" layers 2, shape = [2, 8, 8], dtype = bf16, init = random>,
// CHECK-SAME: #attn.weight_slot<"" * ".norm" layers 2, shape = [2, 8], dtype = f16, init = ones>,
// CHECK-SAME: #attn.weight_slot<"b", shape = [8], dtype = f32, init = zeros>,
// CHECK-SAME: #attn.weight_slot<"l." * ".v" layers 2, shape = [2, 8, 256], dtype = q4_k, layer_dtypes = [q6_k, q4_k], init = random>]}
module attributes {
  attn.kv_caches = [#attn.kv_cache<tensor<2x1x16x8xf32>, seq_dim = 2>],
  attn.weight_slots = [
    #attn.weight_slot<"emb.weight", shape = [16, 8], dtype = f32, init = random>,
    #attn.weight_slot<"l." * ".p" * ".weight" layers 2, shape = [2, 8, 8], dtype = bf16, init = random>,
    #attn.weight_slot<"" * ".norm" layers 2, shape = [2, 8], dtype = f16, init = ones>,
    #attn.weight_slot<"b", shape = [8], dtype = f32, init = zeros>,
    #attn.weight_slot<"l." * ".v" layers 2, shape = [2, 8, 256], dtype = q4_k, layer_dtypes = [q6_k, q4_k], init = random>]
} {
  // CHECK-LABEL: func.func @decoder
  // CHECK-SAME: attributes {attn.arena_bytes = @decoder_arena_bytes, attn.entry_args = [#attn.arg<tokens>,
  // CHECK-SAME: #attn.arg<pos>, #attn.arg<cache[0]>, #attn.arg<weight[0]>, #attn.arg<weight[1]>,
  // CHECK-SAME: #attn.arg<layer_offsets[1]>, #attn.arg<output>, #attn.arg<arena>], attn.out_width = 16 : i64, attn.stateful}
  func.func @decoder(%t: memref<?xi32>, %pos: index, %c: memref<2x1x16x8xf32>, %e: memref<16x8xf32>,
                     %w: memref<?xbf16>, %o: memref<2xi64>, %out: memref<?x16xf32>, %a: memref<?xi8>)
      attributes {attn.arena_bytes = @decoder_arena_bytes,
                  attn.entry_args = [#attn.arg<tokens>, #attn.arg<pos>, #attn.arg<cache[0]>,
                                     #attn.arg<weight[0]>, #attn.arg<weight[1]>, #attn.arg<layer_offsets[1]>,
                                     #attn.arg<output>, #attn.arg<arena>],
                  attn.out_width = 16 : i64, attn.stateful} {
    return
  }
  // CHECK-LABEL: llvm.func @encoder
  // CHECK-SAME: attn.entry_args = [#attn.arg<tokens>, #attn.arg<memory>, #attn.arg<output>]
  llvm.func @encoder(%p: !llvm.ptr) attributes {attn.entry_args = [#attn.arg<tokens>, #attn.arg<memory>, #attn.arg<output>]} {
    llvm.return
  }
}
