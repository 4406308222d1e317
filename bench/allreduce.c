/* bench/allreduce.c: MPI_Allreduce (sum, float, in place) latency and bandwidth between the
 * ranks of `mpirun -np N`, the collective a tensor-parallel tfc model runs twice per layer.
 * Prints, per message size, the median time of one all-reduce over `reps` repetitions and the
 * algorithm bandwidth (bytes / time) -- with 2 ranks each rank sends and receives about the
 * message once. A benchmark, not a test.
 *   mpicc -O2 bench/allreduce.c -o allreduce && mpirun -np 2 ./allreduce */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int reps = 200;
  /* 2048 floats: one token's hidden state of TinyLlama (dim 2048); 8192: Llama-70B. */
  const long counts[] = {1, 64, 512, 2048, 8192, 65536, 1 << 20};
  float *data = malloc(sizeof(float) * (1 << 20));
  double *times = malloc(sizeof(double) * reps);
  for (long i = 0; i < (1 << 20); ++i)
    data[i] = 1.0f;
  if (rank == 0)
    printf("allreduce: %d ranks, median of %d\n%10s %12s %12s\n", size, reps, "floats", "us",
           "MB/s");
  for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); ++c) {
    int n = (int)counts[c];
    for (int r = 0; r < 10; ++r)
      MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    for (int r = 0; r < reps; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      times[r] = MPI_Wtime() - t0;
    }
    qsort(times, reps, sizeof(double), compare);
    double t = times[reps / 2];
    if (rank == 0)
      printf("%10d %12.2f %12.1f\n", n, t * 1e6, n * 4.0 / t / 1e6);
  }
  free(times);
  free(data);
  MPI_Finalize();
  return 0;
}
