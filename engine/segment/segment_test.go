package segment

import (
	"context"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

func tinyOptions() TrainOptions {
	return TrainOptions{Config: TinyConfig(), Steps: 120, Batch: 8, LR: 5e-3, Seed: 3}
}

// Training on the photo-like pictures lowers the loss and leaves a file
// that decodes and predicts a probability for every pixel asked for.
func TestTrainLowersTheLoss(t *testing.T) {
	dir := t.TempDir()
	var first, last Progress
	err := Train(context.Background(), dir, tinyOptions(), func(p Progress) {
		if first.Step == 0 {
			first = p
		}
		last = p
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loss %.4f (IoU %.3f) at step %d, %.4f (IoU %.3f) at step %d", first.Loss, first.IoU, first.Step, last.Loss, last.IoU, last.Step)
	if last.Step != 120 || !(last.Loss < first.Loss-0.02) {
		t.Fatalf("loss %.4f at step %d, %.4f at step %d: training did not lower it", first.Loss, first.Step, last.Loss, last.Step)
	}
	data, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Record.Steps != 120 || s.Record.Config.Size != TinyConfig().Size {
		t.Errorf("record %+v", s.Record)
	}
	img := image.NewNRGBA(image.Rect(10, 20, 10+37, 20+23)) // not at the origin, not square
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	p, err := s.Predict(img, 19, 11)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 19*11 {
		t.Fatalf("%d values for 19×11", len(p))
	}
	for _, v := range p {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("probability %v", v)
		}
	}
	// Fresh pictures of the training's kind: the trained network beats
	// one that says "everything" (its IoU is the thing's share).
	v, err := ValidationIoU(s, 64, 5)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("validation IoU %.3f", v)
	if v < 0.3 {
		t.Errorf("validation IoU %.3f after 120 steps", v)
	}
	again, _ := s.Predict(img, 19, 11)
	for i := range p {
		if p[i] != again[i] {
			t.Fatal("the same picture gave another answer")
		}
	}
	s.Close()
	if _, err := s.Predict(img, 19, 11); err == nil {
		t.Error("a closed segmenter predicted")
	}
	if _, err := Decode([]byte("not a segmenter")); err == nil {
		t.Error("garbage decoded")
	}
}

// A run stopped and resumed ends with the very weights of a run that was
// not stopped; a folder holding another recipe's run is refused.
func TestTrainResumesExactly(t *testing.T) {
	opt := tinyOptions()
	opt.Steps = 30
	whole, parts := t.TempDir(), t.TempDir()
	if err := Train(context.Background(), whole, opt, nil); err != nil {
		t.Fatal(err)
	}
	o1 := opt
	o1.StopAfter = 12
	if err := Train(context.Background(), parts, o1, nil); err != nil {
		t.Fatal(err)
	}
	if err := Train(context.Background(), parts, opt, nil); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(whole, File))
	b, _ := os.ReadFile(filepath.Join(parts, File))
	sa, err := Decode(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if sa.Record.Steps != 30 || sb.Record.Steps != 30 {
		t.Fatalf("steps %d and %d", sa.Record.Steps, sb.Record.Steps)
	}
	// The records differ in the seconds taken; the weights must not.
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 13)
	}
	pa, _ := sa.Predict(img, 16, 16)
	pb, _ := sb.Predict(img, 16, 16)
	for i := range pa {
		if pa[i] != pb[i] {
			t.Fatalf("resumed run differs at %d: %v vs %v", i, pa[i], pb[i])
		}
	}
	other := opt
	other.LR *= 2
	if err := Train(context.Background(), parts, other, nil); err == nil {
		t.Error("a run with other settings continued another's checkpoint")
	}
}

func TestSqueezeAndStretch(t *testing.T) {
	// A picture half red (left) and half blue, 40×10, squeezed to 4×4.
	img := image.NewNRGBA(image.Rect(0, 0, 40, 10))
	for y := 0; y < 10; y++ {
		for x := 0; x < 40; x++ {
			c := color.NRGBA{255, 0, 0, 255}
			if x >= 20 {
				c = color.NRGBA{0, 0, 255, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	s := squeeze(img, 4)
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			i := y*4 + x
			red := x < 2
			if (s[3*i] == 1) != red || (s[3*i+2] == 1) == red {
				t.Fatalf("cell %d,%d: %v", x, y, s[3*i:3*i+3])
			}
		}
	}
	// A picture smaller than the square fills every cell.
	small := squeeze(image.NewNRGBA(image.Rect(0, 0, 2, 3)), 8)
	if len(small) != 3*64 {
		t.Fatal(len(small))
	}
	// Stretching a constant map keeps it; a ramp stays monotone.
	p := []float32{0, 1, 0, 1}
	out := stretch(p, 2, 6, 3)
	if out[0] != 0 || out[5] != 1 {
		t.Fatalf("ends %v %v", out[0], out[5])
	}
	for x := 1; x < 6; x++ {
		if out[x] < out[x-1] {
			t.Fatalf("not monotone: %v", out[:6])
		}
	}
}

// BenchmarkPredict: the shipped network's answer for a 640×480 photo at the
// cut's 160×120, beside squeezing the photo alone (same run).
func BenchmarkPredict(b *testing.B) {
	s, err := Default()
	if err != nil {
		b.Skip(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 31)
	}
	b.Run("Predict", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Predict(img, 160, 120); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SqueezeOnly", func(b *testing.B) {
		for b.Loop() {
			squeeze(img, s.Record.Config.Size)
		}
	})
}
