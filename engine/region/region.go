// Package region is a box of the picture that one thing of a prompt is
// steered into (the scene canvas, `generate -region`, the PNG settings).
// It has no dependencies, so the library store and the window can use it
// without the engine.
package region

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A Region asks for one thing of the prompt inside a box. Name is a
// concept's pseudo-word without its star ("teddy" for teddy*) or a plain
// word of the prompt ("cat"); X, Y, W, H are fractions of the picture's
// side from its top left corner.
type Region struct {
	Name string  `json:"name"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	W    float64 `json:"w"`
	H    float64 `json:"h"`
}

// MinSide is the smallest side of a box, as a fraction of the picture's
// side (two pixels of a 32-pixel picture).
const MinSide = 0.0625

// MaxRegions is the most things one picture is steered to hold.
const MaxRegions = 4

// ErrBadRegion marks a region that cannot be used; its message says why in
// plain words.
var ErrBadRegion = errors.New("bad region")

// Validate says, in plain words, what is wrong with a region, or nil.
func (r Region) Validate() error {
	if err := ValidName(r.Name); err != nil {
		return err
	}
	for _, v := range []float64{r.X, r.Y, r.W, r.H} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: the box of %q has a value that is not a number", ErrBadRegion, r.Name)
		}
	}
	if r.X < 0 || r.Y < 0 || r.X+r.W > 1+1e-9 || r.Y+r.H > 1+1e-9 {
		return fmt.Errorf("%w: the box of %q (%s) reaches outside the picture; x, y, width and height are fractions from 0 to 1", ErrBadRegion, r.Name, r.box())
	}
	if r.W < MinSide || r.H < MinSide {
		return fmt.Errorf("%w: the box of %q (%s) is too small; each side must be at least %g of the picture", ErrBadRegion, r.Name, r.box(), MinSide)
	}
	return nil
}

// ValidName checks a region's name: one word of letters and digits, a
// pseudo-word written without its star.
func ValidName(name string) error {
	name = strings.TrimSuffix(name, "*")
	if name == "" {
		return fmt.Errorf("%w: a region needs the name of a thing in the prompt", ErrBadRegion)
	}
	if len(name) > 40 {
		return fmt.Errorf("%w: %q… is not a word of the prompt", ErrBadRegion, name[:40])
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q is not one word of the prompt (lower-case letters and digits)", ErrBadRegion, name)
		}
	}
	return nil
}

func (r Region) box() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	return f(r.X) + "," + f(r.Y) + "," + f(r.W) + "," + f(r.H)
}

// String is the region as `generate -region` takes it: NAME=x,y,w,h.
func (r Region) String() string { return r.Name + "=" + r.box() }

// Parse reads NAME=x,y,w,h (fractions of the picture) and validates it.
// A star after the name is allowed and dropped.
func Parse(s string) (Region, error) {
	name, box, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return Region{}, fmt.Errorf("%w: %q should read NAME=x,y,width,height, for example teddy=0,0.25,0.5,0.5", ErrBadRegion, short(s))
	}
	parts := strings.Split(box, ",")
	if len(parts) != 4 {
		return Region{}, fmt.Errorf("%w: %q needs four numbers after =: x, y, width and height", ErrBadRegion, short(s))
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return Region{}, fmt.Errorf("%w: %q in %q is not a number", ErrBadRegion, short(p), short(s))
		}
		v[i] = f
	}
	r := Region{Name: strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "*")), X: v[0], Y: v[1], W: v[2], H: v[3]}
	return r, r.Validate()
}

// CheckAll validates a picture's regions: each valid, at most MaxRegions,
// no name twice.
func CheckAll(rs []Region) error {
	if len(rs) > MaxRegions {
		return fmt.Errorf("%w: %d regions; a picture holds at most %d things in boxes", ErrBadRegion, len(rs), MaxRegions)
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if err := r.Validate(); err != nil {
			return err
		}
		if seen[r.Name] {
			return fmt.Errorf("%w: %q has two boxes; give each thing one", ErrBadRegion, r.Name)
		}
		seen[r.Name] = true
	}
	return nil
}

// Coverage is how much of each place of a G×G grid over the picture lies
// inside the box, from 0 to 1 (row-major): the soft edge of region
// steering, so a box that cuts a place in half half-steers it.
func (r Region) Coverage(G int) []float32 {
	out := make([]float32, G*G)
	cell := 1 / float64(G)
	for y := 0; y < G; y++ {
		oy := overlap(float64(y)*cell, float64(y+1)*cell, r.Y, r.Y+r.H) / cell
		for x := 0; x < G; x++ {
			ox := overlap(float64(x)*cell, float64(x+1)*cell, r.X, r.X+r.W) / cell
			out[y*G+x] = float32(ox * oy)
		}
	}
	return out
}

// Centre is the box's centre, as fractions of the picture.
func (r Region) Centre() (x, y float64) { return r.X + r.W/2, r.Y + r.H/2 }

// Contains reports whether the point (fractions of the picture) is inside.
func (r Region) Contains(x, y float64) bool {
	return x >= r.X && x <= r.X+r.W && y >= r.Y && y <= r.Y+r.H
}

func overlap(a0, a1, b0, b1 float64) float64 { return max(0, min(a1, b1)-max(a0, b0)) }

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
