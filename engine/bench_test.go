package engine

import (
	"context"
	"testing"

	"conceptstudio/engine/autoenc"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
	"conceptstudio/engine/region"
)

// benchmarkTrain times training steps of a configuration at a batch size.
func benchmarkTrain(b *testing.B, c model.Config, batch int) {
	b.ReportAllocs()
	r, err := Bench(context.Background(), BenchOptions{Batch: batch, Steps: b.N, Model: c, SkipSgemm: true, SkipSample: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.StepMS, "ms/step")
	b.ReportMetric(r.ImgPerS, "img/s")
	b.ReportMetric(r.TrainGFLOPS, "GFLOPS")
	b.ReportMetric(r.AllocMBPerStep, "MB-alloc/step")
}

func baseConfig(b *testing.B) model.Config {
	a, err := dataset.LoadAtlas()
	if err != nil {
		b.Fatal(err)
	}
	return BaseConfig(dataset.NewTokenizer(a, dataset.DefaultReserved))
}

func BenchmarkTrainStepReference32(b *testing.B) { benchmarkTrain(b, model.Reference(), 32) }
func BenchmarkTrainStepBase32(b *testing.B)      { benchmarkTrain(b, baseConfig(b), 32) }

// BenchmarkSample4x25Base is what the generate button does for 4 images ×
// 25 guided DDIM steps on the base config (untrained weights): 32-pixel
// pictures (Pixel32) against the latent design's 64-pixel ones, its UNet
// on 16×16×4 latents plus the default autoencoder's decoder (Latent64),
// in the same run.
func BenchmarkSample4x25Base(b *testing.B) {
	c := baseConfig(b)
	ae, err := autoenc.Untrained(autoenc.Default(), 1)
	if err != nil {
		b.Fatal(err)
	}
	defer ae.Close()
	for _, v := range []struct {
		name string
		c    model.Config
		ae   *autoenc.Model
	}{{"Pixel32", c, nil}, {"Latent64", latentConfig(c, ae.Record.Config), ae}} {
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := benchSample(context.Background(), v.c, v.ae); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScenePreview is what moving a box on the scene canvas renders:
// one image, 10 guided steps, on the embedded base, for a two-thing
// prompt with the boxes (Regions) and without (Plain) in the same run.
func BenchmarkScenePreview(b *testing.B) {
	base, err := DefaultBase()
	if err != nil {
		b.Fatal(err)
	}
	opt := GenerateOptions{Prompt: "a cat on the left of a car, on a white background", N: 1, Steps: 10, Guidance: 4, Layout: DefaultLayout, Seed: 3}
	for _, c := range []struct {
		name    string
		regions []region.Region
	}{{"Plain", nil}, {"Regions", []region.Region{{Name: "cat", X: 0, Y: 0, W: 0.5, H: 0.5}, {Name: "car", X: 0.5, Y: 0.5, W: 0.5, H: 0.5}}}} {
		b.Run(c.name, func(b *testing.B) {
			o := opt
			o.Regions = c.regions
			for i := 0; i < b.N; i++ {
				if _, err := base.Generate(context.Background(), o, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
