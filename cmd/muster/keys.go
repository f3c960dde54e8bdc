package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/session"
)

// cmdKeys manages access-token signing keys: `muster keys rotate` makes a
// new key the signer; the old one keeps verifying until its tokens expire,
// so nobody is logged out. Running processes pick the new key up within 30 s
// (at once when they meet a token signed by it).
func cmdKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var verbs []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verbs, args = args[:1], args[1:]
	}
	cfg, rest, err := parseConfig("keys", args, getenv, stderr)
	if err != nil {
		return err
	}
	verbs = append(verbs, rest...)
	if len(verbs) != 1 || verbs[0] != "rotate" {
		return fmt.Errorf("want `muster keys rotate`, got %q", strings.Join(verbs, " "))
	}
	if err := require(&cfg, "database-url", "secret-key"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := db.Open(ctx, cfg.DatabaseURL, db.Pool{MaxOpen: 2})
	if err != nil {
		return err
	}
	defer conn.Close()
	mig, err := db.NewMigrator(conn)
	if err != nil {
		return err
	}
	if err := mig.Check(ctx); err != nil {
		return err
	}
	secret, err := decodeSecretKey(cfg.SecretKey)
	if err != nil {
		return err
	}
	keys := session.NewKeys(conn, session.Config{SecretKey: secret, AccessTTL: cfg.AccessTTL})
	kid, err := keys.Rotate(ctx)
	if err != nil {
		if errors.Is(err, session.ErrSealing) {
			return fmt.Errorf("%w: is MUSTER_SECRET_KEY the deployment's key?", err)
		}
		return err
	}
	fmt.Fprintf(stdout, "signing key %s is now active; earlier keys verify until their tokens expire (%s)\n", kid, cfg.AccessTTL)
	return nil
}
