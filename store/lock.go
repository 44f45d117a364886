package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// errLocked is what lockFile returns when another process holds the lock.
var errLocked = errors.New("locked")

// acquireLock opens path and takes an exclusive, non-blocking lock on it,
// then writes this process's id into it so that a second instance can say
// who holds the library. The lock belongs to the open file: it is released
// by releaseLock, or by the system when the process ends, even by kill -9.
func acquireLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open the library lock file: %w", err)
	}
	if err := lockFile(f); err != nil {
		pid := readPid(f)
		f.Close()
		if errors.Is(err, errLocked) {
			if pid > 0 {
				return nil, errorf(ErrLibraryInUse, "the library is in use by another Concept Studio (pid %d)", pid)
			}
			return nil, errorf(ErrLibraryInUse, "the library is in use by another Concept Studio")
		}
		return nil, fmt.Errorf("cannot lock the concept library: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		f.Sync()
	}
	return f, nil
}

// releaseLock empties the pid and drops the lock.
func releaseLock(f *os.File) error {
	f.Truncate(0)
	err := unlockFile(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readPid reads the holder's process id from the lock file (0 if unknown).
func readPid(f *os.File) int {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
