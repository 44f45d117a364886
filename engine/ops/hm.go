package ops

import "github.com/chewxy/hm"

// hmA is the type variable our ops are polymorphic over (float32 or
// float64, unified by Gorgonia when the graph is built).
func hmA() hm.TypeVariable { return hm.TypeVariable('a') }

// fnType builds a fresh function type: Gorgonia recycles what Type returns,
// so it must never be cached.
func fnType(ts ...hm.Type) hm.Type { return hm.NewFnType(ts...) }
