//go:build !race

package cppclient_test

var raceFlags []string
