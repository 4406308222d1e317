// RUN: tfc-opt %s -tfc-attn-mark-weight-init | FileCheck %s --enable-var-scope

// Norm scales start at one, biases at zero, everything else random (no init):
// read through layer slices, in attention's bias operands and latent
// attention's q_a / kv_a norms. (Input: tfc --emit=attn of a small model.)

// CHECK-LABEL: func.func @decoder
// CHECK: attn.weight "emb.weight" : tensor<16x8xf32>
// CHECK: attn.weight "l." * ".norm.weight" layers 2 init ones : tensor<2x8xf32>
// CHECK: attn.weight "l." * ".attn.q_proj.weight" layers 2 : tensor<2x8x8xf32>
// CHECK: attn.weight "l." * ".attn.q_proj.bias" layers 2 init zeros : tensor<2x8xf32>
// CHECK: attn.weight "l." * ".attn.k_proj.weight" layers 2 : tensor<2x8x8xf32>
// CHECK: attn.weight "l." * ".attn.k_proj.bias" layers 2 init zeros : tensor<2x8xf32>
// CHECK: attn.weight "l." * ".attn.v_proj.weight" layers 2 : tensor<2x8x8xf32>
// CHECK: attn.weight "l." * ".attn.v_proj.bias" layers 2 init zeros : tensor<2x8xf32>
// CHECK: attn.weight "l." * ".attn.o_proj.weight" layers 2 : tensor<2x8x8xf32>
// CHECK: attn.weight "l." * ".attn.o_proj.bias" layers 2 init zeros : tensor<2x8xf32>
// CHECK: attn.weight "l." * ".ln.weight" layers 2 init ones : tensor<2x8xf32>
// CHECK: attn.weight "l." * ".ln.bias" layers 2 init zeros : tensor<2x8xf32>
// CHECK: attn.weight "mla.q_a_proj.weight" : tensor<4x8xf32>
// CHECK: attn.weight "mla.q_a_layernorm.weight" init ones : tensor<4xf32>
// CHECK: attn.weight "mla.q_b_proj.weight" : tensor<8x4xf32>
// CHECK: attn.weight "mla.kv_a_proj_with_mqa.weight" : tensor<6x8xf32>
// CHECK: attn.weight "mla.kv_a_layernorm.weight" init ones : tensor<4xf32>
// CHECK: attn.weight "mla.kv_b_proj.weight" : tensor<12x4xf32>
// CHECK: attn.weight "mla.o_proj.weight" : tensor<8x8xf32>
// CHECK: attn.weight "head.weight" : tensor<16x8xf32>
// CHECK: attn.weight "head.bias" init zeros : tensor<16xf32>
module attributes {attn.config = {dim = 8 : i64, max_seq = 16 : i64, vocab = 16 : i64}, attn.max_seq = 16 : i64, attn.name = "init"} {
  func.func @decoder(%arg0: tensor<?xi32>) -> tensor<?x16xf32> {
    %0 = attn.weight "emb.weight" : tensor<16x8xf32>
    %1 = attn.embedding %0, %arg0 : tensor<16x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %c1 = arith.constant 1 : index
    %2 = attn.weight "l." * ".norm.weight" layers 2 : tensor<2x8xf32>
    %3 = attn.weight "l." * ".attn.q_proj.weight" layers 2 : tensor<2x8x8xf32>
    %4 = attn.weight "l." * ".attn.q_proj.bias" layers 2 : tensor<2x8xf32>
    %5 = attn.weight "l." * ".attn.k_proj.weight" layers 2 : tensor<2x8x8xf32>
    %6 = attn.weight "l." * ".attn.k_proj.bias" layers 2 : tensor<2x8xf32>
    %7 = attn.weight "l." * ".attn.v_proj.weight" layers 2 : tensor<2x8x8xf32>
    %8 = attn.weight "l." * ".attn.v_proj.bias" layers 2 : tensor<2x8xf32>
    %9 = attn.weight "l." * ".attn.o_proj.weight" layers 2 : tensor<2x8x8xf32>
    %10 = attn.weight "l." * ".attn.o_proj.bias" layers 2 : tensor<2x8xf32>
    %11 = attn.weight "l." * ".ln.weight" layers 2 : tensor<2x8xf32>
    %12 = attn.weight "l." * ".ln.bias" layers 2 : tensor<2x8xf32>
    %13 = scf.for %arg1 = %c0 to %c2 step %c1 iter_args(%arg2 = %1) -> (tensor<?x8xf32>) {
      %extracted_slice = tensor.extract_slice %2[%arg1, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
      %26 = attn.rms_norm %arg2, %extracted_slice {eps = 1.000000e-05 : f64} : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
      %extracted_slice_0 = tensor.extract_slice %3[%arg1, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
      %extracted_slice_1 = tensor.extract_slice %4[%arg1, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
      %extracted_slice_2 = tensor.extract_slice %5[%arg1, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
      %extracted_slice_3 = tensor.extract_slice %6[%arg1, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
      %extracted_slice_4 = tensor.extract_slice %7[%arg1, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
      %extracted_slice_5 = tensor.extract_slice %8[%arg1, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
      %extracted_slice_6 = tensor.extract_slice %9[%arg1, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<2x8x8xf32> to tensor<8x8xf32>
      %extracted_slice_7 = tensor.extract_slice %10[%arg1, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
      %27 = attn.attention %26 weights(%extracted_slice_0, %extracted_slice_2, %extracted_slice_4, %extracted_slice_6 : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>) biases(%extracted_slice_1, %extracted_slice_3, %extracted_slice_5 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) out_bias(%extracted_slice_7 : tensor<8xf32>) {head_dim = 4 : i64, heads = 2 : i64, kv_heads = 2 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
      %28 = attn.add %arg2, %27 : tensor<?x8xf32>
      %extracted_slice_8 = tensor.extract_slice %11[%arg1, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
      %extracted_slice_9 = tensor.extract_slice %12[%arg1, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
      %29 = attn.layer_norm %28, %extracted_slice_8, %extracted_slice_9 {eps = 1.000000e-05 : f64} : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<?x8xf32>
      scf.yield %29 : tensor<?x8xf32>
    }
    %14 = attn.weight "mla.q_a_proj.weight" : tensor<4x8xf32>
    %15 = attn.weight "mla.q_a_layernorm.weight" : tensor<4xf32>
    %16 = attn.weight "mla.q_b_proj.weight" : tensor<8x4xf32>
    %17 = attn.weight "mla.kv_a_proj_with_mqa.weight" : tensor<6x8xf32>
    %18 = attn.weight "mla.kv_a_layernorm.weight" : tensor<4xf32>
    %19 = attn.weight "mla.kv_b_proj.weight" : tensor<12x4xf32>
    %20 = attn.weight "mla.o_proj.weight" : tensor<8x8xf32>
    %21 = attn.latent_attention %13 q(%14, %15, %16 : tensor<4x8xf32>, tensor<4xf32>, tensor<8x4xf32>) kv(%17, %18, %19 : tensor<6x8xf32>, tensor<4xf32>, tensor<12x4xf32>) o(%20 : tensor<8x8xf32>) {heads = 2 : i64, kv_rank = 4 : i64, nope_dim = 2 : i64, q_rank = 4 : i64, rope_dim = 2 : i64, v_dim = 4 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
    %22 = attn.add %13, %21 : tensor<?x8xf32>
    %23 = attn.weight "head.weight" : tensor<16x8xf32>
    %24 = attn.weight "head.bias" : tensor<16xf32>
    %25 = attn.linear %22, %23 bias %24 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16xf32> -> tensor<?x16xf32>
    return %25 : tensor<?x16xf32>
  }
}
