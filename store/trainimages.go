package store

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/disintegration/imaging"

	"conceptstudio/engine/conceptfile"
	"conceptstudio/engine/safefile"
)

// A concept trained in Concept Studio keeps the images it learned from in
// a folder next to its file:
//
//	teddy.concept.safetensors
//	teddy.images/001.png 002.png …
//
// The images are normalized copies: decoded, oriented (LoadImage applies a
// JPEG's EXIF orientation), shrunk so that the longest side is at most
// TrainingImageSide pixels, and stored as PNG (alpha kept). A concept
// without the folder (an imported file, or one trained elsewhere) simply
// has no training images. The folder follows its concept when it is
// renamed, duplicated, deleted to the trash and restored.

// ImagesExt is the suffix of a concept's training-image folder.
const ImagesExt = ".images"

// TrainingImageSide is the longest side, in pixels, of a stored training
// image.
const TrainingImageSide = 256

// MaxTrainingImages is how many training images a concept keeps at most
// (the first ones given).
const MaxTrainingImages = 64

// ImagesDir is the folder of the training images of the concept called
// name.
func (l *Library) ImagesDir(name string) string { return filepath.Join(l.Dir, name+ImagesExt) }

// NormalizeTrainingImage returns the copy of img that the library keeps:
// shrunk (never enlarged) so that its longest side is at most
// TrainingImageSide, alpha kept, with its origin at (0, 0).
func NormalizeTrainingImage(img image.Image) *image.NRGBA {
	return imaging.Fit(img, TrainingImageSide, TrainingImageSide, imaging.Lanczos)
}

// SaveWithImages writes a trained concept into the library, as Save does,
// together with the images it was trained on (see NormalizeTrainingImage).
// They replace the concept's earlier training images, if any; no images
// leave it with none. The images are written before the concept file, each
// step atomically, so the concept never appears with half its images.
func (l *Library) SaveWithImages(c *conceptfile.Concept, imgs []image.Image) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritableName(c.Name); err != nil {
		return err
	}
	if err := l.writeImages(c.Name, imgs); err != nil {
		return err
	}
	return conceptfile.WriteConceptFile(l.ConceptPath(c.Name), c)
}

// writeImages replaces the training-image folder of name with the
// normalized imgs (none: the folder is removed). The new folder is filled
// under a temporary name and then renamed into place.
func (l *Library) writeImages(name string, imgs []image.Image) error {
	if len(imgs) == 0 {
		return l.dropImages(name)
	}
	if len(imgs) > MaxTrainingImages {
		imgs = imgs[:MaxTrainingImages]
	}
	tmp, err := os.MkdirTemp(l.Dir, "."+name+ImagesExt+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot store the training images of %q: %w", name, err)
	}
	for i, img := range imgs {
		if img == nil || img.Bounds().Empty() {
			os.RemoveAll(tmp)
			return fmt.Errorf("cannot store the training images of %q: image %d is empty", name, i+1)
		}
		small := NormalizeTrainingImage(img)
		path := filepath.Join(tmp, trainingImageName(i))
		if err := safefile.Write(path, func(w io.Writer) error { return png.Encode(w, small) }); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("cannot store the training images of %q: %w", name, err)
		}
	}
	if err := replaceDir(tmp, l.ImagesDir(name)); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("cannot store the training images of %q: %w", name, err)
	}
	return nil
}

// trainingImageName is the file name of the i-th (from 0) training image.
func trainingImageName(i int) string { return fmt.Sprintf("%03d.png", i+1) }

// TrainingImages reads the training images kept with the concept called
// name, in the order they were given. A concept without any (imported, or
// trained elsewhere) returns none and no error; a name that is not in the
// library fails with ErrNotFound. No lock is needed.
func (l *Library) TrainingImages(name string) ([]image.Image, error) {
	if err := checkStem(name); err != nil {
		return nil, err
	}
	if !l.Has(name) {
		return nil, errorf(ErrNotFound, "there is no concept called %q in the library", name)
	}
	paths, err := trainingImageFiles(l.ImagesDir(name))
	if err != nil {
		return nil, err
	}
	out := make([]image.Image, 0, len(paths))
	for _, p := range paths {
		img, err := LoadImage(p)
		if err != nil {
			return nil, fmt.Errorf("a training image of %s* cannot be read: %w", name, err)
		}
		out = append(out, img)
	}
	return out, nil
}

// trainingImageFiles lists the PNG files of an images folder, sorted; a
// missing folder has none.
func trainingImageFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the training images folder %s: %w", dir, err)
	}
	var out []string
	for _, de := range des {
		n := de.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".png") || !de.Type().IsRegular() {
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	sort.Strings(out)
	if len(out) > MaxTrainingImages {
		out = out[:MaxTrainingImages]
	}
	return out, nil
}

// dropImages removes the training images of name, if any.
func (l *Library) dropImages(name string) error {
	dir := l.ImagesDir(name)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	// Rename first so that a crash never leaves a half-removed folder
	// under the concept's name (the temporary name is cleaned at open).
	tmp := tempSibling(dir)
	if err := os.Rename(dir, tmp); err != nil {
		return fmt.Errorf("cannot remove the old training images of %q: %w", name, err)
	}
	syncDir(filepath.Dir(dir))
	os.RemoveAll(tmp)
	return nil
}

// copyImages copies the training images of src to the concept dst,
// replacing any dst had. A src without images leaves dst with none.
func (l *Library) copyImages(src, dst string) error {
	paths, err := trainingImageFiles(l.ImagesDir(src))
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return l.dropImages(dst)
	}
	tmp, err := os.MkdirTemp(l.Dir, "."+dst+ImagesExt+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot copy the training images of %q: %w", src, err)
	}
	for _, p := range paths {
		if err := copyFile(p, filepath.Join(tmp, filepath.Base(p))); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("cannot copy the training images of %q: %w", src, err)
		}
	}
	if err := replaceDir(tmp, l.ImagesDir(dst)); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("cannot copy the training images of %q: %w", src, err)
	}
	return nil
}

// moveImages moves the training-image folder at src (if there is one) to
// dst, replacing whatever folder dst was. Without a src folder, an old dst
// folder is removed only when dropStale is set.
func moveImages(src, dst string, dropStale bool) error {
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		if !dropStale {
			return nil
		}
		if _, err := os.Lstat(dst); err == nil {
			tmp := tempSibling(dst)
			if err := os.Rename(dst, tmp); err != nil {
				return err
			}
			syncDir(filepath.Dir(dst))
			os.RemoveAll(tmp)
		}
		return nil
	}
	return replaceDir(src, dst)
}

// copyFile copies a regular file atomically.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return safefile.Write(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// replaceDir renames the folder src to dst. A folder already at dst is
// first moved aside under a temporary name (rename cannot replace a folder
// that has files) and removed afterwards.
func replaceDir(src, dst string) error {
	var old string
	if _, err := os.Lstat(dst); err == nil {
		old = tempSibling(dst)
		if err := os.Rename(dst, old); err != nil {
			return err
		}
	}
	if err := os.Rename(src, dst); err != nil {
		if old != "" {
			os.Rename(old, dst) // put the old one back
		}
		return err
	}
	syncDir(filepath.Dir(dst))
	if filepath.Dir(src) != filepath.Dir(dst) {
		syncDir(filepath.Dir(src))
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

var tempSeq atomic.Uint32

// tempSibling is an unused temporary name (".NAME.tmpDIGITS", which
// OpenLibrary removes as a leftover) in path's folder.
func tempSibling(path string) string {
	dir, base := filepath.Split(path)
	for {
		n := uint32(time.Now().UnixNano()) + tempSeq.Add(1)
		p := filepath.Join(dir, "."+base+".tmp"+strconv.FormatUint(uint64(n), 10))
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p
		}
	}
}

// TrainingImagePaths lists the files of the training images kept with the
// concept called name, in order (none for a concept without them).
func (l *Library) TrainingImagePaths(name string) ([]string, error) {
	if err := checkStem(name); err != nil {
		return nil, err
	}
	return trainingImageFiles(l.ImagesDir(name))
}
