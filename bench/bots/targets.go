package bots

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/musterhq/muster/bench/loadgen"
)

// Services are the muster targets whose routes the bots call, each named
// as `muster serve --target` names it.
var Services = []string{"auth", "player", "progression", "inventory", "store", "realtime", "matchmaking", "sessions"}

// Targets says which process serves which of the bots' calls: the base URL
// of each target's REST routes and the realtime gateways' TCP addresses.
type Targets struct {
	urls     map[string]string // target -> base URL
	Realtime []string          // host:port of the realtime gateways; players spread over them
}

// ParseTargets reads --target values. Each is a base URL that serves every
// target (`http://127.0.0.1:8080`), or the targets one process runs and
// its URL (`auth,player,store=http://127.0.0.1:8080`), as many as there
// are processes; every target of Services must be served once.
func ParseTargets(values []string, realtime []string) (Targets, error) {
	t := Targets{urls: map[string]string{}, Realtime: realtime}
	if len(values) == 0 {
		return t, fmt.Errorf("--target is required: the base URL of muster's REST API (http://127.0.0.1:8080), or TARGETS=URL per process")
	}
	for _, v := range values {
		names, raw := "", v
		if i := strings.Index(v, "="); i > 0 && !strings.ContainsAny(v[:i], ":/") {
			names, raw = v[:i], v[i+1:]
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return t, fmt.Errorf("--target %q: want a base URL such as http://127.0.0.1:8080, optionally after TARGETS=", v)
		}
		base := strings.TrimSuffix(raw, "/")
		list := Services
		if names != "" {
			list = nil
			for n := range strings.SplitSeq(names, ",") {
				switch {
				case n == "worker" || n == "console":
					// Runs no route the bots call.
				case slices.Contains(Services, n):
					list = append(list, n)
				case n == "all":
					list = append(list, Services...)
				default:
					return t, fmt.Errorf("--target %q: unknown target %q", v, n)
				}
			}
		}
		for _, n := range list {
			if prev, ok := t.urls[n]; ok && prev != base {
				return t, fmt.Errorf("--target: %s is served by both %s and %s; name each target once", n, prev, base)
			}
			t.urls[n] = base
		}
	}
	var missing []string
	for _, n := range Services {
		if _, ok := t.urls[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("--target: no process serves %s", strings.Join(missing, ", "))
	}
	if len(t.Realtime) == 0 {
		return t, fmt.Errorf("--realtime is required: the realtime gateway's TCP address (127.0.0.1:7350)")
	}
	for _, a := range t.Realtime {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return t, fmt.Errorf("--realtime %q: want host:port", a)
		}
	}
	return t, nil
}

// URL is the base URL of target's routes.
func (t Targets) URL(target string) string { return t.urls[target] }

// Bases are the distinct base URLs.
func (t Targets) Bases() []string {
	var out []string
	for _, u := range t.urls {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// Remote is the first address that is not on this machine, or "".
func (t Targets) Remote() string {
	for _, b := range t.Bases() {
		u, _ := url.Parse(b)
		if !loadgen.LoopbackHost(u.Hostname()) {
			return b
		}
	}
	for _, a := range t.Realtime {
		if !loadgen.LoopbackAddr(a) {
			return a
		}
	}
	return ""
}
