package app

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"conceptstudio/engine"
)

// The Pareto plot's size in pixels (at plotDPI).
const (
	ParetoPlotWidth  = 640
	ParetoPlotHeight = 480
	plotDPI          = 96
)

// writeParetoPlot draws a gate sweep as identity (y) against prompt
// fidelity (x), one point per β joined in β order and labelled with it,
// and writes it as a PNG of ParetoPlotWidth×ParetoPlotHeight pixels.
func writeParetoPlot(w io.Writer, concept string, reps []engine.ConceptReport) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Perfusion gate sweep, %s*", concept)
	p.X.Label.Text = "prompt fidelity (share of stated attributes)"
	p.Y.Label.Text = "identity (oracle cosine to the references)"
	pts := make(plotter.XYs, len(reps))
	labels := make([]string, len(reps))
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i, r := range reps {
		pts[i] = plotter.XY{X: r.PromptFidelity, Y: r.Identity}
		labels[i] = fmt.Sprintf("β=%.2g", r.Beta)
		xmin, xmax = math.Min(xmin, r.PromptFidelity), math.Max(xmax, r.PromptFidelity)
		ymin, ymax = math.Min(ymin, r.Identity), math.Max(ymax, r.Identity)
	}
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	blue := color.RGBA{R: 40, G: 90, B: 200, A: 255}
	line.Color = blue
	points.Color, points.Shape, points.Radius = blue, draw.CircleGlyph{}, vg.Points(3.5)
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
	if err != nil {
		return err
	}
	lab.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(3)}
	p.Add(plotter.NewGrid(), line, points, lab)
	// Room around the points for the labels; a flat range still gets an
	// axis.
	pad := func(lo, hi float64) (float64, float64) {
		d := math.Max((hi-lo)*0.15, 0.02)
		return lo - d, hi + 2*d
	}
	p.X.Min, p.X.Max = pad(xmin, xmax)
	p.Y.Min, p.Y.Max = pad(ymin, ymax)
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(ParetoPlotWidth)*vg.Inch/plotDPI, vg.Length(ParetoPlotHeight)*vg.Inch/plotDPI), vgimg.UseDPI(plotDPI))
	p.Draw(draw.New(c))
	_, err = vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}
