package ops

import (
	"fmt"
	"os"
	"sort"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Memory planning. Every op owns its output buffers (see doc.go), but most
// of them are dead long before the run ends: a forward activation that no
// backward op reads dies with its last consumer, and almost every
// gradient dies one op later. Compile walks the graph in the TapeMachine's
// own order (Gorgonia's stabilised topological sort, reversed), computes
// for each buffer the last position anything reads it, and lets buffers
// whose lifetimes do not overlap share one slab. Buffers that are read
// after the run (graph roots: outputs, losses, parameter gradients; and
// whatever the caller asks to keep) get slabs of their own.
//
// Gorgonia's own arithmetic ops are refused: the TapeMachine lets them
// write into whatever tensor their register held before, which may be a
// slab now lent to another buffer (Compile differentiates with our own ops
// for this reason). Ops added through Builder.Apply are treated as
// possibly returning their inputs' memory.

// storage is one op-owned buffer to place.
type storage struct {
	buf   *buffer
	shape []int
	size  int
	birth int // position of the op that writes it
	last  int // last position that reads it (birth when never read)
	keep  bool
	name  string
	owner **storage // the slab's current occupant (checking only)
}

// memCheck, set by the environment variable CONCEPTSTUDIO_MEMCHECK=1 when
// a program is compiled (tests), makes every op verify before it runs that
// each input it reads still holds that input's data: that no other buffer
// sharing its slab was written since. It is slow and keeps every planned
// tensor reachable; never for production.
var memCheck bool

// checker maps tensors to their storages while memCheck is on.
var checker = map[*tensor.Dense]*storage{}

func checkInputs(op string, in []gorgonia.Value) {
	for i, v := range in {
		d, ok := v.(*tensor.Dense)
		if !ok {
			continue
		}
		if s := checker[d]; s != nil && *s.owner != s {
			panic(fmt.Sprintf("ops: %s reads input %d (%s) after %s overwrote it", op, i, s.name, (*s.owner).name))
		}
	}
}

func claimOutput(t *tensor.Dense) {
	if s := checker[t]; s != nil {
		*s.owner = s
	}
}

// MemoryStats describes a compiled program's planned buffers.
type MemoryStats struct {
	Buffers     int   // op-owned output buffers
	Slabs       int   // distinct memory blocks after sharing
	PlannedByte int64 // bytes the slabs take
	NaiveByte   int64 // bytes one block per buffer would take
}

func (s MemoryStats) String() string {
	return fmt.Sprintf("%d buffers in %d slabs, %.1f MB (unshared %.1f MB)", s.Buffers, s.Slabs, float64(s.PlannedByte)/1e6, float64(s.NaiveByte)/1e6)
}

// planMemory assigns every op-owned buffer of the graph a slab.
func (b *Builder) planMemory(keep []*Node) (MemoryStats, error) {
	memCheck = os.Getenv("CONCEPTSTUDIO_MEMCHECK") == "1"
	if !memCheck {
		clear(checker)
	}
	sorted, err := gorgonia.Sort(b.g)
	if err != nil {
		return MemoryStats{}, err
	}
	order := make([]*Node, len(sorted))
	for i, n := range sorted {
		order[len(sorted)-1-i] = n
	}
	pos := make(map[*Node]int, len(order))
	for i, n := range order {
		pos[n] = i
	}
	children := func(n *Node) []*Node {
		it := b.g.From(n.ID())
		var out []*Node
		for it.Next() {
			out = append(out, it.Node().(*Node))
		}
		return out
	}

	// The storages each node's value may refer to.
	var all []*storage
	byBuf := map[*buffer]*storage{}
	add := func(buf *buffer, shape []int, at int) *storage {
		s := byBuf[buf]
		if s == nil {
			size := 1
			for _, d := range shape {
				size *= d
			}
			s = &storage{buf: buf, shape: shape, size: size, birth: at, last: at, name: fmt.Sprint(order[at].Op())}
			byBuf[buf] = s
			all = append(all, s)
		}
		return s
	}
	vals := make(map[*Node][]*storage, len(order))
	for i, n := range order {
		switch op := n.Op().(type) {
		case nil:
			// inputs and parameters: memory of their own
		case *fwdOp:
			if op.outShape != nil {
				vals[n] = []*storage{add(&op.out, op.outShape, i)}
			}
		case *bwdOp:
			for j, need := range op.fwd.need {
				if need {
					s := add(&op.outs[j], op.fwd.inShapes[j], i)
					if j == op.first {
						vals[n] = []*storage{s}
					}
				}
			}
		case *pickOp:
			vals[n] = []*storage{add(&op.bwd.outs[op.idx], op.bwd.fwd.inShapes[op.idx], pos[children(n)[0]])}
		case gorgonia.UsePreallocDoer, gorgonia.UnsafeDoer:
			return MemoryStats{}, fmt.Errorf("%v may write into memory it does not own", op)
		default:
			// an op from outside the package (Builder.Apply): treat its
			// result as possibly aliasing its inputs
			seen := map[*storage]bool{}
			for _, c := range children(n) {
				for _, s := range vals[c] {
					if !seen[s] {
						seen[s] = true
						vals[n] = append(vals[n], s)
					}
				}
			}
		}
	}
	for i, n := range order {
		if _, ok := n.Op().(*pickOp); ok {
			continue // a pick reads nothing of its backward op's first output
		}
		for _, c := range children(n) {
			for _, s := range vals[c] {
				s.last = max(s.last, i)
			}
		}
	}
	for _, n := range order {
		// a root (not counting picks) is read after the run
		root := true
		for it := b.g.To(n.ID()); it.Next(); {
			if _, ok := it.Node().(*Node).Op().(*pickOp); !ok {
				root = false
				break
			}
		}
		if root {
			for _, s := range vals[n] {
				s.keep = true
			}
		}
	}
	for _, n := range keep {
		for _, s := range vals[n] {
			s.keep = true
		}
	}

	// Place the storages in order of birth, reusing freed slabs best-fit.
	sort.SliceStable(all, func(i, j int) bool { return all[i].birth < all[j].birth })
	type slab struct {
		size int
		free int // position after which it is free again
		mem  any // []float32 or []float64, allocated at the end
		used []*storage
		occ  *storage
	}
	var slabs []*slab
	var free []*slab // slabs that will be free; checked against free position
	var st MemoryStats
	for _, s := range all {
		st.Buffers++
		st.NaiveByte += int64(s.size)
		var pick *slab
		if !s.keep {
			for _, sl := range free {
				if sl.free < s.birth && sl.size >= s.size && (pick == nil || sl.size < pick.size) {
					pick = sl
				}
			}
			if pick == nil {
				// grow the largest free slab rather than add one
				for _, sl := range free {
					if sl.free < s.birth && (pick == nil || sl.size > pick.size) {
						pick = sl
					}
				}
				if pick != nil {
					pick.size = s.size
				}
			}
		}
		if pick == nil {
			pick = &slab{size: s.size}
			slabs = append(slabs, pick)
			if !s.keep {
				free = append(free, pick)
			}
		}
		pick.free = s.last
		pick.used = append(pick.used, s)
	}
	esize := int64(4)
	if b.dt == tensor.Float64 {
		esize = 8
	}
	for _, sl := range slabs {
		st.Slabs++
		st.PlannedByte += int64(sl.size) * esize
		var mem any
		if b.dt == tensor.Float32 {
			mem = make([]float32, sl.size)
		} else {
			mem = make([]float64, sl.size)
		}
		for _, s := range sl.used {
			var backing any
			switch m := mem.(type) {
			case []float32:
				backing = m[:s.size:s.size]
			case []float64:
				backing = m[:s.size:s.size]
			}
			s.buf.t = tensor.New(tensor.WithShape(s.shape...), tensor.WithBacking(backing))
			if memCheck {
				s.owner = &sl.occ
				checker[s.buf.t] = s
			}
		}
	}
	st.NaiveByte *= esize
	return st, nil
}
