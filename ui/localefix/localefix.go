// Package localefix keeps Fyne from logging "Error parsing user locale C"
// at start-up on systems whose locale is "C.UTF-8" (Debian's default in
// containers): Fyne's locale lookup reads "C.UTF-8" as the language "C".
//
// It must be initialised before fyne.io/fyne/v2/lang, so it imports only the
// standard library: Go initialises packages in import-path order as soon as
// their imports are ready, and "conceptstudio/..." sorts before "fyne.io/...".
// It sets LC_MESSAGES=C, which means the same as C.UTF-8 for messages and
// leaves character handling (LC_CTYPE) alone.
package localefix

import (
	"os"
	"strings"
)

func init() { Apply(os.Getenv, os.Setenv) }

// Apply sets LC_MESSAGES to "C" when the locale that decides message
// language is a C or POSIX locale with an encoding suffix.
func Apply(getenv func(string) string, setenv func(string, string) error) {
	if getenv("LC_ALL") != "" {
		return
	}
	loc := getenv("LC_MESSAGES")
	if loc == "" {
		loc = getenv("LANG")
	}
	base, _, hasDot := strings.Cut(loc, ".")
	if hasDot && (base == "C" || base == "POSIX") {
		_ = setenv("LC_MESSAGES", "C")
	}
}
