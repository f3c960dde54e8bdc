//go:build !linux

// Command ceiling measures this machine's ceilings for Muster's goals. It
// reads /proc and uses Linux-only process controls, so it runs on Linux
// only; see main.go.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "ceiling: runs on Linux only")
	os.Exit(2)
}
