// RUN: tfc-opt %s -canonicalize -split-input-file | FileCheck %s

// A sum of two sums over ranks is one sum over ranks of the sum: one collective.
// CHECK-LABEL: func.func @two_sums
// CHECK-SAME: (%[[A:.*]]: tensor<?x8xf32>, %[[B:.*]]: tensor<?x8xf32>)
// CHECK-NEXT: %[[P:.*]] = attn.add %[[A]], %[[B]] : tensor<?x8xf32>
// CHECK-NEXT: %[[S:.*]] = attn.all_reduce %[[P]] ranks 2 : tensor<?x8xf32>
// CHECK-NEXT: return %[[S]]
func.func @two_sums(%a: tensor<?x8xf32>, %b: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %sa = attn.all_reduce %a ranks 2 : tensor<?x8xf32>
  %sb = attn.all_reduce %b ranks 2 : tensor<?x8xf32>
  %s = attn.add %sa, %sb : tensor<?x8xf32>
  return %s : tensor<?x8xf32>
}

// -----

// Three: the merged sum is one side of the next add.
// CHECK-LABEL: func.func @three_sums
// CHECK-COUNT-1: attn.all_reduce
// CHECK-NOT: attn.all_reduce
// CHECK: return
func.func @three_sums(%a: tensor<?x8xf32>, %b: tensor<?x8xf32>, %c: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %sa = attn.all_reduce %a ranks 4 : tensor<?x8xf32>
  %sb = attn.all_reduce %b ranks 4 : tensor<?x8xf32>
  %sc = attn.all_reduce %c ranks 4 : tensor<?x8xf32>
  %ab = attn.add %sa, %sb : tensor<?x8xf32>
  %abc = attn.add %ab, %sc : tensor<?x8xf32>
  return %abc : tensor<?x8xf32>
}

// -----

// A sum needed whole elsewhere keeps its collective; sums over different ranks
// are not one sum.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-4: attn.all_reduce
// CHECK: return
func.func @kept(%a: tensor<?x8xf32>, %b: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %sa = attn.all_reduce %a ranks 2 : tensor<?x8xf32>
  %sb = attn.all_reduce %b ranks 2 : tensor<?x8xf32>
  %s = attn.add %sa, %sb : tensor<?x8xf32>
  %ta = attn.all_reduce %a ranks 2 : tensor<?x8xf32>
  %tb = attn.all_reduce %b ranks 4 : tensor<?x8xf32>
  %t = attn.add %ta, %tb : tensor<?x8xf32>
  return %s, %sa, %t : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}
