# Shared by the benchmark scripts (sourced): time, medians, ratios, and the simulated
# cluster's nodes.
now() { date +%s.%N; }
# The median of the numbers in $1 (separated by blanks).
median() { printf '%s\n' $1 | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
# ratio NAME A B: prints `NAME A/B x`.
ratio() { echo "$1 $(echo "$2 / $3" | bc -l | xargs printf '%.2f') x"; }
# Whether Slurm's node $1 takes jobs; wait_idle waits until nodes $@ (default node1-3) all do.
idle() { [[ $(sinfo -h -n "$1" -o %T) == idle ]]; }
wait_idle() {
  local nodes=("$@")
  ((${#nodes[@]})) || nodes=(node1 node2 node3)
  for n in "${nodes[@]}"; do until idle "$n"; do sleep 0.5; done; done
}
