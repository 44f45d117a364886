//go:build ignore

// gen rebuilds the dataset assets (atlas, personal objects) and the
// repository's examples/ with dataset.Build, the same as
// `conceptstudio dataset`. Run it from engine/dataset:
//
//	go run gen.go [-cache DIR]
//
// It needs npm once (the tarballs are cached and verified by sha512).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"conceptstudio/engine/dataset"
)

func main() {
	def, err := os.UserCacheDir()
	if err != nil {
		def = os.TempDir()
	}
	cache := flag.String("cache", filepath.Join(def, "conceptstudio", "npm"), "download cache `dir`")
	root := flag.String("root", "../..", "repository root `dir`")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err = dataset.Build(ctx, *cache, *root, func(s string) { fmt.Println(s) })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
