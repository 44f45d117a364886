package app

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the app's release version; FyneApp.toml carries the same.
const Version = "0.1.0"

// VersionString describes this build: version, VCS revision when known, Go
// version and platform.
func VersionString() string {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " (" + s.Value[:12] + ")"
			}
		}
	}
	return fmt.Sprintf("conceptstudio %s%s %s %s/%s", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
