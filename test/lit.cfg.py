# -*- Python -*-
# lit configuration of the tfc test suite: FileCheck tests of the dialect, passes, front
# end and driver, runtime tests, and numeric checks against an independent numpy reference.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "TFC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".tdsl", ".test", ".c", ".py"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "lib"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tfc_obj_root, "test")
# Slowest first on a fresh build tree too: lit orders tests by the times it recorded in
# build/test/.lit_test_times.txt and, when there is none (a clean clone, i.e. CI), by the
# copy of that file committed beside this one (test/.lit_test_times.txt). With two workers a
# long test started last would run alone for minutes. Refresh the copy from build/test after
# a full run when tests are added; a stale one only changes the order.

llvm_config.use_default_substitutions()
llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.with_environment("PATH", config.tfc_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# The project's real data, read in place (never copied into the repository).
models_dir = os.path.normpath(os.path.join(config.tfc_src_root, "..", "shared", "models"))
if os.path.isdir(models_dir):
    config.available_features.add("shared-models")

# /usr/bin/python3 is Debian's, which has numpy; the python3 on PATH may not.
numpy_python = "/usr/bin/python3"
config.substitutions.append(("%numpy_python", numpy_python))
config.substitutions.append(("%python", numpy_python))
config.substitutions.append(("%models", models_dir))
config.substitutions.append(("%src_root", config.tfc_src_root))
config.substitutions.append(("%tfc_include", os.path.join(config.tfc_src_root, "runtime", "include")))
config.substitutions.append(("%tfc_lib", config.tfc_lib_dir))
config.substitutions.append(("%clang", config.clang))
# The host's CPU features that executed tests of CPU-specific code paths need.
try:
    with open("/proc/cpuinfo") as cpuinfo:
        flags = next((l.split(":", 1)[1].split() for l in cpuinfo if l.startswith("flags")), [])
except OSError:
    flags = []
if "avx512_bf16" in flags:
    config.available_features.add("avx512bf16")
if "avx2" in flags:
    config.available_features.add("avx2")
# What tfc's int8-dot=vnni or avxvnni needs (EmitSharedLib.cpp's int8DotProductFor);
# avxvnni: code built for AVX-VNNI alone (--target-cpu=alderlake) runs here.
if "avx_vnni" in flags or ("avx512_vnni" in flags and "avx512vl" in flags):
    config.available_features.add("vnni")
if "avx_vnni" in flags:
    config.available_features.add("avxvnni")
if config.sanitizers in ("ON", "1", "TRUE", "True", "YES"):
    config.available_features.add("sanitizers")

tools = ["tfc", "tfc-opt", "tfc-run", "tfc-serve", "tfc-tokenize", "FileCheck", "not", "count", "split-file",
         "mlir-translate"]
llvm_config.add_tool_substitutions(tools, [config.tfc_tools_dir, config.llvm_tools_dir])

# Tensor parallelism: tfc has the MPI runtime and mpirun exists. %mpirun starts
# N ranks of one thread each on this machine, as root too (the suite may run as
# root) and with more ranks than cores.
if config.mpirun:
    config.available_features.add("mpi")
    config.substitutions.append(
        ("%mpirun", "env TFC_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1 "
         + config.mpirun + " --oversubscribe --allow-run-as-root --bind-to none -np"))
