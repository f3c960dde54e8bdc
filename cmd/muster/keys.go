package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/musterhq/muster/domain/session"
)

// cmdKeys manages access-token signing keys: `muster keys rotate` makes a
// new key the signer; the old one keeps verifying until its tokens expire,
// so nobody is logged out. Running processes pick the new key up within 30 s
// (at once when they meet a token signed by it).
func cmdKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	_, cfg, err := parseVerb("keys", args, getenv, stderr, "rotate")
	if err != nil {
		return err
	}
	if err := require(&cfg, "database-url", "secret-key"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
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
