package main

import (
	"os/exec"
	"strings"
	"testing"
)

// forbiddenImports checks, with `go list -deps`, that the packages matching
// pattern do not depend on any import path with one of the given prefixes.
func forbiddenImports(t *testing.T, pattern string, prefixes ...string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pattern).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pattern, err)
	}
	var bad []string
	for _, dep := range strings.Fields(string(out)) {
		for _, p := range prefixes {
			if dep == p || strings.HasPrefix(dep, p+"/") {
				bad = append(bad, dep)
			}
		}
	}
	return bad
}

// TestDependencyDirection keeps the arrows ui -> app -> engine, store: the
// engine and the store never see Fyne, and the engine never sees the
// layers above it.
func TestDependencyDirection(t *testing.T) {
	rules := []struct {
		pattern   string
		forbidden []string
	}{
		{"./engine/...", []string{"fyne.io", "conceptstudio/app", "conceptstudio/ui", "conceptstudio/store", "github.com/sqweek/dialog"}},
		// The library reads concept files without the network code.
		{"./store/...", []string{"fyne.io", "conceptstudio/app", "conceptstudio/ui", "github.com/sqweek/dialog", "gorgonia.org", "conceptstudio/engine/model", "conceptstudio/engine/ops"}},
		{"./app/...", []string{"fyne.io", "conceptstudio/ui", "github.com/sqweek/dialog"}},
	}
	for _, r := range rules {
		if bad := forbiddenImports(t, r.pattern, r.forbidden...); len(bad) > 0 {
			t.Errorf("%s must not depend on %v", r.pattern, bad)
		}
	}
}

// TestWindowTalksToAppOnly: the window's own imports name no engine or
// store package (it reaches them through app), so a screen cannot bypass
// the use cases.
func TestWindowTalksToAppOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}", "./ui/...").Output()
	if err != nil {
		t.Fatalf("go list ./ui/...: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, "conceptstudio/engine") || strings.HasPrefix(imp, "conceptstudio/store") {
				t.Errorf("%s imports %s; the window goes through conceptstudio/app", pkg, imp)
			}
		}
	}
}
