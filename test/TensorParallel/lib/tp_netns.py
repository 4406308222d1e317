#!/usr/bin/env python3
#===- tp_netns.py - Two ranks in two network namespaces, as two hosts -----===#
#
# tp_netns.py --work DIR [--mpirun MPIRUN] -- TP_CHECK_ARGS...
# tp_netns.py --work DIR [--mpirun MPIRUN] --run -- COMMAND...
#
# Makes two network namespaces joined by a veth pair (10.77.0.1 and 10.77.0.2,
# each namespace with its own loopback), the stand-in for two hosts, and runs
# Open MPI across them with its TCP transport only:
#   * mpirun runs in the first namespace with a hostfile of the two addresses;
#     the first is its own (rank 0 runs under it), the second is "remote":
#     Open MPI starts its daemon (orted) there through plm_rsh_agent, here a
#     script that runs the command in the second namespace instead of ssh. The
#     daemon connects back to mpirun over the veth; each rank reaches its own
#     daemon's PMIx server over its namespace's loopback (Open MPI 4.1's PMIx
#     needs that: ranks started in another namespace by one mpirun cannot).
#   * `--mca btl tcp,self` (no shared memory) and both the ranks' and the
#     daemons' TCP restricted to the veth's subnet.
# Then checks, printing one line each:
#   * the ranks run in the two namespaces, one each (their /proc/self/ns/net);
#   * the given check (tp_check.py with this mpirun) passes, and the veth
#     carried its traffic (bytes counted on the veth before and after);
# or, with --run, runs `mpirun -np 2 COMMAND` across them, its output passed on
# (bench/tensor_parallel.sh: bench/allreduce.c over the veth);
# and deletes the namespaces (with the veth) whatever happens, after ending
# any process left in them. The names are unique per run (pid), so runs can
# overlap. Needs root and `ip`; lit.local.cfg enables the `netns` feature only
# when a namespace can be made.
#
#===----------------------------------------------------------------------===#

import argparse
import os
import shlex
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SUBNET = "10.77.0.0/24"
HOSTS = ("10.77.0.1", "10.77.0.2")


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True,
                          timeout=30)


def veth_bytes(ns, dev):
    """rx + tx bytes of `dev` in namespace `ns`."""
    total = 0
    for what in ("rx_bytes", "tx_bytes"):
        out = subprocess.run(["ip", "netns", "exec", ns, "cat",
                              "/sys/class/net/%s/statistics/%s" % (dev, what)],
                             check=True, capture_output=True, text=True, timeout=30).stdout
        total += int(out)
    return total


def namespace_id(ns):
    return subprocess.run(["ip", "netns", "exec", ns, "readlink", "/proc/self/ns/net"],
                          check=True, capture_output=True, text=True, timeout=30).stdout.strip()


def cleanup(spaces, veth):
    # A veth not yet moved into its namespace (a failed setup) is in ours;
    # deleting either end deletes the pair.
    ip("link", "del", veth, check=False)
    for ns in spaces:
        # Processes this run left in the namespace (a hung rank or daemon).
        pids = ip("netns", "pids", ns, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        ip("netns", "del", ns, check=False)


def run_and_clean():
    """main(), then the namespaces deleted, checked."""
    made = []
    veth = "vA%d" % os.getpid()
    try:
        status = main(made, veth)
    finally:
        cleanup(made, veth)
    left = [ns for ns in made if ns in ip("netns", "list").stdout.split()]
    if left:
        sys.exit("tp_netns: namespaces left behind: %s" % " ".join(left))
    if status == 0:
        print("namespaces deleted")
    return status


def main(created, veth):
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--ranks-only", action="store_true",
                    help="only check where the ranks run")
    ap.add_argument("--run", action="store_true",
                    help="run the command after -- on 2 ranks instead of tp_check.py")
    ap.add_argument("check", nargs=argparse.REMAINDER,
                    help="tp_check.py's arguments (without --mpirun), or --run's command")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    tag = "%d" % os.getpid()
    spaces = ("tfcA%s" % tag, "tfcB%s" % tag)
    devs = (veth, "vB%s" % tag)  # interface names: at most 15 characters
    for ns in spaces:
        ip("netns", "add", ns)
        created.append(ns)
    ip("link", "add", devs[0], "type", "veth", "peer", "name", devs[1])
    for ns, dev, host in zip(spaces, devs, HOSTS):
        ip("link", "set", dev, "netns", ns)
        ip("-n", ns, "addr", "add", host + "/24", "dev", dev)
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "link", "set", dev, "up")

    agent = os.path.join(args.work, "netns-agent.sh")
    with open(agent, "w") as f:
        f.write("#!/bin/sh\n"
                "# Open MPI's plm_rsh_agent: `ssh HOST COMMAND` becomes COMMAND run in\n"
                "# HOST's network namespace.\n"
                "host=$1; shift\n"
                "case \"$host\" in\n"
                "  %s) ns=%s ;;\n  %s) ns=%s ;;\n"
                "  *) echo \"netns-agent: unknown host $host\" >&2; exit 1 ;;\n"
                "esac\n"
                "exec ip netns exec \"$ns\" /bin/sh -c \"$*\"\n"
                % (HOSTS[0], spaces[0], HOSTS[1], spaces[1]))
    os.chmod(agent, 0o755)
    hostfile = os.path.join(args.work, "netns-hosts")
    with open(hostfile, "w") as f:
        f.write("".join("%s slots=1\n" % h for h in HOSTS))

    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               TFC_NUM_THREADS="1")
    mpirun = (["ip", "netns", "exec", spaces[0], "env"] +
              ["%s=%s" % (k, env[k]) for k in ("OMPI_ALLOW_RUN_AS_ROOT",
                                               "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM",
                                               "TFC_NUM_THREADS")] +
              shlex.split(args.mpirun) +
              ["--hostfile", hostfile, "--mca", "plm_rsh_agent", agent,
               "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", SUBNET,
               "--mca", "oob_tcp_if_include", SUBNET, "--bind-to", "none", "-np"])

    # Where the ranks run: one in each namespace.
    out = subprocess.run(mpirun + ["2", "sh", "-c",
                                   "echo rank $OMPI_COMM_WORLD_RANK $(readlink /proc/self/ns/net)"],
                         capture_output=True, text=True, timeout=120, env=env)
    if out.returncode != 0:
        sys.exit("tp_netns: mpirun across the namespaces failed (exit %d):\n%s%s"
                 % (out.returncode, out.stdout, out.stderr))
    where = dict(line.split()[1:3] for line in out.stdout.splitlines()
                 if line.startswith("rank "))
    want = {"0": namespace_id(spaces[0]), "1": namespace_id(spaces[1])}
    if where != want:
        sys.exit("tp_netns: ranks ran in %r, expected %r" % (where, want))
    print("ranks 0 and 1 run in two network namespaces")
    if args.ranks_only:
        return 0

    before = veth_bytes(spaces[0], devs[0])
    check = args.check[1:] if args.check[:1] == ["--"] else args.check
    if args.run:
        sys.stdout.flush()
        return subprocess.run(mpirun + ["2", *check], env=env, timeout=1800).returncode
    cmd = [sys.executable, os.path.join(HERE, "tp_check.py"), *check,
           "--mpirun", shlex.join(mpirun)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        return done.returncode
    moved = veth_bytes(spaces[0], devs[0]) - before
    print("the veth carried %s KiB" % ("over 16" if moved > 16384 else "only %.1f" % (moved / 1024)))
    return 0


if __name__ == "__main__":
    sys.exit(run_and_clean())
