//go:build linux

// Command rtload measures Muster's realtime gateway end to end on this
// machine: how many idle, authenticated connections real
// `muster serve --target=realtime` processes hold and what each costs in
// resident memory, and how fast and how quickly the gateways deliver
// notifications published on the Redis shard channels. bench/realtime.sh
// runs it; it starts and stops the gateways, rtload does the clients.
//
//	rtload prepare -players N -out FILE
//
// creates N players (accounts through domain/account, one session each
// through domain/session, signed with the signing key sealed by
// MUSTER_SECRET_KEY, the gateways' own) in the migrated database
// MUSTER_DATABASE_URL and writes their account ids and access tokens to
// FILE. Login throughput is not what is measured, so it goes straight to
// the domain packages.
//
//	rtload run -players FILE -gateways ADDR,... [-pids PID,...] [-ops ADDR,...]
//	           [-conns N] [-hold 60s] [-rates 20000,50000] [-step 10s]
//
// 1. starts client processes (rtload itself, -procs of them, at most
// -per-proc connections each: the open-file limit is per process) that
// connect -conns players, player i to gateway i mod len(-gateways), each
// from its own loopback source address 127.0.0.(10+k), complete Hello and
// Welcome and ping at the announced heartbeat (with an Ack of the latest
// notification);
// 2. reads the resident set (VmRSS) of every gateway (-pids) before the
// clients connect, once all are connected, and after -hold idle with
// heartbeats, and the Go runtime's heap and stacks from their /metrics
// (-ops), and reports bytes per connection;
// 3. for each rate of -rates (messages/s), publishes notifications for
// the connected players for -step on their shard channels exactly as
// domain/notify's publisher does (notify.EncodeMessage on
// "<prefix>pubsub:notify:<id mod 64>"), each player's seqs following the
// last one stored, the send time in the payload ({"sent_ns":...}); the
// clients check every seq arrives once and in order and record the
// delivery latency. It stops at the first rate that lost a message, cut a
// connection or fell behind, since a gateway that misses a seq reads the
// gap from PostgreSQL, where these notifications are not stored;
// 4. prints the figures and the CPU time each process used per phase, and
// exits 1 if a connection failed or a message was lost.
//
// Everything is loopback: gateways, PostgreSQL and Redis must have
// loopback addresses, and the clients refuse to dial anything else.
// Every phase is bounded in time and count (see the flag limits).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "prepare":
		err = prepareMain(ctx, os.Args[2:])
	case "run":
		err = runMain(ctx, os.Args[2:])
	case clientCommand:
		err = clientMain(ctx, os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	var bad badFlags
	switch {
	case errors.As(err, &bad):
		fmt.Fprintln(os.Stderr, "rtload:", err)
		os.Exit(2)
	case errors.Is(err, errFailed):
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "rtload:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  rtload prepare -players N -out FILE            (MUSTER_DATABASE_URL, MUSTER_SECRET_KEY from the environment)
  rtload run -players FILE -gateways ADDR,... [-pids PID,...] [-ops ADDR,...] [flags]
rtload prepare -h and rtload run -h list the flags; bench/realtime.sh runs both.`)
}

// badFlags is a usage error (exit status 2).
type badFlags struct{ error }

func badf(format string, args ...any) error { return badFlags{fmt.Errorf(format, args...)} }

// errFailed means the run finished and reported a failure (exit status 1).
var errFailed = errors.New("the run failed")
