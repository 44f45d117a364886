package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The example photos, relative to this package.
const teddyDir = "../../examples/teddy"

func loadPNGFile(t testing.TB, file string) image.Image {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return img
}

func teddyPhotos(t testing.TB) []image.Image {
	t.Helper()
	var out []image.Image
	for n := 1; n <= ExamplesPerObject; n++ {
		out = append(out, loadPNGFile(t, filepath.Join(teddyDir, fmt.Sprintf("%d.png", n))))
	}
	return out
}

var (
	teddyOnce sync.Once
	teddySet  *ConceptSet
	teddyErr  error
)

// teddyConcept is the concept set of examples/teddy, built once.
func teddyConcept(t testing.TB) *ConceptSet {
	t.Helper()
	a := testAtlas(t)
	imgs := teddyPhotos(t)
	teddyOnce.Do(func() { teddySet, teddyErr = NewConceptSet(a, "teddy", "teddy bear", imgs) })
	if teddyErr != nil {
		t.Fatalf("NewConceptSet: %v", teddyErr)
	}
	return teddySet
}

// compositeOn draws obj at integer offset off, unscaled, over a W×H
// background given per pixel by bg, and returns the image and the true
// alpha (W*H values).
func compositeOn(obj *image.NRGBA, W, H int, off image.Point, bg func(x, y int) color.NRGBA) (*image.NRGBA, []float32) {
	buf := make([]float32, 4*W*H)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			c := bg(x, y)
			p := buf[4*(y*W+x):]
			p[0], p[1], p[2], p[3] = float32(c.R)/255, float32(c.G)/255, float32(c.B)/255, 1
		}
	}
	src := toPremult(obj, obj.Rect)
	src.drawOver(buf, W, H, float64(off.X), float64(off.Y), float64(src.w), float64(src.h), false)
	alpha := make([]float32, W*H)
	for y := 0; y < obj.Rect.Dy(); y++ {
		for x := 0; x < obj.Rect.Dx(); x++ {
			if xx, yy := x+off.X, y+off.Y; xx >= 0 && yy >= 0 && xx < W && yy < H {
				alpha[yy*W+xx] = float32(obj.NRGBAAt(obj.Rect.Min.X+x, obj.Rect.Min.Y+y).A) / 255
			}
		}
	}
	return premultToNRGBA(buf, W, H), alpha
}

// placedAlpha is a cut-out's alpha placed at box in a W×H frame.
func placedAlpha(cut *image.NRGBA, box image.Rectangle, W, H int) []float32 {
	out := make([]float32, W*H)
	for y := 0; y < cut.Rect.Dy(); y++ {
		for x := 0; x < cut.Rect.Dx(); x++ {
			if xx, yy := x+box.Min.X, y+box.Min.Y; xx >= 0 && yy >= 0 && xx < W && yy < H {
				out[yy*W+xx] = float32(cut.Pix[cut.PixOffset(x, y)+3]) / 255
			}
		}
	}
	return out
}

// softIoU is Σmin/Σmax of two soft masks.
func softIoU(p, q []float32) float64 {
	var in, un float64
	for i := range p {
		in += float64(min(p[i], q[i]))
		un += float64(max(p[i], q[i]))
	}
	return in / un
}

func boxClose(got, want image.Rectangle, tol int) bool {
	d := func(a, b int) bool { return a-b <= tol && b-a <= tol }
	return d(got.Min.X, want.Min.X) && d(got.Min.Y, want.Min.Y) && d(got.Max.X, want.Max.X) && d(got.Max.Y, want.Max.Y)
}

func TestConceptExtractComposited(t *testing.T) {
	names := PersonalNames()
	if len(names) == 0 {
		t.Skip("no personal objects in the assets")
	}
	const W, H = 100, 96
	backgrounds := map[string]func(x, y int) color.NRGBA{
		"plain": func(x, y int) color.NRGBA { return color.NRGBA{R: 236, G: 232, B: 224, A: 255} },
		"gradient": func(x, y int) color.NRGBA { // a soft diagonal gradient, as in the example photos
			t := float64(x+y) / float64(W+H)
			return color.NRGBA{R: uint8(215 + 25*t), G: uint8(218 + 10*t), B: uint8(240 - 12*t), A: 255}
		},
	}
	for _, name := range names {
		obj, err := LoadPersonal(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bgName := range []string{"plain", "gradient"} {
			off := image.Pt(17, 13)
			img, alpha := compositeOn(obj, W, H, off, backgrounds[bgName])
			cut, box, err := ExtractObjectBox(img)
			if err != nil {
				t.Errorf("%s on %s: %v", name, bgName, err)
				continue
			}
			want := alphaBounds(obj, trimAlpha).Add(off)
			if !boxClose(box, want, 3) {
				t.Errorf("%s on %s: box %v, true box %v", name, bgName, box, want)
			}
			if cut.Rect.Size() != box.Size() || cut.Rect.Min != (image.Point{}) {
				t.Errorf("%s on %s: cut-out %v for box %v", name, bgName, cut.Rect, box)
			}
			if iou := softIoU(placedAlpha(cut, box, W, H), alpha); iou < 0.9 {
				t.Errorf("%s on %s: mask IoU %.3f with the true alpha", name, bgName, iou)
			} else {
				t.Logf("%s on %s: box %v (true %v), IoU %.3f", name, bgName, box, want, iou)
			}
		}
	}
}

func TestConceptExtractAlpha(t *testing.T) {
	obj, err := LoadPersonal("teddy bear")
	if err != nil {
		t.Skip(err)
	}
	// Put the cut-out inside a larger transparent canvas at an offset.
	canvas := image.NewNRGBA(image.Rect(0, 0, 90, 80))
	off := image.Pt(11, 7)
	for y := 0; y < obj.Rect.Dy(); y++ {
		for x := 0; x < obj.Rect.Dx(); x++ {
			canvas.SetNRGBA(x+off.X, y+off.Y, obj.NRGBAAt(x, y))
		}
	}
	cut, box, err := ExtractObjectBox(canvas)
	if err != nil {
		t.Fatal(err)
	}
	want := alphaBounds(obj, trimAlpha).Add(off).Inset(-cutoutMargin)
	if box != want {
		t.Errorf("box %v, want the alpha box %v", box, want)
	}
	for y := 0; y < cut.Rect.Dy(); y++ {
		for x := 0; x < cut.Rect.Dx(); x++ {
			got := cut.NRGBAAt(x, y)
			src := canvas.NRGBAAt(x+box.Min.X, y+box.Min.Y)
			if got.A != src.A || src.A > 0 && (got.R != src.R || got.G != src.G || got.B != src.B) {
				t.Fatalf("pixel (%d,%d) is %v, the cut-out has %v", x, y, got, src)
			}
		}
	}
	// A fully transparent image has no object.
	if _, err := ExtractObject(image.NewNRGBA(image.Rect(0, 0, 40, 40))); !errors.Is(err, ErrNoObject) {
		t.Errorf("transparent image: %v, want ErrNoObject", err)
	}
}

func TestConceptExtractLargeImage(t *testing.T) {
	obj, err := LoadPersonal("dog")
	if err != nil {
		t.Skip(err)
	}
	// The dog 8× larger (nearest neighbour) on a plain light 800×720 image.
	big := image.NewNRGBA(image.Rect(0, 0, 8*obj.Rect.Dx(), 8*obj.Rect.Dy()))
	for y := 0; y < big.Rect.Dy(); y++ {
		for x := 0; x < big.Rect.Dx(); x++ {
			big.SetNRGBA(x, y, obj.NRGBAAt(x/8, y/8))
		}
	}
	off := image.Pt(150, 110)
	img, _ := compositeOn(big, 800, 720, off, func(x, y int) color.NRGBA { return color.NRGBA{R: 240, G: 240, B: 236, A: 255} })
	cut, box, err := ExtractObjectBox(img)
	if err != nil {
		t.Fatal(err)
	}
	if max(cut.Rect.Dx(), cut.Rect.Dy()) > MaxExtractSide {
		t.Errorf("cut-out %v is larger than MaxExtractSide", cut.Rect)
	}
	want := alphaBounds(big, trimAlpha).Add(off)
	if !boxClose(box, want, 8) {
		t.Errorf("box %v, true box %v", box, want)
	}
}

func TestConceptExtractErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	noise := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			noise.Pix[i] = 255
		}
	}
	_, err := ExtractObject(noise)
	if !errors.Is(err, ErrBusyBackground) {
		t.Errorf("noise: %v, want ErrBusyBackground", err)
	} else {
		t.Logf("noise: %v", err)
	}

	light := color.NRGBA{R: 235, G: 235, B: 230, A: 255}
	plain := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	fill := func(img *image.NRGBA, r image.Rectangle, c color.NRGBA) {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	fill(plain, plain.Rect, light)
	if _, err := ExtractObject(plain); !errors.Is(err, ErrNoObject) {
		t.Errorf("plain image: %v, want ErrNoObject", err)
	}

	// A dark block over the left 45% touches the top, left and bottom:
	// nearly half of the border.
	block := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	fill(block, block.Rect, light)
	fill(block, image.Rect(0, 0, 29, 64), color.NRGBA{R: 30, G: 40, B: 120, A: 255})
	if _, err := ExtractObject(block); !errors.Is(err, ErrObjectFillsFrame) {
		t.Errorf("block at the border: %v, want ErrObjectFillsFrame", err)
	} else {
		t.Logf("block: %v", err)
	}

	// A small object well inside is fine, and the result is deterministic.
	ok := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	fill(ok, ok.Rect, light)
	fill(ok, image.Rect(20, 24, 40, 36), color.NRGBA{R: 200, G: 30, B: 30, A: 255})
	c1, b1, err := ExtractObjectBox(ok)
	if err != nil {
		t.Fatal(err)
	}
	c2, b2, _ := ExtractObjectBox(ok)
	if b1 != image.Rect(19, 23, 41, 37) || b2 != b1 || !bytes.Equal(c1.Pix, c2.Pix) {
		t.Errorf("rectangle: box %v (want (19,23)-(41,37)), repeat %v, same pixels %v", b1, b2, bytes.Equal(c1.Pix, c2.Pix))
	}
	// The colours carry no background halo: every visible pixel is red.
	for i := 0; i < len(c1.Pix); i += 4 {
		if c1.Pix[i+3] > 0 && (c1.Pix[i] != 200 || c1.Pix[i+1] != 30) {
			t.Fatalf("cut-out pixel %v is not the object's colour", c1.Pix[i:i+4])
		}
	}

	if _, err := ExtractObject(image.NewNRGBA(image.Rect(0, 0, 4, 4))); err == nil {
		t.Error("a 4×4 image was accepted")
	}
}

// atlasSnapshot captures what NewConceptSet must not change.
func atlasSnapshot(a *Atlas) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %v %d %p %d\n", len(a.Sprites), a.names, len(a.byName), a.Image, len(a.allowed))
	for i, s := range a.Sprites {
		fmt.Fprintf(&b, "%v %v\n", s, a.allowed[i])
	}
	var sum uint64
	for i, v := range a.Image.Pix {
		sum = sum*31 + uint64(v) + uint64(i)
	}
	fmt.Fprint(&b, sum, a.Image.Rect)
	return b.String()
}

func TestConceptSetTeddy(t *testing.T) {
	a := testAtlas(t)
	before := atlasSnapshot(a)
	imgs := teddyPhotos(t)
	cs, err := NewConceptSet(a, "teddy*", "Teddy  Bear", imgs)
	if err != nil {
		t.Fatal(err)
	}
	if atlasSnapshot(a) != before {
		t.Fatal("NewConceptSet changed the base atlas")
	}
	if cs.Name != "teddy" || cs.Class != "teddy bear" || cs.Token() != "teddy*" || cs.Images() != len(imgs) {
		t.Errorf("set %q %q %q %d", cs.Name, cs.Class, cs.Token(), cs.Images())
	}
	for _, w := range cs.Warnings {
		if strings.Contains(w, "duplicate") {
			t.Errorf("distinct photos flagged: %s", w)
		}
	}
	t.Logf("warnings: %q", cs.Warnings)
	t.Logf("backgrounds: %v", cs.Backgrounds())
	for i, cut := range cs.Cutouts {
		b := alphaBounds(cut, trimAlpha)
		// The teddy fills 50-90% of a 128 photo: 64 to 115 pixels.
		if s := max(b.Dx(), b.Dy()); s < 58 || s > 122 {
			t.Errorf("cut-out %d is %v", i, b)
		}
		if m := cs.Mean(i); m.R < m.B+40 {
			t.Errorf("cut-out %d mean %v is not the teddy's orange-brown", i, m)
		}
	}
	bgs := cs.Backgrounds()
	if len(bgs) < MinAllowedColours {
		t.Errorf("backgrounds %v", bgs)
	}
	for _, c := range bgs {
		rgb, _ := ColourByName(c)
		for i := range cs.Cutouts {
			if d := DeltaE(cs.Mean(i), rgb); d < MinMeanDeltaE && len(bgs) > MinAllowedColours {
				t.Errorf("background %s is ΔE %.1f from cut-out %d", c, d, i)
			}
		}
	}
	// The teddy's mean colour is ΔE ≈ 27 from brown and ≈ 36 from orange.
	if cs.BackgroundAllowed("brown") || cs.BackgroundAllowed("striped brown") || !cs.BackgroundAllowed("orange") {
		t.Errorf("backgrounds of an orange-brown teddy: %v", bgs)
	}

	// A duplicated image, and a mirrored copy, are flagged.
	mirror := toNRGBA(imgs[1])
	mirrored := image.NewNRGBA(mirror.Rect)
	for y := 0; y < mirror.Rect.Dy(); y++ {
		for x := 0; x < mirror.Rect.Dx(); x++ {
			mirrored.SetNRGBA(mirror.Rect.Dx()-1-x, y, mirror.NRGBAAt(x, y))
		}
	}
	dup, err := NewConceptSet(a, "teddy", "teddy bear", []image.Image{imgs[0], imgs[1], imgs[2], imgs[0], mirrored})
	if err != nil {
		t.Fatal(err)
	}
	var flagged []string
	for _, w := range dup.Warnings {
		if strings.Contains(w, "duplicate") {
			flagged = append(flagged, w)
		}
	}
	if len(flagged) != 2 || !strings.Contains(flagged[0], "images 1 and 4") || !strings.Contains(flagged[1], "images 2 and 5") {
		t.Errorf("duplicate warnings %q", flagged)
	}

	// Bad input.
	if _, err := NewConceptSet(a, "teddy", "teddy bear", nil); err == nil {
		t.Error("no images accepted")
	}
	if _, err := NewConceptSet(a, "Ted dy", "teddy bear", imgs); !errors.Is(err, ErrBadPseudo) {
		t.Errorf("bad name: %v", err)
	}
	noise := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	r := rand.New(rand.NewPCG(1, 1))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			noise.Pix[i] = 255
		}
	}
	if _, err := NewConceptSet(a, "teddy", "teddy bear", []image.Image{imgs[0], noise}); !errors.Is(err, ErrBusyBackground) || !strings.Contains(err.Error(), "image 2") {
		t.Errorf("noise image: %v", err)
	}
	if atlasSnapshot(a) != before {
		t.Fatal("NewConceptSet changed the base atlas")
	}
}

// maskCentroid is the centroid of a soft mask, in pixels.
func maskCentroid(m []float32, size int) (x, y, mass float64) {
	for i, v := range m {
		x += float64(v) * (float64(i%size) + 0.5)
		y += float64(v) * (float64(i/size) + 0.5)
		mass += float64(v)
	}
	return x / mass, y / mass, mass
}

func TestConceptScenePositions(t *testing.T) {
	cs := teddyConcept(t)
	for _, size := range []int{32, 48} {
		img := make([]float32, size*size*3)
		mask := make([]float32, size*size)
		for k := range cs.Cutouts {
			colour := cs.Backgrounds()[k%len(cs.Backgrounds())]
			bg, _ := ColourByName(colour)
			for _, pos := range Positions {
				for _, sz := range Sizes {
					s, err := cs.SingleScene(nil, k, pos, sz, k%2 == 1, Background{Colour: colour})
					if err != nil {
						t.Fatal(err)
					}
					cs.Render(s, size, img)
					cs.RenderMask(s, size, mask)
					x, y, mass := maskCentroid(mask, size)
					got := [2]int{third(x, size), third(y, size)}
					if got != wantThirds[pos] {
						t.Errorf("size %d image %d %s %s: mask centroid (%.1f, %.1f) in %v, want %v", size, k, sz, pos, x, y, got, wantThirds[pos])
					}
					// The mask is where the pixels differ from the background.
					fx, fy, n := centroid(fgMask(img, size, bg), size)
					if n == 0 || math.Abs(fx-x) > 1.5 || math.Abs(fy-y) > 1.5 || math.Abs(float64(n)-mass) > 0.25*mass+float64(size)/4 {
						t.Errorf("size %d image %d %s %s: foreground centroid (%.1f, %.1f) n %d, mask (%.1f, %.1f) mass %.0f",
							size, k, sz, pos, fx, fy, n, x, y, mass)
					}
					checkBorder(t, img, size, bg, pos, sz)
				}
			}
		}
	}
}

func TestConceptRandomScenes(t *testing.T) {
	cs := teddyConcept(t)
	a := cs.Base()
	rng := rand.New(rand.NewPCG(7, 8))
	opt := DefaultConceptSceneOptions()
	opt.ScaleJitter = 0.15
	const size = 32
	img := make([]float32, size*size*3)
	mask := make([]float32, size*size)
	pairs, flips, patterns := 0, 0, 0
	usedImages := map[int]int{}
	const n = 1500
	for i := 0; i < n; i++ {
		s := cs.RandomScene(rng, opt)
		usedImages[s.Image]++
		if k, ok := cs.IsConcept(s.Objects[s.Concept]); !ok || k != s.Image {
			t.Fatalf("scene %d: Objects[%d] is not cut-out %d", i, s.Concept, s.Image)
		}
		if s.Background.Pattern != "" {
			patterns++
		}
		if !cs.BackgroundAllowed(s.Background.Colour) {
			t.Fatalf("scene %d: teddy* on %s", i, s.Background)
		}
		for j, p := range s.Objects {
			if p.Flip {
				flips++
			}
			// Every size word stays true, jitter included.
			if (p.Size == "small") != (p.Extent < SmallBigThreshold) {
				t.Fatalf("scene %d object %d: %s with extent %.3f", i, j, p.Size, p.Extent)
			}
			x0, y0, w, h := cs.Box(p, size)
			if x0 < -1e-6 || y0 < -1e-6 || x0+w > size+1e-6 || y0+h > size+1e-6 {
				t.Fatalf("scene %d object %d: box (%.2f %.2f %.2f %.2f) leaves the image", i, j, x0, y0, w, h)
			}
			if j != s.Concept {
				if p.Sprite >= len(a.Sprites) || a.Sprites[p.Sprite].Name == cs.Class {
					t.Fatalf("scene %d: second object %d", i, p.Sprite)
				}
				if !a.BackgroundAllowed(p.Sprite, s.Background.Colour) {
					t.Fatalf("scene %d: %s on %s", i, a.Sprites[p.Sprite].Name, s.Background)
				}
			}
		}
		if len(s.Objects) == 2 {
			pairs++
			checkRelation(t, cs, s, size)
			continue
		}
		if s.Background.Pattern != "" {
			continue
		}
		p := s.Objects[0]
		cs.Render(s, size, img)
		cs.RenderMask(s, size, mask)
		// The box's centre is in the named third (the definition); the
		// mask's centroid is too, give or take 6% of the side (a
		// bottom-heavy teddy at the largest "big" extent at the top has
		// its centroid just below the first third).
		if got := [2]int{third(p.CX*size, size), third(p.CY*size, size)}; got != wantThirds[p.Position] {
			t.Errorf("scene %d (%s %s): box centre (%.2f, %.2f)", i, p.Size, p.Position, p.CX, p.CY)
		}
		x, y, _ := maskCentroid(mask, size)
		slack := 0.06 * size
		lo := func(v float64) int { return third(max(0, v-slack), size) }
		hi := func(v float64) int { return third(min(size-1e-9, v+slack), size) }
		if w := wantThirds[p.Position]; w[0] < lo(x) || w[0] > hi(x) || w[1] < lo(y) || w[1] > hi(y) {
			t.Errorf("scene %d (%s %s): mask centroid (%.1f, %.1f)", i, p.Size, p.Position, x, y)
		}
		bg, _ := ColourByName(s.Background.Colour)
		checkBorder(t, img, size, bg, p.Position, p.Size)
	}
	near := func(got int, want, tol float64) bool { return math.Abs(float64(got)/n-want) < tol }
	if !near(pairs, 0.2, 0.04) || !near(patterns, 0.25, 0.04) {
		t.Errorf("pairs %d, patterns %d of %d", pairs, patterns, n)
	}
	if flips < n*4/10 {
		t.Errorf("only %d flips", flips)
	}
	for k := range cs.Cutouts {
		if c := usedImages[k]; c < n/len(cs.Cutouts)*7/10 {
			t.Errorf("image %d used %d times of %d", k, c, n)
		}
	}
	// Only the allowed images are drawn.
	for i := 0; i < 50; i++ {
		if s := cs.RandomScene(rng, ConceptSceneOptions{Images: []int{3}}); s.Image != 3 || len(s.Objects) != 1 {
			t.Fatalf("Images {3}: scene %+v", s)
		}
	}
}

// checkRelation: the boxes stand as the relation says, and the concept's
// mask is on its side.
func checkRelation(t *testing.T, cs *ConceptSet, s ConceptScene, size int) {
	t.Helper()
	x0, y0, w0, h0 := cs.Box(s.Objects[0], size)
	x1, y1, w1, h1 := cs.Box(s.Objects[1], size)
	ok := true
	switch s.Relation {
	case RelLeftOf:
		ok = x0+w0 < x1
	case RelRightOf:
		ok = x1+w1 < x0
	case RelAbove:
		ok = y0+h0 < y1
	case RelBelow:
		ok = y1+h1 < y0
	case RelNextTo:
		ok = x0+w0 < x1 || x1+w1 < x0
	}
	if !ok {
		t.Fatalf("%s: boxes (%.1f %.1f %.1f %.1f) and (%.1f %.1f %.1f %.1f)", s.Relation, x0, y0, w0, h0, x1, y1, w1, h1)
	}
	mask := make([]float32, size*size)
	cs.RenderMask(s, size, mask)
	cx, cy, _ := maskCentroid(mask, size)
	bx, by, bw, bh := cs.Box(s.Objects[s.Concept], size)
	if cx < bx || cx > bx+bw || cy < by || cy > by+bh {
		t.Fatalf("the concept's mask centroid (%.1f, %.1f) is outside its box", cx, cy)
	}
	// Nothing of the mask lies in the other object's box.
	ox, oy, ow, oh := cs.Box(s.Objects[1-s.Concept], size)
	for y := int(math.Ceil(oy)); y < int(oy+oh); y++ {
		for x := int(math.Ceil(ox)); x < int(ox+ow); x++ {
			if mask[y*size+x] > 0.02 {
				t.Fatalf("mask %.2f at (%d,%d) inside the other object's box", mask[y*size+x], x, y)
			}
		}
	}
}

func TestConceptCaptions(t *testing.T) {
	cs := teddyConcept(t)
	a := testAtlas(t)
	tok := NewTokenizer(a, DefaultReserved)
	id, err := tok.BindPseudoWord(cs.Name)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	singles, nameOnly := 0, 0
	for i := 0; i < 4000; i++ {
		s := cs.RandomScene(rng, DefaultConceptSceneOptions())
		c, st := cs.Describe(s, rng)
		if strings.Count(c, "teddy*") != 1 || strings.Contains(c, "teddy bear") {
			t.Fatalf("caption %q", c)
		}
		ids, unknown, err := tok.Encode(c, MaxCaptionTokens)
		if err != nil {
			t.Fatalf("%q: %v (unknown %v)", c, err, unknown)
		}
		if !slices.Contains(ids, id) {
			t.Fatalf("%q: ids %v lack teddy* (%d)", c, ids, id)
		}
		if len(s.Objects) == 1 {
			singles++
			if c == "a teddy*" {
				nameOnly++
			}
			if st.Position != strings.Contains(c, PositionPhrase(s.Objects[0].Position)) {
				t.Fatalf("%q: stated position %v", c, st.Position)
			}
		} else if !strings.Contains(c, RelationPhrase(s.Relation)) {
			t.Fatalf("%q: no relation %q", c, s.Relation)
		}
		if st.Background != strings.Contains(c, backgroundPhrase(s.Background)) {
			t.Fatalf("%q: stated background %v", c, st.Background)
		}
	}
	// The base grammar's share of bare names (pNameOnly), plus the few
	// captions that state nothing by chance.
	share := float64(nameOnly) / float64(singles)
	want := pNameOnly + (1-pNameOnly)*(1-pSize)*(1-pPosition)*(1-pBackground)
	if math.Abs(share-want) > 0.025 {
		t.Errorf("bare captions %.3f of singles, want %.3f", share, want)
	}
}

func TestConceptDeterminism(t *testing.T) {
	a := testAtlas(t)
	imgs := teddyPhotos(t)[:3]
	cs1, err := NewConceptSet(a, "teddy", "teddy bear", imgs)
	if err != nil {
		t.Fatal(err)
	}
	cs2, err := NewConceptSet(a, "teddy", "teddy bear", imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cs1.Cutouts {
		if !bytes.Equal(cs1.Cutouts[i].Pix, cs2.Cutouts[i].Pix) {
			t.Fatalf("cut-out %d differs between two runs", i)
		}
	}
	run := func(cs *ConceptSet) ([]string, []float32) {
		rng := rand.New(rand.NewPCG(42, 43))
		smp := cs.Sampler(32, DefaultConceptSceneOptions())
		var caps []string
		var pix []float32
		for i := 0; i < 40; i++ {
			img := make([]float32, 32*32*3)
			mask := make([]float32, 32*32)
			caps = append(caps, smp.SampleMasked(rng, img, mask))
			pix = append(pix, img...)
			pix = append(pix, mask...)
		}
		return caps, pix
	}
	c1, p1 := run(cs1)
	c2, p2 := run(cs2)
	if !slices.Equal(c1, c2) || !slices.Equal(p1, p2) {
		t.Fatal("the same seed gave different scenes")
	}
	for _, v := range p1 {
		if v < -1 || v > 1 || math.IsNaN(float64(v)) {
			t.Fatalf("value %v out of range", v)
		}
	}
}

func TestConceptPrompts(t *testing.T) {
	a := testAtlas(t)
	tok := NewTokenizer(a, DefaultReserved)
	if _, err := tok.BindPseudoWord("teddy"); err != nil {
		t.Fatal(err)
	}
	ps := ConceptPrompts("teddy", "teddy bear")
	if len(ps) < 20 || len(ps) > 28 {
		t.Fatalf("%d prompts", len(ps))
	}
	if !slices.Equal(ps, ConceptPrompts("teddy", "teddy bear")) {
		t.Fatal("prompts differ between calls")
	}
	teddy := a.SpritesNamed("teddy bear")[0]
	seen := map[string]bool{}
	kinds := map[string]int{}
	for _, p := range ps {
		if seen[p.Text] {
			t.Errorf("prompt %q twice", p.Text)
		}
		seen[p.Text] = true
		kinds[p.Kind]++
		if _, _, err := tok.Encode(p.Text, MaxCaptionTokens); err != nil {
			t.Errorf("%q: %v", p.Text, err)
		}
		if !strings.Contains(p.Text, "teddy*") {
			t.Errorf("%q lacks the pseudo-word", p.Text)
		}
		if p.Colour != "" {
			if !a.BackgroundAllowed(teddy, p.Colour) {
				t.Errorf("%q: a teddy bear may not be on %s", p.Text, p.Colour)
			}
			if !strings.Contains(p.Text, backgroundPhrase(Background{Colour: p.Colour, Pattern: p.Pattern})) {
				t.Errorf("%q does not state %s %s", p.Text, p.Pattern, p.Colour)
			}
		}
		if p.Position != "" && !strings.Contains(p.Text, PositionPhrase(p.Position)) {
			t.Errorf("%q does not state %s", p.Text, p.Position)
		}
		if p.Size != "" && !strings.Contains(p.Text, p.Size+" teddy*") {
			t.Errorf("%q does not state %s", p.Text, p.Size)
		}
		if p.Other != "" {
			if !strings.Contains(p.Text, "teddy* "+RelationPhrase(p.Relation)+" a "+p.Other) {
				t.Errorf("%q does not state teddy* %s %s", p.Text, p.Relation, p.Other)
			}
			if p.Colour != "" && !a.BackgroundAllowed(a.SpritesNamed(p.Other)[0], p.Colour) {
				t.Errorf("%q: %s may not be on %s", p.Text, p.Other, p.Colour)
			}
		}
	}
	for _, k := range []string{"name", "background", "pattern", "position", "size", "combined", "relation"} {
		if kinds[k] == 0 {
			t.Errorf("no %s prompt", k)
		}
	}
	// An unknown class: every colour may appear; a class that is an
	// object never gets itself as the second object.
	if cups := ConceptPrompts("mug", "cup"); slices.ContainsFunc(cups, func(p ConceptPrompt) bool { return p.Other == "cup" }) {
		t.Error("a cup* is put next to a cup")
	}
	// The set's own prompts encode too.
	cs := teddyConcept(t)
	for _, p := range cs.Prompts() {
		if _, _, err := tok.Encode(p.Text, MaxCaptionTokens); err != nil {
			t.Errorf("%q: %v", p.Text, err)
		}
		if p.Colour != "" && !cs.BackgroundAllowed(p.Colour) {
			t.Errorf("%q: not a background of this teddy", p.Text)
		}
	}
}

// writeConceptGrid renders 16 concept scenes with captions and writes them
// to dir/concept_grid.png.
func writeConceptGrid(t *testing.T, cs *ConceptSet, dir string) string {
	t.Helper()
	img, caps := cs.SampleGrid(rand.New(rand.NewPCG(2025, 12)), 4, 4, 32, 4, DefaultConceptSceneOptions())
	if len(caps) != 16 || img.Rect.Dx() < 4*128 {
		t.Fatalf("grid %v, %d captions", img.Rect, len(caps))
	}
	file := filepath.Join(dir, "concept_grid.png")
	if err := writePNG(file, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "concept_grid.txt"), []byte(strings.Join(caps, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestConceptGrid(t *testing.T) {
	cs := teddyConcept(t)
	dir := t.TempDir()
	if d := os.Getenv("CONCEPTSTUDIO_GRID_DIR"); d != "" {
		dir = d
	}
	file := writeConceptGrid(t, cs, dir)
	back := loadPNGFile(t, file)
	if back.Bounds().Dx() < 4*128 {
		t.Fatalf("grid PNG is %v", back.Bounds())
	}
}
