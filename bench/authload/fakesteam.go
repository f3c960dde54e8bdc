//go:build linux

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/musterhq/muster/web/steam/steamtest"
)

// fakeSteamCommand is the hidden first argument that makes authload serve
// the fake Steam Web API instead of measuring.
const fakeSteamCommand = "fake-steam"

// firstSteamID is the Steam id of ticket 0; ticket i belongs to
// firstSteamID+i (Steam ids have 17 digits).
const firstSteamID = 76561198000000000

// serveFakeSteam serves steamtest's fake on a loopback port with one player
// per line of -tickets, prints its URL on stdout, and runs until stdin
// closes or SIGTERM/SIGINT arrives.
func serveFakeSteam(args []string) error {
	fs := flag.NewFlagSet(fakeSteamCommand, flag.ContinueOnError)
	file := fs.String("tickets", "", "file of hex tickets, one a line")
	key := fs.String("key", "", "API key to accept")
	appID := fs.String("app-id", "", "app id to accept")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tickets, err := readTickets(*file)
	if err != nil {
		return err
	}
	s := steamtest.Start(*key, *appID)
	defer s.Close()
	for i, t := range tickets {
		s.AddTicket(t, steamtest.Player{SteamID: strconv.FormatInt(firstSteamID+int64(i), 10)})
	}
	fmt.Println(s.URL())

	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	select {
	case <-done:
	case <-sig:
	}
	return nil
}
