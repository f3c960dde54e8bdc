package account

import (
	"context"
	"fmt"
	"strings"
)

// SearchSort orders search results.
type SearchSort string

// Orders of search results.
const (
	SortCreated   SearchSort = "created"
	SortName      SearchSort = "name"
	SortLastLogin SearchSort = "last_login"
)

// Query is a player search as support staff type it: a public id (p_...),
// an email, a SteamID64, or part of a display name. Empty lists everyone.
type Query struct {
	Text   string
	Sort   SearchSort
	Desc   bool
	Limit  int
	Offset int
}

// Search finds players and counts all matches.
func (s *Store) Search(ctx context.Context, q Query) ([]Account, int, error) {
	text := strings.TrimSpace(q.Text)
	where, args := "true", []any{}
	switch {
	case text == "":
	case strings.HasPrefix(text, "p_"):
		where, args = "a.public_id = $1", []any{text}
	case strings.Contains(text, "@"):
		where, args = "EXISTS (SELECT 1 FROM account_identities i WHERE i.account_id = a.id AND i.provider = 'email' AND i.subject = $1)", []any{strings.ToLower(text)}
	case isSteamID(text):
		where, args = "EXISTS (SELECT 1 FROM account_identities i WHERE i.account_id = a.id AND i.provider = 'steam' AND i.subject = $1)", []any{text}
	default:
		where, args = "a.display_name_key LIKE $1", []any{"%" + escapeLike(strings.ToLower(text)) + "%"}
	}
	column := map[SearchSort]string{SortCreated: "a.created_at", SortName: "a.display_name_key", SortLastLogin: "a.last_login_at"}[q.Sort]
	if column == "" {
		column = "a.created_at"
	}
	// The id breaks ties in the same direction, so the two orders are exact
	// reverses and one index, (column NULLS FIRST, id), serves both
	// (migrations/00004_console_indexes.sql).
	orderBy := func(desc bool) string {
		if desc {
			return column + " DESC NULLS LAST, a.id DESC"
		}
		return column + " ASC NULLS FIRST, a.id ASC"
	}
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM accounts a WHERE `+where, args...); err != nil {
		return nil, 0, fmt.Errorf("count players: %w", err)
	}
	limit, offset := min(max(q.Limit, 1), 200), max(q.Offset, 0)
	if offset >= total {
		return nil, total, nil
	}
	// A page past the middle is read from the other end, so no page walks
	// more than half the matches: rows offset to offset+limit-1 are, counted
	// from the end, rows total-offset-limit to total-offset-1.
	pageDesc := q.Desc
	if rest := total - offset - limit; offset > 0 && rest < offset {
		pageDesc, limit, offset = !q.Desc, min(limit, total-offset), max(rest, 0)
	}
	// The page's ids come first, from the sort index alone when there is
	// no filter; only the page's rows are read from the table.
	query := `SELECT ` + accountColumns + ` FROM accounts a JOIN (SELECT a.id FROM accounts a WHERE ` + where +
		` ORDER BY ` + orderBy(pageDesc) + ` LIMIT ` + fmt.Sprint(limit) + ` OFFSET ` + fmt.Sprint(offset) +
		`) page USING (id) ORDER BY ` + orderBy(q.Desc)
	var out []Account
	if err := s.db.SelectContext(ctx, &out, query, args...); err != nil {
		return nil, 0, fmt.Errorf("search players: %w", err)
	}
	return out, total, nil
}

func isSteamID(s string) bool {
	if len(s) != 17 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Stats are the live figures of the console's dashboard.
type Stats struct {
	Players       int `db:"players"`
	Banned        int `db:"banned"`
	LoginsHour    int `db:"logins_hour"`
	FailedHour    int `db:"failed_hour"`
	FlaggedDay    int `db:"flagged_day"`
	RegisteredDay int `db:"registered_day"`
}

// Stats counts players and recent logins. Players are every account less
// the deleted ones: counting all rows is the cheapest full count there is,
// and the few deleted, banned and recent rows come from the indexes of
// migrations/00004_console_indexes.sql.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	const q = `SELECT
  (SELECT count(*) FROM accounts) - (SELECT count(*) FROM accounts WHERE status = 'deleted') AS players,
  (SELECT count(*) FROM accounts WHERE status = 'banned') AS banned,
  (SELECT count(*) FROM accounts WHERE created_at > now() - interval '1 day') AS registered_day,
  (SELECT count(*) FROM login_events WHERE at > now() - interval '1 hour' AND outcome = 'success') AS logins_hour,
  (SELECT count(*) FROM login_events WHERE at > now() - interval '1 hour' AND outcome <> 'success') AS failed_hour,
  (SELECT count(*) FROM login_events WHERE at > now() - interval '1 day' AND cardinality(flags) > 0) AS flagged_day`
	var st Stats
	if err := s.db.GetContext(ctx, &st, q); err != nil {
		return Stats{}, fmt.Errorf("player stats: %w", err)
	}
	return st, nil
}
