package match

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Create registers a server and returns its credential, shown only now.
// also, when not nil, runs in the same transaction (the console's audit
// row) with the new server, never the credential.
func (s *Servers) Create(ctx context.Context, name, createdBy string, also func(tx *sqlx.Tx, sv Server) error) (Server, string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Server{}, "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(secret))
	var sv Server
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		const q = `INSERT INTO game_servers (name, secret_hash, created_by) VALUES ($1, $2, $3)
			RETURNING id, name, created_by, created_at, revoked_at, last_seen_at`
		if err := tx.GetContext(ctx, &sv, q, name, sum[:], createdBy); err != nil {
			return err
		}
		if also != nil {
			return also(tx, sv)
		}
		return nil
	})
	switch {
	case db.IsUniqueViolation(err):
		return Server{}, "", fmt.Errorf("%w: a server named %q exists", ErrInvalidServer, name)
	case db.IsConstraint(err, "game_servers_name_check"):
		return Server{}, "", fmt.Errorf("%w: name: use 1 to 64 lower-case letters, digits, '_', '.' or '-'", ErrInvalidServer)
	case err != nil:
		return Server{}, "", fmt.Errorf("create server: %w", err)
	}
	return sv, credentialPrefix + strconv.FormatInt(sv.ID, 10) + "_" + secret, nil
}

// ErrServerRevoked: the server's credential was revoked already.
var ErrServerRevoked = errors.New("the game server's credential is already revoked")

// Revoke stops a server's credential from working (on other nodes within
// their cache time). also, when not nil, runs in the same transaction (the
// console's audit row) with the server before and after. A server revoked
// already is ErrServerRevoked and nothing changes.
func (s *Servers) Revoke(ctx context.Context, id int64, also func(tx *sqlx.Tx, before, after Server) error) (Server, error) {
	var after Server
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var before Server
		const sel = `SELECT id, name, created_by, created_at, revoked_at, last_seen_at FROM game_servers WHERE id = $1 FOR UPDATE`
		err := tx.GetContext(ctx, &before, sel, id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: no server %d", ErrInvalidServer, id)
		case err != nil:
			return err
		case before.RevokedAt != nil:
			return ErrServerRevoked
		}
		const upd = `UPDATE game_servers SET revoked_at = now() WHERE id = $1
			RETURNING id, name, created_by, created_at, revoked_at, last_seen_at`
		if err := tx.GetContext(ctx, &after, upd, id); err != nil {
			return fmt.Errorf("revoke server: %w", err)
		}
		if also != nil {
			return also(tx, before, after)
		}
		return nil
	})
	if err != nil {
		return Server{}, err
	}
	// Forget the cached credential once the revocation is committed, so a
	// check in between cannot cache it as valid again.
	s.mu.Lock()
	delete(s.cache, id)
	s.mu.Unlock()
	return after, nil
}
