package dataset

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path"
	"slices"
	"sort"
)

// The committed assets: atlas.png, atlas.json and personal/*.png. The folder
// always holds README.md, so the package compiles before the first build.
//
//go:embed assets
var assetsFS embed.FS

// Sprite styles.
const (
	StyleTwemoji = "twemoji"
	StyleNoto    = "noto"
)

// Styles lists the sprite styles in atlas order.
var Styles = []string{StyleTwemoji, StyleNoto}

// ErrNoAtlas: the atlas has not been built (run `conceptstudio dataset`).
var ErrNoAtlas = errors.New("the sprite atlas has not been built (run `conceptstudio dataset`)")

// Sprite is one emoji image in one style, as packed in the atlas.
type Sprite struct {
	Index    int
	Name     string // caption name, e.g. "teddy bear"
	Code     string // unified code, e.g. "1F9F8"
	Category string
	Style    string // StyleTwemoji or StyleNoto
	Plural   bool
	Rect     image.Rectangle // the trimmed sprite inside Atlas.Image
	Cell     image.Rectangle // the atlas cell holding it
	Mean     color.NRGBA     // alpha-weighted mean of the visible pixels
}

// Atlas is the packed sprite sheet and its index, plus what is derived from
// the pixels (mean colours, allowed backgrounds). It is read-only after
// loading and safe for concurrent use.
type Atlas struct {
	Image   *image.NRGBA
	CellPx  int
	Sprites []Sprite

	names   []string         // unique names in atlas order
	byName  map[string][]int // name -> sprite indices
	allowed [][]bool         // [sprite][colour index]
}

// atlasJSON is the on-disk index (assets/atlas.json).
type atlasJSON struct {
	Version  int            `json:"version"`
	Note     string         `json:"note,omitempty"`
	Cell     int            `json:"cell"`
	Width    int            `json:"width"`
	Height   int            `json:"height"`
	Sprites  []spriteJSON   `json:"sprites"`
	Personal []personalJSON `json:"personal"`
}

type spriteJSON struct {
	Name     string `json:"name"`
	Code     string `json:"code"`
	Category string `json:"category"`
	Style    string `json:"style"`
	Plural   bool   `json:"plural,omitempty"`
	Rect     [4]int `json:"rect"` // x, y, w, h of the trimmed sprite
	Cell     [4]int `json:"cell"` // x, y, w, h of its cell
}

type personalJSON struct {
	Name string `json:"name"`
	Code string `json:"code"`
	File string `json:"file"`
}

// LoadAtlas reads the atlas embedded in the binary.
func LoadAtlas() (*Atlas, error) {
	sub, err := fs.Sub(assetsFS, "assets")
	if err != nil {
		return nil, err
	}
	return LoadAtlasFS(sub)
}

// LoadAtlasDir reads an atlas from a folder written by Build (the
// engine/dataset/assets folder under Build's outDir).
func LoadAtlasDir(dir string) (*Atlas, error) {
	return LoadAtlasFS(os.DirFS(dir))
}

// LoadAtlasFS reads atlas.json and atlas.png from the root of fsys.
func LoadAtlasFS(fsys fs.FS) (*Atlas, error) {
	jb, err := fs.ReadFile(fsys, "atlas.json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoAtlas
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var aj atlasJSON
	if err := json.Unmarshal(jb, &aj); err != nil {
		return nil, fmt.Errorf("dataset: atlas.json: %w", err)
	}
	pb, err := fs.ReadFile(fsys, "atlas.png")
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	img, err := png.Decode(bytes.NewReader(pb))
	if err != nil {
		return nil, fmt.Errorf("dataset: atlas.png: %w", err)
	}
	return newAtlas(&aj, toNRGBA(img))
}

func toNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok && n.Rect.Min == (image.Point{}) {
		return n
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

func rectOf(r [4]int) image.Rectangle { return image.Rect(r[0], r[1], r[0]+r[2], r[1]+r[3]) }

func newAtlas(aj *atlasJSON, img *image.NRGBA) (*Atlas, error) {
	if aj.Version != 1 {
		return nil, fmt.Errorf("dataset: atlas.json version %d, want 1", aj.Version)
	}
	if img.Rect.Dx() != aj.Width || img.Rect.Dy() != aj.Height {
		return nil, fmt.Errorf("dataset: atlas.png is %v, atlas.json says %dx%d", img.Rect.Size(), aj.Width, aj.Height)
	}
	a := &Atlas{Image: img, CellPx: aj.Cell, byName: map[string][]int{}}
	for i, sj := range aj.Sprites {
		s := Sprite{
			Index: i, Name: sj.Name, Code: sj.Code, Category: sj.Category, Style: sj.Style,
			Plural: sj.Plural, Rect: rectOf(sj.Rect), Cell: rectOf(sj.Cell),
		}
		if s.Rect.Empty() || !s.Rect.In(img.Rect) || !s.Rect.In(s.Cell) {
			return nil, fmt.Errorf("dataset: sprite %d (%s %s) has a bad rectangle %v", i, s.Name, s.Style, s.Rect)
		}
		if !validName(s.Name) {
			return nil, fmt.Errorf("dataset: sprite %d: name %q is not lower-case words", i, s.Name)
		}
		if _, ok := a.byName[s.Name]; !ok {
			a.names = append(a.names, s.Name)
		}
		a.byName[s.Name] = append(a.byName[s.Name], i)
		a.Sprites = append(a.Sprites, s)
	}
	if len(a.Sprites) == 0 {
		return nil, errors.New("dataset: the atlas has no sprites")
	}
	a.computeColours()
	return a, nil
}

// validName: one or more words of lower-case ASCII letters, single spaces.
func validName(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' && s[i-1] == ' ' {
			return false
		}
		if c != ' ' && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// Names returns the distinct caption names, in atlas order.
func (a *Atlas) Names() []string { return slices.Clone(a.names) }

// SpritesNamed returns the indices of the sprites with that caption name
// (one per style), or nil.
func (a *Atlas) SpritesNamed(name string) []int { return slices.Clone(a.byName[name]) }

// Sprite returns the index of the sprite with that name and style.
func (a *Atlas) Sprite(name, style string) (int, bool) {
	for _, i := range a.byName[name] {
		if a.Sprites[i].Style == style {
			return i, true
		}
	}
	return -1, false
}

// SpriteImage returns a copy of one trimmed sprite.
func (a *Atlas) SpriteImage(i int) *image.NRGBA {
	r := a.Sprites[i].Rect
	out := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		copy(out.Pix[y*out.Stride:y*out.Stride+4*r.Dx()], a.Image.Pix[(r.Min.Y+y)*a.Image.Stride+4*r.Min.X:])
	}
	return out
}

// computeColours fills each sprite's mean colour and the allowed
// background table.
func (a *Atlas) computeColours() {
	nearShare := make([][]float64, len(a.Sprites))
	for i := range a.Sprites {
		s := &a.Sprites[i]
		var sr, sg, sb, sa float64
		type px struct{ l, a, b, w float64 }
		var pxs []px
		for y := s.Rect.Min.Y; y < s.Rect.Max.Y; y++ {
			for x := s.Rect.Min.X; x < s.Rect.Max.X; x++ {
				p := a.Image.Pix[y*a.Image.Stride+4*x:]
				w := float64(p[3]) / 255
				if w <= 0 {
					continue
				}
				sr += w * float64(p[0])
				sg += w * float64(p[1])
				sb += w * float64(p[2])
				sa += w
				l, aa, bb := labFromRGB(float64(p[0])/255, float64(p[1])/255, float64(p[2])/255)
				pxs = append(pxs, px{l, aa, bb, w})
			}
		}
		if sa > 0 {
			s.Mean = color.NRGBA{R: uint8(math.Round(sr / sa)), G: uint8(math.Round(sg / sa)), B: uint8(math.Round(sb / sa)), A: 255}
		}
		nearShare[i] = make([]float64, len(Colours))
		for ci, c := range Colours {
			cl, ca, cb := Lab(c.RGB)
			var near float64
			for _, p := range pxs {
				d := math.Sqrt((p.l-cl)*(p.l-cl) + (p.a-ca)*(p.a-ca) + (p.b-cb)*(p.b-cb))
				if d < NearDeltaE {
					near += p.w
				}
			}
			if sa > 0 {
				nearShare[i][ci] = near / sa
			}
		}
	}
	// A colour is allowed for a name only if every style of it passes, so a
	// caption's background never depends on the style drawn.
	a.allowed = make([][]bool, len(a.Sprites))
	for _, name := range a.names {
		idx := a.byName[name]
		ok := make([]bool, len(Colours))
		n := 0
		for ci, c := range Colours {
			ok[ci] = true
			for _, i := range idx {
				if DeltaE(a.Sprites[i].Mean, c.RGB) < MinMeanDeltaE || nearShare[i][ci] > MaxNearShare {
					ok[ci] = false
				}
			}
			if ok[ci] {
				n++
			}
		}
		if n < MinAllowedColours {
			// Rare (a sprite with very many colours): keep the colours
			// farthest from its mean colours.
			type cd struct {
				ci int
				d  float64
			}
			var ds []cd
			for ci, c := range Colours {
				d := math.Inf(1)
				for _, i := range idx {
					d = min(d, DeltaE(a.Sprites[i].Mean, c.RGB))
				}
				ds = append(ds, cd{ci, d})
			}
			sort.SliceStable(ds, func(x, y int) bool { return ds[x].d > ds[y].d })
			for _, e := range ds[:MinAllowedColours] {
				ok[e.ci] = true
			}
		}
		for _, i := range idx {
			a.allowed[i] = ok
		}
	}
}

// MinAllowedColours is the fewest background colours any name keeps.
const MinAllowedColours = 4

// BackgroundAllowed reports whether a sprite may be drawn on the named
// background colour (a Colours name; a pattern uses the same rule for its
// colour, so "striped orange" is judged as "orange").
//
// The rule, deterministic from the atlas pixels: for each style of the
// sprite's name, the colour must be at least MinMeanDeltaE (CIE76 ΔE in
// CIELAB, D65) from the style's alpha-weighted mean visible colour, and no
// more than MaxNearShare of its visible area may be within NearDeltaE of
// the colour. A name keeps a colour only if all its styles do (so the tent,
// orange in both styles, never gets "on an orange background"); if fewer
// than MinAllowedColours pass, the ones farthest from the means are kept.
func (a *Atlas) BackgroundAllowed(sprite int, bg string) bool {
	if sprite < 0 || sprite >= len(a.Sprites) {
		return false
	}
	if _, col, ok := cutPattern(bg); ok {
		bg = col
	}
	for ci, c := range Colours {
		if c.Name == bg {
			return a.allowed[sprite][ci]
		}
	}
	return false
}

// AllowedBackgrounds lists the colour names the sprite may have, in Colours
// order.
func (a *Atlas) AllowedBackgrounds(sprite int) []string {
	var out []string
	for ci, c := range Colours {
		if a.allowed[sprite][ci] {
			out = append(out, c.Name)
		}
	}
	return out
}

// cutPattern splits "striped green" or "green gradient" into pattern and
// colour.
func cutPattern(bg string) (pattern, colour string, ok bool) {
	for _, p := range Patterns {
		if c, found := cutWord(bg, p); found {
			return p, c, true
		}
	}
	return "", bg, false
}

func cutWord(s, w string) (string, bool) {
	if len(s) > len(w)+1 && s[:len(w)+1] == w+" " {
		return s[len(w)+1:], true
	}
	if len(s) > len(w)+1 && s[len(s)-len(w)-1:] == " "+w {
		return s[:len(s)-len(w)-1], true
	}
	return "", false
}

// PersonalNames lists the Fluent 3D personal objects shipped in
// assets/personal (their super-category names).
func PersonalNames() []string {
	var out []string
	for _, p := range PersonalObjects {
		if _, err := fs.Stat(assetsFS, path.Join("assets/personal", p.File)); err == nil {
			out = append(out, p.Name)
		}
	}
	return out
}

// LoadPersonal returns the shipped 64×64 image of a personal object (by its
// super-category name, e.g. "teddy bear").
func LoadPersonal(name string) (*image.NRGBA, error) {
	for _, p := range PersonalObjects {
		if p.Name != name {
			continue
		}
		b, err := assetsFS.ReadFile(path.Join("assets/personal", p.File))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoAtlas
		}
		if err != nil {
			return nil, err
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("dataset: personal/%s: %w", p.File, err)
		}
		return toNRGBA(img), nil
	}
	return nil, fmt.Errorf("dataset: no personal object named %q", name)
}
