package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/musterhq/muster/domain/match"
)

// cmdServers registers a dedicated game server credential: `muster servers
// create --name eu-west-fleet` prints the credential once. Staff also create
// and revoke credentials in the console.
func cmdServers(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const want = "want `muster servers create --name NAME`"
	if len(args) == 0 || args[0] != "create" {
		return errors.New(want)
	}
	var name string
	var rest []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--name" || a == "-name":
			if i+1 < len(args) {
				i++
				name = args[i]
			}
		case strings.HasPrefix(a, "--name=") || strings.HasPrefix(a, "-name="):
			_, name, _ = strings.Cut(a, "=")
		default:
			rest = append(rest, a)
		}
	}
	cfg, _, err := parseConfig("servers create", rest, getenv, stderr)
	if err != nil {
		return err
	}
	if name == "" {
		return errors.New(want)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	sv, cred, err := match.NewServers(conn, 0).Create(ctx, name, "muster servers create", nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created game server %s (id %d)\ncredential: %s\nGive it to the server as Authorization: Bearer <credential>; it is not shown again.\n", sv.Name, sv.ID, cred)
	return nil
}
