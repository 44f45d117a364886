package kernels

import (
	"runtime"
	"sync"
)

// Parallel splits [0, n) into contiguous chunks, one per CPU at most, and
// runs f on each concurrently. Small n (below minPerWorker per chunk) runs
// inline. Each index is visited by exactly one call, so kernels that write
// disjoint output rows per index stay deterministic.
func Parallel(n, minPerWorker int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if minPerWorker < 1 {
		minPerWorker = 1
	}
	if w := n / minPerWorker; w < workers {
		workers = w
	}
	if workers <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}
