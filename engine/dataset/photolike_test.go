package dataset

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The photo-like pictures: the answer is the thing's coverage (some of
// the picture, not all of it, in [0, 1]); the picture is in [0, 1] and not
// plain; the same seed draws the same picture, another seed another;
// with neighbours beside the thing (PhotoMaker.Neighbours) as without.
func TestPhotoMaker(t *testing.T) {
	for _, nb := range []float64{0, 1} {
		t.Run(map[float64]string{0: "Plain", 1: "Neighbours"}[nb], func(t *testing.T) {
			pm := NewPhotoMaker(NewRenderer(testAtlas(t)))
			pm.Neighbours = nb
			testPhotoMaker(t, pm)
		})
	}
}

func testPhotoMaker(t *testing.T, pm *PhotoMaker) {
	const S = 48
	draw := func(seed uint64) ([]float32, []float32) {
		rgb, mask := make([]float32, 3*S*S), make([]float32, S*S)
		pm.Make(rand.New(rand.NewPCG(seed, 1)), S, rgb, mask)
		return rgb, mask
	}
	var shares []float64
	for seed := uint64(1); seed <= 40; seed++ {
		rgb, mask := draw(seed)
		var cover float64
		for _, v := range mask {
			if v < 0 || v > 1 {
				t.Fatalf("seed %d: coverage %v", seed, v)
			}
			cover += float64(v)
		}
		shares = append(shares, cover/(S*S))
		lo, hi := float32(1), float32(0)
		for _, v := range rgb {
			if v < 0 || v > 1 {
				t.Fatalf("seed %d: colour %v", seed, v)
			}
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi-lo < 0.2 {
			t.Errorf("seed %d: a plain picture (%v-%v)", seed, lo, hi)
		}
	}
	slices.Sort(shares)
	t.Logf("the thing's share of the picture: min %.2f, median %.2f, max %.2f", shares[0], shares[len(shares)/2], shares[len(shares)-1])
	if shares[0] <= 0.01 || shares[len(shares)-1] >= 0.99 || shares[len(shares)/2] < 0.1 {
		t.Errorf("shares %v: the thing should be big, never all or nothing", shares)
	}
	a1, m1 := draw(7)
	a2, m2 := draw(7)
	b1, _ := draw(8)
	if !slices.Equal(a1, a2) || !slices.Equal(m1, m2) {
		t.Error("the same seed drew another picture")
	}
	if slices.Equal(a1, b1) {
		t.Error("two seeds drew one picture")
	}
}
