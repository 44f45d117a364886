package dataset

import (
	"math"
	"sort"
)

// Where the thing of a photo probably is, before any colour model, in the
// way of "Minimum Barrier Salient Object Detection at 80 FPS" (Zhang,
// Sclaroff, Lin, Shen, Price and Mech, ICCV 2015): a pixel's minimum
// barrier distance to a set of seeds is, over all paths from it to a
// seed, the least spread (highest minus lowest value) met along the path.
// Background joins what is surely background through similar pixels; a
// thing is walled off from it by its outline, whatever its colours. The
// paper seeds the picture's border; GrabCut here seeds whatever it holds
// as sure background (the border ring, outside a box, remove strokes).

// mbdPasses is how many forward and backward raster scans the distance
// gets (the paper's three).
const mbdPasses = 3

// mbdMap is the minimum barrier distance of each pixel of a w×h channel
// to the seeds (where seed is true); 0 where no seed is reachable.
func mbdMap(ch []float64, w, h int, seed []bool) []float64 {
	n := w * h
	d := make([]float64, n)
	hi := make([]float64, n)
	lo := make([]float64, n)
	for i := 0; i < n; i++ {
		hi[i], lo[i] = ch[i], ch[i]
		if !seed[i] {
			d[i] = math.Inf(1)
		}
	}
	relax := func(i, j int) {
		if math.IsInf(d[j], 1) {
			return // j is not reached yet
		}
		u, l := max(hi[j], ch[i]), min(lo[j], ch[i])
		if u-l < d[i] {
			d[i], hi[i], lo[i] = u-l, u, l
		}
	}
	for p := 0; p < mbdPasses; p++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := y*w + x
				if x > 0 {
					relax(i, i-1)
				}
				if y > 0 {
					relax(i, i-w)
				}
			}
		}
		for y := h - 1; y >= 0; y-- {
			for x := w - 1; x >= 0; x-- {
				i := y*w + x
				if x < w-1 {
					relax(i, i+1)
				}
				if y < h-1 {
					relax(i, i+w)
				}
			}
		}
	}
	for i := range d {
		if math.IsInf(d[i], 1) {
			d[i] = 0
		}
	}
	return d
}

// barrierPrior adds to prior (nats; above 0: likelier object) weight·(s −
// t)/max(t, 1 − t) for every pixel that is not sure background, where s
// is the pixel's minimum barrier distance to the sure background, summed
// over the Lab channels and scaled to [0, 1] by the 99th percentile of the
// pixels in question, and t is Otsu's threshold of those values.
func barrierPrior(z [][3]float64, w, h int, sureBG []bool, weight float64, prior []float64) {
	var lab [3][]float64
	for c := range lab {
		lab[c] = make([]float64, len(z))
	}
	for i, p := range z {
		lab[0][i], lab[1][i], lab[2][i] = labFromRGB(p[0]/255, p[1]/255, p[2]/255)
	}
	raw := make([]float64, w*h)
	for c := range lab {
		for i, d := range mbdMap(lab[c], w, h, sureBG) {
			raw[i] += d
		}
	}
	var cand []float64
	for i, v := range raw {
		if !sureBG[i] {
			cand = append(cand, v)
		}
	}
	if len(cand) == 0 {
		return
	}
	sorted := append([]float64(nil), cand...)
	sort.Float64s(sorted)
	top := sorted[int(0.99*float64(len(sorted)-1))]
	if top <= 0 {
		return // nothing is walled off: no opinion
	}
	for i := range cand {
		cand[i] = min(1, cand[i]/top)
	}
	t := otsu(cand)
	for i, v := range raw {
		// One scale for both sides (the larger): parting the two sides'
		// scales (each reaching ±weight) made the cuts with a box worse
		// (mean IoU of the 15 real photos 0.743 → 0.681).
		if !sureBG[i] {
			prior[i] += weight * (min(1, v/top) - t) / max(t, 1-t)
		}
	}
}

// otsu is the threshold (on 256 levels of [0, 1]; below it is the first
// class) that best parts v into two classes (Otsu 1979: the largest
// between-class variance).
func otsu(v []float64) float64 {
	var hist [256]float64
	for _, x := range v {
		hist[min(255, max(0, int(x*255)))]++
	}
	n := float64(len(v))
	var sum float64
	for i, c := range hist {
		sum += float64(i) * c
	}
	var wB, sumB, best, thr float64
	for i, c := range hist {
		wB += c
		if wB == 0 || wB == n {
			continue
		}
		sumB += float64(i) * c
		mB, mF := sumB/wB, (sum-sumB)/(n-wB)
		if b := wB * (n - wB) * (mB - mF) * (mB - mF); b > best {
			best, thr = b, float64(i+1)/255 // the upper edge of the lower class's last bin
		}
	}
	return thr
}
