package optim

import (
	"runtime"
	"sync"
)

// minChunk is the smallest slice worth handing to another goroutine.
const minChunk = 1 << 16

// parallelFor splits [0, n) into contiguous chunks and runs f on them
// concurrently. Callers only use it for element-wise updates where every
// index is written by exactly one call, so the result does not depend on
// the number of workers.
func parallelFor(n int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/minChunk)
	if workers <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
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
