package friend

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// List answers the player's relations.
func (s *Store) List(ctx context.Context, accountID int64) (List, error) {
	const q = `SELECT l.other_id AS account_id, a.public_id, a.display_name, l.state, l.since
	FROM friend_links l JOIN accounts a ON a.id = l.other_id
	WHERE l.account_id = $1 AND a.status <> 'deleted'`
	var rows []struct {
		AccountID   int64     `db:"account_id"`
		PlayerID    string    `db:"public_id"`
		DisplayName string    `db:"display_name"`
		State       State     `db:"state"`
		Since       time.Time `db:"since"`
	}
	if err := s.conn.SelectContext(ctx, &rows, q, accountID); err != nil {
		return List{}, fmt.Errorf("list relations: %w", err)
	}
	out := List{Friends: []Relation{}, Incoming: []Relation{}, Outgoing: []Relation{}, Blocked: []Relation{}}
	for _, r := range rows {
		rel := Relation{AccountID: r.AccountID, PlayerID: r.PlayerID, DisplayName: r.DisplayName, State: r.State, Since: r.Since}
		switch rel.State {
		case StateFriend:
			out.Friends = append(out.Friends, rel)
		case StateIncoming:
			out.Incoming = append(out.Incoming, rel)
		case StateOutgoing:
			out.Outgoing = append(out.Outgoing, rel)
		case StateBlocked:
			out.Blocked = append(out.Blocked, rel)
		}
	}
	byName := func(a, b Relation) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)), cmp.Compare(a.PlayerID, b.PlayerID))
	}
	newest := func(a, b Relation) int { return cmp.Or(b.Since.Compare(a.Since), cmp.Compare(a.PlayerID, b.PlayerID)) }
	slices.SortFunc(out.Friends, byName)
	slices.SortFunc(out.Blocked, byName)
	slices.SortFunc(out.Incoming, newest)
	slices.SortFunc(out.Outgoing, newest)
	return out, nil
}

// FriendIDs answers the account ids of the player's friends, in no order,
// from one index. It may include deleted accounts (they are never online).
func (s *Store) FriendIDs(ctx context.Context, accountID int64) ([]int64, error) {
	const q = `SELECT other_id FROM friend_links WHERE account_id = $1 AND state = 'friend'`
	ids := []int64{}
	if err := s.conn.SelectContext(ctx, &ids, q, accountID); err != nil {
		return nil, fmt.Errorf("list friends: %w", err)
	}
	return ids, nil
}

// AreFriends reports whether players a and b are friends.
func (s *Store) AreFriends(ctx context.Context, a, b int64) (bool, error) {
	const q = `SELECT EXISTS (SELECT 1 FROM friend_links WHERE account_id = $1 AND other_id = $2 AND state = 'friend')`
	var ok bool
	if err := s.conn.GetContext(ctx, &ok, q, a, b); err != nil {
		return false, fmt.Errorf("check friends: %w", err)
	}
	return ok, nil
}

// Blocked reports whether either of players a and b blocked the other.
func (s *Store) Blocked(ctx context.Context, a, b int64) (bool, error) {
	const q = `SELECT EXISTS (SELECT 1 FROM friend_links
	WHERE ((account_id = $1 AND other_id = $2) OR (account_id = $2 AND other_id = $1)) AND state = 'blocked')`
	var ok bool
	if err := s.conn.GetContext(ctx, &ok, q, a, b); err != nil {
		return false, fmt.Errorf("check blocks: %w", err)
	}
	return ok, nil
}
