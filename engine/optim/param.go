package optim

import "fmt"

// Param is one trainable tensor: its values and the gradient of the loss
// with respect to them, both flattened and of equal length, plus the index
// of the parameter group (learning rate, weight decay) it belongs to.
// A nil Grad marks a frozen parameter that optimisers skip.
type Param struct {
	Name        string
	Value, Grad []float32
	Group       int
}

// Group holds the hyper-parameters shared by a set of parameters; a typical
// set-up puts weights in group 0 with weight decay and biases and
// normalisation scales in group 1 without.
type Group struct {
	LR, WeightDecay float64
}

// ZeroGrad sets every gradient to zero, ready for the next accumulation.
func ZeroGrad(params []*Param) {
	for _, p := range params {
		clear(p.Grad)
	}
}

// checkParams validates names (present, unique) and Value/Grad lengths.
func checkParams(params []*Param) error {
	seen := make(map[string]bool, len(params))
	for i, p := range params {
		if p == nil {
			return fmt.Errorf("optim: param %d is nil", i)
		}
		if p.Name == "" {
			return fmt.Errorf("optim: param %d has no name", i)
		}
		if seen[p.Name] {
			return fmt.Errorf("optim: duplicate param name %q", p.Name)
		}
		seen[p.Name] = true
		if p.Grad != nil && len(p.Grad) != len(p.Value) {
			return fmt.Errorf("optim: param %q: grad has %d elements, value %d", p.Name, len(p.Grad), len(p.Value))
		}
	}
	return nil
}
