package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthTimeout bounds the health command's request.
const healthTimeout = 3 * time.Second

// cmdHealth asks the ops listener of the muster process on this host (the
// same settings: ops-addr) whether it is ready, and fails unless /readyz
// answers 200. It is the container image's HEALTHCHECK, for plain Docker
// and Compose; Kubernetes calls the ops port with its own probes.
func cmdHealth(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := parseConfig("health", args, getenv, stderr)
	if err != nil {
		return err
	}
	url := "http://" + localAddr(cfg.OpsAddr) + "/readyz"
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d: %s", url, resp.StatusCode, body)
	}
	fmt.Fprintf(stdout, "%s", body)
	return nil
}

// localAddr is where a listener bound to addr is reached from this host:
// an address without a host, or an unspecified one, is loopback.
func localAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}
