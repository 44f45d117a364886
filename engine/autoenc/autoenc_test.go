package autoenc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"conceptstudio/engine/kernels"
	"conceptstudio/engine/nn"
)

// The training graph's reconstruction is the decoder of the encoder's
// latent: the three graphs share their weights and agree.
func TestGraphsAgree(t *testing.T) {
	c := Tiny()
	w := nn.NewWeights(tensor.Float32, 3)
	tr, err := Build(w, c, 2, Training)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	enc, _ := Build(w, c, 2, Encoding)
	defer enc.Close()
	dec, _ := Build(w, c, 2, Decoding)
	defer dec.Close()
	S := c.ImageSize
	x := make([]float32, 2*S*S*3)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.37)) * 0.8
	}
	whole, err := tr.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	z, err := enc.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	if len(z) != 2*c.LatentSize()*c.LatentSize()*c.Latent {
		t.Fatalf("latent of %d values, want 2×%d×%d×%d", len(z), c.LatentSize(), c.LatentSize(), c.Latent)
	}
	back, err := dec.Run(z)
	if err != nil {
		t.Fatal(err)
	}
	for i := range whole {
		if math.Abs(float64(whole[i]-back[i])) > 1e-5 {
			t.Fatalf("value %d: training graph %g, decode(encode) %g", i, whole[i], back[i])
		}
	}
	var mse float64
	for i := range x {
		d := float64(whole[i] - x[i])
		mse += d * d
	}
	if got := tr.Loss(); math.Abs(got-mse/float64(len(x))) > 1e-4 {
		t.Errorf("loss %g, want the mean squared error %g", got, mse/float64(len(x)))
	}
	if _, err := Build(w, Config{ImageSize: 18, Latent: 2, Channels: []int{8, 8, 8}, Groups: 4}, 1, Training); err == nil {
		t.Error("18 pixels halved twice was accepted")
	}
}

// A short run lowers the reconstruction error; stopping and resuming
// gives the same weights as one sitting; the model file loads and
// reconstructs; a folder of another recipe is refused.
func TestTrainLowersLossAndResumesExactly(t *testing.T) {
	opt := TrainOptions{Config: Tiny(), Steps: 60, Batch: 4, LR: 3e-3, Seed: 5}
	var first, last float64
	one := t.TempDir()
	opt.Dir = one
	err := Train(context.Background(), opt, func(p Progress) {
		if p.Loss > 0 && first == 0 {
			first = p.Loss
		}
		if p.Loss > 0 {
			last = p.Loss
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !(last < 0.7*first) {
		t.Errorf("loss %g → %g: training did not lower it", first, last)
	}
	two := t.TempDir()
	opt.Dir, opt.StopAfter = two, 25
	if err := Train(context.Background(), opt, nil); err != nil {
		t.Fatal(err)
	}
	opt.StopAfter = 0
	if err := Train(context.Background(), opt, nil); err != nil {
		t.Fatal(err)
	}
	a, err := os.ReadFile(filepath.Join(one, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(two, ModelFile))
	ma, err := Load(filepath.Join(one, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	defer ma.Close()
	mb, _ := Load(filepath.Join(two, ModelFile))
	defer mb.Close()
	if ma.Record.Steps != 60 || mb.Record.Steps != 60 || !(ma.Record.Scale > 0) {
		t.Fatalf("records %+v / %+v", ma.Record, mb.Record)
	}
	// Same weights: the same reconstruction, bit for bit.
	S := opt.Config.ImageSize
	x := make([]float32, S*S*3)
	for i := range x {
		x[i] = float32(i%5)/5 - 0.4
	}
	za, _ := ma.Encode(x, 1)
	zb, _ := mb.Encode(x, 1)
	ra, _ := ma.Decode(za, 1)
	rb, err := mb.Decode(zb, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ra {
		if ra[i] != rb[i] {
			t.Fatalf("one sitting and two sittings differ at %d (%d and %d bytes of model)", i, len(a), len(b))
		}
	}
	other := opt
	other.LR = 1e-2
	if err := Train(context.Background(), other, nil); err == nil {
		t.Error("a folder of another recipe was resumed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opt.Dir = t.TempDir()
	if err := Train(ctx, opt, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := os.Stat(filepath.Join(opt.Dir, CheckpointFile)); err != nil {
		t.Errorf("a cancelled run left no checkpoint: %v", err)
	}
}

// EncodeSplit gives each picture the latent Encode gives it, whichever
// share of the batch it falls in; a batch that does not split evenly is
// encoded whole.
func TestEncodeSplitAgrees(t *testing.T) {
	m, x := untrainedWithPictures(t, Tiny(), 4)
	defer m.Close()
	whole, err := m.Encode(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, parts := range []int{2, 4, 3} {
		got, err := m.EncodeSplit(x, 4, parts)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(whole) {
			t.Fatalf("%d parts: %d values, want %d", parts, len(got), len(whole))
		}
		for i := range got {
			if math.Abs(float64(got[i]-whole[i])) > 1e-6 {
				t.Fatalf("%d parts: value %d is %g, Encode's %g", parts, i, got[i], whole[i])
			}
		}
	}
}

// BenchmarkEncodeTraining: a training batch of 32 pictures at the default
// size encoded as pretraining does, with the kernels single-threaded per
// replica: whole on one goroutine against split in two (compare ns/op in
// the same run; on 2 free cores split should take about half).
func BenchmarkEncodeTraining(b *testing.B) {
	m, x := untrainedWithPictures(b, Default(), 32)
	defer m.Close()
	kernels.BeginReplicas()
	defer kernels.EndReplicas()
	for _, parts := range []int{1, 2} {
		b.Run(fmt.Sprintf("parts=%d", parts), func(b *testing.B) {
			for b.Loop() {
				if _, err := m.EncodeSplit(x, 32, parts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// untrainedWithPictures is an untrained model of c and n smooth pictures
// of its size to encode.
func untrainedWithPictures(t testing.TB, c Config, n int) (*Model, []float32) {
	t.Helper()
	m, err := Untrained(c, 5)
	if err != nil {
		t.Fatal(err)
	}
	S := c.ImageSize
	x := make([]float32, n*S*S*3)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.29)) * 0.9
	}
	return m, x
}
