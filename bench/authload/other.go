//go:build !linux

// Command authload measures Muster's identity target on this machine. It
// reads /proc and uses Linux-only process controls, so it runs on Linux
// only; see main.go.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "authload: runs on Linux only")
	os.Exit(2)
}
