package region

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseReadsWhatStringWrites(t *testing.T) {
	for _, s := range []string{"teddy=0,0,0.5,0.5", "cat=0.25,0.5,0.75,0.5", "teapot*=0.1,0.2,0.3,0.4"} {
		r, err := Parse(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		again, err := Parse(r.String())
		if err != nil || again != r {
			t.Errorf("%q → %v → %v (%v)", s, r, again, err)
		}
	}
	if r, _ := Parse("Teddy*=0,0,1,1"); r.Name != "teddy" {
		t.Errorf("name %q, want teddy (no star, lower case)", r.Name)
	}
}

// Bad regions are refused in plain words, quoting little of the input.
func TestBadRegionsAreRefused(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, c := range []struct{ in, says string }{
		{"teddy", "NAME=x,y,width,height"},
		{"teddy=0,0,0.5", "four numbers"},
		{"teddy=0,0,half,0.5", "not a number"},
		{"teddy=0.6,0,0.5,0.5", "outside the picture"},
		{"teddy=-0.1,0,0.5,0.5", "outside the picture"},
		{"teddy=0,0,0.01,0.5", "too small"},
		{"teddy=0,0,NaN,0.5", "not a number"},
		{"=0,0,0.5,0.5", "needs the name"},
		{"two words=0,0,0.5,0.5", "not one word"},
		{long + "=0,0,1,1", "not a word"},
		{"teddy=" + long, "four numbers"},
	} {
		_, err := Parse(c.in)
		if err == nil || !errors.Is(err, ErrBadRegion) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%.30q: %v, want an ErrBadRegion saying %q", c.in, err, c.says)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("%.30q: the error quotes too much (%d bytes)", c.in, len(err.Error()))
		}
	}
	ok := Region{"a", 0, 0, 0.5, 0.5}
	if err := CheckAll([]Region{ok, ok}); err == nil || !strings.Contains(err.Error(), "two boxes") {
		t.Errorf("a name twice: %v", err)
	}
	five := []Region{{"a", 0, 0, .5, .5}, {"b", 0, 0, .5, .5}, {"c", 0, 0, .5, .5}, {"d", 0, 0, .5, .5}, {"e", 0, 0, .5, .5}}
	if err := CheckAll(five); err == nil || !strings.Contains(err.Error(), "at most 4") {
		t.Errorf("five regions: %v", err)
	}
}

// Coverage is the share of each grid place inside the box: 1 inside, 0
// outside, the fraction on a cut place; it sums to the box's area in
// places.
func TestCoverageIsTheShareInside(t *testing.T) {
	r := Region{"a", 0.125, 0, 0.5, 0.25}
	c := r.Coverage(4)
	want := []float32{
		0.5, 1, 0.5, 0,
		0, 0, 0, 0,
		0, 0, 0, 0,
		0, 0, 0, 0,
	}
	for i := range want {
		if math.Abs(float64(c[i]-want[i])) > 1e-6 {
			t.Fatalf("coverage %v, want %v", c, want)
		}
	}
	var sum float64
	for _, v := range (Region{"b", 0.3, 0.2, 0.45, 0.7}).Coverage(8) {
		sum += float64(v)
	}
	if math.Abs(sum-0.45*0.7*64) > 1e-4 {
		t.Errorf("coverage sums to %g places, want %g", sum, 0.45*0.7*64)
	}
	if !r.Contains(0.3, 0.1) || r.Contains(0.7, 0.1) {
		t.Error("Contains is wrong")
	}
}
