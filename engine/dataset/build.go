package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/image/webp"

	"conceptstudio/engine/safefile"
)

// Where Build writes, relative to its outDir (the repository root).
const (
	AssetsDir   = "engine/dataset/assets"
	ExamplesDir = "examples"
)

// Atlas layout.
const (
	// CellSize is the side of one atlas cell: each sprite, trimmed to its
	// visible box, is fitted (aspect kept, longest side = CellSize) and
	// centred in a cell. 48 covers the largest sprite a 48×48 scene draws
	// (85% of the side) without upscaling.
	CellSize     = 48
	AtlasColumns = 16
	// PersonalSize is the side of the shipped personal-object images.
	PersonalSize = 64
	// trimAlpha: pixels with alpha above this (0..255) count as visible
	// when trimming.
	trimAlpha = 12
)

// Build fetches the pinned packages into cacheDir (see Fetch) and writes,
// under outDir (the repository root):
//
//	engine/dataset/assets/atlas.png      all sprites, both styles, 48×48 cells
//	engine/dataset/assets/atlas.json     the index: name, code, category, style, rects
//	engine/dataset/assets/personal/*.png the Fluent 3D personal objects, 64×64
//	examples/<short>/<n>.png             example "photos" (WriteExamples)
//
// Every file is written to a temporary file and renamed into place, so an
// interrupted build never leaves a half-written asset. The package must be
// rebuilt (go build) to embed new assets.
func Build(ctx context.Context, cacheDir, outDir string, progress func(string)) error {
	if progress == nil {
		progress = func(string) {}
	}
	dirs, err := Fetch(ctx, cacheDir, progress)
	if err != nil {
		return err
	}
	assets := filepath.Join(outDir, filepath.FromSlash(AssetsDir))
	if err := os.MkdirAll(filepath.Join(assets, "personal"), 0o755); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}

	meta, err := readEmojiJSON(filepath.Join(dirs[PkgTwitter], "emoji.json"))
	if err != nil {
		return err
	}
	if err := checkList(Emojis, meta); err != nil {
		return err
	}

	progress(fmt.Sprintf("atlas: %d emoji × %d styles", len(Emojis), len(Styles)))
	n := len(Emojis) * len(Styles)
	rows := (n + AtlasColumns - 1) / AtlasColumns
	sheet := image.NewNRGBA(image.Rect(0, 0, AtlasColumns*CellSize, rows*CellSize))
	aj := atlasJSON{
		Version: 1, Cell: CellSize, Width: sheet.Rect.Dx(), Height: sheet.Rect.Dy(),
		Note: "Twemoji (CC-BY 4.0, Twitter/X Corp and contributors) and Noto Emoji (Apache-2.0, Google), " +
			"from emoji-datasource-twitter/-google 16.0.0; trimmed and resized. See NOTICE.",
	}
	setDir := map[string]string{
		StyleTwemoji: filepath.Join(dirs[PkgTwitter], "img", "twitter", "64"),
		StyleNoto:    filepath.Join(dirs[PkgGoogle], "img", "google", "64"),
	}
	k := 0
	for _, e := range Emojis {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dataset: build cancelled: %w", err)
		}
		file := meta[e.Code].Image
		for _, style := range Styles {
			img, err := readPNG(filepath.Join(setDir[style], file))
			if err != nil {
				return fmt.Errorf("dataset: %s (%s, %s): %w", e.Name, e.Code, style, err)
			}
			cell := image.Rect(0, 0, CellSize, CellSize).Add(image.Pt((k%AtlasColumns)*CellSize, (k/AtlasColumns)*CellSize))
			fitted, err := trimAndFit(img, CellSize)
			if err != nil {
				return fmt.Errorf("dataset: %s (%s, %s): %w", e.Name, e.Code, style, err)
			}
			off := image.Pt((CellSize-fitted.Rect.Dx())/2, (CellSize-fitted.Rect.Dy())/2)
			r := fitted.Rect.Add(cell.Min).Add(off)
			draw.Draw(sheet, r, fitted, image.Point{}, draw.Src)
			aj.Sprites = append(aj.Sprites, spriteJSON{
				Name: e.Name, Code: e.Code, Category: e.Category, Style: style, Plural: e.Plural,
				Rect: [4]int{r.Min.X, r.Min.Y, r.Dx(), r.Dy()},
				Cell: [4]int{cell.Min.X, cell.Min.Y, cell.Dx(), cell.Dy()},
			})
			k++
		}
	}

	progress("personal objects (Fluent 3D)")
	sources := map[string]image.Image{}
	for _, p := range PersonalObjects {
		img, err := readWebP(filepath.Join(dirs[PkgFluent], "assets", p.Code+".webp"))
		if err != nil {
			return fmt.Errorf("dataset: personal %s: %w", p.Name, err)
		}
		b := alphaBounds(img, trimAlpha)
		if b.Empty() {
			return fmt.Errorf("dataset: personal %s: the image is empty", p.Name)
		}
		sources[p.Name] = trimTo(img, b)
		small, err := fitSquare(img, PersonalSize)
		if err != nil {
			return fmt.Errorf("dataset: personal %s: %w", p.Name, err)
		}
		if err := writePNG(filepath.Join(assets, "personal", p.File), small); err != nil {
			return err
		}
		aj.Personal = append(aj.Personal, personalJSON{Name: p.Name, Code: p.Code, File: "personal/" + p.File})
	}

	progress("examples")
	if err := WriteExamples(filepath.Join(outDir, ExamplesDir), sources); err != nil {
		return err
	}

	// Validate what we are about to commit by loading it back.
	if _, err := newAtlas(&aj, sheet); err != nil {
		return err
	}
	if err := writePNG(filepath.Join(assets, "atlas.png"), sheet); err != nil {
		return err
	}
	jb, err := json.MarshalIndent(aj, "", " ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(assets, "atlas.json"), append(jb, '\n')); err != nil {
		return err
	}
	progress(fmt.Sprintf("wrote %s (%d sprites) and %d personal objects", assets, len(aj.Sprites), len(aj.Personal)))
	return nil
}

// emojiMeta is the part of an emoji.json entry the build needs.
type emojiMeta struct {
	Name          string `json:"name"`
	Unified       string `json:"unified"`
	Image         string `json:"image"`
	Category      string `json:"category"`
	HasImgTwitter bool   `json:"has_img_twitter"`
	HasImgGoogle  bool   `json:"has_img_google"`
}

func readEmojiJSON(file string) (map[string]emojiMeta, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var list []emojiMeta
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("dataset: emoji.json: %w", err)
	}
	m := make(map[string]emojiMeta, len(list))
	for _, e := range list {
		m[strings.ToUpper(e.Unified)] = e
	}
	return m, nil
}

// checkList validates the curated list against emoji.json.
func checkList(list []Emoji, meta map[string]emojiMeta) error {
	seen := map[string]bool{}
	for _, e := range list {
		m, ok := meta[e.Code]
		switch {
		case !ok:
			return fmt.Errorf("dataset: %q: code %s is not in emoji.json", e.Name, e.Code)
		case m.Category != e.Category:
			return fmt.Errorf("dataset: %q (%s): category is %q, the list says %q", e.Name, e.Code, m.Category, e.Category)
		case !m.HasImgTwitter || !m.HasImgGoogle:
			return fmt.Errorf("dataset: %q (%s) lacks a Twitter or Google image", e.Name, e.Code)
		case !validName(e.Name):
			return fmt.Errorf("dataset: name %q must be lower-case words", e.Name)
		case seen[e.Name]:
			return fmt.Errorf("dataset: name %q is used twice", e.Name)
		}
		seen[e.Name] = true
	}
	return nil
}

func readPNG(file string) (image.Image, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return png.Decode(bytes.NewReader(b))
}

func readWebP(file string) (image.Image, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return webp.Decode(bytes.NewReader(b))
}

// trimTo copies the part r of img into a new NRGBA image at the origin.
func trimTo(img image.Image, r image.Rectangle) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(out, out.Rect, img, r.Min, draw.Src)
	return out
}

// trimAndFit trims img to its visible box and resizes it (area filter,
// aspect kept) so its longest side is side pixels.
func trimAndFit(img image.Image, side int) (*image.NRGBA, error) {
	b := alphaBounds(img, trimAlpha)
	if b.Empty() {
		return nil, fmt.Errorf("no visible pixels")
	}
	s := float64(side) / float64(max(b.Dx(), b.Dy()))
	w := max(1, int(math.Round(float64(b.Dx())*s)))
	h := max(1, int(math.Round(float64(b.Dy())*s)))
	return resizeArea(img, b, w, h), nil
}

// fitSquare trims img and centres it, fitted, in a side×side transparent
// square.
func fitSquare(img image.Image, side int) (*image.NRGBA, error) {
	f, err := trimAndFit(img, side)
	if err != nil {
		return nil, err
	}
	out := image.NewNRGBA(image.Rect(0, 0, side, side))
	off := image.Pt((side-f.Rect.Dx())/2, (side-f.Rect.Dy())/2)
	draw.Draw(out, f.Rect.Add(off), f, image.Point{}, draw.Src)
	return out, nil
}

func writePNG(file string, img image.Image) error {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return fmt.Errorf("dataset: encoding %s: %w", file, err)
	}
	return writeFileAtomic(file, buf.Bytes())
}

// writeFileAtomic writes data into file (through safefile), making its
// folder first.
func writeFileAtomic(file string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := safefile.WriteBytes(file, data); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}
