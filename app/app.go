// Package app holds Concept Studio's use cases: generate, train, evaluate,
// pretrain, build the dataset, benchmark and manage the concept library.
// Both the command line (main) and the window (ui) call these and nothing
// else, so the two always behave the same. app never imports Fyne.
//
// Every long use case has the shape
//
//	func (a *App) X(ctx context.Context, req XRequest, progress ProgressFunc) error
//
// checks ctx between steps, and reports progress as data.
package app

import (
	"io"
	"os"
	"sync"

	"golang.org/x/term"

	"conceptstudio/engine"
	"conceptstudio/store"
)

// Options configure an App. Zero values pick sensible defaults.
type Options struct {
	Out, Err   io.Writer // command output and diagnostics (default: stdout, stderr)
	LibraryDir string    // concept library (default: store.DefaultLibraryDir)
}

// App is the set of use cases over one concept library.
type App struct {
	Out, Err io.Writer
	Library  *store.Library

	mu    sync.Mutex
	bases map[string]*engine.Base // model files loaded so far, by path
}

// New opens the app over its library folder (created on first use).
func New(opt Options) (*App, error) {
	if opt.Out == nil {
		opt.Out = os.Stdout
	}
	if opt.Err == nil {
		opt.Err = os.Stderr
	}
	dir := opt.LibraryDir
	if dir == "" {
		d, err := store.DefaultLibraryDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	return &App{Out: opt.Out, Err: opt.Err, Library: store.NewLibrary(dir)}, nil
}

// Progress returns a reporter that draws a progress bar on a terminal and
// prints plain lines otherwise, on the app's diagnostics writer.
func (a *App) Progress(label string) ProgressFunc {
	tty := false
	if f, ok := a.Err.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return NewTextProgress(a.Err, label, tty, nil)
}
