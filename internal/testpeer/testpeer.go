// Package testpeer finds the outside programs tests use as peers and judges: the
// repository root, node, and the npm packages pinned in tools/npm. A missing peer fails
// the test with how to install it, or skips it under -short. Tests only.
package testpeer

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const install = "install Node.js (>= 18), then `npm ci --prefix tools/npm` (or `make deps`) at the repository root"

// RepoRoot is the directory of go.mod, found by walking up from the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// NodeModules is tools/npm/node_modules of the repository.
func NodeModules(t testing.TB) string {
	return filepath.Join(RepoRoot(t), "tools", "npm", "node_modules")
}

// Node returns the node binary and the node_modules directory, after checking that
// each named npm package is installed there.
func Node(t testing.TB, packages ...string) (node, modules string) {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if testing.Short() {
			t.Skipf("-short: %s; %s", what, install)
		}
		t.Fatalf("%s: %s (or run with -short to skip this test)", what, install)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("`node` is not in PATH")
	}
	modules = NodeModules(t)
	for _, pkg := range packages {
		if _, err := os.Stat(filepath.Join(modules, pkg, "package.json")); err != nil {
			missing(filepath.Join(modules, pkg) + " is missing")
		}
	}
	return node, modules
}
