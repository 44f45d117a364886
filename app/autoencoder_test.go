package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAutoencoderTrainsAndChecks: the command's two modes end to end on
// the tiny autoencoder: a short run writes the model, a second sitting
// resumes it, -check judges renders straight and through it and writes
// the grid; bad requests are refused in plain words.
func TestAutoencoderTrainsAndChecks(t *testing.T) {
	var out bytes.Buffer
	a, err := New(Options{LibraryDir: t.TempDir(), Out: &out, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ae", "run") // does not exist yet
	req := AutoencoderRequest{Dir: dir, Config: "tiny", Steps: 6, StopAfter: 3, Batch: 2}
	if err := a.Autoencoder(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	req.StopAfter = 0
	if err := a.Autoencoder(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	grid := filepath.Join(dir, "grid.png")
	out.Reset()
	if err := a.Autoencoder(context.Background(), AutoencoderRequest{Dir: dir, Check: true, Seeds: 1, Out: grid}, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"autoencoder at step 6", "ground truth", "through the autoencoder", "PSNR"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	if st, err := os.Stat(grid); err != nil || st.Size() == 0 {
		t.Errorf("no grid: %v", err)
	}
	for _, bad := range []struct {
		req  AutoencoderRequest
		says string
	}{
		{AutoencoderRequest{}, "missing -dir"},
		{AutoencoderRequest{Dir: dir, Steps: -1}, "must not be negative"},
		{AutoencoderRequest{Dir: dir, Config: "huge"}, "choose default or tiny"},
		{AutoencoderRequest{Dir: dir, Check: true, Out: "grid.jpg"}, ".png file"},
		{AutoencoderRequest{Dir: t.TempDir(), Check: true}, "no autoencoder to check"},
	} {
		if err := a.Autoencoder(context.Background(), bad.req, nil); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%+v: %v, want %q", bad.req, err, bad.says)
		}
	}
}
