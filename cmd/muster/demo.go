package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/domain/staff"
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
	hash, err := hasher.Hash(ctx, demoPassword)
	if err != nil {
		return err
	}
	if _, err := accounts.CreateWithEmail(ctx, demoEmail, hash, demoDisplayName); err != nil && !errors.Is(err, account.ErrEmailTaken) {
		return fmt.Errorf("seed demo player: %w", err)
	}
	return nil
}

// demoStaffPassword is the password of every demo staff account.
const demoStaffPassword = "muster demo staff"

// seedDemoStaff creates one staff account per role, named for the role
// (owner@muster.dev, support@muster.dev, ...), and logs their credentials.
func seedDemoStaff(ctx context.Context, st *staff.Store, log *slog.Logger) error {
	for _, role := range rbac.Roles {
		email := role + "@muster.dev"
		if _, err := st.ByEmail(ctx, email); err == nil {
			continue
		}
		name := strings.ToUpper(role[:1]) + role[1:] + " (demo)"
		if _, err := st.Create(ctx, email, name, role, demoStaffPassword); err != nil && !errors.Is(err, staff.ErrEmailTaken) {
			return fmt.Errorf("seed demo staff %s: %w", email, err)
		}
	}
	log.Info("demo staff accounts: <role>@muster.dev for owner, admin, designer, support, analyst", "password", demoStaffPassword)
	return nil
}
