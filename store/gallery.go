package store

import (
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"conceptstudio/engine/safefile"
)

// GalleryItem is one generated image in the library's gallery.
type GalleryItem struct {
	Path     string
	ModTime  time.Time
	Settings GenerationSettings
	Err      error // why the settings could not be read (the image may still show)
}

// SaveImage writes a generated image into the gallery folder as a PNG with
// its settings in text chunks (atomically) and returns its path. The name
// is made from the time, seed and index, and never replaces a file.
func (l *Library) SaveImage(img image.Image, s GenerationSettings) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritable(); err != nil {
		return "", err
	}
	dir := l.GalleryDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create the gallery folder: %w", err)
	}
	stem := fmt.Sprintf("%s-seed%d-%d", time.Now().Format("20060102-150405"), s.Seed, s.Index)
	path := filepath.Join(dir, stem+".png")
	for n := 2; ; n++ {
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			break
		}
		path = filepath.Join(dir, fmt.Sprintf("%s-%d.png", stem, n))
	}
	meta := s.Meta()
	if err := safefile.Write(path, func(w io.Writer) error { return EncodePNG(w, img, meta) }); err != nil {
		return "", err
	}
	return path, nil
}

// Gallery lists the gallery's PNG images, newest first, with their
// settings. No lock is needed.
func (l *Library) Gallery() ([]GalleryItem, error) {
	des, err := os.ReadDir(l.GalleryDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the gallery folder: %w", err)
	}
	var out []GalleryItem
	for _, de := range des {
		n := de.Name()
		if strings.HasPrefix(n, ".") || !strings.EqualFold(filepath.Ext(n), ".png") || de.IsDir() {
			continue
		}
		path := filepath.Join(l.GalleryDir(), n)
		info, err := de.Info()
		if err != nil {
			continue
		}
		it := GalleryItem{Path: path, ModTime: info.ModTime()}
		if info.Size() > MaxImageFileBytes {
			it.Err = errorf(ErrImageTooLarge, "%s is too large", n)
		} else if data, err := os.ReadFile(path); err != nil {
			it.Err = err
		} else {
			it.Settings, it.Err = ReadSettings(data)
		}
		out = append(out, it)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].ModTime.Equal(out[j].ModTime) {
			return out[i].ModTime.After(out[j].ModTime)
		}
		return out[i].Path > out[j].Path
	})
	return out, nil
}
