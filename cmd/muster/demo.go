package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/musterhq/muster/domain/account"
)

// Demo content that `muster dev` seeds, so a new studio engineer can log in
// at once. Each seed is idempotent.
const (
	demoEmail       = "demo@muster.dev"
	demoPassword    = "muster demo password"
	demoDisplayName = "DemoPlayer"
)

// seedDemoPlayer creates the demo player unless it exists.
func seedDemoPlayer(ctx context.Context, accounts *account.Store, hasher *account.Hasher) error {
	if _, _, err := accounts.ByEmail(ctx, demoEmail); err == nil {
		return nil
	} else if !errors.Is(err, account.ErrNotFound) {
		return err
	}
	hash, err := hasher.Hash(demoPassword)
	if err != nil {
		return err
	}
	if _, err := accounts.CreateWithEmail(ctx, demoEmail, hash, demoDisplayName); err != nil && !errors.Is(err, account.ErrEmailTaken) {
		return fmt.Errorf("seed demo player: %w", err)
	}
	return nil
}
