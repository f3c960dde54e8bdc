package session

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

const (
	// algEdDSA is the only JWT algorithm Muster signs or accepts.
	algEdDSA = "EdDSA"
	// reloadEvery is how often Run reloads the keys.
	reloadEvery = 30 * time.Second
	// missReloadEvery bounds reloads triggered by tokens with unknown key
	// ids, so forged kids cannot hammer the database.
	missReloadEvery = time.Second
	// keysLock is the advisory lock that serialises Ensure and Rotate
	// across processes ("muster" + 1).
	keysLock int64 = 0x6d7573746572_0001
)

// Keys holds the Ed25519 keys that sign and verify access tokens. The
// newest active key signs; a retired key keeps verifying until every token
// it signed has expired (retired_at + AccessTTL + Leeway) and is then no
// longer loaded or published. Safe for concurrent use.
type Keys struct {
	conn *sqlx.DB
	cfg  Config
	set  atomic.Pointer[keySet]

	loadMu sync.Mutex // serialises Load, so an older set never replaces a newer one
	loads  atomic.Int64

	missMu   sync.Mutex
	lastMiss time.Time
}

type signingKey struct {
	kid   string
	pub   ed25519.PublicKey
	priv  ed25519.PrivateKey // nil unless unsealed (active key, secret set)
	until time.Time          // zero while active; verification ends then
}

// keySet is an immutable snapshot of the loaded keys.
type keySet struct {
	byKid  map[string]*signingKey
	signer *signingKey // nil when no private key is available
	list   []*signingKey
	jwks   []byte
}

// NewKeys returns Keys stored in conn. Nothing is loaded until Ensure or
// Load runs.
func NewKeys(conn *sqlx.DB, cfg Config) *Keys {
	k := &Keys{conn: conn, cfg: cfg.withDefaults()}
	k.set.Store(&keySet{byKid: map[string]*signingKey{}, jwks: []byte(`{"keys":[]}`)})
	return k
}

// Ensure creates a signing key if there is no active one, then loads the
// keys. Several processes may run it at once; one key results.
func (k *Keys) Ensure(ctx context.Context) error {
	if _, err := newAEAD(k.cfg.SecretKey); err != nil {
		return fmt.Errorf("ensure signing key: %w", err)
	}
	err := db.InTx(ctx, k.conn, nil, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, keysLock); err != nil {
			return err
		}
		var active bool
		const q = `SELECT EXISTS (SELECT 1 FROM auth_signing_keys WHERE retired_at IS NULL)`
		if err := tx.GetContext(ctx, &active, q); err != nil || active {
			return err
		}
		_, err := k.insertKey(ctx, tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("ensure signing key: %w", err)
	}
	return k.Load(ctx)
}

// Rotate makes a new key the signer and retires the previous active key,
// which keeps verifying until its tokens have expired. Other processes
// pick the new key up on their next reload, or at once when they see a
// token signed with it.
func (k *Keys) Rotate(ctx context.Context) (kid string, err error) {
	if _, err := newAEAD(k.cfg.SecretKey); err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	err = db.InTx(ctx, k.conn, nil, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, keysLock); err != nil {
			return err
		}
		if kid, err = k.insertKey(ctx, tx); err != nil {
			return err
		}
		const q = `UPDATE auth_signing_keys SET retired_at = now() WHERE retired_at IS NULL AND kid <> $1`
		_, err := tx.ExecContext(ctx, q, kid)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	return kid, k.Load(ctx)
}

// insertKey generates, seals and stores a new active key.
func (k *Keys) insertKey(ctx context.Context, tx *sqlx.Tx) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	var id [12]byte
	rand.Read(id[:])
	kid := base64.RawURLEncoding.EncodeToString(id[:])
	sealed, err := seal(k.cfg.SecretKey, kid, priv.Seed())
	if err != nil {
		return "", err
	}
	const q = `INSERT INTO auth_signing_keys (kid, algorithm, public_key, private_key_sealed) VALUES ($1, $2, $3, $4)`
	if _, err := tx.ExecContext(ctx, q, kid, algEdDSA, []byte(pub), sealed); err != nil {
		return "", err
	}
	return kid, nil
}

type keyRow struct {
	Kid       string       `db:"kid"`
	Algorithm string       `db:"algorithm"`
	Public    []byte       `db:"public_key"`
	Sealed    []byte       `db:"private_key_sealed"`
	RetiredAt sql.NullTime `db:"retired_at"`
}

// Load reloads the keys that can still verify tokens. Private keys are
// unsealed only when a SecretKey is configured; a process without one can
// verify but not sign. On error the keys loaded before stay in use.
func (k *Keys) Load(ctx context.Context) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	k.loads.Add(1)
	var rows []keyRow
	const q = `
SELECT kid, algorithm, public_key, private_key_sealed, retired_at
FROM auth_signing_keys
WHERE retired_at IS NULL OR retired_at > now() - $1 * interval '1 microsecond'
ORDER BY created_at DESC, kid`
	if err := k.conn.SelectContext(ctx, &rows, q, (k.cfg.AccessTTL + Leeway).Microseconds()); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	set := &keySet{byKid: make(map[string]*signingKey, len(rows))}
	for _, r := range rows {
		if r.Algorithm != algEdDSA || len(r.Public) != ed25519.PublicKeySize {
			return fmt.Errorf("load signing keys: key %s: unsupported %s key", r.Kid, r.Algorithm)
		}
		key := &signingKey{kid: r.Kid, pub: ed25519.PublicKey(r.Public)}
		if r.RetiredAt.Valid {
			key.until = r.RetiredAt.Time.Add(k.cfg.AccessTTL + Leeway)
		} else if len(k.cfg.SecretKey) > 0 {
			seed, err := unseal(k.cfg.SecretKey, r.Kid, r.Sealed)
			if err != nil {
				return fmt.Errorf("load signing keys: %w", err)
			}
			if len(seed) != ed25519.SeedSize {
				return fmt.Errorf("load signing keys: %w: key %s: bad seed", ErrSealing, r.Kid)
			}
			key.priv = ed25519.NewKeyFromSeed(seed)
			if !key.priv.Public().(ed25519.PublicKey).Equal(key.pub) {
				return fmt.Errorf("load signing keys: key %s: private key does not match public key", r.Kid)
			}
			if set.signer == nil {
				set.signer = key // rows are newest first
			}
		}
		set.byKid[key.kid] = key
		set.list = append(set.list, key)
	}
	set.jwks = buildJWKS(set.list, time.Now())
	k.set.Store(set)
	return nil
}

// Run reloads the keys every 30 seconds until ctx ends, so retired keys
// drop out and keys rotated elsewhere are picked up. Errors are logged to
// Config.Logger and the previous keys stay in use.
func (k *Keys) Run(ctx context.Context) {
	t := time.NewTicker(reloadEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.Load(ctx); err != nil && ctx.Err() == nil {
				k.cfg.Logger.Warn("reload session signing keys", "err", err)
			}
		}
	}
}

// signer returns the key new tokens are signed with.
func (k *Keys) signer() *signingKey { return k.set.Load().signer }

// publicKey returns the verification key for kid if it is still valid.
func (k *Keys) publicKey(kid string, now time.Time) (ed25519.PublicKey, bool) {
	key := k.set.Load().byKid[kid]
	if key == nil || (!key.until.IsZero() && !now.Before(key.until)) {
		return nil, false
	}
	return key.pub, true
}

// reloadForUnknown reloads the keys because a token names kid, which is
// not loaded, at most once per second. It reports whether kid is known
// afterwards.
func (k *Keys) reloadForUnknown(ctx context.Context, kid string) bool {
	k.missMu.Lock()
	defer k.missMu.Unlock()
	if _, ok := k.publicKey(kid, time.Now()); ok {
		return true // loaded while this caller waited
	}
	if time.Since(k.lastMiss) < missReloadEvery {
		return false
	}
	k.lastMiss = time.Now()
	if err := k.Load(ctx); err != nil {
		k.cfg.Logger.Warn("reload session signing keys for unknown kid", "err", err)
		return false
	}
	_, ok := k.publicKey(kid, time.Now())
	return ok
}
