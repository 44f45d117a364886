package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"conceptstudio/internal/testenv"
	"conceptstudio/internal/xdndtest"
	"conceptstudio/store"
)

// TestWindowEndToEnd drives the real program under Xvfb the way a person
// would: it drops four example images on the window (a real XDND drag),
// names the concept in the sheet that opens, trains it (30 steps, past its first checkpoint, on a tiny
// model written here), writes a prompt with it, generates with Ctrl+Enter,
// exports with Ctrl+E (into a folder given by -export-dir, so no file
// dialog opens) and checks the exported PNGs and their settings. A
// screenshot of each stage is saved to screenshotDir
// ($CONCEPTSTUDIO_SCREENSHOTS to keep them).
func TestWindowEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the real window under Xvfb; run without -short")
	}
	display := testenv.Xvfb(t, 90, "1280x800x24")
	bin := buildBinary(t)
	dir := t.TempDir()
	modelPath := testenv.TinyModelFile(t, dir)
	// A fresh install: the library folder and its parents do not exist;
	// training (30 steps, past its first checkpoint at 25) must make them.
	lib := filepath.Join(dir, "data", "conceptstudio")
	exportDir := filepath.Join(dir, "export")
	tmp := filepath.Join(dir, "tmp") // the program's temporary folder
	for _, d := range []string{exportDir, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shots := screenshotDir(t)
	const (
		name   = "teddy"
		class  = "teddy bear"
		prompt = "a teddy* on a blue background"
	)
	images := []string{"examples/teddy/1.png", "examples/teddy/2.png", "examples/teddy/3.png", "examples/teddy/4.png"}
	for i, p := range images {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		images[i] = abs
	}

	cmd := exec.Command(bin, "-library", lib, "-export-dir", exportDir, "-train-steps", "30")
	cmd.Env = privateEnv(dir, "DISPLAY="+display, "CONCEPTSTUDIO_MODEL="+modelPath, "TMPDIR="+tmp)
	w := startWindow(t, display, shots, "e2e", cmd)
	fail, wait, xdo, shoot, win, out, exited := w.fail, w.wait, w.xdo, w.shoot, w.win, &w.out, w.exited
	before := w.drawn()
	xdo("windowfocus", "--sync", win)

	w.stage = "drop the images"
	res, err := xdndtest.Drop(display, images, xdndtest.Options{Title: "Concept Studio", Timeout: 20 * time.Second})
	if err != nil {
		fail("%v", err)
	}
	if fmt.Sprint(res.Target) != win {
		fail("dropped on window %d, but xdotool found the window as %s", res.Target, win)
	}
	var sheet image.Image
	wait(10*time.Second, "the new-concept sheet", func() bool {
		time.Sleep(300 * time.Millisecond)
		sheet = shoot("new-concept-sheet")
		return changedShare(before, sheet) > 0.3 // the sheet and the dimmed window behind it
	})

	w.stage = "name the concept and train"
	// The name has the focus; Enter moves to the class, Enter there trains.
	xdo("type", "--delay", "20", name)
	xdo("key", "Return")
	xdo("type", "--delay", "20", class)
	time.Sleep(300 * time.Millisecond) // the last keys reach the field
	shoot("sheet-filled")
	xdo("key", "Return")
	conceptFile := filepath.Join(lib, name+store.ConceptExt)
	wait(45*time.Second, "the trained concept "+conceptFile, func() bool {
		_, err := os.Stat(conceptFile)
		return err == nil
	})
	time.Sleep(time.Second) // the window reloads the library
	shoot("trained")

	w.stage = "write the prompt and generate"
	// The sheet closed and the focus is back in the prompt, where it was.
	xdo("type", "--delay", "20", prompt)
	xdo("key", "ctrl+Return")
	// The images are rendered in memory; they are there when Ctrl+E
	// exports them (before that it says there is nothing to export).
	shot := false
	w.stage = "export with Ctrl+E"
	var exported []string
	for start := time.Now(); len(exported) == 0; {
		if time.Since(start) > 45*time.Second {
			fail("Ctrl+E exported nothing into %s in 45 s", exportDir)
		}
		xdo("key", "ctrl+e")
		for deadline := time.Now().Add(3 * time.Second); len(exported) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			exported, _ = filepath.Glob(filepath.Join(exportDir, "*.png"))
		}
		if !shot {
			shoot("generating")
			shot = true
		}
	}
	time.Sleep(300 * time.Millisecond)
	exported, _ = filepath.Glob(filepath.Join(exportDir, "*.png"))
	shoot("exported")

	w.stage = "check the exported images"
	data, err := os.ReadFile(conceptFile)
	if err != nil {
		fail("%v", err)
	}
	sum := sha256.Sum256(data)
	conceptHash := hex.EncodeToString(sum[:])
	if len(exported) != 4 {
		fail("exported %d files, want the 4 generated: %v", len(exported), exported)
	}
	for i := range 4 {
		path := filepath.Join(exportDir, fmt.Sprintf("a-teddy-on-a-blue-background-seed1-%d.png", i))
		data, err := os.ReadFile(path)
		if err != nil {
			fail("%v (exported: %v)", err, exported)
		}
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			fail("%s: %v", path, err)
		}
		if b := img.Bounds(); b.Dx() != 16 || b.Dy() != 16 {
			fail("%s is %v, want the tiny model's 16×16", path, b)
		}
		if distinctColours(img) < 2 {
			fail("%s is a single colour", path)
		}
		if got := pngText(data)[store.MetaPrefix+"prompt"]; got != prompt {
			fail("%s: tEXt %sprompt = %q, want %q", path, store.MetaPrefix, got, prompt)
		}
		st, err := store.ReadSettings(data)
		if err != nil {
			fail("%s: %v", path, err)
		}
		if st.Prompt != prompt || st.Seed != 1 || st.Index != i || st.Steps != 25 {
			fail("%s: settings %+v, want prompt %q, seed 1, index %d, 25 steps", path, st, prompt, i)
		}
		if len(st.Concepts) != 1 || st.Concepts[0].Name != name || st.Concepts[0].SHA256 != conceptHash ||
			st.Concepts[0].Gate <= 0 || st.Concepts[0].Gate > 1 {
			fail("%s: concepts %+v, want %s* with the library file's SHA-256 %s and its gate", path, st.Concepts, name, conceptHash)
		}
		if i == 0 {
			t.Logf("%s: %+v", filepath.Base(path), st)
		}
	}

	w.stage = "train a second concept"
	teapots := []string{"examples/teapot/1.png", "examples/teapot/2.png", "examples/teapot/3.png"}
	for i, p := range teapots {
		if teapots[i], err = filepath.Abs(p); err != nil {
			t.Fatal(err)
		}
	}
	before = shoot("before-second-drop")
	if _, err := xdndtest.Drop(display, teapots, xdndtest.Options{Title: "Concept Studio", Timeout: 20 * time.Second}); err != nil {
		fail("%v", err)
	}
	wait(10*time.Second, "the second new-concept sheet", func() bool {
		time.Sleep(300 * time.Millisecond)
		return changedShare(before, shoot("second-sheet")) > 0.3
	})
	xdo("type", "--delay", "20", "teapot")
	xdo("key", "Return")
	xdo("type", "--delay", "20", "teapot")
	time.Sleep(300 * time.Millisecond)
	xdo("key", "Return")
	teapotFile := filepath.Join(lib, "teapot"+store.ConceptExt)
	wait(45*time.Second, "the trained concept "+teapotFile, func() bool {
		_, err := os.Stat(teapotFile)
		return err == nil
	})
	time.Sleep(time.Second)

	w.stage = "place both concepts on the scene canvas and generate"
	// The canvas is the light grey square beside the prompt; the library
	// lists teapot* then teddy* at the top left of the window.
	screen := shoot("before-scene")
	canvasBox := colourBox(screen, color.NRGBA{0xf4, 0xf4, 0xf4, 0xff})
	if canvasBox.Dx() < 100 || canvasBox.Dy() < 100 {
		fail("no scene canvas found on the screen (light grey box %v)", canvasBox)
	}
	var wx, wy int
	for _, line := range strings.Split(xdo("getwindowgeometry", "--shell", win), "\n") {
		if v, ok := strings.CutPrefix(line, "X="); ok {
			wx, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(line, "Y="); ok {
			wy, _ = strconv.Atoi(v)
		}
	}
	drag := func(x0, y0, x1, y1 int) {
		xdo("mousemove", fmt.Sprint(x0), fmt.Sprint(y0), "mousedown", "1")
		time.Sleep(200 * time.Millisecond)
		xdo("mousemove", fmt.Sprint((x0+x1)/2), fmt.Sprint((y0+y1)/2))
		time.Sleep(100 * time.Millisecond)
		xdo("mousemove", fmt.Sprint(x1), fmt.Sprint(y1))
		time.Sleep(100 * time.Millisecond)
		xdo("mousemove", fmt.Sprint(x1+1), fmt.Sprint(y1+1), "mouseup", "1")
		time.Sleep(time.Second)
	}
	cb := canvasBox
	drag(wx+40, wy+70, cb.Min.X+cb.Dx()/4, cb.Min.Y+cb.Dy()/4)      // teapot* to the top left
	drag(wx+40, wy+180, cb.Min.X+3*cb.Dx()/4, cb.Min.Y+3*cb.Dy()/4) // teddy* to the bottom right
	time.Sleep(time.Second)
	placed := shoot("scene-placed")
	if changedShare(screen, placed) < 0.01 {
		fail("placing the concepts changed nothing on the screen")
	}
	xdo("key", "ctrl+Return")
	var sceneFiles []string
	for start := time.Now(); len(sceneFiles) == 0; {
		if time.Since(start) > 45*time.Second {
			fail("Ctrl+E exported no scene image into %s in 45 s", exportDir)
		}
		xdo("key", "ctrl+e")
		time.Sleep(time.Second)
		all, _ := filepath.Glob(filepath.Join(exportDir, "*.png"))
		sceneFiles = nil
		for _, f := range all {
			if strings.Contains(filepath.Base(f), "teapot") {
				sceneFiles = append(sceneFiles, f)
			}
		}
	}
	shoot("scene-exported")
	data, err = os.ReadFile(sceneFiles[0])
	if err != nil {
		fail("%v", err)
	}
	st, err := store.ReadSettings(data)
	if err != nil {
		fail("%s: %v", sceneFiles[0], err)
	}
	if len(st.Regions) != 2 || st.Regions[0].Name != "teapot" || st.Regions[1].Name != "teddy" || len(st.Concepts) != 2 {
		fail("%s: regions %+v, concepts %+v; want teapot's and teddy's boxes and both concepts", sceneFiles[0], st.Regions, st.Concepts)
	}
	if tx, ty := st.Regions[0].Centre(); tx > 0.5 || ty > 0.5 {
		fail("teapot's box %+v is not in the top left where it was dropped", st.Regions[0])
	}
	if st.Prompt != "a teapot* on the left of a teddy*" && st.Prompt != "a teapot* above a teddy*" {
		fail("scene prompt %q, want the canvas's relation", st.Prompt)
	}

	w.stage = "close"
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			fail("the window did not exit cleanly: %v", err)
		}
	case <-time.After(20 * time.Second):
		fail("the window did not close within 20 s of SIGTERM")
	}
	if s := out.String(); strings.Contains(s, "panic") || strings.Contains(s, "Failed to focus") {
		t.Errorf("unexpected output:\n%s", s)
	}
	t.Logf("end to end in %.1f s; the program said:\n%s", time.Since(w.began).Seconds(), out.String())
}

// colourBox is the bounding box of the pixels of exactly colour c.
func colourBox(img image.Image, c color.NRGBA) image.Rectangle {
	var box image.Rectangle
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA) == c {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return box
}

// changedShare is the share of sampled pixels that differ between two
// screenshots of the same size.
func changedShare(a, b image.Image) float64 {
	if a.Bounds() != b.Bounds() {
		return 1
	}
	changed, total := 0, 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 4 {
		for x := r.Min.X; x < r.Max.X; x += 4 {
			total++
			if a.At(x, y) != b.At(x, y) {
				changed++
			}
		}
	}
	return float64(changed) / float64(total)
}

// pngText reads a PNG's tEXt chunks (keyword → text) with nothing but the
// PNG chunk layout, as a check on the store's own reader.
func pngText(data []byte) map[string]string {
	out := map[string]string{}
	if len(data) < 8 {
		return out
	}
	for p := 8; p+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		if p+12+n > len(data) {
			break
		}
		if string(data[p+4:p+8]) == "tEXt" {
			if k, v, ok := bytes.Cut(data[p+8:p+8+n], []byte{0}); ok {
				out[string(k)] = string(v)
			}
		}
		p += 12 + n
	}
	return out
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
