package account

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/outbox"
)

// Login outcomes.
const (
	OutcomeSuccess     = "success"
	OutcomeBadPassword = "bad_password"
	OutcomeUnknown     = "unknown_account"
	OutcomeBanned      = "banned"
	OutcomeSlowed      = "slowed"
)

// Login flags: what about a successful login deserves a second look.
const (
	FlagNewIP          = "new_ip"           // first success from this IP for an account that logged in before
	FlagIPManyAccounts = "ip_many_accounts" // this IP logged into many accounts recently
)

// TopicLoginFlagged is the outbox topic of flagged logins.
const TopicLoginFlagged = "auth.login_flagged"

// LoginEvent is one login attempt.
type LoginEvent struct {
	AccountID *int64 // nil when the email matched no account
	IP        string
	Method    string // email, steam
	Outcome   string
	UserAgent string
}

// LoginRecord is one row of an account's login history.
type LoginRecord struct {
	At        time.Time      `db:"at" json:"at"`
	IP        string         `db:"ip" json:"ip"`
	Method    string         `db:"method" json:"method"`
	Outcome   string         `db:"outcome" json:"outcome"`
	UserAgent string         `db:"user_agent" json:"user_agent"`
	Flags     pq.StringArray `db:"flags" json:"flags"`
}

// AnomalyRules tune the login flags.
type AnomalyRules struct {
	ManyAccountsPerIP  int           // distinct accounts from one IP that raise ip_many_accounts
	ManyAccountsWindow time.Duration // over this window
}

// RecordLogin appends a login attempt to the history, stamps a successful
// one on the account, and returns its flags. A flagged login also becomes an
// auth.login_flagged outbox event in the same transaction, for staff tools
// and alerts.
func (s *Store) RecordLogin(ctx context.Context, ev LoginEvent, rules AnomalyRules) ([]string, error) {
	// One statement computes the flags, appends the event and stamps the
	// account; the busy-IP count stops at the threshold so it stays cheap
	// for addresses with long histories.
	const q = `
WITH prior AS (
    SELECT
      $1::bigint IS NOT NULL AND $4 = 'success'
        AND EXISTS (SELECT 1 FROM login_events WHERE account_id = $1 AND outcome = 'success')
        AND NOT EXISTS (SELECT 1 FROM login_events WHERE account_id = $1 AND outcome = 'success' AND ip = $2::inet) AS new_ip,
      $1::bigint IS NOT NULL AND $4 = 'success' AND $6 > 0 AND (
        SELECT count(*) FROM (
          SELECT DISTINCT account_id FROM login_events
          WHERE ip = $2::inet AND outcome = 'success' AND at > now() - $7 * interval '1 millisecond' AND account_id <> $1
          LIMIT GREATEST($6 - 1, 0)
        ) d) + 1 >= $6 AS busy_ip
), ins AS (
    INSERT INTO login_events (account_id, ip, method, outcome, user_agent, flags)
    SELECT $1, $2::inet, $3, $4, $5, array_remove(ARRAY[
        CASE WHEN prior.new_ip THEN '` + FlagNewIP + `' END,
        CASE WHEN prior.busy_ip THEN '` + FlagIPManyAccounts + `' END], NULL)
    FROM prior
    RETURNING flags
), touch AS (
    UPDATE accounts SET last_login_at = now() WHERE id = $1 AND $4 = 'success'
)
SELECT flags FROM ins`
	var flags pq.StringArray
	err := db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		flags = nil
		err := s.prep.TxGet(ctx, tx, &flags, q, ev.AccountID, ev.IP, ev.Method, ev.Outcome, truncate(ev.UserAgent, 512),
			rules.ManyAccountsPerIP, rules.ManyAccountsWindow.Milliseconds())
		if err != nil {
			return fmt.Errorf("record login: %w", err)
		}
		if len(flags) > 0 {
			payload := map[string]any{"account_id": *ev.AccountID, "ip": ev.IP, "method": ev.Method, "flags": []string(flags), "user_agent": truncate(ev.UserAgent, 512)}
			if _, err := outbox.Enqueue(ctx, tx, TopicLoginFlagged, payload); err != nil {
				return err
			}
		}
		return nil
	})
	return flags, err
}

// FailureStats counts failed password logins of an account since a time,
// and from how many distinct IPs they came.
func (s *Store) FailureStats(ctx context.Context, id int64, since time.Time) (failures, ips int, err error) {
	const q = `SELECT count(*) AS failures, count(DISTINCT ip) AS ips FROM login_events
WHERE account_id = $1 AND outcome = 'bad_password' AND at > $2`
	var row struct {
		Failures int `db:"failures"`
		IPs      int `db:"ips"`
	}
	if err := s.db.GetContext(ctx, &row, q, id, since); err != nil {
		return 0, 0, fmt.Errorf("count failed logins: %w", err)
	}
	return row.Failures, row.IPs, nil
}

// KnownIP reports whether the account has logged in successfully from ip.
func (s *Store) KnownIP(ctx context.Context, id int64, ip string) (bool, error) {
	var known bool
	const q = `SELECT EXISTS (SELECT 1 FROM login_events WHERE account_id = $1 AND ip = $2::inet AND outcome = 'success')`
	if err := s.db.GetContext(ctx, &known, q, id, ip); err != nil {
		return false, fmt.Errorf("check known ip: %w", err)
	}
	return known, nil
}

// History returns the account's latest login attempts, newest first.
func (s *Store) History(ctx context.Context, id int64, limit int) ([]LoginRecord, error) {
	const q = `SELECT at, host(ip) AS ip, method, outcome, user_agent, flags FROM login_events
WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2`
	var out []LoginRecord
	if err := s.db.SelectContext(ctx, &out, q, id, limit); err != nil {
		return nil, fmt.Errorf("login history: %w", err)
	}
	return out, nil
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
