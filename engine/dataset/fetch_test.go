package dataset

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func makeTgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func integrity(b []byte) string {
	h := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(h[:])
}

func TestVerifyTarball(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.tgz")
	data := []byte("not really a tarball")
	os.WriteFile(file, data, 0o644)
	if err := verifyTarball(file, integrity(data)); err != nil {
		t.Fatalf("good checksum: %v", err)
	}
	if err := verifyTarball(file, integrity([]byte("other"))); !errors.Is(err, ErrChecksum) {
		t.Fatalf("bad checksum: %v", err)
	}
	if err := verifyTarball(file, "sha1-abc"); err == nil {
		t.Fatal("sha1 integrity accepted")
	}
}

// A cached, verified tarball is unpacked without npm; a tampered one is
// rejected and removed.
func TestFetchFromCache(t *testing.T) {
	dir := t.TempDir()
	data := makeTgz(t, map[string]string{
		"package/emoji.json":          "[]",
		"package/img/test/64/a.png":   "png",
		"package/img/test/64/x/b.png": "nested, not kept",
		"package/other.txt":           "not kept",
	})
	p := Package{Name: "test-pkg", Version: "1.0.0", Tarball: "test-pkg-1.0.0.tgz", Integrity: integrity(data), keep: datasourceFiles("test")}
	os.WriteFile(filepath.Join(dir, p.Tarball), data, 0o644)
	t.Setenv("PATH", t.TempDir()) // no npm: it must not be needed
	root, err := fetchOne(context.Background(), dir, p, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "img", "test", "64", "a.png")); err != nil || string(b) != "png" {
		t.Fatalf("a.png: %q %v", b, err)
	}
	for _, no := range []string{"other.txt", "img/test/64/x/b.png"} {
		if _, err := os.Stat(filepath.Join(root, no)); err == nil {
			t.Errorf("%s was unpacked", no)
		}
	}
	// Second call: already unpacked.
	var msgs []string
	if _, err := fetchOne(context.Background(), dir, p, func(s string) { msgs = append(msgs, s) }); err != nil || !strings.Contains(strings.Join(msgs, ";"), "already") {
		t.Fatalf("second fetch: %v %v", err, msgs)
	}

	// Tampered tarball, no marker: checksum error (npm is missing, so the
	// re-download fails first; with a fake npm that "downloads" the wrong
	// bytes the checksum error shows).
	os.RemoveAll(filepath.Join(dir, "test-pkg-1.0.0"))
	os.WriteFile(filepath.Join(dir, p.Tarball), []byte("tampered"), 0o644)
	if _, err := fetchOne(context.Background(), dir, p, func(string) {}); !errors.Is(err, ErrNpmMissing) {
		t.Fatalf("no npm: %v", err)
	}
	bin := t.TempDir()
	fake := "#!/bin/sh\necho tampered > test-pkg-1.0.0.tgz\n"
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	if _, err := fetchOne(context.Background(), dir, p, func(string) {}); !errors.Is(err, ErrChecksum) {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, p.Tarball)); err == nil {
		t.Error("the tampered tarball was kept")
	}
}

func TestFetchCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Fetch(ctx, t.TempDir(), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled fetch: %v", err)
	}
	if err := Build(ctx, t.TempDir(), t.TempDir(), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled build: %v", err)
	}
}

func TestUnpackRefusesEscapes(t *testing.T) {
	dir := t.TempDir()
	data := makeTgz(t, map[string]string{"../evil.png": "x"})
	file := filepath.Join(dir, "e.tgz")
	os.WriteFile(file, data, 0o644)
	err := unpack(context.Background(), file, filepath.Join(dir, "out"), func(string) bool { return true })
	if err == nil {
		t.Fatal("an escaping path was unpacked")
	}
	if _, err := os.Stat(filepath.Join(dir, "evil.png")); err == nil {
		t.Fatal("evil.png written")
	}
}

func TestAreaWeights(t *testing.T) {
	// 4 source pixels onto 2 destination pixels: each gets two halves.
	d0, sp := areaWeights(4, 0, 2, 10)
	if d0 != 0 || len(sp) != 2 {
		t.Fatalf("d0 %d spans %v", d0, sp)
	}
	for _, s := range sp {
		var sum float32
		for _, w := range s.w {
			if math.Abs(float64(w)-0.5) > 1e-6 {
				t.Fatalf("weights %v", s.w)
			}
			sum += w
		}
		if math.Abs(float64(sum)-1) > 1e-6 {
			t.Fatalf("sum %v", sum)
		}
	}
	// Sub-pixel offset: the first destination pixel is 0.25 covered.
	d0, sp = areaWeights(2, 0.75, 1.5, 10)
	var first float32
	for _, w := range sp[0].w {
		first += w
	}
	if d0 != 0 || math.Abs(float64(first)-0.25) > 1e-6 {
		t.Fatalf("edge coverage %v", first)
	}
	// Clipped to the destination.
	if d0, sp = areaWeights(4, -2, 4, 1); d0 != 0 || len(sp) != 1 {
		t.Fatalf("clip: %d %d", d0, len(sp))
	}
}

func TestResizeAreaAverages(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			if (x+y)%2 == 0 {
				src.SetNRGBA(x, y, color.NRGBA{R: 255, A: 255})
			} // else transparent
		}
	}
	out := resizeArea(src, src.Rect, 2, 2)
	for i := 0; i < 4; i++ {
		// Premultiplied average: half-covered red, colour stays pure red.
		if p := out.Pix[4*i : 4*i+4]; p[0] != 255 || p[1] != 0 || p[3] != 128 {
			t.Fatalf("pixel %d = %v, want red at alpha 128", i, p)
		}
	}
}
