package engine

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	"conceptstudio/engine/autoenc"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/eval"
)

// AutoencoderReport is how much of the world's shapes an autoencoder
// keeps: the colour-blind judge on the shape probe's ground-truth scenes
// ("a big CLASS on a white background", every class) rendered at the
// autoencoder's size, straight and through it (encode, decode), beside the
// reconstruction's error. The judge on the reconstructions is the ceiling
// a latent model on this autoencoder can reach.
type AutoencoderReport struct {
	Images  int             `json:"images"`
	Truth   eval.ShapeScore `json:"ground_truth"`
	Through eval.ShapeScore `json:"through_autoencoder"`
	MSE     float64         `json:"mse"`     // mean squared error, values in [−1, 1]
	PSNR    float64         `json:"psnr_db"` // of pictures in [0, 1]
	Steps   int             `json:"steps"`
	Scale   float64         `json:"latent_scale"`
}

// CheckAutoencoder measures m on seeds scenes of every class and returns
// a grid of grid classes' scenes and reconstructions side by side.
func CheckAutoencoder(m *autoenc.Model, seeds int) (AutoencoderReport, *image.NRGBA, error) {
	rep := AutoencoderReport{Steps: m.Record.Steps, Scale: m.Record.Scale}
	atlas, err := sharedAtlas()
	if err != nil {
		return rep, nil, err
	}
	judge, err := eval.LoadJudge()
	if err != nil {
		return rep, nil, err
	}
	defer judge.Close()
	rd := dataset.NewRenderer(atlas)
	S := m.Record.Config.ImageSize
	rng := rand.New(rand.NewPCG(2026, 12))
	var truth, through []image.Image
	var labels []string
	var sq float64
	var n int
	grid := map[string]bool{}
	for _, c := range GridClasses {
		grid[c] = true
	}
	var rows [][2]image.Image
	for _, class := range atlas.Names() {
		_, bg, err := ShapePrompt(atlas, class)
		if err != nil {
			return rep, nil, err
		}
		_, imgs := shapeTruth(atlas, rd, class, bg, seeds, S, rng)
		for _, img := range imgs {
			x := img.(*eval.Float32Image).Pix
			z, err := m.Encode(x, 1)
			if err != nil {
				return rep, nil, err
			}
			y, err := m.Decode(z, 1)
			if err != nil {
				return rep, nil, err
			}
			for i := range x {
				d := float64(max(-1, min(1, y[i])) - x[i])
				sq += d * d
			}
			n += len(x)
			back := ToImage(y, S, 3)
			truth, through, labels = append(truth, img), append(through, back), append(labels, class)
			if grid[class] {
				rows = append(rows, [2]image.Image{img, back})
			}
		}
	}
	rep.Images = len(truth)
	rep.MSE = sq / float64(n)
	rep.PSNR = 10 * math.Log10(4/math.Max(rep.MSE, 1e-12)) // range 2 in [−1, 1]
	if rep.Truth, err = eval.ScoreShapes(judge, truth, labels); err != nil {
		return rep, nil, err
	}
	if rep.Through, err = eval.ScoreShapes(judge, through, labels); err != nil {
		return rep, nil, err
	}
	return rep, pairGrid(rows, 2), nil
}

// pairGrid draws pairs (a picture and its reconstruction) four pairs to a
// row, scaled, with a gap between pairs.
func pairGrid(pairs [][2]image.Image, scale int) *image.NRGBA {
	if len(pairs) == 0 {
		return image.NewNRGBA(image.Rect(0, 0, 1, 1))
	}
	S := pairs[0][0].Bounds().Dx() * scale
	const per, gap = 4, 6
	cols := min(per, len(pairs))
	rows := (len(pairs) + per - 1) / per
	out := image.NewNRGBA(image.Rect(0, 0, cols*(2*S+gap), rows*(S+gap)))
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	for i, p := range pairs {
		x, y := (i%per)*(2*S+gap), (i/per)*(S+gap)
		blit(out, p[0], x, y, scale)
		blit(out, p[1], x+S, y, scale)
		for yy := y; yy < y+S; yy++ {
			out.SetNRGBA(x+S, yy, color.NRGBA{200, 0, 0, 255})
		}
	}
	return out
}
