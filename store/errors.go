package store

import (
	"errors"
	"fmt"
)

// Errors of the store, for errors.Is. The error values returned carry a
// one-line message meant for the user; these sentinels only classify them.
// Concept files that cannot be read also match engine.ErrCorruptConcept, and
// concepts made for another base model engine.ErrWrongBase.
var (
	// ErrLibraryInUse: another Concept Studio holds the library's lock.
	ErrLibraryInUse = errors.New("the library is in use by another Concept Studio")
	// ErrReadOnly: a write on a Library made by NewLibrary (no lock held).
	ErrReadOnly = errors.New("the library is open for reading only")
	// ErrExists: the name is already taken in the library (or the trash).
	ErrExists = errors.New("a concept with that name already exists")
	// ErrBadName: a name that cannot be a pseudo-word (engine.ValidName).
	ErrBadName = errors.New("invalid concept name")
	// ErrNotFound: no concept (or trash item) of that name.
	ErrNotFound = errors.New("no such concept")
	// ErrNameMismatch: a concept file whose file name and pseudo-word differ.
	ErrNameMismatch = errors.New("file name and concept name differ")
	// ErrWrongWidth: an embedding whose width is not the base model's.
	ErrWrongWidth = errors.New("embedding width does not match the base model")
	// ErrMultiVector: a textual inversion embedding of several vectors,
	// imported without ImportOptions.AverageVectors.
	ErrMultiVector = errors.New("embedding has several vectors")
	// ErrCannotExport: the concept's method has no such export format.
	ErrCannotExport = errors.New("the concept cannot be exported in that format")
	// ErrNotAnImage: a file that is not an image Concept Studio can read.
	ErrNotAnImage = errors.New("not an image")
	// ErrImageTooLarge: an image (or image file) over the size caps.
	ErrImageTooLarge = errors.New("image too large")
	// ErrTooFewImages: fewer usable images than the method needs.
	ErrTooFewImages = errors.New("too few images")
	// ErrNoSettings: a PNG without Concept Studio generation settings, or
	// with settings that cannot be read.
	ErrNoSettings = errors.New("no generation settings in the image")
)

// kindError is a user-facing message that also matches a sentinel (kind)
// and, when there is one, the underlying cause.
type kindError struct {
	kind error
	msg  string
	wrap error
}

func (e *kindError) Error() string { return e.msg }

func (e *kindError) Unwrap() []error {
	if e.wrap != nil {
		return []error{e.kind, e.wrap}
	}
	return []error{e.kind}
}

// errorf returns an error with the formatted message that matches kind with
// errors.Is, and also whatever a %w verb in format wraps.
func errorf(kind error, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &kindError{kind: kind, msg: err.Error(), wrap: err}
}
