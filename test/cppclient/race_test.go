//go:build race

package cppclient_test

// raceFlags builds muster with the race detector when this test runs with
// it: the build reuses the test's compiled packages, and the server's side
// of the end-to-end run is checked for races too.
var raceFlags = []string{"-race"}
