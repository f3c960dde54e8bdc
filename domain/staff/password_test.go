package staff

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/rbac"
)

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	st := create(t, s, rbac.RoleSupport)
	here, other := login(t, s, st, ""), login(t, s, st, "")
	change := func(current, next string) error {
		return db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error { return s.ChangePasswordTx(ctx, tx, st.ID, current, next, here.Token) })
	}
	if err := change("not the password", "a brand new passphrase"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := change(pw, "password1"); !errors.Is(err, account.ErrWeakPassword) {
		t.Fatalf("weak new password: %v", err)
	}
	if err := change(pw, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, here.Token); err != nil {
		t.Fatalf("the session that changed the password ended: %v", err)
	}
	if _, _, err := s.Authenticate(ctx, other.Token); !errors.Is(err, ErrSessionInvalid) {
		t.Fatalf("another session survived: %v", err)
	}
	if _, _, err := s.Login(ctx, st.Email, pw, "", "203.0.113.7", "test"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("old password still works: %v", err)
	}
	if _, _, err := s.Login(ctx, st.Email, "a brand new passphrase", "", "203.0.113.7", "test"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}
