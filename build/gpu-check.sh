#!/bin/sh
# GPU check of the cudagpu build, run on a machine with an NVIDIA GPU.
# (Its tests fail, not skip, when no GPU is found: CONCEPTSTUDIO_REQUIRE_GPU=1.)
# Prepare on the build machine (cuda.h and libcuda come from build/cuda-sdk.sh):
#   make gpu-pack      # test binaries + OpenBLAS into .devcarry/pack.tar.gz
# then run this script from the repository root there. It prints the
# GPU, runs the GPU tests, and times CPU vs GPU in the same run.
set -e
export CONCEPTSTUDIO_REQUIRE_GPU=1
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT" /tmp/gpu-pack
tar -xzf .devcarry/pack.tar.gz -C /tmp/gpu-pack
export LD_LIBRARY_PATH=/tmp/gpu-pack/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
nproc
cd engine/kernels
/tmp/gpu-pack/kernels-gpu.test -test.v -test.run 'GPU' 2>&1 | tee "$OUT/kernels-test.txt"
/tmp/gpu-pack/kernels-gpu.test -test.run '^$' -test.bench 'Sgemm1024(CPU|GPU)|Sgemm4096GPU' -test.benchtime 2s 2>&1 | tee "$OUT/sgemm-bench.txt"
cd ..
/tmp/gpu-pack/engine-gpu.test -test.run '^$' -test.bench 'TrainStepBase32(CPU|GPUReps)$' -test.benchtime 6x -test.v 2>&1 | tee "$OUT/train-bench.txt"
/tmp/gpu-pack/engine-gpu.test -test.run '^$' -test.bench 'Sample4x25Base(CPU|GPU)$' -test.benchtime 3x 2>&1 | tee "$OUT/sample-bench.txt"
