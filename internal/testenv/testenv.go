// Package testenv holds helpers that tests in several packages share: a
// private X server and a tiny base model file. Only tests import it.
package testenv

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"conceptstudio/engine"
)

// Xvfb starts a private X server on the first free display number from
// first (100 numbers are tried, so packages testing in parallel pass
// different ranges) with a screen of the given size, stops it when the
// test ends, and returns its DISPLAY value. Without Xvfb the test is
// skipped, unless CONCEPTSTUDIO_REQUIRE_XVFB is set (make test sets it);
// under -short it is skipped too.
func Xvfb(t testing.TB, first int, screen string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Xvfb; run without -short")
	}
	if _, err := exec.LookPath("Xvfb"); err != nil {
		if os.Getenv("CONCEPTSTUDIO_REQUIRE_XVFB") != "" {
			t.Fatal("Xvfb is required (make test installs it): ", err)
		}
		t.Skip("Xvfb not installed; `make test` installs it and runs this test")
	}
	for n := first; n < first+100; n++ {
		sock := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		if _, err := os.Stat(sock); err == nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		x := exec.CommandContext(ctx, "Xvfb", fmt.Sprintf(":%d", n), "-screen", "0", screen, "-nolisten", "tcp")
		if err := x.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); x.Wait() })
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if _, err := os.Stat(sock); err == nil {
				return fmt.Sprintf(":%d", n)
			}
		}
		t.Fatalf("Xvfb :%d did not start", n)
	}
	t.Fatal("no free X display number")
	return ""
}

// TinyModelFile saves a tiny base model (16×16 images, the real tokenizer,
// Perfusion's C⁻¹ included) in dir and returns its path. Its weights are
// random, perturbed so that every layer gets a gradient: it draws noise,
// but every step of training, generation and evaluation runs for real.
func TinyModelFile(t testing.TB, dir string) string {
	t.Helper()
	b, err := engine.NewTinyBase()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CovInverse(); err != nil { // stored in the file, as ExportBase does
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tiny.safetensors")
	if err := b.Save(path, false); err != nil {
		t.Fatal(err)
	}
	return path
}

// ReadPNG decodes the PNG file at path, failing the test if it cannot.
func ReadPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
