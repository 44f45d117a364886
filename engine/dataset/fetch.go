package dataset

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Sentinel errors a caller can act on (errors.Is).
var (
	// ErrNpmMissing: the npm command is not installed or not on PATH.
	ErrNpmMissing = errors.New("npm is not installed (it is needed once, to download the emoji packages)")
	// ErrChecksum: a downloaded tarball is not the one pinned in code.
	ErrChecksum = errors.New("package checksum mismatch")
)

// Package is one pinned npm package the dataset is built from.
type Package struct {
	Name      string // npm name, e.g. "emoji-datasource-twitter"
	Version   string
	Tarball   string // file name `npm pack` writes
	Integrity string // npm's "sha512-<base64>" of the tarball
	// keep reports whether a path inside the tarball ("package/...") is
	// unpacked.
	keep func(name string) bool
}

// Key names of the packages, the keys of Fetch's result.
const (
	PkgTwitter = "emoji-datasource-twitter"
	PkgGoogle  = "emoji-datasource-google"
	PkgFluent  = "@lobehub/fluent-emoji-3d"
)

// Packages are pinned by version and by the sha512 that npm reported when
// they were first fetched (`npm pack --json`, November 2025).
var Packages = []Package{
	{
		Name: PkgTwitter, Version: "16.0.0", Tarball: "emoji-datasource-twitter-16.0.0.tgz",
		Integrity: "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ==",
		keep:      datasourceFiles("twitter"),
	},
	{
		Name: PkgGoogle, Version: "16.0.0", Tarball: "emoji-datasource-google-16.0.0.tgz",
		Integrity: "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A==",
		keep:      datasourceFiles("google"),
	},
	{
		Name: PkgFluent, Version: "1.1.0", Tarball: "lobehub-fluent-emoji-3d-1.1.0.tgz",
		Integrity: "sha512-Wlq2lVStTnr8BDpIJ0pEnTKO4LuDxxqTEhTvRtD1DLRF0me7ogeRQjKoehDHXuVJ2Qaecgl5wRBv60lUAG3h7g==",
		keep: func(name string) bool {
			if name == "package/package.json" || name == "package/README.md" {
				return true
			}
			for _, p := range PersonalObjects {
				if name == "package/assets/"+p.Code+".webp" {
					return true
				}
			}
			return false
		},
	},
}

// datasourceFiles keeps emoji.json, the licence and the 64-pixel images of
// one emoji-datasource set.
func datasourceFiles(set string) func(string) bool {
	dir := "package/img/" + set + "/64/"
	return func(name string) bool {
		switch name {
		case "package/emoji.json", "package/LICENSE", "package/package.json":
			return true
		}
		return strings.HasPrefix(name, dir) && strings.HasSuffix(name, ".png") && !strings.Contains(name[len(dir):], "/")
	}
}

// Fetch downloads (with `npm pack`, run in cacheDir) the pinned packages that
// are not already there, verifies each tarball against its pinned sha512 and
// unpacks what the dataset needs. It returns, for each package name, the
// folder holding the unpacked "package" directory's contents (the folder
// with emoji.json, img/..., assets/...). A second call reuses the verified
// tarballs and unpacked files. progress, if not nil, gets one line per step.
func Fetch(ctx context.Context, cacheDir string, progress func(string)) (map[string]string, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("dataset: cache folder: %w", err)
	}
	out := make(map[string]string, len(Packages))
	for _, p := range Packages {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("dataset: fetch cancelled: %w", err)
		}
		dir, err := fetchOne(ctx, cacheDir, p, progress)
		if err != nil {
			return nil, err
		}
		out[p.Name] = dir
	}
	return out, nil
}

func fetchOne(ctx context.Context, cacheDir string, p Package, progress func(string)) (string, error) {
	unpacked := filepath.Join(cacheDir, strings.TrimSuffix(p.Tarball, ".tgz"))
	root := filepath.Join(unpacked, "package")
	marker := filepath.Join(unpacked, ".complete")
	if b, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(b)) == p.Integrity {
		progress(fmt.Sprintf("%s@%s: already unpacked", p.Name, p.Version))
		return root, nil
	}
	tgz := filepath.Join(cacheDir, p.Tarball)
	if verifyTarball(tgz, p.Integrity) != nil {
		progress(fmt.Sprintf("%s@%s: npm pack", p.Name, p.Version))
		if err := npmPack(ctx, cacheDir, p); err != nil {
			return "", err
		}
	}
	if err := verifyTarball(tgz, p.Integrity); err != nil {
		// Do not keep a tarball that is not the pinned one.
		os.Remove(tgz)
		return "", err
	}
	progress(fmt.Sprintf("%s@%s: unpacking", p.Name, p.Version))
	if err := os.RemoveAll(unpacked); err != nil {
		return "", fmt.Errorf("dataset: %w", err)
	}
	if err := unpack(ctx, tgz, unpacked, p.keep); err != nil {
		return "", fmt.Errorf("dataset: unpacking %s: %w", p.Tarball, err)
	}
	if err := os.WriteFile(marker, []byte(p.Integrity+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("dataset: %w", err)
	}
	return root, nil
}

func npmPack(ctx context.Context, cacheDir string, p Package) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("dataset: %w", ErrNpmMissing)
	}
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", p.Name+"@"+p.Version)
	cmd.Dir = cacheDir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("dataset: fetch cancelled: %w", ctx.Err())
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[len(msg)-500:]
		}
		return fmt.Errorf("dataset: npm pack %s@%s: %w: %s", p.Name, p.Version, err, msg)
	}
	return nil
}

// verifyTarball checks the file's sha512 against an npm integrity string.
func verifyTarball(file, integrity string) error {
	want, ok := strings.CutPrefix(integrity, "sha512-")
	if !ok {
		return fmt.Errorf("dataset: integrity %q is not sha512", integrity)
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("dataset: reading %s: %w", file, err)
	}
	got := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if got != want {
		return fmt.Errorf("dataset: %s: %w (got sha512-%s, want %s)", filepath.Base(file), ErrChecksum, got, integrity)
	}
	return nil
}

// unpack extracts the regular files that keep accepts from a .tgz into dir,
// refusing any name that would leave dir.
func unpack(ctx context.Context, tgz, dir string, keep func(string) bool) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for n := 0; ; n++ {
		if n%64 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("cancelled: %w", err)
			}
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(h.Name)
		if !keep(name) {
			continue
		}
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("unsafe path %q in archive", h.Name)
		}
		const maxFile = 64 << 20
		if h.Size > maxFile {
			return fmt.Errorf("%s: %d bytes is too large", name, h.Size)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		w, err := os.Create(dst)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, io.LimitReader(tr, maxFile))
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}
