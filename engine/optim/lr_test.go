package optim

import "testing"

func TestCosineLR(t *testing.T) {
	const base, floor = 1e-3, 1e-5
	cases := []struct {
		step int
		want float64
	}{
		{-3, base / 10},
		{0, base / 10},
		{4, base / 2},
		{9, base},
		{10, base},
		{55, (base + floor) / 2},
		{100, floor},
		{1000, floor},
	}
	for _, c := range cases {
		near(t, "CosineLR", CosineLR(c.step, 10, 100, base, floor), c.want, 1e-15)
	}
	// Without warm-up the schedule starts at base.
	near(t, "no warm-up", CosineLR(0, 0, 100, base, 0), base, 0)
	near(t, "no warm-up mid", CosineLR(50, 0, 100, base, 0), base/2, 1e-15)
	// Monotone after warm-up.
	prev := CosineLR(10, 10, 100, base, floor)
	for s := 11; s <= 100; s++ {
		lr := CosineLR(s, 10, 100, base, floor)
		if lr > prev {
			t.Fatalf("not decreasing at %d", s)
		}
		prev = lr
	}
}
