package app

import (
	"errors"
	"fmt"
)

// ErrUsage marks a request that is wrong as asked (a missing or bad flag);
// the command line answers it with exit code 2.
var ErrUsage = errors.New("bad usage")

// ErrNotImplemented marks a use case whose engine work does not exist yet.
// It is never hidden behind a fake result.
var ErrNotImplemented = errors.New("not implemented yet")

// usageError says what is wrong with a request.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUsage}, args...)...)
}

// notImplemented says which part of the product is missing.
func notImplemented(what string) error {
	return fmt.Errorf("%w: %s", ErrNotImplemented, what)
}

// Explain turns an error into the one sentence a user reads.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if errors.Is(err, ErrUsage) {
		// "bad usage: missing -prompt" reads better without the prefix.
		const p = "bad usage: "
		if len(msg) > len(p) && msg[:len(p)] == p {
			msg = msg[len(p):]
		}
	}
	return msg
}
