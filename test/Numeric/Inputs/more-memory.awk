# awk -v lo=LO -v hi=HI -f more-memory.awk FIRST SECOND: exits 0 when the load of the
# second run added between LO and HI KiB more anonymous memory than that of the first
# (the `weights: +N KiB anonymous, ...` lines of tfc-run --memory), else prints both and
# exits 1.
FNR == 1 { run++ }
/^weights:/ { added[run] = $2 + 0; seen[run] = 1 }
END {
  more = added[2] - added[1]
  if (seen[1] && seen[2] && more >= lo && more <= hi) exit 0
  printf "more-memory.awk: +%s KiB then +%s KiB: %s KiB more, expected %s to %s\n",
         added[1], added[2], more, lo, hi > "/dev/stderr"
  exit 1
}
