//go:build !unix

package engine

import (
	"runtime"
	"time"
)

var processStart = time.Now()

// processCPU is, where the system gives no per-process CPU time, the wall
// time since the process started times the cores (an upper bound).
func processCPU() time.Duration {
	return time.Since(processStart) * time.Duration(runtime.GOMAXPROCS(0))
}
