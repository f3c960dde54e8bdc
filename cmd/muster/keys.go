package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/staff"
)

// cmdKeys manages access-token signing keys: `muster keys rotate` makes a
// new key the signer; the old one keeps verifying until its tokens expire,
// so nobody is logged out. Running processes pick the new key up within 30 s
// (at once when they meet a token signed by it). `muster keys reseal`
// re-seals what MUSTER_SECRET_KEY protects (docs/operations.md).
func cmdKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	verb, cfg, err := parseVerb("keys", args, getenv, stderr, "rotate", "reseal")
	if err != nil {
		return err
	}
	if err := require(&cfg, "database-url", "secret-key"); err != nil {
		return err
	}
	if verb == "reseal" {
		return reseal(ctx, cfg, getenv, stdout)
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

// reseal seals the signing keys' private halves and the staff's TOTP
// secrets under MUSTER_SECRET_KEY instead of MUSTER_OLD_SECRET_KEY, in one
// transaction: all of them or none. Running it again changes nothing.
func reseal(ctx context.Context, cfg Config, getenv func(string) string, stdout io.Writer) error {
	oldText := getenv("MUSTER_OLD_SECRET_KEY")
	if oldText == "" {
		return errors.New("MUSTER_OLD_SECRET_KEY is required: the secret key everything is sealed under now (MUSTER_SECRET_KEY is the new one)")
	}
	oldKey, err := decodeSecretKey(oldText)
	if err != nil {
		return fmt.Errorf("MUSTER_OLD_SECRET_KEY: %w", err)
	}
	newKey, err := decodeSecretKey(cfg.SecretKey)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	var keys, factors int
	err = db.InTx(ctx, conn, nil, func(tx *sqlx.Tx) (err error) {
		if keys, err = session.Reseal(ctx, tx, oldKey, newKey); err != nil {
			return err
		}
		factors, err = staff.ResealTOTP(ctx, tx, oldKey, newKey)
		return err
	})
	if err != nil {
		return fmt.Errorf("re-seal (nothing changed): %w", err)
	}
	fmt.Fprintf(stdout, "re-sealed %d signing keys and %d staff second factors under the new secret key\n", keys, factors)
	return nil
}
