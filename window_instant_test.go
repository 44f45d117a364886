package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"conceptstudio/engine"
	"conceptstudio/internal/testenv"
	"conceptstudio/internal/xdndtest"
	"conceptstudio/store"
)

// TestInstantConceptEndToEnd is a new user's first minute on the shipped
// model, under Xvfb at 1024×700 (CONCEPTSTUDIO_SCREEN=1920x1080 for the
// large screen; CONCEPTSTUDIO_SCREENSHOTS keeps the screenshots): a
// fresh install (the library folder does not exist), one picture dropped
// on the window, the sheet chooses the instant method for it, the
// concept is named and trained (seconds: the embedded model carries its
// encoder), then used in a prompt, generated and exported.
func TestInstantConceptEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the real window under Xvfb; run without -short")
	}
	screen := "1024x700"
	if s := os.Getenv("CONCEPTSTUDIO_SCREEN"); s != "" {
		screen = s
	}
	var W, H int
	if _, err := fmt.Sscanf(screen, "%dx%d", &W, &H); err != nil {
		t.Fatalf("CONCEPTSTUDIO_SCREEN %q: %v", screen, err)
	}
	display := testenv.Xvfb(t, 90, screen+"x24")
	bin := buildBinary(t)
	dir := t.TempDir()
	lib := filepath.Join(dir, "data", "conceptstudio") // does not exist yet
	exportDir := filepath.Join(dir, "export")
	if err := os.MkdirAll(exportDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shots := screenshotDir(t)
	picture, err := filepath.Abs("examples/teapot/1.png")
	if err != nil {
		t.Fatal(err)
	}
	const prompt = "a cup* on a blue background"

	cmd := exec.Command(bin, "-library", lib, "-export-dir", exportDir)
	cmd.Env = privateEnv(dir, "DISPLAY="+display) // the embedded model
	w := startWindow(t, display, shots, "instant-"+screen, cmd)
	fail, wait, xdo, shoot := w.fail, w.wait, w.xdo, w.shoot
	w.drawn()
	xdo("windowmove", w.win, "0", "0")
	xdo("windowsize", w.win, fmt.Sprint(W), fmt.Sprint(H))
	time.Sleep(time.Second) // the window lays itself out at the screen's size
	before := w.drawn()
	xdo("windowfocus", "--sync", w.win)

	w.stage = "drop one picture"
	if _, err := xdndtest.Drop(display, []string{picture}, xdndtest.Options{Title: "Concept Studio", Timeout: 20 * time.Second}); err != nil {
		fail("%v", err)
	}
	wait(10*time.Second, "the new-concept sheet", func() bool {
		time.Sleep(300 * time.Millisecond)
		return changedShare(before, shoot("sheet")) > 0.3
	})
	time.Sleep(2 * time.Second) // the picture's check and cut-out
	shoot("sheet-checked")

	w.stage = "name it and train (the instant method)"
	xdo("type", "--delay", "20", "cup")
	xdo("key", "Return")
	xdo("type", "--delay", "20", "teapot")
	time.Sleep(300 * time.Millisecond)
	xdo("key", "Return")
	conceptFile := filepath.Join(lib, "cup"+store.ConceptExt)
	trainStart := time.Now()
	wait(60*time.Second, "the trained concept "+conceptFile, func() bool {
		_, err := os.Stat(conceptFile)
		return err == nil
	})
	t.Logf("trained in %.1f s after Enter", time.Since(trainStart).Seconds())
	c, err := engine.ReadConceptFile(conceptFile)
	if err != nil {
		fail("%v", err)
	}
	if c.Method != engine.E4T || c.Settings.Images != 1 || c.Thumbnail == nil {
		fail("the concept from one picture: method %s, %d images, thumbnail %v; want e4t from 1 with a thumbnail", c.Method, c.Settings.Images, c.Thumbnail != nil)
	}
	time.Sleep(time.Second) // the window reloads the library
	shoot("trained")

	w.stage = "write the prompt and generate"
	xdo("key", "ctrl+a") // the first start's example prompt
	xdo("type", "--delay", "20", prompt)
	xdo("key", "ctrl+Return")
	var exported []string
	for start := time.Now(); len(exported) == 0; {
		if time.Since(start) > 60*time.Second {
			fail("Ctrl+E exported nothing into %s in 60 s", exportDir)
		}
		xdo("key", "ctrl+e")
		for deadline := time.Now().Add(3 * time.Second); len(exported) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			exported, _ = filepath.Glob(filepath.Join(exportDir, "*.png"))
		}
	}
	time.Sleep(500 * time.Millisecond)
	shoot("generated")
	exported, _ = filepath.Glob(filepath.Join(exportDir, "*.png"))
	if len(exported) != 4 {
		fail("exported %d files, want 4: %v", len(exported), exported)
	}
	for _, p := range exported {
		data, err := os.ReadFile(p)
		if err != nil {
			fail("%v", err)
		}
		st, err := store.ReadSettings(data)
		if err != nil {
			fail("%s: %v", p, err)
		}
		if st.Prompt != prompt || len(st.Concepts) != 1 || st.Concepts[0].Name != "cup" {
			fail("%s: settings %+v, want the prompt with cup*", p, st)
		}
	}
}
