package dataset

import (
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	atlasOnce sync.Once
	atlasVal  *Atlas
	atlasErr  error
)

// testAtlas loads the embedded atlas once for all tests.
func testAtlas(t testing.TB) *Atlas {
	t.Helper()
	atlasOnce.Do(func() { atlasVal, atlasErr = LoadAtlas() })
	if atlasErr != nil {
		t.Fatalf("LoadAtlas: %v", atlasErr)
	}
	return atlasVal
}

func mustSprite(t testing.TB, a *Atlas, name, style string) int {
	t.Helper()
	i, ok := a.Sprite(name, style)
	if !ok {
		t.Fatalf("no sprite %q in style %s", name, style)
	}
	return i
}

func TestEmojiList(t *testing.T) {
	grammar := map[string]bool{}
	for _, w := range GrammarWords() {
		grammar[w] = true
	}
	cats := map[string]bool{CatAnimals: true, CatFood: true, CatObjects: true, CatTravel: true, CatActivities: true}
	names := map[string]bool{}
	words := map[string]string{}
	for _, e := range Emojis {
		for _, w := range strings.Fields(e.Name) {
			if other, dup := words[w]; dup {
				t.Errorf("the word %q is in both %q and %q", w, other, e.Name)
			}
			words[w] = e.Name
		}
		if !validName(e.Name) || len(strings.Fields(e.Name)) > 2 {
			t.Errorf("%q: a name is one or two lower-case words", e.Name)
		}
		if names[e.Name] {
			t.Errorf("%q twice", e.Name)
		}
		names[e.Name] = true
		for _, w := range strings.Fields(e.Name) {
			if grammar[w] {
				t.Errorf("%q uses the grammar word %q", e.Name, w)
			}
		}
		if !cats[e.Category] {
			t.Errorf("%q: category %q is not one of the five", e.Name, e.Category)
		}
	}
	for _, r := range RequiredNames {
		if !names[r] {
			t.Errorf("required super-category %q is not in the list", r)
		}
	}
	for _, p := range PersonalObjects {
		if !names[p.Name] {
			t.Errorf("personal object %q has no super-category in the list", p.Name)
		}
	}
}

func TestAtlasLoads(t *testing.T) {
	a := testAtlas(t)
	// The committed atlas must follow the list in emoji.go.
	if got, want := len(a.Sprites), len(Emojis)*len(Styles); got != want {
		t.Fatalf("atlas has %d sprites, the list needs %d: rebuild with `go generate ./engine/dataset`", got, want)
	}
	for i, e := range Emojis {
		for j, style := range Styles {
			s := a.Sprites[i*len(Styles)+j]
			if s.Name != e.Name || s.Code != e.Code || s.Style != style || s.Category != e.Category || s.Plural != e.Plural {
				t.Fatalf("sprite %d is %+v, the list says %+v/%s: rebuild the atlas", s.Index, s, e, style)
			}
		}
	}
	for _, name := range RequiredNames {
		for _, style := range Styles {
			i := mustSprite(t, a, name, style)
			s := a.Sprites[i]
			if s.Rect.Dx() < 8 || s.Rect.Dy() < 8 || max(s.Rect.Dx(), s.Rect.Dy()) != a.CellPx {
				t.Errorf("%s/%s: rect %v is not fitted to the %d cell", name, style, s.Rect, a.CellPx)
			}
			// Trimmed: every edge row/column of the rect has a visible pixel.
			img := a.SpriteImage(i)
			if b := alphaBounds(img, 0); b != img.Rect {
				t.Errorf("%s/%s: visible box %v, rect %v: not trimmed", name, style, b, img.Rect)
			}
		}
	}
	if got := PersonalNames(); len(got) != len(PersonalObjects) {
		t.Errorf("personal objects %v, want all of %d", got, len(PersonalObjects))
	}
	for _, p := range PersonalObjects {
		img, err := LoadPersonal(p.Name)
		if err != nil {
			t.Fatal(err)
		}
		if img.Rect.Dx() != PersonalSize || img.Rect.Dy() != PersonalSize {
			t.Errorf("%s: %v, want %d×%d", p.Name, img.Rect, PersonalSize, PersonalSize)
		}
	}
	if _, err := LoadPersonal("unicorn"); err == nil {
		t.Error("LoadPersonal(unicorn) did not fail")
	}
}

func TestAssetsAreSmall(t *testing.T) {
	var total int64
	filepath.Walk("assets", func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			total += info.Size()
		}
		return nil
	})
	if total > 3<<20 {
		t.Errorf("assets take %d bytes, more than 3 MB", total)
	}
}

// fgMask marks the pixels of an NHWC [-1,1] render that differ from bg.
func fgMask(img []float32, size int, bg color.NRGBA) []bool {
	m := make([]bool, size*size)
	want := [3]float32{float32(bg.R)/127.5 - 1, float32(bg.G)/127.5 - 1, float32(bg.B)/127.5 - 1}
	for i := range m {
		for c := 0; c < 3; c++ {
			if d := img[3*i+c] - want[c]; d > 0.06 || d < -0.06 {
				m[i] = true
			}
		}
	}
	return m
}

func centroid(m []bool, size int) (x, y float64, n int) {
	for i, on := range m {
		if on {
			x += float64(i%size) + 0.5
			y += float64(i/size) + 0.5
			n++
		}
	}
	if n == 0 {
		return -1, -1, 0
	}
	return x / float64(n), y / float64(n), n
}

// third is 0, 1, 2 for the first, middle, last third of [0, size).
func third(v float64, size int) int {
	return min(2, int(3*v/float64(size)))
}

// wantThirds is the (column, row) third each position puts the object in.
var wantThirds = map[string][2]int{
	"left": {0, 1}, "right": {2, 1}, "top": {1, 0}, "bottom": {1, 2}, "centre": {1, 1},
	"top left": {0, 0}, "top right": {2, 0}, "bottom left": {0, 2}, "bottom right": {2, 2},
}

func allowedColour(t *testing.T, a *Atlas, sprite int, prefer ...string) (string, color.NRGBA) {
	t.Helper()
	for _, c := range append(prefer, a.AllowedBackgrounds(sprite)...) {
		if a.BackgroundAllowed(sprite, c) {
			rgb, _ := ColourByName(c)
			return c, rgb
		}
	}
	t.Fatalf("sprite %d allows no background", sprite)
	return "", color.NRGBA{}
}

func TestRenderPosition(t *testing.T) {
	a := testAtlas(t)
	r := NewRenderer(a)
	for _, size := range []int{32, 48} {
		for _, name := range []string{"football", "teapot", "koala"} {
			for _, style := range Styles {
				sp := mustSprite(t, a, name, style)
				cname, bg := allowedColour(t, a, sp, "blue", "green")
				for _, pos := range Positions {
					for _, sz := range Sizes {
						p, err := a.PlaceSingle(nil, sp, pos, sz, false)
						if err != nil {
							t.Fatal(err)
						}
						s := Scene{Objects: []Placed{p}, Background: Background{Colour: cname}}
						img := make([]float32, size*size*3)
						r.Render(s, size, img)
						x, y, n := centroid(fgMask(img, size, bg), size)
						if n == 0 {
							t.Fatalf("%s %s %s %s: nothing drawn", name, style, pos, sz)
						}
						got := [2]int{third(x, size), third(y, size)}
						if got != wantThirds[pos] {
							t.Errorf("size %d, %s/%s %s %s: centroid (%.1f, %.1f) in third %v, want %v",
								size, name, style, sz, pos, x, y, got, wantThirds[pos])
						}
						// The border on the side away from the object is background.
						checkBorder(t, img, size, bg, pos, sz)
					}
				}
			}
		}
	}
}

// checkBorder: for a small centred object the whole border is exactly the
// background; otherwise the border row or column opposite the position is.
func checkBorder(t *testing.T, img []float32, size int, bg color.NRGBA, pos, sz string) {
	t.Helper()
	want := [3]float32{float32(bg.R)/255*2 - 1, float32(bg.G)/255*2 - 1, float32(bg.B)/255*2 - 1}
	var pts []image.Point
	for i := 0; i < size; i++ {
		if pos == "centre" && sz == "small" {
			pts = append(pts, image.Pt(i, 0), image.Pt(i, size-1), image.Pt(0, i), image.Pt(size-1, i))
		}
		if strings.Contains(pos, "left") {
			pts = append(pts, image.Pt(size-1, i))
		}
		if strings.Contains(pos, "right") {
			pts = append(pts, image.Pt(0, i))
		}
		if strings.Contains(pos, "top") {
			pts = append(pts, image.Pt(i, size-1))
		}
		if strings.Contains(pos, "bottom") {
			pts = append(pts, image.Pt(i, 0))
		}
	}
	for _, p := range pts {
		k := 3 * (p.Y*size + p.X)
		for c := 0; c < 3; c++ {
			if d := img[k+c] - want[c]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("%s %s: border pixel %v channel %d is %v, background %v", sz, pos, p, c, img[k+c], want[c])
			}
		}
	}
}

func TestRenderRangeAndRenderImage(t *testing.T) {
	a := testAtlas(t)
	r := NewRenderer(a)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50; i++ {
		s := a.RandomScene(rng, DefaultSceneOptions())
		img := make([]float32, 32*32*3)
		r.Render(s, 32, img)
		pic := r.RenderImage(s, 32)
		for k, v := range img {
			if v < -1 || v > 1 || math.IsNaN(float64(v)) {
				t.Fatalf("value %v out of [-1,1]", v)
			}
			px := pic.Pix[4*(k/3)+k%3]
			if d := math.Abs(float64(px) - float64(unit8((v+1)/2))); d > 1 {
				t.Fatalf("RenderImage differs from Render at %d: %d vs %v", k, px, v)
			}
		}
	}
}

func TestFlipKeepsLeftRight(t *testing.T) {
	a := testAtlas(t)
	r := NewRenderer(a)
	for _, name := range []string{"car", "dog", "teapot"} {
		sp := mustSprite(t, a, name, StyleTwemoji)
		cname, bg := allowedColour(t, a, sp, "white", "blue")
		// Centred exactly: the flipped render is the mirror image.
		p, _ := a.PlaceSingle(nil, sp, "centre", "big", false)
		p.CX = 0.5
		q := p
		q.Flip = true
		const n = 32
		plain := make([]float32, n*n*3)
		flipped := make([]float32, n*n*3)
		r.Render(Scene{Objects: []Placed{p}, Background: Background{Colour: cname}}, n, plain)
		r.Render(Scene{Objects: []Placed{q}, Background: Background{Colour: cname}}, n, flipped)
		differs := false
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				for c := 0; c < 3; c++ {
					u, v := plain[3*(y*n+x)+c], flipped[3*(y*n+n-1-x)+c]
					if math.Abs(float64(u-v)) > 1e-4 {
						t.Fatalf("%s: flipped pixel (%d,%d) %v, mirror of unflipped %v", name, x, y, v, u)
					}
					if math.Abs(float64(u-flipped[3*(y*n+x)+c])) > 0.1 {
						differs = true
					}
				}
			}
		}
		if !differs {
			t.Errorf("%s: flip changed nothing (sprite symmetric?)", name)
		}
		// A flipped sprite on the left stays on the left.
		for _, pos := range []string{"left", "right"} {
			p, _ := a.PlaceSingle(nil, sp, pos, "big", true)
			img := make([]float32, n*n*3)
			r.Render(Scene{Objects: []Placed{p}, Background: Background{Colour: cname}}, n, img)
			x, _, _ := centroid(fgMask(img, n, bg), n)
			if third(x, n) != wantThirds[pos][0] {
				t.Errorf("%s flipped %s: centroid x %.1f", name, pos, x)
			}
		}
	}
}

func TestRelationsHold(t *testing.T) {
	a := testAtlas(t)
	r := NewRenderer(a)
	rng := rand.New(rand.NewPCG(7, 7))
	opt := DefaultSceneOptions()
	opt.PairProb = 1
	const n = 32
	seen := map[string]int{}
	for i := 0; i < 1500; i++ {
		s := a.RandomScene(rng, opt)
		if len(s.Objects) != 2 {
			t.Fatalf("PairProb 1 gave %d objects", len(s.Objects))
		}
		if a.Sprites[s.Objects[0].Sprite].Name == a.Sprites[s.Objects[1].Sprite].Name {
			t.Fatalf("a pair of the same name: %+v", s)
		}
		seen[s.Relation]++
		bgc, _ := ColourByName(s.Background.Colour)
		var cx, cy [2]float64
		var box [2][4]float64
		for k, p := range s.Objects {
			// Render each object alone on a plain background for its mask.
			img := make([]float32, n*n*3)
			r.Render(Scene{Objects: []Placed{p}, Background: Background{Colour: s.Background.Colour}}, n, img)
			x, y, cnt := centroid(fgMask(img, n, bgc), n)
			if cnt == 0 {
				t.Fatalf("object %d not drawn", k)
			}
			cx[k], cy[k] = x, y
			x0, y0, w, h := a.Box(p, n)
			box[k] = [4]float64{x0, y0, x0 + w, y0 + h}
			if x0 < -1e-9 || y0 < -1e-9 || x0+w > n+1e-9 || y0+h > n+1e-9 {
				t.Fatalf("box %v leaves the image", box[k])
			}
		}
		left, right := 0, 1
		switch s.Relation {
		case RelRightOf:
			left, right = 1, 0
		case RelNextTo:
			if cx[0] > cx[1] {
				left, right = 1, 0
			}
		}
		switch s.Relation {
		case RelLeftOf, RelRightOf, RelNextTo:
			if !(cx[left] < cx[right]) || box[left][2] >= box[right][0] {
				t.Fatalf("%s: left object x %.1f box %v, right object x %.1f box %v", s.Relation, cx[left], box[left], cx[right], box[right])
			}
			if s.Objects[left].Position != "left" || s.Objects[right].Position != "right" {
				t.Fatalf("%s: positions %q, %q", s.Relation, s.Objects[left].Position, s.Objects[right].Position)
			}
		case RelAbove, RelBelow:
			top, bottom := 0, 1
			if s.Relation == RelBelow {
				top, bottom = 1, 0
			}
			if !(cy[top] < cy[bottom]) || box[top][3] >= box[bottom][1] {
				t.Fatalf("%s: top object y %.1f box %v, bottom y %.1f box %v", s.Relation, cy[top], box[top], cy[bottom], box[bottom])
			}
		default:
			t.Fatalf("unknown relation %q", s.Relation)
		}
		for k, p := range s.Objects {
			if (p.Size == "small") != (p.Extent < SmallBigThreshold) {
				t.Fatalf("object %d: size %s, extent %.2f", k, p.Size, p.Extent)
			}
		}
	}
	for _, rel := range Relations {
		if seen[rel] == 0 {
			t.Errorf("relation %q never drawn", rel)
		}
	}
}

// synthAtlas is an in-memory atlas of flat-coloured sprites.
func synthAtlas(t *testing.T, fills ...color.NRGBA) *Atlas {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 16*len(fills), 16))
	aj := atlasJSON{Version: 1, Cell: 16, Width: img.Rect.Dx(), Height: 16}
	for i, c := range fills {
		for y := 2; y < 14; y++ {
			for x := 16*i + 1; x < 16*i+15; x++ {
				img.SetNRGBA(x, y, c)
			}
		}
		name := []string{"alpha", "beta", "gamma", "delta"}[i]
		aj.Sprites = append(aj.Sprites, spriteJSON{Name: name, Code: "0", Category: CatObjects, Style: StyleTwemoji,
			Rect: [4]int{16*i + 1, 2, 14, 12}, Cell: [4]int{16 * i, 0, 16, 16}})
	}
	a, err := newAtlas(&aj, img)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestBackgroundRejection(t *testing.T) {
	// A sprite never gets a background equal to its own mean colour.
	teal, _ := ColourByName("teal")
	nearOrange := color.NRGBA{R: 235, G: 135, B: 45, A: 255}
	sa := synthAtlas(t, teal, nearOrange)
	if sa.Sprites[0].Mean != teal {
		t.Fatalf("mean of a flat teal sprite is %v", sa.Sprites[0].Mean)
	}
	if sa.BackgroundAllowed(0, "teal") || sa.BackgroundAllowed(0, "striped teal") {
		t.Error("a teal sprite may have a teal background")
	}
	if !sa.BackgroundAllowed(0, "yellow") || !sa.BackgroundAllowed(0, "pink") {
		t.Error("a teal sprite may not have yellow or pink")
	}
	if sa.BackgroundAllowed(1, "orange") || sa.BackgroundAllowed(1, "orange gradient") {
		t.Error("an almost-orange sprite may have orange")
	}
	if sa.BackgroundAllowed(0, "mauve") || sa.BackgroundAllowed(7, "blue") {
		t.Error("unknown colour or sprite allowed")
	}

	a := testAtlas(t)
	for _, style := range Styles {
		tent := mustSprite(t, a, "tent", style)
		if a.BackgroundAllowed(tent, "orange") {
			t.Errorf("a %s tent may have an orange background", style)
		}
	}
	for i, s := range a.Sprites {
		allowed := a.AllowedBackgrounds(i)
		if len(allowed) < MinAllowedColours {
			t.Errorf("%s/%s allows only %v", s.Name, s.Style, allowed)
		}
		for _, c := range Colours {
			if DeltaE(s.Mean, c.RGB) < MinMeanDeltaE && a.BackgroundAllowed(i, c.Name) && len(allowed) > MinAllowedColours {
				t.Errorf("%s/%s (mean %v) allows %s, ΔE %.1f", s.Name, s.Style, s.Mean, c.Name, DeltaE(s.Mean, c.RGB))
			}
		}
		// Both styles of a name agree.
		for _, j := range a.SpritesNamed(s.Name) {
			if !slices.Equal(allowed, a.AllowedBackgrounds(j)) {
				t.Errorf("%s: styles allow different backgrounds", s.Name)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		s := a.RandomScene(rng, DefaultSceneOptions())
		for _, p := range s.Objects {
			if !a.BackgroundAllowed(p.Sprite, s.Background.Colour) {
				t.Fatalf("RandomScene drew %s on %s", a.Sprites[p.Sprite].Name, s.Background)
			}
		}
	}
}

func TestCaptionsUseVocabulary(t *testing.T) {
	a := testAtlas(t)
	tok := NewTokenizer(a, DefaultReserved)
	rng := rand.New(rand.NewPCG(11, 12))
	longest := 0
	stated := map[string]int{}
	for i := 0; i < 10000; i++ {
		s := a.RandomScene(rng, DefaultSceneOptions())
		c, st := Describe(a, s, rng)
		ids, unknown, err := tok.Encode(c, MaxCaptionTokens)
		if err != nil || len(unknown) > 0 {
			t.Fatalf("%q: %v (unknown %v)", c, err, unknown)
		}
		if len(ids) != MaxCaptionTokens || ids[0] != StartID {
			t.Fatalf("%q: ids %v", c, ids)
		}
		if got := tok.Decode(ids); got != strings.Join(Words(c), " ") {
			t.Fatalf("Decode(Encode(%q)) = %q", c, got)
		}
		longest = max(longest, len(Words(c))+2)
		// What the caption states is true of the scene.
		for _, p := range s.Objects {
			if !strings.Contains(c, a.Sprites[p.Sprite].Name) {
				t.Fatalf("%q does not name %s", c, a.Sprites[p.Sprite].Name)
			}
		}
		if st.Background != strings.Contains(c, s.Background.String()+" background") {
			t.Fatalf("%q: stated background %v, scene %s", c, st.Background, s.Background)
		}
		if len(s.Objects) == 1 && st.Position != strings.Contains(c, PositionPhrase(s.Objects[0].Position)) {
			t.Fatalf("%q: stated position %v, scene %s", c, st.Position, s.Objects[0].Position)
		}
		if len(s.Objects) == 2 && !strings.Contains(c, " "+RelationPhrase(s.Relation)+" ") {
			t.Fatalf("%q: relation %s not stated", c, s.Relation)
		}
		for k, p := range s.Objects {
			if st.Size[k] && !strings.Contains(c, p.Size+" "+a.Sprites[p.Sprite].Name) {
				t.Fatalf("%q: size %s of object %d not stated", c, p.Size, k)
			}
		}
		if st.Size[0] || st.Size[1] {
			stated["size"]++
		}
		if st.Position {
			stated["position"]++
		}
		if st.Background {
			stated["background"]++
		}
		if len(Words(c)) <= 3 && len(s.Objects) == 1 {
			stated["name only"]++
		}
	}
	t.Logf("longest caption: %d tokens; stated: %v", longest, stated)
	for _, k := range []string{"size", "position", "background", "name only"} {
		if stated[k] < 500 {
			t.Errorf("captions rarely state %s (%d of 10000)", k, stated[k])
		}
	}
	// The vocabulary is exactly the grammar's: every word is reachable.
	for _, w := range tok.Vocab()[3:] {
		if w == reservedToken {
			continue
		}
		if _, ok := tok.ID(w); !ok {
			t.Errorf("vocabulary word %q has no id", w)
		}
	}
}

func TestTokenizer(t *testing.T) {
	a := testAtlas(t)
	tok := NewTokenizer(a, 4)
	v := tok.Vocab()
	if v[PadID] != "<pad>" || v[StartID] != "<start>" || v[EndID] != "<end>" {
		t.Fatalf("specials: %v", v[:3])
	}
	first, n := tok.Reserved()
	if n != 4 || first+n != len(v) || tok.Size() != len(v) {
		t.Fatalf("reserved %d+%d of %d", first, n, len(v))
	}
	for _, w := range []string{"a", "an", "the", "of", "on", "in", "teddy", "bear", "teal", "checkered"} {
		if _, ok := tok.ID(w); !ok {
			t.Errorf("%q not in the vocabulary", w)
		}
	}

	// Punctuation and case are dropped; padding follows the end.
	ids, unk, err := tok.Encode("A Dog, on the LEFT!", 8)
	if err != nil || unk != nil {
		t.Fatal(err, unk)
	}
	if len(ids) != 8 || ids[0] != StartID || ids[6] != EndID || ids[7] != PadID || tok.Decode(ids) != "a dog on the left" {
		t.Fatalf("ids %v decode %q", ids, tok.Decode(ids))
	}

	// Unknown words are reported, all of them, never dropped.
	_, unk, err = tok.Encode("a dog on a mauve background with a unicorn", 0)
	if !errors.Is(err, ErrUnknownWords) || !slices.Equal(unk, []string{"mauve", "with", "unicorn"}) {
		t.Fatalf("err %v unknown %v", err, unk)
	}
	// Too long.
	if _, _, err := tok.Encode("a dog on the left on a blue background", 6); !errors.Is(err, ErrTooLong) {
		t.Fatalf("too long: %v", err)
	}

	// Pseudo-words: unknown until bound.
	if _, unk, err := tok.Encode("a teddy* on a blue background", 0); !errors.Is(err, ErrUnknownWords) || !slices.Equal(unk, []string{"teddy*"}) {
		t.Fatalf("unbound pseudo-word: %v %v", err, unk)
	}
	id, err := tok.BindPseudoWord("teddy")
	if err != nil || id != first {
		t.Fatalf("bind: %d %v", id, err)
	}
	if again, _ := tok.BindPseudoWord("Teddy*"); again != id {
		t.Errorf("rebinding gave %d, want %d", again, id)
	}
	ids, _, err = tok.Encode("a teddy* on a blue background", MaxCaptionTokens)
	if err != nil || !slices.Contains(ids, id) {
		t.Fatalf("bound pseudo-word: %v %v", ids, err)
	}
	if got := tok.Decode(ids); got != "a teddy* on a blue background" {
		t.Errorf("decode %q", got)
	}
	if tok.Vocab()[id] != "teddy*" {
		t.Errorf("vocab[%d] = %q", id, tok.Vocab()[id])
	}
	for _, bad := range []string{"", "*", "two words", "9lives", "ted-dy"} {
		if _, err := tok.BindPseudoWord(bad); !errors.Is(err, ErrBadPseudo) {
			t.Errorf("BindPseudoWord(%q): %v", bad, err)
		}
	}
	for _, name := range []string{"pot", "rex", "mug"} {
		if _, err := tok.BindPseudoWord(name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tok.BindPseudoWord("extra"); !errors.Is(err, ErrNoFreeSlot) {
		t.Fatalf("fifth binding of 4: %v", err)
	}
	// Saved vocabulary round trip, bindings included.
	tok2, err := NewTokenizerFromVocab(tok.Vocab())
	if err != nil {
		t.Fatal(err)
	}
	if id2, ok := tok2.ID("teddy*"); !ok || id2 != id {
		t.Errorf("reloaded teddy* = %d, %v", id2, ok)
	}
	if !tok.UnbindPseudoWord("rex") {
		t.Error("unbind failed")
	}
	if id3, err := tok.BindPseudoWord("extra"); err != nil || tok.Vocab()[id3] != "extra*" {
		t.Errorf("bind after unbind: %d %v", id3, err)
	}
	if _, err := NewTokenizerFromVocab([]string{"a", "b"}); err == nil {
		t.Error("bad vocabulary accepted")
	}
}

func TestDeterminism(t *testing.T) {
	a := testAtlas(t)
	r := NewRenderer(a)
	run := func() ([]Scene, []string, []float32) {
		rng := rand.New(rand.NewPCG(42, 43))
		var scenes []Scene
		var caps []string
		var pix []float32
		for i := 0; i < 200; i++ {
			s := a.RandomScene(rng, DefaultSceneOptions())
			scenes = append(scenes, s)
			caps = append(caps, Caption(a, s, rng))
			img := make([]float32, 32*32*3)
			r.Render(s, 32, img)
			pix = append(pix, img...)
		}
		return scenes, caps, pix
	}
	s1, c1, p1 := run()
	s2, c2, p2 := run()
	if !reflect.DeepEqual(s1, s2) || !slices.Equal(c1, c2) || !slices.Equal(p1, p2) {
		t.Fatal("the same seed gave different scenes, captions or pixels")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	s3 := a.RandomScene(rng, DefaultSceneOptions())
	if reflect.DeepEqual(s1[0], s3) {
		t.Error("different seeds gave the same first scene")
	}
}

func TestSceneOptions(t *testing.T) {
	a := testAtlas(t)
	rng := rand.New(rand.NewPCG(5, 6))
	dog := mustSprite(t, a, "dog", StyleNoto)
	cat := mustSprite(t, a, "cat", StyleNoto)
	opt := SceneOptions{Styles: []string{StyleTwemoji}}
	pairs, patterns := 0, 0
	for i := 0; i < 500; i++ {
		s := a.RandomScene(rng, opt)
		if len(s.Objects) != 1 || s.Background.Pattern != "" || a.Sprites[s.Objects[0].Sprite].Style != StyleTwemoji || s.Objects[0].Flip {
			t.Fatalf("options not kept: %+v", s)
		}
		s = a.RandomScene(rng, SceneOptions{Sprites: []int{dog, cat}, PairProb: 1, PatternProb: 1})
		for _, p := range s.Objects {
			if p.Sprite != dog && p.Sprite != cat {
				t.Fatalf("sprite %d not allowed", p.Sprite)
			}
		}
		if len(s.Objects) == 2 {
			pairs++
		}
		if s.Background.Pattern != "" {
			patterns++
		}
	}
	if pairs < 450 || patterns != 500 {
		t.Errorf("pairs %d, patterns %d of 500", pairs, patterns)
	}
	if _, err := a.PlaceSingle(nil, dog, "middle", "big", false); err == nil {
		t.Error("unknown position accepted")
	}
	if _, err := a.PlacePair(nil, dog, cat, "under", [2]string{"big", "big"}, [2]bool{}); err == nil {
		t.Error("unknown relation accepted")
	}
}

func TestPatternsRender(t *testing.T) {
	a := testAtlas(t)
	r := NewRenderer(a)
	for _, pat := range append([]string{""}, Patterns...) {
		img := r.RenderImage(Scene{Background: Background{Colour: "green", Pattern: pat, Phase: 0.3}}, 32)
		base, _ := ColourByName("green")
		tone := Tone(base)
		seenBase, seenTone := false, false
		for i := 0; i < 32*32; i++ {
			c := color.NRGBA{R: img.Pix[4*i], G: img.Pix[4*i+1], B: img.Pix[4*i+2], A: 255}
			if DeltaE(c, base) < 3 {
				seenBase = true
			}
			if DeltaE(c, tone) < 3 {
				seenTone = true
			}
		}
		if !seenBase || (pat != "") != seenTone {
			t.Errorf("pattern %q: base seen %v, tone seen %v", pat, seenBase, seenTone)
		}
	}
}

func TestSampleGrid(t *testing.T) {
	a := testAtlas(t)
	r := NewRenderer(a)
	img, caps := SampleGrid(r, rand.New(rand.NewPCG(2025, 11)), GridOptions{})
	if len(caps) != 64 {
		t.Fatalf("%d captions", len(caps))
	}
	if img.Rect.Dx() < 8*128 || img.Rect.Dy() < 8*128 {
		t.Fatalf("grid is %v", img.Rect)
	}
	dir := t.TempDir()
	if d := os.Getenv("CONCEPTSTUDIO_GRID_DIR"); d != "" {
		dir = d
	}
	file := filepath.Join(dir, "grid.png")
	if err := writePNG(file, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "grid.txt"), []byte(strings.Join(caps, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := png.Decode(f)
	if err != nil || back.Bounds() != img.Rect {
		t.Fatalf("grid PNG: %v %v", err, back.Bounds())
	}
}

func TestWriteExamplesDeterministic(t *testing.T) {
	objs := map[string]image.Image{}
	for _, n := range ExampleObjects {
		img, err := LoadPersonal(n)
		if err != nil {
			t.Fatal(err)
		}
		objs[n] = img
	}
	d1, d2 := t.TempDir(), t.TempDir()
	if err := WriteExamples(d1, objs); err != nil {
		t.Fatal(err)
	}
	if err := WriteExamples(d2, objs); err != nil {
		t.Fatal(err)
	}
	for _, p := range PersonalObjects {
		if !slices.Contains(ExampleObjects, p.Name) {
			continue
		}
		for k := 1; k <= ExamplesPerObject; k++ {
			rel := filepath.Join(p.Short, string(rune('0'+k))+".png")
			b1, err1 := os.ReadFile(filepath.Join(d1, rel))
			b2, err2 := os.ReadFile(filepath.Join(d2, rel))
			if err1 != nil || err2 != nil || string(b1) != string(b2) {
				t.Fatalf("%s: %v %v or different bytes", rel, err1, err2)
			}
			img, err := png.Decode(strings.NewReader(string(b1)))
			if err != nil || img.Bounds().Dx() != ExampleSize || img.Bounds().Dy() != ExampleSize {
				t.Fatalf("%s: %v %v", rel, err, img.Bounds())
			}
		}
	}
	// The committed examples exist.
	for _, s := range []string{"teddy", "teapot", "dog", "couch"} {
		if _, err := os.Stat(filepath.Join("..", "..", ExamplesDir, s, "1.png")); err != nil {
			t.Errorf("committed example: %v", err)
		}
	}
}

func TestColoursDistinct(t *testing.T) {
	for i, c := range Colours {
		for _, d := range Colours[i+1:] {
			if e := DeltaE(c.RGB, d.RGB); e < 38 {
				t.Errorf("%s and %s are only %.1f ΔE apart", c.Name, d.Name, e)
			}
		}
		if Tone(c.RGB) == c.RGB || DeltaE(Tone(c.RGB), c.RGB) < 15 {
			t.Errorf("%s: tone %v too close", c.Name, Tone(c.RGB))
		}
	}
}

// TestRenderRecoloured: a hue rotation of 0° draws what Render draws, a
// grey stays grey, red turned by 120° is mostly green with its luminance
// kept, and the background is never recoloured.
func TestRenderRecoloured(t *testing.T) {
	a := testAtlas(t)
	r := NewRenderer(a)
	rng := rand.New(rand.NewPCG(9, 2))
	for i := 0; i < 20; i++ {
		s := a.RandomScene(rng, DefaultSceneOptions())
		want, got := make([]float32, 32*32*3), make([]float32, 32*32*3)
		r.Render(s, 32, want)
		r.RenderRecoloured(s, 32, HueRotation(0), got)
		for k := range want {
			if d := math.Abs(float64(want[k] - got[k])); d > 2e-3 {
				t.Fatalf("scene %d: a 0° rotation changes value %d by %.4f", i, k, d)
			}
		}
		// Nothing: only the background, unchanged by any rotation.
		s.Objects = nil
		r.Render(s, 32, want)
		r.RenderRecoloured(s, 32, HueRotation(150), got)
		if !slices.Equal(want, got) {
			t.Fatalf("scene %d: the background was recoloured", i)
		}
	}
	px := func(m Recolour, c [3]float32) [3]float32 {
		l := []float32{c[0], c[1], c[2], 1}
		m.Apply(l)
		return [3]float32{l[0], l[1], l[2]}
	}
	lum := func(c [3]float32) float32 { return 0.213*c[0] + 0.715*c[1] + 0.072*c[2] }
	grey := px(HueRotation(77), [3]float32{0.5, 0.5, 0.5})
	for _, v := range grey {
		if math.Abs(float64(v-0.5)) > 1e-3 {
			t.Errorf("grey turned into %v", grey)
		}
	}
	red := [3]float32{0.6, 0.25, 0.25}
	g := px(HueRotation(120), red)
	if !(g[1] > g[0] && g[1] > g[2]) {
		t.Errorf("red turned by 120° is %v, not mostly green", g)
	}
	if d := math.Abs(float64(lum(g) - lum(red))); d > 0.02 {
		t.Errorf("luminance %.3f became %.3f", lum(red), lum(g))
	}
	// Premultiplied: a half-transparent pixel stays within its alpha.
	l := []float32{0.4, 0.05, 0.05, 0.5}
	HueRotation(200).Apply(l)
	for c := 0; c < 3; c++ {
		if l[c] < 0 || l[c] > 0.5 {
			t.Errorf("channel %d is %.3f, outside [0, alpha 0.5]", c, l[c])
		}
	}
}
