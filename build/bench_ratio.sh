#!/bin/sh
# Interleaved speed comparison with PyTorch (issue 3's "≥ 1.5× PyTorch"):
# ROUNDS rounds, each timing our reference train step (conceptstudio bench)
# and then the same network in PyTorch (build/bench_torch.py), so that both
# sides of every ratio share the machine's state at that moment. Prints each
# round and the median ratio as JSON. The host must be otherwise idle
# (pause long jobs with kill -STOP, resume with kill -CONT).
#
#   build/bench_ratio.sh [ROUNDS] [BINARY]      (defaults: 3, bin/conceptstudio)
set -eu
rounds=${1:-3}
bin=${2:-bin/conceptstudio}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
i=1
while [ "$i" -le "$rounds" ]; do
	"$bin" bench -json -steps 4 >"$dir/ours$i.json"
	/usr/bin/python3 build/bench_torch.py --batch 32 --steps 5 --threads 2 >"$dir/torch$i.json"
	i=$((i + 1))
done
/usr/bin/python3 - "$dir" "$rounds" <<'PY'
import json, statistics, sys
d, n = sys.argv[1], int(sys.argv[2])
rows = []
for i in range(1, n + 1):
    o = json.load(open(f"{d}/ours{i}.json"))
    t = json.load(open(f"{d}/torch{i}.json"))
    rows.append({
        "ours_step_ms": round(o["train_step_ms"], 1),
        "ours_over_sgemm": round(o["train_gflops_over_sgemm"], 3),
        "sgemm_gflops_1024": round(o["sgemm_gflops_1024"], 1),
        "torch_step_ms_mean": t["step_ms"],
        "torch_step_ms_median": t["step_ms_median"],
        "torch_cpu_util": t["cpu_util"],
        "speedup_vs_torch": round(t["step_ms"] / o["train_step_ms"], 3),
        "peak_rss_mb": round(o["peak_rss_mb"]),
        "sample_4x25_base_s": round(o["sample_4x25_guided_base_config_s"], 2),
    })
print(json.dumps({"rounds": rows,
                  "median_speedup_vs_torch": statistics.median(r["speedup_vs_torch"] for r in rows),
                  "median_ours_over_sgemm": statistics.median(r["ours_over_sgemm"] for r in rows)}, indent=1))
PY
