//go:build unix

package engine

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used so far (user and
// system, all threads): what a training budget in CPU-hours counts.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
