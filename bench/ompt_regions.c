/*===- ompt_regions.c - Count OpenMP forks and barriers of a process ------===*
 *
 * An OMPT tool (OpenMP 5 tools interface; libomp loads it from
 * OMP_TOOL_LIBRARIES=path/to/ompt_regions.so): counts the parallel regions a
 * process opens (each a fork and a join of the threads) and the barriers its
 * threads enter (explicit, implicit and the ends of worksharing loops, summed
 * over the threads), and prints them to stderr at exit:
 *
 *   ompt parallel_regions=N barriers=B
 *
 * bench/moe.sh --profile runs a model twice, with D and 2D decode steps, and
 * divides the differences by D: regions and barriers per decode step, which do
 * not depend on the machine's load the way times do.
 *
 * Build: clang -shared -fPIC -O2 bench/ompt_regions.c -o ompt_regions.so
 * (omp-tools.h comes with clang's own headers).
 *
 *===----------------------------------------------------------------------===*/
#include <omp-tools.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_long parallelRegions, barriers;

static void onParallelBegin(ompt_data_t *encounteringTask, const ompt_frame_t *frame,
                            ompt_data_t *parallel, unsigned int requested, int flags,
                            const void *codePointer) {
  (void)encounteringTask, (void)frame, (void)parallel, (void)requested, (void)flags,
      (void)codePointer;
  atomic_fetch_add(&parallelRegions, 1);
}

static void onSyncRegion(ompt_sync_region_t kind, ompt_scope_endpoint_t endpoint,
                         ompt_data_t *parallel, ompt_data_t *task, const void *codePointer) {
  (void)parallel, (void)task, (void)codePointer;
  // Barriers only (not taskwait/taskgroup/reduction), counted on entry.
  if (endpoint == ompt_scope_begin && kind != ompt_sync_region_taskwait &&
      kind != ompt_sync_region_taskgroup && kind != ompt_sync_region_reduction)
    atomic_fetch_add(&barriers, 1);
}

static int initialize(ompt_function_lookup_t lookup, int initialDevice, ompt_data_t *data) {
  (void)initialDevice, (void)data;
  ompt_set_callback_t setCallback = (ompt_set_callback_t)lookup("ompt_set_callback");
  if (!setCallback)
    return 0; /* 0: the tool stays inactive */
  setCallback(ompt_callback_parallel_begin, (ompt_callback_t)onParallelBegin);
  setCallback(ompt_callback_sync_region, (ompt_callback_t)onSyncRegion);
  return 1;
}

static void finalize(ompt_data_t *data) {
  (void)data;
  fprintf(stderr, "ompt parallel_regions=%ld barriers=%ld\n", (long)parallelRegions,
          (long)barriers);
}

ompt_start_tool_result_t *ompt_start_tool(unsigned int ompVersion, const char *runtimeVersion) {
  (void)ompVersion, (void)runtimeVersion;
  static ompt_start_tool_result_t result = {initialize, finalize, {0}};
  return &result;
}
