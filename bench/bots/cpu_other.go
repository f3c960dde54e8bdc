//go:build !unix

package bots

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
