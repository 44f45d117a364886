package main

import (
	"bytes"
	"conceptstudio/internal/testenv"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runCLI runs one in-process invocation with a private library folder.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("CONCEPTSTUDIO_LIBRARY", t.TempDir())
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestCommandLineExitCodes(t *testing.T) {
	cases := []struct {
		args     []string
		code     int
		inStderr string
		inStdout string
	}{
		{[]string{"nope"}, 2, `unknown command "nope"`, ""},
		{[]string{"help"}, 0, "", "conceptstudio generate"},
		{[]string{"version"}, 0, "", "conceptstudio 0."},
		{[]string{"generate", "-bogus"}, 2, "flag provided but not defined: -bogus", ""},
		{[]string{"generate", "-h"}, 0, "usage: conceptstudio generate -prompt TEXT", ""},
		{[]string{"generate", "-out", "x"}, 2, "missing -prompt", ""},
		{[]string{"generate", "-prompt", "a dog", "-out", "x", "-gate", "teddy"}, 2, `gate "teddy" is not NAME=VALUE`, ""},
		{[]string{"generate", "-prompt", "a dog", "-out", "x", "-n", "0"}, 2, "-n must be from 1 to 64", ""},
		{[]string{"generate", "-prompt", "a dog", "-out", "x", "-region", "dog=0.8,0,0.5,0.5"}, 2, "reaches outside the picture", ""},
		{[]string{"generate", "-prompt", "a dog", "-out", "x", "-region", "dog"}, 2, "should read NAME=x,y,width,height", ""},
		{[]string{"generate", "-prompt", "a dog", "-out", "x", "-region", "dog=0,0,.5,.5", "-layout", "0"}, 2, "regions need layout guidance", ""},
		{[]string{"generate", "-prompt", "a dog", "-steps", "2", "-out", "TMP", "-region", "cat=0,0,.5,.5"}, 2, `the box "cat" names nothing in the prompt`, ""},
		{[]string{"generate", "-prompt", "a dog next to a cat", "-steps", "2", "-n", "1", "-out", "TMP", "-region", "cat=0,0,.5,.5", "-region", "dog=0.5,0.5,0.5,0.5"}, 0, "", "a-dog-next-to-a-cat-seed"},
		{[]string{"generate", "-prompt", "a zorblax", "-out", "x"}, 1, `the model does not know "zorblax"`, ""},
		{[]string{"generate", "-prompt", "a dog sailing in the fog", "-steps", "2", "-out", "TMP"}, 0, `note: the model does not know "sailing", "fog"; left out of the prompt`, "a-dog-sailing-in-the-fog-seed"},
		{[]string{"train", "-method", "magic", "-name", "t", "-class", "teddy bear", "-out", "t.s", "a.png"}, 2, `unknown -method "magic"`, ""},
		{[]string{"train", "-name", "t", "-class", "teddy bear", "-out", "t.s"}, 2, "no images given", ""},
		{[]string{"train", "-name", "t", "-class", "teddy bear", "-out", "t.s", "a.png"}, 1, "cannot open a.png", ""},
		{[]string{"eval"}, 2, "missing -concept", ""},
		{[]string{"pretrain", "-steps", "-1"}, 2, "must not be negative", ""},
		{[]string{"pretrain", "-dir", "TMP", "-align", "-1"}, 2, "-align is a weight from 0 to 100", ""},
		{[]string{"pretrain", "-dir", "TMP", "-gained-lr", "-1"}, 2, "-gained-lr multiplies the learning rate, from 0 to 100", ""},
		{[]string{"pretrain", "-dir", "TMP", "-ref-augment", "1.5"}, 2, "-ref-augment is a share of the pictures, from 0 to 1", ""},
		{[]string{"pretrain", "-design", "latent-tiny", "-dir", "TMP", "-align", "1"}, 1, "works on pixel designs only", ""},
		{[]string{"pretrain", "-dir", "TMP", "-classes", "cat,unicorn"}, 1, `the world has no class "unicorn"`, ""},
		{[]string{"concepts"}, 2, "concepts needs a subcommand", ""},
		{[]string{"concepts", "frobnicate"}, 2, "unknown concepts subcommand", ""},
		{[]string{"concepts", "rm"}, 2, "takes 1 argument(s), got 0", ""},
		{[]string{"concepts", "list"}, 0, "", "no concepts yet"},
		{[]string{"bench", "-h"}, 0, "usage: conceptstudio bench", ""},
		{[]string{"-export-dir", "x", "version"}, 2, "-export-dir and -train-steps are for the window", ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			args := slices.Clone(c.args)
			if i := slices.Index(args, "TMP"); i >= 0 {
				args[i] = t.TempDir()
			}
			code, out, errOut := runCLI(t, args...)
			if code != c.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, c.code, errOut)
			}
			if !strings.Contains(errOut, c.inStderr) {
				t.Errorf("stderr %q does not contain %q", errOut, c.inStderr)
			}
			if !strings.Contains(out, c.inStdout) {
				t.Errorf("stdout %q does not contain %q", out, c.inStdout)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Errorf("stderr shows a Go panic: %s", errOut)
			}
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for name := range commands {
		code, _, errOut := runCLI(t, name, "-h")
		if code != 0 || !strings.Contains(errOut, "usage: conceptstudio "+name) {
			t.Errorf("%s -h: code %d, stderr %q", name, code, errOut)
		}
	}
}

// buildBinary builds the real program once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "conceptstudio")
	cmd := exec.Command("go", "build", "-tags=migrated_fynedo", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// privateEnv keeps the program's files (library, Fyne preferences) in dir.
func privateEnv(dir string, extra ...string) []string {
	env := []string{"HOME=" + dir, "XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "CONCEPTSTUDIO_LIBRARY=" + filepath.Join(dir, "library"),
		"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	return append(env, extra...)
}

func TestNoDisplayIsOneClearLine(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin)
	cmd.Env = privateEnv(t.TempDir(), "DISPLAY=")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit code 1, got %v", err)
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "no display found") || !strings.Contains(lines[0], "conceptstudio -h") {
		t.Fatalf("stderr should be one sentence pointing at the command line, got:\n%s", errOut.String())
	}
}

// TestWindowSmoke starts the real window under Xvfb, checks that it drew
// something, and closes it with SIGTERM, expecting a clean exit.
func TestWindowSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real window under Xvfb; run without -short")
	}
	display := testenv.Xvfb(t, 90, "1280x800x24")
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = privateEnv(dir, "DISPLAY="+display)
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &errOut, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	waitFor(t, 60*time.Second, "the window to appear", func() bool {
		x := exec.Command("xdotool", "search", "--name", "Concept Studio")
		x.Env = append(os.Environ(), "DISPLAY="+display)
		out, err := x.Output()
		return err == nil && len(bytes.TrimSpace(out)) > 0
	})
	shot := filepath.Join(screenshotDir(t), "window-smoke.png")
	var img image.Image
	waitFor(t, 30*time.Second, "the window to draw", func() bool {
		time.Sleep(500 * time.Millisecond)
		if out, err := exec.Command("import", "-display", display, "-window", "root", shot).CombinedOutput(); err != nil {
			t.Logf("import: %v %s", err, out)
			return false
		}
		img = testenv.ReadPNG(t, shot)
		return distinctColours(img) >= 16
	})
	t.Logf("screenshot: %s (%d colours)", shot, distinctColours(img))

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("window did not exit cleanly: %v\n%s", err, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("window did not close within 20 s of SIGTERM\n%s", errOut.String())
	}
	if s := errOut.String(); strings.Contains(s, "panic") || strings.Contains(s, "Error parsing user locale") {
		t.Errorf("unexpected output:\n%s", s)
	}
}

// screenshotDir is $CONCEPTSTUDIO_SCREENSHOTS when set (kept for looking
// at), else a temporary folder.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("CONCEPTSTUDIO_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func distinctColours(img image.Image) int {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	return len(seen)
}
