package optim

import (
	"fmt"
	"strings"
)

// State returns a copy of the optimiser's moments for a checkpoint: for
// every parameter stepped so far, "NAME.m" (first moment) and "NAME.v"
// (second moment). Save StepCount alongside; Load takes both back.
func (o *AdamW) State() map[string][]float32 {
	st := make(map[string][]float32, 2*len(o.m))
	for name, m := range o.m {
		st[name+".m"] = append([]float32(nil), m...)
		st[name+".v"] = append([]float32(nil), o.v[name]...)
	}
	return st
}

// Load replaces the optimiser's moments and step count with a checkpoint
// written from State and StepCount, so that training resumes exactly where
// it stopped. Every key must end in ".m" or ".v", each ".m" needs a ".v" of
// the same length and vice versa; lengths against the parameters are
// checked by the next Step. The data is copied. On error nothing changes.
func (o *AdamW) Load(state map[string][]float32, step int) error {
	if step < 0 {
		return fmt.Errorf("optim: AdamW step %d is negative", step)
	}
	m := map[string][]float32{}
	v := map[string][]float32{}
	for key, data := range state {
		switch {
		case strings.HasSuffix(key, ".m") && len(key) > 2:
			m[strings.TrimSuffix(key, ".m")] = append([]float32(nil), data...)
		case strings.HasSuffix(key, ".v") && len(key) > 2:
			v[strings.TrimSuffix(key, ".v")] = append([]float32(nil), data...)
		default:
			return fmt.Errorf("optim: AdamW state key %q does not end in .m or .v", key)
		}
	}
	for name, mm := range m {
		vv, ok := v[name]
		if !ok {
			return fmt.Errorf("optim: AdamW state has %q.m but no %q.v", name, name)
		}
		if len(vv) != len(mm) {
			return fmt.Errorf("optim: AdamW state %q: .m has %d elements, .v %d", name, len(mm), len(vv))
		}
	}
	for name := range v {
		if _, ok := m[name]; !ok {
			return fmt.Errorf("optim: AdamW state has %q.v but no %q.m", name, name)
		}
	}
	o.m, o.v, o.step = m, v, step
	return nil
}
