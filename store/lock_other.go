//go:build !unix && !windows

package store

import "os"

// lockFile is a no-op where the platform has no advisory file locks
// (js, wasip1, plan9): a second instance is not detected there.
func lockFile(f *os.File) error { return nil }

func unlockFile(f *os.File) error { return nil }
