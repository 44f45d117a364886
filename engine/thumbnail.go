package engine

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"

	"github.com/disintegration/imaging"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/eval"
)

// thumbSide bounds the concept file's thumbnail. Textual Inversion's
// whole file must stay within 4 KB (issue 5), so the thumbnail is small
// and paletted; the window shows the kept training images at full size.
const thumbSide = 32

// thumbnailPNG encodes img fitted into thumbSide×thumbSide as a paletted
// PNG: up to 63 colours chosen by k-means over the visible pixels, plus
// full transparency where the cut-out is transparent.
func thumbnailPNG(img image.Image) ([]byte, error) {
	small := imaging.Fit(img, thumbSide, thumbSide, imaging.Lanczos)
	b := small.Bounds()
	var pts [][3]float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := small.NRGBAAt(x, y)
			if c.A >= 128 {
				pts = append(pts, [3]float64{float64(c.R), float64(c.G), float64(c.B)})
			}
		}
	}
	centres := kmeans(pts, 63, 8)
	pal := color.Palette{color.NRGBA{}}
	for _, c := range centres {
		pal = append(pal, color.NRGBA{uint8(c[0] + 0.5), uint8(c[1] + 0.5), uint8(c[2] + 0.5), 255})
	}
	out := image.NewPaletted(image.Rect(0, 0, b.Dx(), b.Dy()), pal)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := small.NRGBAAt(x, y)
			if c.A < 128 || len(pal) == 1 {
				continue // index 0: transparent
			}
			out.SetColorIndex(x-b.Min.X, y-b.Min.Y, uint8(1+nearest(centres, [3]float64{float64(c.R), float64(c.G), float64(c.B)})))
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// kmeans picks up to k colour centres for pts, starting from evenly spaced
// points (deterministic), in a fixed number of rounds.
func kmeans(pts [][3]float64, k, rounds int) [][3]float64 {
	if len(pts) == 0 {
		return nil
	}
	k = min(k, len(pts))
	centres := make([][3]float64, k)
	for i := range centres {
		centres[i] = pts[i*len(pts)/k]
	}
	for r := 0; r < rounds; r++ {
		sum := make([][3]float64, k)
		n := make([]int, k)
		for _, p := range pts {
			j := nearest(centres, p)
			for d := range 3 {
				sum[j][d] += p[d]
			}
			n[j]++
		}
		for j := range centres {
			if n[j] > 0 {
				for d := range 3 {
					centres[j][d] = sum[j][d] / float64(n[j])
				}
			}
		}
	}
	return centres
}

func nearest(centres [][3]float64, p [3]float64) int {
	best, bd := 0, 1e300
	for j, c := range centres {
		d := (c[0]-p[0])*(c[0]-p[0]) + (c[1]-p[1])*(c[1]-p[1]) + (c[2]-p[2])*(c[2]-p[2])
		if d < bd {
			best, bd = j, d
		}
	}
	return best
}

// referenceCutout is which cut-out a concept keeps as its thumbnail, the
// picture a base that takes reference pictures (the refs design) draws
// the concept from: the one most like the others to the colour-blind
// judge (the medoid of their features, each cut-out over white), so
// that one poor cut (a wall patch, half the thing) does not become the
// concept's picture. The first with fewer than three, or without a judge.
func referenceCutout(cuts []*image.NRGBA) int {
	if len(cuts) < 3 {
		return 0
	}
	judge, err := eval.LoadJudge()
	if err != nil {
		return 0
	}
	defer judge.Close()
	views := make([]image.Image, len(cuts))
	for i, c := range cuts {
		v := image.NewNRGBA(c.Bounds())
		draw.Draw(v, v.Bounds(), image.White, image.Point{}, draw.Src)
		draw.Draw(v, v.Bounds(), c, c.Bounds().Min, draw.Over)
		views[i] = v
	}
	f, err := judge.Features(views)
	if err != nil {
		return 0
	}
	best, bestSum := 0, math.Inf(-1)
	for i := range cuts {
		sum := 0.0
		for j := range cuts {
			if j != i {
				sum += eval.Identity(f[i:i+1], f[j:j+1])
			}
		}
		if sum > bestSum {
			best, bestSum = i, sum
		}
	}
	return best
}

// ConceptThumbnail is the thumbnail a concept file keeps of its training
// images' cut-outs: the one most like the others (referenceCutout), as a
// small paletted PNG (thumbnailPNG). On a base that takes reference
// pictures it is what the concept is drawn from, so every concept
// trained for use gets one (the window's, the command line's, the
// method comparison's).
func ConceptThumbnail(cs *dataset.ConceptSet) ([]byte, error) {
	if len(cs.Cutouts) == 0 {
		return nil, errors.New("no cut-outs to make a thumbnail of")
	}
	return thumbnailPNG(cs.Cutouts[referenceCutout(cs.Cutouts)])
}
