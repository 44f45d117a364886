package dataset

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// GridOptions shape a sample grid.
type GridOptions struct {
	Rows, Cols int          // default 8×8
	Size       int          // scene size, default DefaultSize
	Zoom       int          // nearest-neighbour magnification, default 4
	Scene      SceneOptions // default DefaultSceneOptions()
}

// SampleGrid renders Rows×Cols random scenes with their captions written
// under each (a 7×13 bitmap font), for looking at the training
// distribution. It returns the image and the captions in row-major order.
func SampleGrid(r *Renderer, rng *rand.Rand, opt GridOptions) (*image.NRGBA, []string) {
	if opt.Rows <= 0 {
		opt.Rows = 8
	}
	if opt.Cols <= 0 {
		opt.Cols = 8
	}
	if opt.Size <= 0 {
		opt.Size = DefaultSize
	}
	if opt.Zoom <= 0 {
		opt.Zoom = 4
	}
	if sc := opt.Scene; sc.Styles == nil && sc.Sprites == nil && sc.PairProb == 0 && sc.PatternProb == 0 && sc.FlipProb == 0 {
		opt.Scene = DefaultSceneOptions()
	}
	const pad, lineH, lines = 6, 13, 5
	face := basicfont.Face7x13
	pic := opt.Size * opt.Zoom
	cellW := max(pic, 22*7) + 2*pad
	cellH := pic + lines*lineH + 2*pad
	img := image.NewNRGBA(image.Rect(0, 0, opt.Cols*cellW, opt.Rows*cellH))
	draw.Draw(img, img.Rect, image.NewUniform(color.NRGBA{R: 250, G: 250, B: 250, A: 255}), image.Point{}, draw.Src)
	var caps []string
	for row := 0; row < opt.Rows; row++ {
		for col := 0; col < opt.Cols; col++ {
			s := r.atlas.RandomScene(rng, opt.Scene)
			c := Caption(r.atlas, s, rng)
			caps = append(caps, c)
			small := r.RenderImage(s, opt.Size)
			ox, oy := col*cellW+(cellW-pic)/2, row*cellH+pad
			for y := 0; y < pic; y++ {
				for x := 0; x < pic; x++ {
					img.SetNRGBA(ox+x, oy+y, small.NRGBAAt(x/opt.Zoom, y/opt.Zoom))
				}
			}
			d := font.Drawer{Dst: img, Src: image.NewUniform(color.NRGBA{R: 20, G: 20, B: 20, A: 255}), Face: face}
			for i, line := range wrap(c, (cellW-4)/7) {
				if i == lines {
					break
				}
				d.Dot = fixed.P(col*cellW+2, oy+pic+(i+1)*lineH)
				d.DrawString(line)
			}
		}
	}
	return img, caps
}

// wrap breaks text at spaces into lines of at most n characters.
func wrap(text string, n int) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(text) {
		if cur != "" && len(cur)+1+len(w) > n {
			lines = append(lines, cur)
			cur = ""
		}
		if cur != "" {
			cur += " "
		}
		cur += w
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}
