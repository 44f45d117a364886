// Package ui is Concept Studio's window: Fyne screens and widgets that talk
// to package app through small interfaces, so every screen can be tested
// headless with fakes. One screen per file.
package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"

	"conceptstudio/app"
	"conceptstudio/icons"
	_ "conceptstudio/ui/localefix" // before Fyne's locale lookup
)

// AppID is the application's unique ID (FyneApp.toml carries the same).
const AppID = "io.github.conceptstudio"

// ErrNoDisplay means the window cannot open because there is no graphical
// session to open it on.
var ErrNoDisplay = errors.New("no display found, so the window cannot open (DISPLAY is not set or not reachable); use the command line instead: conceptstudio -h")

// Options adjust the window for automated runs (the end-to-end test);
// the zero value is the ordinary window.
type Options struct {
	// ExportDir, when set, is where every export goes without asking: the
	// save dialog is skipped (SaveFile answers ExportDir/suggested name,
	// ChooseFolder answers ExportDir).
	ExportDir string
	// TrainSteps, when above 0, replaces the method's default step count
	// for concepts trained in the window.
	TrainSteps int
}

// Run opens the main window and blocks until it is closed or ctx is done
// (Ctrl-C, SIGTERM), in which case the window closes cleanly.
func Run(ctx context.Context, a *app.App, opt Options) error {
	if err := checkDisplay(); err != nil {
		return err
	}
	fa := fyneapp.NewWithID(AppID)
	fa.SetIcon(icons.AppIcon)
	w := fa.NewWindow("Concept Studio")
	var saver Saver = newNativeSaver(w)
	if opt.ExportDir != "" {
		saver = dirSaver(opt.ExportDir)
	}
	b := newAppBackend(a)
	b.trainSteps = opt.TrainSteps
	// A first start puts the example concepts in the library, so the
	// placeholder prompt works at once.
	installed, exErr := a.InstallExamples()
	m := buildScreen(w, b, saver, w.SetOnDropped)
	switch {
	case exErr != nil:
		m.setStatus("The example concepts could not be put in the library: " + app.Explain(exErr))
	case len(installed) > 0:
		m.editor.SetText(examplePrompt)
		m.setStatus(fmt.Sprintf("Welcome. The library holds %s to try: press Ctrl+Enter to draw the prompt, or drop 3-5 images of your own thing to teach it.", starred(installed)))
	}
	defer m.shutdown() // also when the app quits without closing the window
	w.SetContent(m.root)
	m.editor.Focus(w.Canvas()) // the window opens ready for a prompt
	// Small enough for a 1024×700 screen (the layout holds there; its
	// minimum is smaller still), and resizable up from there.
	w.Resize(fyne.NewSize(1000, 660))
	w.CenterOnScreen()
	quit := func() { fa.Quit() }
	w.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyQ, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) { quit() })

	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			onMain(quit)
		case <-done:
		}
	}()
	w.ShowAndRun()
	return nil
}

// starred writes names as "teddy* and teapot*".
func starred(names []string) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = n + "*"
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// checkDisplay makes sure an X11 or Wayland display is reachable before
// Fyne starts (GLFW would otherwise abort the process).
func checkDisplay() error {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		return nil
	}
	if wl := os.Getenv("WAYLAND_DISPLAY"); wl != "" {
		return nil
	}
	d := os.Getenv("DISPLAY")
	if d == "" {
		return ErrNoDisplay
	}
	if !x11Reachable(d) {
		return fmt.Errorf("cannot reach the display %q, so the window cannot open; use the command line instead: conceptstudio -h", d)
	}
	return nil
}

// x11Reachable dials the X server named by a DISPLAY value such as ":0",
// ":1.0", "unix:2" or "host:0".
func x11Reachable(display string) bool {
	host, rest, ok := strings.Cut(display, ":")
	if !ok {
		return false
	}
	num, _, _ := strings.Cut(rest, ".")
	if num == "" {
		return false
	}
	try := func(network, addr string) bool {
		c, err := net.DialTimeout(network, addr, 2*time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	if host == "" || host == "unix" {
		path := "/tmp/.X11-unix/X" + num
		return try("unix", path) || try("unix", "@"+path)
	}
	var port int
	if _, err := fmt.Sscan(num, &port); err != nil {
		return false
	}
	return try("tcp", net.JoinHostPort(host, fmt.Sprint(6000+port)))
}
