// RUN: tfc-opt %s -split-input-file -tfc-fuse-elementwise | FileCheck %s --enable-var-scope
// Each step alone, so that a test of one cannot pass through another:
// RUN: tfc-opt %s -split-input-file -tfc-fuse-elementwise="elementwise=0 norm-rows=0" | FileCheck %s --check-prefix=RES --enable-var-scope
// RUN: tfc-opt %s -split-input-file -tfc-fuse-elementwise="residual=0 elementwise=0 norm-rows=0" | FileCheck %s --check-prefix=OFF --enable-var-scope

#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#row = affine_map<(i, j) -> (i)>

// x + a·Wᵀ: the matmul starts from the residual and the add is gone.
// CHECK-LABEL: func.func @residual
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[A:.*]]: tensor<?x32xf32>, %[[W:.*]]: tensor<64x32xf32>)
// CHECK-NOT: linalg.fill
// CHECK: %[[Y:.*]] = linalg.matmul_transpose_b ins(%[[A]], %[[W]] : {{.*}}) outs(%[[X]] : tensor<?x64xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
// RES-LABEL: func.func @residual
// RES: linalg.matmul_transpose_b {{.*}} outs(%arg0 : tensor<?x64xf32>)
// RES-NOT: linalg.generic
// RES: return
// OFF-LABEL: func.func @residual
// OFF: linalg.fill
// OFF: linalg.generic
func.func @residual(%x: tensor<?x64xf32>, %a: tensor<?x32xf32>, %w: tensor<64x32xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %a, %c0 : tensor<?x32xf32>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
  %p = linalg.matmul_transpose_b ins(%a, %w : tensor<?x32xf32>, tensor<64x32xf32>) outs(%z : tensor<?x64xf32>) -> tensor<?x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %p : tensor<?x64xf32>, tensor<?x64xf32>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%l: f32, %r: f32, %o: f32):
    %s = arith.addf %l, %r : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>

// The product on the left, a bias added in place in between, and the residual
// read before the matmul (by the norm of a pre-norm block): still fused; the
// bias is added to x + a·Wᵀ.
// CHECK-LABEL: func.func @residual_bias
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[W:.*]]: tensor<64x64xf32>, %[[B:.*]]: tensor<64xf32>)
// CHECK: %[[H:.*]] = math.exp %[[X]]
// CHECK: %[[P:.*]] = linalg.matmul_transpose_b ins(%[[H]], %[[W]] : {{.*}}) outs(%[[X]] : tensor<4x64xf32>)
// CHECK: %[[Y:.*]] = linalg.generic
// CHECK-SAME: ins(%[[B]] : tensor<64xf32>) outs(%[[P]] : tensor<4x64xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @residual_bias(%x: tensor<4x64xf32>, %w: tensor<64x64xf32>, %b: tensor<64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %h = math.exp %x : tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
  %p = linalg.matmul_transpose_b ins(%h, %w : tensor<4x64xf32>, tensor<64x64xf32>) outs(%z : tensor<4x64xf32>) -> tensor<4x64xf32>
  %pb = linalg.generic {indexing_maps = [#col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b : tensor<64xf32>) outs(%p : tensor<4x64xf32>) {
  ^bb0(%bi: f32, %o: f32):
    %s = arith.addf %o, %bi : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%pb, %x : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%l: f32, %r: f32, %o: f32):
    %s = arith.addf %l, %r : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>

// The layer loop: the residual is the loop-carried activation, and the result
// of the matmul is what the iteration yields (in place, no copy).
// CHECK-LABEL: func.func @residual_in_loop
// CHECK: scf.for {{.*}} iter_args(%[[X:.*]] = %{{.*}}) -> (tensor<8x64xf32>)
// CHECK: %[[P:.*]] = linalg.matmul_transpose_b {{.*}} outs(%[[X]] : tensor<8x64xf32>)
// CHECK-NOT: linalg.generic
// CHECK: scf.yield %[[P]]
func.func @residual_in_loop(%x0: tensor<8x64xf32>, %w: tensor<64x64xf32>) -> tensor<8x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%x = %x0) -> (tensor<8x64xf32>) {
    %e = tensor.empty() : tensor<8x64xf32>
    %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x64xf32>) -> tensor<8x64xf32>
    %p = linalg.matmul_transpose_b ins(%x, %w : tensor<8x64xf32>, tensor<64x64xf32>) outs(%z : tensor<8x64xf32>) -> tensor<8x64xf32>
    %h = math.tanh %p : tensor<8x64xf32>
    %q = linalg.matmul_transpose_b ins(%h, %w : tensor<8x64xf32>, tensor<64x64xf32>) outs(%z : tensor<8x64xf32>) -> tensor<8x64xf32>
    %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%x, %q : tensor<8x64xf32>, tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) {
    ^bb0(%l: f32, %rr: f32, %o: f32):
      %s = arith.addf %l, %rr : f32
      linalg.yield %s : f32
    } -> tensor<8x64xf32>
    scf.yield %y : tensor<8x64xf32>
  }
  return %r : tensor<8x64xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>

// Not fused: the residual is read again after the matmul (writing the sum into
// its buffer would need a copy of it).
// CHECK-LABEL: func.func @residual_used_later
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: linalg.matmul_transpose_b {{.*}} outs(%[[Z]] :
// CHECK: arith.addf
// CHECK: math.exp
func.func @residual_used_later(%x: tensor<4x64xf32>, %a: tensor<4x32xf32>, %w: tensor<64x32xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
  %p = linalg.matmul_transpose_b ins(%a, %w : tensor<4x32xf32>, tensor<64x32xf32>) outs(%z : tensor<4x64xf32>) -> tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %p : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%l: f32, %r: f32, %o: f32):
    %s = arith.addf %l, %r : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  %later = math.exp %x : tensor<4x64xf32>
  return %y, %later : tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>

// Not fused: the residual is the matmul's own input (x + x·Wᵀ: the kernel
// would read rows it has already overwritten).
// CHECK-LABEL: func.func @residual_is_input
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: linalg.matmul_transpose_b {{.*}} outs(%[[Z]] :
// CHECK: arith.addf
func.func @residual_is_input(%x: tensor<4x64xf32>, %w: tensor<64x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
  %p = linalg.matmul_transpose_b ins(%x, %w : tensor<4x64xf32>, tensor<64x64xf32>) outs(%z : tensor<4x64xf32>) -> tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %p : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%l: f32, %r: f32, %o: f32):
    %s = arith.addf %l, %r : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>

// Not fused: the product is used twice, the matmul does not start from zero,
// the op is a subtraction.
// CHECK-LABEL: func.func @residual_not_fusable
// CHECK-NOT: outs(%arg0
// CHECK-COUNT-3: linalg.matmul_transpose_b {{.*}} outs(%{{[0-9]+}} : tensor<4x64xf32>)
// CHECK-NOT: outs(%arg0
// RES-LABEL: func.func @residual_not_fusable
// RES-COUNT-3: linalg.generic
func.func @residual_not_fusable(%x: tensor<4x64xf32>, %a: tensor<4x32xf32>, %w: tensor<64x32xf32>, %w2: tensor<64x32xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<4x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
  %o = linalg.fill ins(%one : f32) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
  %p = linalg.matmul_transpose_b ins(%a, %w : tensor<4x32xf32>, tensor<64x32xf32>) outs(%z : tensor<4x64xf32>) -> tensor<4x64xf32>
  %y1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %p : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%l: f32, %r: f32, %u: f32):
    %s = arith.addf %l, %r : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  %q = linalg.matmul_transpose_b ins(%a, %w : tensor<4x32xf32>, tensor<64x32xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %y2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %q : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%l: f32, %r: f32, %u: f32):
    %s = arith.addf %l, %r : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  %m = linalg.matmul_transpose_b ins(%a, %w2 : tensor<4x32xf32>, tensor<64x32xf32>) outs(%z : tensor<4x64xf32>) -> tensor<4x64xf32>
  %y3 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%l: f32, %r: f32, %u: f32):
    %s = arith.subf %l, %r : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  return %y1, %p, %y2, %y3 : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>

// SiLU(gate) · up: one generic reading both products.
// CHECK-LABEL: func.func @silu_mul
// CHECK-SAME: (%[[G:.*]]: tensor<?x96xf32>, %[[U:.*]]: tensor<?x96xf32>)
// CHECK: %[[R:.*]] = linalg.generic
// CHECK-SAME: ins(%[[G]], %[[U]] : tensor<?x96xf32>, tensor<?x96xf32>)
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
// RES-LABEL: func.func @silu_mul
// RES-COUNT-2: linalg.generic
func.func @silu_mul(%g: tensor<?x96xf32>, %u: tensor<?x96xf32>) -> tensor<?x96xf32> {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %n = tensor.dim %g, %c0 : tensor<?x96xf32>
  %e = tensor.empty(%n) : tensor<?x96xf32>
  %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<?x96xf32>) outs(%e : tensor<?x96xf32>) {
  ^bb0(%x: f32, %o: f32):
    %nx = arith.negf %x : f32
    %ex = math.exp %nx : f32
    %d = arith.addf %one, %ex : f32
    %r = arith.divf %x, %d : f32
    linalg.yield %r : f32
  } -> tensor<?x96xf32>
  %m = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %u : tensor<?x96xf32>, tensor<?x96xf32>) outs(%e : tensor<?x96xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<?x96xf32>
  return %m : tensor<?x96xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>

// A bias added in place, then an activation (GPT-2's MLP): one generic with a
// single result, reading the product and the bias; the biased product is no
// longer stored.
// CHECK-LABEL: func.func @bias_activation
// CHECK-SAME: (%[[A:.*]]: tensor<?x32xf32>, %[[W:.*]]: tensor<96x32xf32>, %[[B:.*]]: tensor<96xf32>)
// CHECK: %[[P:.*]] = linalg.matmul_transpose_b
// CHECK: %[[R:.*]] = linalg.generic
// CHECK-SAME: ins(%[[B]], %[[P]] : tensor<96xf32>, tensor<?x96xf32>) outs(%{{.*}} : tensor<?x96xf32>)
// CHECK: arith.addf
// CHECK: math.tanh
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @bias_activation(%a: tensor<?x32xf32>, %w: tensor<96x32xf32>, %b: tensor<96xf32>) -> tensor<?x96xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %a, %c0 : tensor<?x32xf32>
  %e = tensor.empty(%n) : tensor<?x96xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x96xf32>) -> tensor<?x96xf32>
  %p = linalg.matmul_transpose_b ins(%a, %w : tensor<?x32xf32>, tensor<96x32xf32>) outs(%z : tensor<?x96xf32>) -> tensor<?x96xf32>
  %pb = linalg.generic {indexing_maps = [#col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b : tensor<96xf32>) outs(%p : tensor<?x96xf32>) {
  ^bb0(%bi: f32, %o: f32):
    %s = arith.addf %o, %bi : f32
    linalg.yield %s : f32
  } -> tensor<?x96xf32>
  %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%pb : tensor<?x96xf32>) outs(%e : tensor<?x96xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.tanh %x : f32
    linalg.yield %r : f32
  } -> tensor<?x96xf32>
  return %t : tensor<?x96xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>

// Not fused: the activation is also returned, so fusing it would compute it twice.
// CHECK-LABEL: func.func @shared_producer
// CHECK-COUNT-2: linalg.generic
func.func @shared_producer(%g: tensor<8x96xf32>, %u: tensor<8x96xf32>) -> (tensor<8x96xf32>, tensor<8x96xf32>) {
  %e = tensor.empty() : tensor<8x96xf32>
  %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.exp %x : f32
    linalg.yield %r : f32
  } -> tensor<8x96xf32>
  %m = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %u : tensor<8x96xf32>, tensor<8x96xf32>) outs(%e : tensor<8x96xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8x96xf32>
  return %m, %s : tensor<8x96xf32>, tensor<8x96xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#row = affine_map<(i, j) -> (i)>

// RMSNorm: the sum of squares and the scaled normalization of each row in one
// loop over rows; each iteration reduces its row, then normalizes it.
// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK: %[[E:.*]] = bufferization.alloc_tensor(%{{.*}}) : tensor<?xf32>
// CHECK: %[[R:.*]]:2 = scf.forall (%[[I:.*]]) in (%{{.*}}) shared_outs(%[[SO:.*]] = %[[E]], %[[O:.*]] = %{{.*}}) -> (tensor<?xf32>, tensor<?x64xf32>)
// CHECK: %[[XI:.*]] = tensor.extract_slice %[[X]][%[[I]], 0] [1, 64] [1, 1]
// CHECK: %[[SI:.*]] = tensor.extract_slice %[[SO]][%[[I]]] [1] [1]
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[SI]] : tensor<1xf32>)
// CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[XI]] : tensor<1x64xf32>) outs(%[[Z]] : tensor<1xf32>)
// CHECK: %[[OI:.*]] = tensor.extract_slice %[[O]][%[[I]], 0] [1, 64] [1, 1]
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}}, %[[S]], %[[W]] : tensor<1x64xf32>, tensor<1xf32>, tensor<64xf32>) outs(%[[OI]] : tensor<1x64xf32>)
// CHECK: math.sqrt
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %[[S]] into %[[SO]][%[[I]]] [1] [1]
// CHECK: tensor.parallel_insert_slice %[[Y]] into %[[O]][%[[I]], 0] [1, 64] [1, 1]
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]#1
// OFF-LABEL: func.func @rms_norm
// OFF-NOT: scf.forall
func.func @rms_norm(%x: tensor<?x64xf32>, %w: tensor<64xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %d = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e1 = tensor.empty(%n) : tensor<?xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?xf32>) -> tensor<?xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x64xf32>) outs(%z : tensor<?xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sq = arith.mulf %v, %v : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %w : tensor<?x64xf32>, tensor<?xf32>, tensor<64xf32>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%v: f32, %s: f32, %wi: f32, %o: f32):
    %mean = arith.divf %s, %d : f32
    %me = arith.addf %mean, %eps : f32
    %rms = math.sqrt %me : f32
    %nv = arith.divf %v, %rms : f32
    %r = arith.mulf %nv, %wi : f32
    linalg.yield %r : f32
  } -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#row = affine_map<(i, j) -> (i)>

// LayerNorm: both reductions (the sums, then the squared deviations from the
// mean) and the normalization in one loop over rows.
// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[S0:.*]] = bufferization.alloc_tensor() : tensor<8xf32>
// CHECK: %[[V0:.*]] = bufferization.alloc_tensor() : tensor<8xf32>
// CHECK: scf.forall (%{{.*}}) in (8) shared_outs(%{{.*}} = %[[S0]], %{{.*}} = %[[V0]], %{{.*}} = %{{.*}})
// CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: %[[V:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}}, %[[S]] :
// CHECK-NOT: iterator_types = ["parallel", "reduction"]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}}, %[[S]], %[[V]], %{{.*}}, %{{.*}} :
// CHECK: tensor.parallel_insert_slice
// CHECK-NOT: linalg.generic
func.func @layer_norm(%x: tensor<8x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %d = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %e1 = tensor.empty() : tensor<8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x64xf32>) outs(%z : tensor<8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %dev = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %sum : tensor<8x64xf32>, tensor<8xf32>) outs(%z : tensor<8xf32>) {
  ^bb0(%v: f32, %s: f32, %acc: f32):
    %mean = arith.divf %s, %d : f32
    %dv = arith.subf %v, %mean : f32
    %sq = arith.mulf %dv, %dv : f32
    %r = arith.addf %acc, %sq : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e = tensor.empty() : tensor<8x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum, %dev, %w, %b : tensor<8x64xf32>, tensor<8xf32>, tensor<8xf32>, tensor<64xf32>, tensor<64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%v: f32, %s: f32, %q: f32, %wi: f32, %bi: f32, %o: f32):
    %mean = arith.divf %s, %d : f32
    %var = arith.divf %q, %d : f32
    %ve = arith.addf %var, %eps : f32
    %sd = math.sqrt %ve : f32
    %c = arith.subf %v, %mean : f32
    %nv = arith.divf %c, %sd : f32
    %sc = arith.mulf %nv, %wi : f32
    %r = arith.addf %sc, %bi : f32
    linalg.yield %r : f32
  } -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>

// Not fused: the row sums are also returned (they would be computed twice).
// CHECK-LABEL: func.func @reduction_used_elsewhere
// CHECK-NOT: scf.forall
// CHECK: return
func.func @reduction_used_elsewhere(%x: tensor<8x64xf32>) -> (tensor<8x64xf32>, tensor<8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x64xf32>) outs(%z : tensor<8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %e = tensor.empty() : tensor<8x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<8x64xf32>, tensor<8xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %r = arith.divf %v, %s : f32
    linalg.yield %r : f32
  } -> tensor<8x64xf32>
  return %y, %sum : tensor<8x64xf32>, tensor<8xf32>
}

// -----

// One zero fill per product (q, k, v of a layer share one after CSE); a fill
// read as an input stays shared.
// CHECK-LABEL: func.func @unshare_fill
// CHECK: %[[Z1:.*]] = linalg.fill
// CHECK: linalg.matmul_transpose_b {{.*}} outs(%[[Z1]] :
// CHECK: %[[Z2:.*]] = linalg.fill
// CHECK: linalg.matmul_transpose_b {{.*}} outs(%[[Z2]] :
// CHECK: %[[O:.*]] = linalg.fill
// CHECK-NOT: linalg.fill
// CHECK: linalg.matmul_transpose_b ins(%[[O]], %{{.*}} : {{.*}}) outs(%[[O]] :
// RES-LABEL: func.func @unshare_fill
// RES-COUNT-3: linalg.fill
// OFF-LABEL: func.func @unshare_fill
// OFF-COUNT-2: linalg.fill
// OFF-NOT: linalg.fill
func.func @unshare_fill(%a: tensor<4x32xf32>, %w: tensor<64x32xf32>, %v: tensor<64x32xf32>, %s: tensor<32x32xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>, tensor<32x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<4x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
  %p = linalg.matmul_transpose_b ins(%a, %w : tensor<4x32xf32>, tensor<64x32xf32>) outs(%z : tensor<4x64xf32>) -> tensor<4x64xf32>
  %q = linalg.matmul_transpose_b ins(%a, %v : tensor<4x32xf32>, tensor<64x32xf32>) outs(%z : tensor<4x64xf32>) -> tensor<4x64xf32>
  %e2 = tensor.empty() : tensor<32x32xf32>
  %o = linalg.fill ins(%one : f32) outs(%e2 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %r = linalg.matmul_transpose_b ins(%o, %s : tensor<32x32xf32>, tensor<32x32xf32>) outs(%o : tensor<32x32xf32>) -> tensor<32x32xf32>
  return %p, %q, %r : tensor<4x64xf32>, tensor<4x64xf32>, tensor<32x32xf32>
}

// -----

#id3 = affine_map<(h, t, j) -> (h, t, j)>

// RoPE-like: the heads split off by a transpose are read elementwise and by
// tensor.extract (the rotation partner); both read the projection itself
// through permuted indices, and the transposed copy is gone.
// CHECK: #[[$PERM:.*]] = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
// CHECK-LABEL: func.func @transpose_into_rope
// CHECK-SAME: (%[[E:.*]]: tensor<?x4x8xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {indexing_maps = [#[[$PERM]], #{{.*}}]
// CHECK-SAME: ins(%[[E]] : tensor<?x4x8xf32>)
// CHECK: %[[H:.*]] = linalg.index 0
// CHECK: %[[T:.*]] = linalg.index 1
// CHECK: tensor.extract %[[E]][%[[T]], %[[H]], %{{.*}}] : tensor<?x4x8xf32>
// OFF-LABEL: func.func @transpose_into_rope
// OFF: linalg.transpose
func.func @transpose_into_rope(%e: tensor<?x4x8xf32>) -> tensor<4x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c7 = arith.constant 7 : index
  %n = tensor.dim %e, %c0 : tensor<?x4x8xf32>
  %empty = tensor.empty(%n) : tensor<4x?x8xf32>
  %t = linalg.transpose ins(%e : tensor<?x4x8xf32>) outs(%empty : tensor<4x?x8xf32>) permutation = [1, 0, 2]
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t : tensor<4x?x8xf32>) outs(%empty : tensor<4x?x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %h = linalg.index 0 : index
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %p = arith.subi %c7, %j : index
    %other = tensor.extract %t[%h, %i, %p] : tensor<4x?x8xf32>
    %s = arith.subf %x, %other : f32
    linalg.yield %s : f32
  } -> tensor<4x?x8xf32>
  return %r : tensor<4x?x8xf32>
}

// -----

#id3 = affine_map<(h, t, j) -> (h, t, j)>

// Not folded: the transposed heads are also returned.
// CHECK-LABEL: func.func @transpose_used_elsewhere
// CHECK: %[[T:.*]] = linalg.transpose
// CHECK: linalg.generic {{.*}} ins(%[[T]] :
func.func @transpose_used_elsewhere(%e: tensor<2x4x8xf32>) -> (tensor<4x2x8xf32>, tensor<4x2x8xf32>) {
  %empty = tensor.empty() : tensor<4x2x8xf32>
  %t = linalg.transpose ins(%e : tensor<2x4x8xf32>) outs(%empty : tensor<4x2x8xf32>) permutation = [1, 0, 2]
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t : tensor<4x2x8xf32>) outs(%empty : tensor<4x2x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = math.exp %x : f32
    linalg.yield %s : f32
  } -> tensor<4x2x8xf32>
  return %r, %t : tensor<4x2x8xf32>, tensor<4x2x8xf32>
}
