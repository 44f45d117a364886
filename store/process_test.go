package store

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"conceptstudio/engine"
	"conceptstudio/engine/safefile"
)

// The test binary doubles as the child process of the lock and crash
// tests: with childEnv set, TestMain runs the child's job instead of the
// tests.
const (
	childEnv    = "CONCEPTSTUDIO_STORE_TEST_CHILD"
	childDirEnv = "CONCEPTSTUDIO_STORE_TEST_DIR"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "hold-lock":
		childHoldLock(os.Getenv(childDirEnv))
	case "save-loop":
		childSaveLoop(os.Getenv(childDirEnv))
	default:
		fmt.Fprintln(os.Stderr, "unknown child job")
		os.Exit(2)
	}
}

// childHoldLock opens the library, says "locked" and holds the lock until
// its standard input closes.
func childHoldLock(dir string) {
	l, err := OpenLibrary(dir)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	l.Close()
	os.Exit(0)
}

// childSaveLoop writes to the library as fast as it can, forever: it is
// meant to be killed with SIGKILL at a random moment.
func childSaveLoop(dir string) {
	var l *Library
	var err error
	for i := 0; i < 500; i++ { // the previous child's lock goes with its process
		if l, err = OpenLibrary(dir); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	start := 1
	if c, err := l.Get("teddy"); err == nil {
		start = c.Settings.Steps + 1 // versions go on across children
	}
	for i := start; ; i++ {
		c := crashConcept("teddy", i)
		must(l.Save(c))
		must(l.Save(crashConcept("cup", i)))
		if l.Has("bear") {
			must(l.Delete("bear"))
		}
		must(l.Duplicate("teddy", "copy"))
		must(l.Rename("copy", "bear"))
		img.Set(i%64, 0, color.NRGBA{uint8(i), 0, 0, 255})
		if _, err := l.SaveImage(img, GenerationSettings{Prompt: "a teddy* at sea", Seed: int64(i)}); err != nil {
			must(err)
		}
		if i%20 == 0 {
			must(l.EmptyTrash())
		}
	}
}

func must(err error) {
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}

// crashConcept is concept version v: Settings.Steps records v, and the
// weights are large enough (some 100k floats) that writes take a while.
func crashConcept(name string, v int) *engine.Concept {
	c := testConcept(name)
	c.Settings.Steps = v
	n := 50_000 + (v%3)*50_000
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(v)
	}
	c.Tensors["o_v/big"] = engine.Tensor{Shape: []int{n}, Data: data}
	return c
}

// startChild runs the test binary as a child doing job in dir, and waits
// for its first line ("locked" or "ready").
func startChild(t *testing.T, job, dir string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+job, childDirEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "error") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child %s: %q, %v", job, line, err)
	}
	return cmd, stdin
}

func TestLockHeldByAnotherProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lib")
	seed, err := OpenLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	seed.Add(testConcept("teddy"))
	seed.Close()

	child, stdin := startChild(t, "hold-lock", dir)
	_, err = OpenLibrary(dir)
	want := fmt.Sprintf("the library is in use by another Concept Studio (pid %d)", child.Process.Pid)
	if !errors.Is(err, ErrLibraryInUse) || err == nil || err.Error() != want {
		t.Errorf("open while another process holds the lock: got %v, want %q", err, want)
	}
	ro := NewLibrary(dir)
	if list, err := ro.List(); err != nil || len(list) != 1 || list[0].Err != nil {
		t.Errorf("read-only listing must work without the lock: %+v, %v", list, err)
	}
	if err := ro.Save(testConcept("cup")); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only write: %v", err)
	}
	stdin.Close() // the child releases the lock and exits
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	l, err := OpenLibrary(dir)
	if err != nil {
		t.Fatalf("after the other instance quit: %v", err)
	}
	l.Close()

	// A killed instance's lock goes with it.
	child, _ = startChild(t, "hold-lock", dir)
	if _, err := OpenLibrary(dir); !errors.Is(err, ErrLibraryInUse) {
		t.Fatalf("second child: %v", err)
	}
	child.Process.Kill()
	child.Wait()
	l, err = OpenLibrary(dir)
	if err != nil {
		t.Fatalf("after kill -9 of the holder: %v", err)
	}
	l.Close()
}

// TestKillDuringSave kills a child that saves, renames, duplicates and
// deletes concepts in a loop with SIGKILL at random moments, 30 times, and
// checks after each kill that every concept file decodes, that temporary
// files are never listed, and at the end that reopening the library
// removes the leftovers.
func TestKillDuringSave(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 30 processes")
	}
	dir := filepath.Join(t.TempDir(), "lib")
	l, err := OpenLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	l.Save(crashConcept("teddy", 0))
	l.Close()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	versions := map[int]bool{}
	tempsSeen := 0
	const kills = 30
	for k := 0; k < kills; k++ {
		child, _ := startChild(t, "save-loop", dir)
		time.Sleep(time.Duration(rng.Intn(60_000)) * time.Microsecond)
		child.Process.Kill()
		child.Wait()

		tempsSeen += countTemps(t, dir)
		checkAllConceptFilesDecode(t, dir)
		list, err := NewLibrary(dir).List()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			if e.Err != nil {
				t.Fatalf("kill %d: %s listed with an error: %v", k, e.Name, e.Err)
			}
			if !map[string]bool{"teddy": true, "cup": true, "copy": true, "bear": true}[e.Name] {
				t.Fatalf("kill %d: unexpected entry %q (a temporary file taken for a concept?)", k, e.Name)
			}
		}
		c, err := engine.ReadConceptFile(filepath.Join(dir, "teddy"+ConceptExt))
		if err != nil {
			t.Fatalf("kill %d: teddy: %v", k, err)
		}
		versions[c.Settings.Steps] = true
		for _, it := range mustGallery(t, dir) {
			if it.Err != nil {
				t.Fatalf("kill %d: gallery image %s: %v", k, it.Path, it.Err)
			}
		}
	}
	t.Logf("%d kills, %d distinct saved versions seen, %d leftover temp files seen", kills, len(versions), tempsSeen)
	if len(versions) < 5 {
		t.Fatalf("the child saved too little between kills (%d versions): the test did not exercise saving", len(versions))
	}
	l, err = OpenLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n := countTemps(t, dir); n != 0 {
		t.Fatalf("%d temporary files left after reopening", n)
	}
}

func mustGallery(t *testing.T, dir string) []GalleryItem {
	t.Helper()
	g, err := NewLibrary(dir).Gallery()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// checkAllConceptFilesDecode decodes every *.concept.safetensors under dir
// (library and trash), refusing any that does not.
func checkAllConceptFilesDecode(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{dir, filepath.Join(dir, TrashName)} {
		des, _ := os.ReadDir(sub)
		for _, de := range des {
			if !strings.HasSuffix(de.Name(), ConceptExt) || de.IsDir() {
				continue
			}
			c, err := engine.ReadConceptFile(filepath.Join(sub, de.Name()))
			if err != nil {
				t.Fatalf("a kill left a broken file: %v", err)
			}
			if want := trashName(strings.TrimSuffix(de.Name(), ConceptExt)); c.Name != want {
				t.Fatalf("%s holds %q", de.Name(), c.Name)
			}
		}
	}
}

func countTemps(t *testing.T, dir string) int {
	n := 0
	for _, sub := range []string{dir, filepath.Join(dir, TrashName), filepath.Join(dir, GalleryName)} {
		des, _ := os.ReadDir(sub)
		for _, de := range des {
			if safefile.IsTemp(de.Name()) {
				n++
			}
		}
	}
	return n
}
