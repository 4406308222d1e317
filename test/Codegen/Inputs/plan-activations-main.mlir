// The driver of run-plan-activations.mlir, appended to the planned module.

func.func private @printMemrefF32(memref<*xf32>)

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %i1 = arith.constant 1 : i32
  %i2 = arith.constant 2 : i32
  %tokens = memref.alloc(%c2) : memref<?xi32>
  memref.store %i1, %tokens[%c0] : memref<?xi32>
  memref.store %i2, %tokens[%c1] : memref<?xi32>
  %out = memref.alloc(%c2) : memref<?x4xf32>
  %none = memref.alloc(%c0) : memref<?xi8>
  %bytes = call @model_arena_bytes(%tokens, %out, %none) : (memref<?xi32>, memref<?x4xf32>, memref<?xi8>) -> index
  %arena = memref.alloc(%bytes) {alignment = 64 : i64} : memref<?xi8>
  call @model(%tokens, %out, %arena) : (memref<?xi32>, memref<?x4xf32>, memref<?xi8>) -> ()
  %u = memref.cast %out : memref<?x4xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}
