package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/rbac"
)

// The benchmark's player base. The seed is written once per test process,
// and only when BenchmarkConsoleRoutes runs: plain `go test` never pays for
// it. The rows stay in the package's test database, which testenv drops when
// the process ends.
const (
	benchPlayers     = 100_000
	benchLoginEvents = 300_000
	benchSessions    = 30_000
	benchAudit       = 3_000
	benchDetailN     = 50_000 // the seeded player whose page is measured
	benchDetailLogin = 60     // extra login events of that player
)

// benchSeed is what the routes look for in the seeded data.
type benchSeed struct {
	detail      string // public id of the player whose page is measured
	detailEmail string
	detailSteam string
	wideFrag    string // a display-name fragment about 1 in 20 players share
	narrowFrag  string // a display-name fragment of one player
	shortFrag   string // two characters: too short for the trigram index
	auditAction string
	detailAudit int // audit entries on the measured player
	players     int // players not deleted, as the dashboard should show
}

var seedOnce struct {
	sync.Once
	seed benchSeed
	err  error
}

// BenchmarkConsoleRoutes measures each console page over loopback HTTP, as a
// browser loads it, against 100,000 players. Each sub-benchmark issues its
// GETs one after another on one keep-alive connection and reports the
// median and 99th percentile latency.
//
//	go test -run='^$' -bench=ConsoleRoutes -benchtime=200x ./console/
func BenchmarkConsoleRoutes(b *testing.B) {
	s := newSite(b)
	seedOnce.Do(func() { seedOnce.seed, seedOnce.err = seedPlayers(s) })
	if seedOnce.err != nil {
		b.Fatalf("seed: %v", seedOnce.err)
	}
	seed := seedOnce.seed
	checkSearchPages(b, s)
	var accounts int
	if err := s.db.Get(&accounts, `SELECT count(*) FROM accounts`); err != nil {
		b.Fatal(err)
	}
	owner := s.signInHTTP(b, s.email(rbac.RoleOwner))
	anon := httpClient

	routes := []struct {
		name, path string
		want       []string // in the body of a good answer
		signedOut  bool
	}{
		{"dashboard", "/", []string{`id="stat-players">` + strconv.Itoa(seed.players) + `<`}, false},
		{"players", "/players", []string{`1–50 of `}, false},
		{"players/sort=created/asc", "/players?sort=created&dir=asc", []string{`1–50 of `}, false},
		{"players/sort=name", "/players?sort=name", []string{`1–50 of `}, false},
		{"players/sort=name/asc", "/players?sort=name&dir=asc", []string{`1–50 of `}, false},
		{"players/sort=last_login", "/players?sort=last_login", []string{`1–50 of `}, false},
		{"players/sort=last_login/asc", "/players?sort=last_login&dir=asc", []string{`1–50 of `}, false},
		{"players/page=200", "/players?page=200", []string{`9951–10000 of `}, false},
		{"players/sort=name/page=200", "/players?sort=name&page=200", []string{`9951–10000 of `}, false},
		{"players/sort=last_login/page=200", "/players?sort=last_login&page=200", []string{`9951–10000 of `}, false},
		{"players/dir=asc/page=200", "/players?dir=asc&page=200", []string{`9951–10000 of `}, false},
		{"players/sort=name/dir=asc/page=200", "/players?sort=name&dir=asc&page=200", []string{`9951–10000 of `}, false},
		{"players/q=fragment-wide", "/players?q=" + url.QueryEscape(seed.wideFrag), []string{`1–50 of `}, false},
		{"players/q=fragment-narrow", "/players?q=" + url.QueryEscape(seed.narrowFrag), []string{`1–1 of 1<`}, false},
		{"players/q=fragment-2chars", "/players?q=" + url.QueryEscape(seed.shortFrag), []string{`1–50 of `}, false},
		{"players/q=public_id", "/players?q=" + seed.detail, []string{`href="/players/` + seed.detail + `"`, `1–1 of 1<`}, false},
		{"players/q=email", "/players?q=" + url.QueryEscape(seed.detailEmail), []string{`href="/players/` + seed.detail + `"`, `1–1 of 1<`}, false},
		{"players/q=steam", "/players?q=" + seed.detailSteam, []string{`href="/players/` + seed.detail + `"`, `1–1 of 1<`}, false},
		{"player", "/players/" + seed.detail, []string{`id="player-id">` + seed.detail, `id="logins"`, `id="sessions"`}, false},
		{"audit", "/audit", []string{`id="audit"`, `1–50 of `}, false},
		{"audit/player", "/audit?player=" + seed.detail, []string{`id="audit"`, fmt.Sprintf("1–%d of %[1]d<", seed.detailAudit)}, false},
		{"audit/action", "/audit?action=" + url.QueryEscape(seed.auditAction), []string{`id="audit"`, `1–50 of `}, false},
		{"staff", "/staff", []string{`id="staff"`}, false},
		{"roles", "/roles", []string{`id="role-owner"`}, false},
		{"account", "/account", []string{`id="enroll-totp"`}, false},
		{"login", "/login", []string{`id="sign-in"`}, true},
	}
	for _, r := range routes {
		b.Run(r.name, func(b *testing.B) {
			client := owner
			if r.signedOut {
				client = anon
			}
			// Once, untimed: the page is the right one. A few more warm
			// the connection and PostgreSQL's caches, as a running
			// console's are.
			status, body := benchGet(b, client, s.url+r.path)
			if status != http.StatusOK {
				b.Fatalf("GET %s: %d\n%s", r.path, status, body)
			}
			for _, w := range r.want {
				if !strings.Contains(body, w) {
					b.Fatalf("GET %s: body lacks %q\n%s", r.path, w, body)
				}
			}
			for range 5 {
				benchGet(b, client, s.url+r.path)
			}

			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				status, _ := benchGet(b, client, s.url+r.path)
				lat = append(lat, time.Since(t0))
				if status != http.StatusOK { // an error page's latency means nothing
					b.Fatalf("GET %s: %d", r.path, status)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
			b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
		})
	}
}

// checkSearchPages compares pages of account.Search, which reads pages
// past the middle from the other end, with plain OFFSET queries.
func checkSearchPages(b *testing.B, s *site) {
	b.Helper()
	ctx := context.Background()
	columns := map[account.SearchSort]string{account.SortCreated: "a.created_at", account.SortName: "a.display_name_key", account.SortLastLogin: "a.last_login_at"}
	for _, text := range []string{"", "falcon"} {
		var total int
		if err := s.db.Get(&total, `SELECT count(*) FROM accounts a WHERE a.display_name_key LIKE $1`, "%"+text+"%"); err != nil {
			b.Fatal(err)
		}
		for sort, column := range columns {
			for _, desc := range []bool{false, true} {
				order := column + " ASC NULLS FIRST, a.id ASC"
				if desc {
					order = column + " DESC NULLS LAST, a.id DESC"
				}
				for _, offset := range []int{0, 50, total/2 - 50, total / 2, total/2 + 25, total - 50, total - 30, total} {
					got, n, err := s.accounts.Search(ctx, account.Query{Text: text, Sort: sort, Desc: desc, Limit: 50, Offset: offset})
					if err != nil {
						b.Fatal(err)
					}
					var want []string
					if err := s.db.Select(&want, `SELECT a.public_id FROM accounts a WHERE a.display_name_key LIKE $1 ORDER BY `+order+
						` LIMIT 50 OFFSET $2`, "%"+text+"%", offset); err != nil {
						b.Fatal(err)
					}
					ids := make([]string, len(got))
					for i, a := range got {
						ids[i] = a.PublicID
					}
					if n != total || !slices.Equal(ids, want) {
						b.Fatalf("Search(%q, %s, desc=%v, offset %d): total %d (want %d), ids %v, want %v", text, sort, desc, offset, n, total, ids, want)
					}
				}
			}
		}
	}
}

// percentile is the nearest-rank p-th percentile of sorted latencies.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100 // ceil(n*p/100), 1-based
	return sorted[max(i, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchClient is a plain HTTP client with a cookie jar that follows no
// redirects.

func benchGet(tb testing.TB, c *http.Client, u string) (int, string) {
	resp, err := c.Get(u)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, string(body)
}

// seedPlayers writes the player base with set-based SQL on one connection
// (the temporary table of seeded ids lives on it), then the audit log
// through audit.Write, whose rows are hash-chained, in batches of 500 per
// transaction. Random figures come from a fixed seed, so every run seeds
// the same shape. Display names are an adjective, a noun and the player's
// number ("SwiftFalcon12345"); emails are bench<n>@seed.test; 60% of
// players have a SteamID64 of 76561198000000000+n.
func seedPlayers(s *site) (benchSeed, error) {
	ctx := context.Background()
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return benchSeed{}, err
	}
	defer conn.Close()
	steps := []string{
		`SELECT setseed(0.4242)`,
		`CREATE TEMP TABLE bench_players (n int PRIMARY KEY, id bigint NOT NULL)`,
		// Players: sign-ups every ~10.5 minutes over two years, ids in
		// sign-up order; 1% banned, 0.4% deleted, 10% never logged in,
		// the rest last seen in the past 60 days.
		`WITH ins AS (
  INSERT INTO accounts (public_id, display_name, display_name_key, status, banned_until, ban_reason, created_at, last_login_at, deleted_at)
  SELECT 'p_' || left(md5('muster-bench-' || n), 20), name, lower(name),
    CASE WHEN n % 100 = 7 THEN 'banned' WHEN n % 250 = 11 THEN 'deleted' ELSE 'active' END,
    CASE WHEN n % 200 = 7 THEN now() + interval '7 days' END,
    CASE WHEN n % 100 = 7 THEN 'cheating' ELSE '' END,
    created,
    CASE WHEN n % 10 = 3 THEN NULL ELSE greatest(created, now() - random() * interval '60 days') END,
    CASE WHEN n % 250 = 11 THEN now() - interval '1 day' END
  FROM generate_series(1, ` + strconv.Itoa(benchPlayers) + `) n,
    LATERAL (SELECT
      (ARRAY['Swift','Brave','Quiet','Lucky','Grim','Bold','Sly','Wild','Calm','Dark',
             'Iron','Red','Blue','Old','Young','Keen','Mad','Pale','Rapid','Shy'])[1 + n % 20] ||
      (ARRAY['Falcon','Wolf','Otter','Badger','Raven','Fox','Lynx','Bear','Moose','Heron',
             'Viper','Crane','Hawk','Bison','Eagle','Panda','Tiger','Mole','Shark','Yak'])[1 + (n / 20) % 20] ||
      n AS name,
      now() - (` + strconv.Itoa(benchPlayers) + ` - n) * interval '630 seconds' - interval '1 minute' AS created) g
  RETURNING id, display_name)
INSERT INTO bench_players (n, id) SELECT substring(display_name from '[0-9]+$')::int, id FROM ins`,
		`INSERT INTO account_identities (account_id, provider, subject, secret_hash, created_at)
SELECT id, 'email', 'bench' || n || '@seed.test', 'bcrypt-sha256$unused', now() - interval '1 day' FROM bench_players`,
		`INSERT INTO account_identities (account_id, provider, subject, created_at)
SELECT id, 'steam', (76561198000000000 + n)::text, now() - interval '1 day' FROM bench_players WHERE n % 5 < 3`,
		// Login attempts over the past 30 days from 20,000 addresses:
		// 85% successes, 2% of them flagged; failures, unknown emails
		// (no account) and throttled attempts.
		`INSERT INTO login_events (account_id, at, ip, method, outcome, user_agent, flags)
SELECT CASE WHEN r.o < 0.97 THEN p.id END, now() - r.age * interval '30 days', '10.0.0.0'::inet + r.ip,
  CASE WHEN r.o < 0.5 THEN 'email' ELSE 'steam' END,
  CASE WHEN r.o < 0.85 THEN 'success' WHEN r.o < 0.95 THEN 'bad_password' WHEN r.o < 0.97 THEN 'slowed' ELSE 'unknown_account' END,
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) MusterBench/1.0',
  CASE WHEN r.o < 0.017 THEN ARRAY['new_ip'] ELSE '{}' END
FROM (SELECT 1 + floor(random() * ` + strconv.Itoa(benchPlayers) + `)::int AS n, random() AS age, random() AS o,
        floor(random() * 20000)::int AS ip
      FROM generate_series(1, ` + strconv.Itoa(benchLoginEvents) + `)) r
JOIN bench_players p USING (n)`,
		// The measured player's history.
		`INSERT INTO login_events (account_id, at, ip, method, outcome, user_agent, flags)
SELECT p.id, now() - k * interval '7 hours', '192.0.2.0'::inet + k % 7, 'email',
  CASE WHEN k % 9 = 0 THEN 'bad_password' ELSE 'success' END, 'MusterBench/1.0', '{}'
FROM bench_players p, generate_series(1, ` + strconv.Itoa(benchDetailLogin) + `) k WHERE p.n = ` + strconv.Itoa(benchDetailN),
		// Sessions: 70% live, the rest expired or revoked.
		`INSERT INTO auth_sessions (id, account_id, method, ip, user_agent, created_at, last_used_at, expires_at, revoked_at, revoke_reason)
SELECT gen_random_uuid(), p.id, 'email', '10.1.2.3', 'MusterBench/1.0', c, c, c + interval '30 days',
  CASE WHEN r.o < 0.2 THEN c + interval '1 hour' END, CASE WHEN r.o < 0.2 THEN 'logout' ELSE '' END
FROM (SELECT 1 + floor(random() * ` + strconv.Itoa(benchPlayers) + `)::int AS n, random() AS o,
        now() - random() * interval '40 days' AS c
      FROM generate_series(1, ` + strconv.Itoa(benchSessions) + `)) r
JOIN bench_players p USING (n)`,
		`INSERT INTO auth_sessions (id, account_id, method, ip, user_agent, created_at, last_used_at, expires_at)
SELECT gen_random_uuid(), p.id, 'email', '192.0.2.1', 'MusterBench/1.0', now() - k * interval '1 day', now(), now() + interval '20 days'
FROM bench_players p, generate_series(1, 3) k WHERE p.n = ` + strconv.Itoa(benchDetailN),
	}
	for _, q := range steps {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return benchSeed{}, fmt.Errorf("%.60s…: %w", q, err)
		}
	}

	// The audit log: bans, unbans and session revocations by the owner,
	// each on some player; every 80th on the measured player.
	owner, err := s.staff.ByEmail(ctx, s.email(rbac.RoleOwner))
	if err != nil {
		return benchSeed{}, err
	}
	var targets []struct {
		N        int    `db:"n"`
		ID       int64  `db:"id"`
		PublicID string `db:"public_id"`
	}
	if err := sqlx.SelectContext(ctx, conn, &targets, `SELECT b.n, b.id, a.public_id FROM bench_players b JOIN accounts a USING (id)
WHERE b.n % 37 = 0 OR b.n = $1 ORDER BY b.n`, benchDetailN); err != nil {
		return benchSeed{}, err
	}
	var detail int
	for i, t := range targets {
		if t.N == benchDetailN {
			detail = i
		}
	}
	actions := []string{"player.ban", "player.unban", "player.sessions.revoke"}
	for i := 0; i < benchAudit; {
		tx, err := conn.BeginTxx(ctx, nil)
		if err != nil {
			return benchSeed{}, err
		}
		for end := min(i+500, benchAudit); i < end; i++ {
			t := targets[(i*7919)%len(targets)]
			if i%80 == 0 {
				t = targets[detail]
			}
			e := audit.Entry{StaffID: &owner.ID, StaffEmail: owner.Email, Role: owner.Role, Action: actions[i%len(actions)],
				TargetType: "player", TargetID: t.PublicID, AccountID: &t.ID, Reason: "benchmark seed", IP: "127.0.0.1"}
			if e.Action == "player.ban" {
				e.Before, e.After = map[string]any{"status": "active"}, map[string]any{"status": "banned", "ban_reason": "benchmark seed"}
			}
			if _, err := audit.Write(ctx, tx, e); err != nil {
				_ = tx.Rollback()
				return benchSeed{}, err
			}
		}
		if err := tx.Commit(); err != nil {
			return benchSeed{}, err
		}
	}

	// Autovacuum would get to this; the benchmark does not wait for it.
	for _, table := range []string{"accounts", "account_identities", "login_events", "auth_sessions", "audit_log"} {
		if _, err := conn.ExecContext(ctx, `VACUUM ANALYZE `+table); err != nil {
			return benchSeed{}, err
		}
	}
	// Then a live game's logins since that vacuum: each stamps its
	// account, which leaves a dead row version behind and clears its page
	// in the visibility map, so index-only scans of accounts must visit the
	// table again. 10% of players is half of what autovacuum lets pile up
	// by default (20%) and touches every page of the table.
	churn := []string{
		`UPDATE accounts a SET last_login_at = now() - random() * interval '1 day'
FROM bench_players b WHERE b.id = a.id AND b.n % 10 = 4`,
		`ANALYZE accounts`,
	}
	for _, q := range churn {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return benchSeed{}, fmt.Errorf("%.60s…: %w", q, err)
		}
	}

	seed := benchSeed{
		detail:      targets[detail].PublicID,
		detailEmail: "bench" + strconv.Itoa(benchDetailN) + "@seed.test",
		detailSteam: strconv.Itoa(76561198000000000 + benchDetailN),
		wideFrag:    "falcon",
		narrowFrag:  "falcon50000", // SwiftFalcon50000, the measured player
		shortFrag:   "ra",
		auditAction: "player.ban",
	}
	if err := conn.GetContext(ctx, &seed.players, `SELECT count(*) FROM accounts WHERE status <> 'deleted'`); err != nil {
		return benchSeed{}, err
	}
	if err := conn.GetContext(ctx, &seed.detailAudit, `SELECT count(*) FROM audit_log WHERE account_id = $1`, targets[detail].ID); err != nil {
		return benchSeed{}, err
	}
	return seed, nil
}
