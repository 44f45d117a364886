//go:build cudagpu && !purego

package engine

import (
	"context"
	"testing"

	"conceptstudio/engine/kernels"
)

// The base-config train step and sampling with the GPU on and off, in one
// run. With the GPU a single replica takes the whole batch, so that its
// matrix products are large enough to be worth the copies.
func benchmarkTrainGPU(b *testing.B, gpu bool, replicas int, minFlops int64) {
	defer kernels.UseGPU(kernels.UseGPU(gpu))
	if minFlops > 0 {
		defer kernels.SetGPUMinFlops(kernels.SetGPUMinFlops(minFlops))
	}
	b.Logf("GPU: %s, on: %v, replicas: %d, smallest product on the GPU: %d flops", kernels.GPU(), gpu, replicas, minFlops)
	r, err := Bench(context.Background(), BenchOptions{Batch: 32, Steps: b.N, Model: baseConfig(b), Replicas: replicas, SkipSgemm: true, SkipSample: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.StepMS, "ms/step")
	b.ReportMetric(r.ImgPerS, "img/s")
	b.ReportMetric(r.TrainGFLOPS, "GFLOPS")
}

func BenchmarkTrainStepBase32CPU(b *testing.B)         { benchmarkTrainGPU(b, false, 0, 0) }
func BenchmarkTrainStepBase32GPU(b *testing.B)         { benchmarkTrainGPU(b, true, 1, 0) }
func BenchmarkTrainStepBase32GPUReps(b *testing.B)     { benchmarkTrainGPU(b, true, 0, 0) }
func BenchmarkTrainStepBase32GPUReps256M(b *testing.B) { benchmarkTrainGPU(b, true, 0, 1<<28) }
func BenchmarkTrainStepBase32GPUReps1G(b *testing.B)   { benchmarkTrainGPU(b, true, 0, 1<<30) }

func benchmarkSampleGPU(b *testing.B, gpu bool) {
	defer kernels.UseGPU(kernels.UseGPU(gpu))
	c := baseConfig(b)
	for i := 0; i < b.N; i++ {
		if _, err := benchSample(context.Background(), c, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSample4x25BaseCPU(b *testing.B) { benchmarkSampleGPU(b, false) }
func BenchmarkSample4x25BaseGPU(b *testing.B) { benchmarkSampleGPU(b, true) }
