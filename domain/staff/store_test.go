package staff

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const pw = "correct horse battery staple"

var secretKey = func() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}()

func newStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	return newStoreCost(t, cfg, bcrypt.MinCost)
}

func newStoreCost(t *testing.T, cfg Config, cost int) *Store {
	t.Helper()
	h, err := account.NewHasher(cost)
	if err != nil {
		t.Fatal(err)
	}
	return NewStore(testenv.DB(t), h, secretKey, cfg)
}

var emailSeq atomic.Int64

// newEmail returns an address no other test uses; the tests share one
// database.
func newEmail() string {
	return fmt.Sprintf("staff%d.%d@studio.example", time.Now().UnixNano(), emailSeq.Add(1))
}

func create(t *testing.T, s *Store, role string) Staff {
	t.Helper()
	st, err := s.Create(context.Background(), newEmail(), "Sam Staff", role, pw)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func login(t *testing.T, s *Store, st Staff, code string) Session {
	t.Helper()
	sess, _, err := s.Login(context.Background(), st.Email, pw, code, "203.0.113.7", "test")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return sess
}

func TestCreateLoginAuthenticateLogout(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	email := newEmail()
	created, err := s.Create(ctx, "  "+strings.ToUpper(email)+" ", " Sam Staff ", rbac.RoleSupport, pw)
	if err != nil {
		t.Fatal(err)
	}
	if created.Email != email || created.DisplayName != "Sam Staff" || created.Role != rbac.RoleSupport ||
		created.Status != StatusActive || created.TOTPEnabled || created.LastLoginAt != nil || created.ID == 0 {
		t.Fatalf("created %+v", created)
	}

	sess, st, err := s.Login(ctx, strings.ToUpper(email), pw, "", "203.0.113.7", "Mozilla/5.0")
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != created.ID || st.LastLoginAt == nil {
		t.Fatalf("login returned %+v", st)
	}
	if len(sess.Token) != 43 || len(sess.CSRFToken) != 43 || sess.Token == sess.CSRFToken {
		t.Fatalf("session %+v", sess)
	}
	if d := time.Until(sess.ExpiresAt); d < 11*time.Hour || d > 13*time.Hour {
		t.Fatalf("session expires in %s, want about 12h", d)
	}

	got, info, err := s.Authenticate(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != created.ID || got.Role != rbac.RoleSupport || info.CSRFToken != sess.CSRFToken ||
		info.StaffID != created.ID || info.IP != "203.0.113.7" || info.UserAgent != "Mozilla/5.0" ||
		!info.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("Authenticate = %+v, %+v", got, info)
	}
	// A second Authenticate within the minute does not need to write, and
	// still succeeds.
	if _, _, err := s.Authenticate(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}

	// The token is stored only as its SHA-256 hash.
	var stored []struct {
		TokenHash []byte `db:"token_hash"`
		CSRF      string `db:"csrf_token"`
	}
	if err := s.db.Select(&stored, `SELECT token_hash, csrf_token FROM staff_sessions WHERE staff_id = $1`, created.ID); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte(sess.Token))
	if len(stored) != 1 || !bytes.Equal(stored[0].TokenHash, want[:]) || stored[0].CSRF == sess.Token {
		t.Fatalf("stored session %+v", stored)
	}
	var leaks int
	if err := s.db.Get(&leaks, `SELECT count(*) FROM staff_sessions s WHERE position(convert_to($1, 'UTF8') in s.token_hash) > 0
    OR s.csrf_token = $1 OR s.ip = $1 OR s.user_agent = $1`, sess.Token); err != nil {
		t.Fatal(err)
	}
	if leaks != 0 {
		t.Fatal("the session token is stored in the clear")
	}

	for _, bad := range []string{"", "short", sess.Token[:42] + "x", strings.Repeat("A", 43), sess.CSRFToken} {
		if _, _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrSessionInvalid) {
			t.Errorf("Authenticate(%q) = %v, want ErrSessionInvalid", bad, err)
		}
	}

	if err := s.Logout(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, ErrSessionInvalid) {
		t.Fatalf("after logout: %v", err)
	}
	if err := s.Logout(ctx, sess.Token); err != nil {
		t.Fatalf("second logout: %v", err)
	}
	if err := s.Logout(ctx, "garbage"); err != nil {
		t.Fatalf("logout of garbage: %v", err)
	}
}

func TestCreateValidation(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	taken := create(t, s, rbac.RoleAnalyst)
	tests := []struct {
		name                      string
		email, display, role, pwd string
		want                      error
	}{
		{"unknown role", newEmail(), "Sam", "intern", pw, ErrInvalidRole},
		{"empty role", newEmail(), "Sam", "", pw, ErrInvalidRole},
		{"bad email", "not-an-email", "Sam", rbac.RoleAdmin, pw, ErrInvalidEmail},
		{"empty name", newEmail(), "  ", rbac.RoleAdmin, pw, ErrInvalidDisplayName},
		{"control character", newEmail(), "Sam\x00", rbac.RoleAdmin, pw, ErrInvalidDisplayName},
		{"short password", newEmail(), "Sam", rbac.RoleAdmin, "short", account.ErrWeakPassword},
		{"common password", newEmail(), "Sam", rbac.RoleAdmin, "password123", account.ErrWeakPassword},
		{"password is the email", "sam.password@studio.example", "Sam", rbac.RoleAdmin, "Sam.Password@studio.example", account.ErrWeakPassword},
		{"password is the name", newEmail(), "Samantha Staff", rbac.RoleAdmin, "samantha staff", account.ErrWeakPassword},
		{"email taken", strings.ToUpper(taken.Email), "Other", rbac.RoleAdmin, pw, ErrEmailTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Create(ctx, tt.email, tt.display, tt.role, tt.pwd); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	for _, role := range rbac.Roles {
		if st := create(t, s, role); st.Role != role {
			t.Fatalf("role %q stored as %q", role, st.Role)
		}
	}
}

func TestWrongPasswordAndUnknownEmailLookAlike(t *testing.T) {
	s := newStore(t, Config{})
	st := create(t, s, rbac.RoleAdmin)
	ctx := context.Background()
	_, _, wrong := s.Login(ctx, st.Email, "not the password", "", "", "")
	_, _, unknown := s.Login(ctx, newEmail(), pw, "", "", "")
	_, _, malformed := s.Login(ctx, "nobody", pw, "", "", "")
	for name, err := range map[string]error{"wrong password": wrong, "unknown email": unknown, "malformed email": malformed} {
		if !errors.Is(err, ErrInvalidCredentials) || err.Error() != ErrInvalidCredentials.Error() {
			t.Errorf("%s: %v, want exactly ErrInvalidCredentials", name, err)
		}
	}
}

func TestLockout(t *testing.T) {
	const lockFor = 700 * time.Millisecond
	s := newStore(t, Config{MaxFailures: 5, LockFor: lockFor})
	ctx := context.Background()
	st := create(t, s, rbac.RoleSupport)
	bad := func() error {
		_, _, err := s.Login(ctx, st.Email, "wrong password", "", "", "")
		return err
	}

	// Failures separated by a success do not add up.
	for range 4 {
		if err := bad(); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	login(t, s, st, "")
	for i := range 4 {
		if err := bad(); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("failure %d after a success: %v", i+1, err)
		}
	}
	// The fifth consecutive failure locks.
	err := bad()
	var locked *LockedError
	if !errors.As(err, &locked) || !errors.Is(err, ErrLocked) {
		t.Fatalf("fifth failure: %v, want a LockedError", err)
	}
	if d := time.Until(locked.Until); d <= 0 || d > lockFor+time.Second {
		t.Fatalf("locked until %s from now", d)
	}
	// The right password is refused while locked.
	if _, _, err := s.Login(ctx, st.Email, pw, "", "", ""); !errors.Is(err, ErrLocked) {
		t.Fatalf("right password while locked: %v", err)
	}
	if err := bad(); !errors.Is(err, ErrLocked) {
		t.Fatalf("wrong password while locked: %v", err)
	}

	time.Sleep(time.Until(locked.Until) + 100*time.Millisecond)
	// After the lock one failure is only one failure again.
	if err := bad(); !errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrLocked) {
		t.Fatalf("first failure after the lock: %v", err)
	}
	login(t, s, st, "")
	var failed int
	if err := s.db.Get(&failed, `SELECT failed_logins FROM staff_accounts WHERE id = $1`, st.ID); err != nil || failed != 0 {
		t.Fatalf("failed_logins after success = %d, %v", failed, err)
	}
}

func TestTOTP(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	st := create(t, s, rbac.RoleAdmin)

	secret, uri, err := s.EnrollTOTP(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Muster:"+st.Email ||
		u.Query().Get("secret") != secret || u.Query().Get("issuer") != "Muster" ||
		u.Query().Get("digits") != "6" || u.Query().Get("period") != "30" || u.Query().Get("algorithm") != "SHA1" {
		t.Fatalf("otpauth url %q (%v)", uri, err)
	}
	var sealed []byte
	if err := s.db.Get(&sealed, `SELECT totp_secret_sealed FROM staff_accounts WHERE id = $1`, st.ID); err != nil {
		t.Fatal(err)
	}
	key, _ := decodeSecret(secret)
	if len(sealed) == 0 || bytes.Contains(sealed, key) || bytes.Contains(sealed, []byte(secret)) {
		t.Fatal("the TOTP secret is not sealed")
	}

	// Pending: logins do not ask for a code yet.
	login(t, s, st, "")
	if got, _ := s.ByID(ctx, st.ID); got.TOTPEnabled {
		t.Fatal("TOTP enabled before confirmation")
	}

	if err := s.ConfirmTOTP(ctx, st.ID, "000000"); !errors.Is(err, ErrInvalidCode) {
		// One in a million this is the right code; accept the failure then.
		t.Fatalf("confirm with a wrong code: %v", err)
	}
	now, _ := Code(secret, time.Now())
	if err := s.ConfirmTOTP(ctx, st.ID, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ByID(ctx, st.ID); !got.TOTPEnabled {
		t.Fatal("TOTP not enabled after confirmation")
	}
	if err := s.ConfirmTOTP(ctx, st.ID, now); !errors.Is(err, ErrTOTPAlreadyEnabled) {
		t.Fatalf("second confirm: %v", err)
	}
	if _, _, err := s.EnrollTOTP(ctx, st.ID); !errors.Is(err, ErrTOTPAlreadyEnabled) {
		t.Fatalf("enroll while enabled: %v", err)
	}

	try := func(code string) error {
		_, _, err := s.Login(ctx, st.Email, pw, code, "", "")
		return err
	}
	if err := try(""); !errors.Is(err, ErrTOTPRequired) {
		t.Fatalf("no code: %v", err)
	}
	if _, _, err := s.Login(ctx, st.Email, "wrong password", "", "", ""); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password, no code: %v", err)
	}
	wrong := "000000"
	if wrong == now {
		wrong = "111111"
	}
	if err := try(wrong); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong code: %v", err)
	}
	if err := try(now); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("the code used to confirm was accepted again: %v", err)
	}
	next, _ := Code(secret, time.Now().Add(30*time.Second))
	if err := try(next); err != nil {
		t.Fatalf("next step's code: %v", err)
	}
	if err := try(next); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("a code was accepted twice: %v", err)
	}

	if err := s.DisableTOTP(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	login(t, s, st, "")
	if err := s.ConfirmTOTP(ctx, st.ID, now); !errors.Is(err, ErrTOTPNotEnrolled) {
		t.Fatalf("confirm without enrollment: %v", err)
	}
}

func TestConcurrentLoginsCannotShareOneCode(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	st := create(t, s, rbac.RoleAdmin)
	secret, _, err := s.EnrollTOTP(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Code(secret, time.Now().Add(-30*time.Second))
	if err := s.ConfirmTOTP(ctx, st.ID, c); err != nil {
		t.Fatal(err)
	}
	code, _ := Code(secret, time.Now().Add(30*time.Second))
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_, _, err := s.Login(ctx, st.Email, pw, code, "", "")
			switch {
			case err == nil:
				ok.Add(1)
			case !errors.Is(err, ErrInvalidCredentials):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d logins succeeded with one code, want 1", ok.Load())
	}
}

func TestIdleTimeout(t *testing.T) {
	const idle = 2 * time.Second // room for a slow database between uses
	s := newStore(t, Config{IdleTimeout: idle})
	st := create(t, s, rbac.RoleAnalyst)
	sess := login(t, s, st, "")
	ctx := context.Background()
	// Regular use keeps the session alive well past one idle timeout.
	for range 6 {
		time.Sleep(idle / 4)
		if _, _, err := s.Authenticate(ctx, sess.Token); err != nil {
			t.Fatalf("in use: %v", err)
		}
	}
	time.Sleep(idle + 500*time.Millisecond)
	if _, _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, ErrSessionInvalid) {
		t.Fatalf("after the idle timeout: %v", err)
	}
}

func TestAbsoluteTimeout(t *testing.T) {
	const absolute = 3 * time.Second // room for a slow login and first use
	s := newStore(t, Config{AbsoluteTimeout: absolute})
	st := create(t, s, rbac.RoleAnalyst)
	sess := login(t, s, st, "")
	if d := time.Until(sess.ExpiresAt); d > absolute {
		t.Fatalf("ExpiresAt %s away", d)
	}
	ctx := context.Background()
	if _, _, err := s.Authenticate(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(absolute + 300*time.Millisecond)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		_, _, _ = s.Authenticate(ctx, sess.Token) // use does not extend it
	}
	if _, _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, ErrSessionInvalid) {
		t.Fatalf("after the absolute timeout: %v", err)
	}
}

func TestDisabledStaff(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	st := create(t, s, rbac.RoleSupport)
	a, b := login(t, s, st, ""), login(t, s, st, "")

	err := db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		before, after, err := s.SetStatusTx(ctx, tx, st.ID, StatusDisabled)
		if err == nil && (before.Status != StatusActive || after.Status != StatusDisabled) {
			t.Errorf("before %+v after %+v", before, after)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{a.Token, b.Token} {
		if _, _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrSessionInvalid) {
			t.Fatalf("session of disabled staff: %v", err)
		}
	}
	var open int
	if err := s.db.Get(&open, `SELECT count(*) FROM staff_sessions WHERE staff_id = $1 AND revoked_at IS NULL`, st.ID); err != nil || open != 0 {
		t.Fatalf("%d sessions left unrevoked (%v)", open, err)
	}
	if _, _, err := s.Login(ctx, st.Email, pw, "", "", ""); !errors.Is(err, ErrDisabled) {
		t.Fatalf("login of disabled staff: %v", err)
	}
	if _, _, err := s.Login(ctx, st.Email, "wrong password", "", "", ""); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password of disabled staff: %v", err)
	}
	if err := s.SetStatus(ctx, st.ID, "suspended"); !errors.Is(err, ErrInvalidStatus) {
		t.Fatalf("unknown status: %v", err)
	}

	if err := s.SetStatus(ctx, st.ID, StatusActive); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, a.Token); !errors.Is(err, ErrSessionInvalid) {
		t.Fatalf("re-enabling revived an old session: %v", err)
	}
	login(t, s, st, "")
}

func TestRevokeAll(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	st, other := create(t, s, rbac.RoleDesigner), create(t, s, rbac.RoleDesigner)
	a, b, c := login(t, s, st, ""), login(t, s, st, ""), login(t, s, other, "")
	if err := s.RevokeAll(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{a.Token, b.Token} {
		if _, _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrSessionInvalid) {
			t.Fatalf("revoked session: %v", err)
		}
	}
	if _, _, err := s.Authenticate(ctx, c.Token); err != nil {
		t.Fatalf("another staff member's session: %v", err)
	}
}

func TestRehashOnLogin(t *testing.T) {
	ctx := context.Background()
	old := newStoreCost(t, Config{}, bcrypt.MinCost)
	st := create(t, old, rbac.RoleAnalyst)
	cost := func() int {
		var h string
		if err := old.db.Get(&h, `SELECT password_hash FROM staff_accounts WHERE id = $1`, st.ID); err != nil {
			t.Fatal(err)
		}
		c, err := bcrypt.Cost([]byte(strings.TrimPrefix(h, "bcrypt-sha256$")))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := cost(); got != bcrypt.MinCost {
		t.Fatalf("cost %d", got)
	}
	login(t, newStoreCost(t, Config{}, bcrypt.MinCost+1), st, "")
	if got := cost(); got != bcrypt.MinCost+1 {
		t.Fatalf("cost after login with a new cost = %d", got)
	}
	if _, _, err := old.Login(ctx, st.Email, pw, "", "", ""); err != nil {
		t.Fatalf("login after rehash: %v", err)
	}
}

func TestListByIDAndSetRole(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	st := create(t, s, rbac.RoleDesigner)
	got, err := s.ByID(ctx, st.ID)
	if err != nil || got.ID != st.ID || got.Email != st.Email || !got.CreatedAt.Equal(st.CreatedAt) {
		t.Fatalf("ByID = %+v, %v; want %+v", got, err, st)
	}
	if _, err := s.ByID(ctx, -1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ByID(-1): %v", err)
	}
	if got, err := s.ByEmail(ctx, " "+strings.ToUpper(st.Email)); err != nil || got.ID != st.ID {
		t.Fatalf("ByEmail = %+v, %v", got, err)
	}
	for _, e := range []string{newEmail(), "not an email"} {
		if _, err := s.ByEmail(ctx, e); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ByEmail(%q): %v", e, err)
		}
	}
	all, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i, a := range all {
		found = found || a.ID == st.ID
		if i > 0 && all[i-1].ID >= a.ID {
			t.Fatal("List is not ordered by id")
		}
	}
	if !found {
		t.Fatal("List misses a staff member")
	}

	err = db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		before, after, err := s.SetRoleTx(ctx, tx, st.ID, rbac.RoleSupport)
		if err == nil && (before.Role != rbac.RoleDesigner || after.Role != rbac.RoleSupport || before.ID != after.ID) {
			t.Errorf("before %+v after %+v", before, after)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sess := login(t, s, st, "")
	if got, _, _ := s.Authenticate(ctx, sess.Token); got.Role != rbac.RoleSupport {
		t.Fatalf("role after SetRole = %q", got.Role)
	}
	if err := s.SetRole(ctx, st.ID, "intern"); !errors.Is(err, ErrInvalidRole) {
		t.Fatalf("unknown role: %v", err)
	}
	if err := s.SetRole(ctx, -1, rbac.RoleAdmin); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown staff: %v", err)
	}
}

// TestLastOwner keeps the studio from demoting or disabling its last active
// owner, even when two owners are demoted at once.
func TestLastOwner(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	// Only this test's owners count.
	if _, err := s.db.Exec(`UPDATE staff_accounts SET status = 'disabled' WHERE role = 'owner'`); err != nil {
		t.Fatal(err)
	}
	a, b := create(t, s, rbac.RoleOwner), create(t, s, rbac.RoleOwner)

	for range 10 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []int64{a.ID, b.ID} {
			wg.Go(func() { errs[i] = s.SetRole(ctx, id, rbac.RoleAdmin) })
		}
		wg.Wait()
		nOK, nLast := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				nOK++
			case errors.Is(err, ErrLastOwner):
				nLast++
			default:
				t.Fatal(err)
			}
		}
		if nOK != 1 || nLast != 1 {
			t.Fatalf("concurrent demotions: %v", errs)
		}
		// Restore both owners for the next round.
		for _, id := range []int64{a.ID, b.ID} {
			if err := s.SetRole(ctx, id, rbac.RoleOwner); err != nil {
				t.Fatal(err)
			}
		}
	}

	if err := s.SetStatus(ctx, b.ID, StatusDisabled); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, a.ID, StatusDisabled); !errors.Is(err, ErrLastOwner) {
		t.Fatalf("disable the last owner: %v", err)
	}
	if err := s.SetRole(ctx, a.ID, rbac.RoleAnalyst); !errors.Is(err, ErrLastOwner) {
		t.Fatalf("demote the last owner: %v", err)
	}
	// Changing an owner's role to owner, or a disabled owner's role, is fine.
	if err := s.SetRole(ctx, a.ID, rbac.RoleOwner); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole(ctx, b.ID, rbac.RoleAdmin); err != nil {
		t.Fatal(err)
	}
}
