package progression

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/reward"
)

// KindTree is the content kind of unlock trees.
const KindTree = "unlock_tree"

// Tree is an unlock tree as content: nodes a player unlocks one by one, each
// after the nodes it requires, at a level and prestige, for a cost.
type Tree struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"` // weapon or operator
	Nodes []Node `json:"nodes"`
}

// Node is one step of an unlock tree.
type Node struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Requires    []string       `json:"requires,omitempty"` // nodes unlocked before this one
	MinLevel    int            `json:"min_level,omitempty"`
	MinPrestige int            `json:"min_prestige,omitempty"`
	Cost        *reward.Amount `json:"cost,omitempty"` // currency paid to unlock
	Reward      reward.Reward  `json:"reward"`         // what unlocking gives (the weapon, attachments, ...)
}

// TreeKinds are the kinds of unlock tree.
var TreeKinds = []string{"weapon", "operator"}

func (t Tree) node(id string) (Node, bool) {
	for _, n := range t.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

func (t Tree) check(ctx context.Context, q sqlx.QueryerContext) error {
	switch {
	case t.Name == "" || len(t.Name) > 64:
		return content.Invalid("name", "give a name of 1 to 64 characters")
	case !slices.Contains(TreeKinds, t.Kind):
		return content.Invalid("kind", "must be one of %v", TreeKinds)
	case len(t.Nodes) == 0 || len(t.Nodes) > 200:
		return content.Invalid("nodes", "give 1 to 200 nodes")
	}
	seen := map[string]bool{}
	for i, n := range t.Nodes {
		f := fmt.Sprintf("nodes[%d]", i)
		switch {
		case !content.ValidID(n.ID) || seen[n.ID]:
			return content.Invalid(f+".id", "use a unique lower-case id")
		case n.Name == "" || len(n.Name) > 64:
			return content.Invalid(f+".name", "give a name of 1 to 64 characters")
		case n.MinLevel < 0 || n.MinLevel > 1000:
			return content.Invalid(f+".min_level", "must be 0 to 1000")
		case n.MinPrestige < 0 || n.MinPrestige > 100:
			return content.Invalid(f+".min_prestige", "must be 0 to 100")
		case n.Reward.Empty():
			return content.Invalid(f+".reward", "a node must give something")
		}
		// Requirements name nodes listed before, so the tree has no cycles.
		for j, r := range n.Requires {
			if !seen[r] {
				return content.Invalid(fmt.Sprintf("%s.requires[%d]", f, j), "%q is not a node listed before this one", r)
			}
		}
		seen[n.ID] = true
		if n.Cost != nil {
			cost := reward.Reward{Currencies: []reward.Amount{*n.Cost}}
			if err := reward.Check(ctx, q, f+".cost", cost); err != nil {
				return err
			}
		}
		if err := reward.Check(ctx, q, f+".reward", n.Reward); err != nil {
			return err
		}
	}
	return nil
}

// TreeKind is the content kind of unlock trees.
func TreeKind() content.Kind {
	return content.Kind{Name: KindTree, Check: func(ctx context.Context, q sqlx.QueryerContext, _ string, body json.RawMessage) error {
		var t Tree
		if err := content.Decode(body, &t); err != nil {
			return err
		}
		return t.check(ctx, q)
	}}
}

// Unlocked is the answer to an unlock.
type Unlocked struct {
	TreeID   string `json:"tree"`
	NodeID   string `json:"node"`
	Replayed bool   `json:"replayed"` // the key was used before; nothing changed now
}

// Unlock unlocks a node of a tree for a player, atomically: requirements
// checked, cost paid, node recorded and its reward given, or nothing. The
// same key again answers the first unlock.
func (s *Store) Unlock(ctx context.Context, accountID int64, treeID, nodeID, key string) (Unlocked, error) {
	if key == "" || len(key) > 200 {
		return Unlocked{}, fmt.Errorf("%w: an idempotency key of 1 to 200 bytes is required", ErrInvalid)
	}
	ikey := strconv.FormatInt(accountID, 10) + ":" + key
	out := Unlocked{TreeID: treeID, NodeID: nodeID}
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		// The player's progression row serialises their unlocks; locked
		// before looking the key up, so that a retry racing its first
		// attempt waits for it and answers it.
		rows, err := lockRows(ctx, tx, []int64{accountID})
		if err != nil {
			return err
		}
		var prev struct {
			AccountID int64  `db:"account_id"`
			TreeID    string `db:"tree_id"`
			NodeID    string `db:"node_id"`
		}
		err = tx.GetContext(ctx, &prev, `SELECT account_id, tree_id, node_id FROM unlocks WHERE idem_key = $1`, ikey)
		switch {
		case err == nil && prev.TreeID == treeID && prev.NodeID == nodeID:
			out.Replayed = true
			return nil
		case err == nil:
			return ErrKeyReused
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var t Tree
		if _, err := content.Published(ctx, tx, KindTree, treeID, &t); err != nil {
			if errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished) {
				return ErrUnknownTree
			}
			return err
		}
		n, ok := t.node(nodeID)
		if !ok {
			return ErrUnknownNode
		}
		p := rows[accountID]
		var have []string
		if err := tx.SelectContext(ctx, &have, `SELECT node_id FROM unlocks WHERE account_id = $1 AND tree_id = $2`, accountID, treeID); err != nil {
			return err
		}
		if slices.Contains(have, nodeID) {
			return ErrAlreadyUnlocked
		}
		for _, r := range n.Requires {
			if !slices.Contains(have, r) {
				return fmt.Errorf("%w: unlock %s first", ErrLocked, r)
			}
		}
		switch {
		case p.Prestige < n.MinPrestige:
			return fmt.Errorf("%w: needs prestige %d", ErrLocked, n.MinPrestige)
		case p.Prestige == n.MinPrestige && p.Level < n.MinLevel:
			return fmt.Errorf("%w: needs level %d", ErrLocked, n.MinLevel)
		}
		if n.Cost != nil {
			// A node is unlocked once per player, so its cost is keyed by
			// the node: apart from the rewards' "unlock:..." keys, and
			// within the ledger's 200 bytes whatever key the player chose.
			_, err := s.led.Post(ctx, tx, ledger.Transfer{Key: fmt.Sprintf("unlock-cost:%d:%s:%s", accountID, treeID, nodeID), Source: "unlock", From: ledger.Player(accountID),
				To: ledger.System(ledger.Progression), Currency: n.Cost.Currency, Amount: n.Cost.Amount, Memo: treeID + "/" + nodeID})
			if err != nil {
				return err
			}
		}
		const ins = `INSERT INTO unlocks (account_id, tree_id, node_id, idem_key) VALUES ($1, $2, $3, $4)`
		if _, err := tx.ExecContext(ctx, ins, accountID, treeID, nodeID, ikey); err != nil {
			return fmt.Errorf("record unlock: %w", err)
		}
		po := reward.Payout{Key: fmt.Sprintf("unlock:%d:%s:%s", accountID, treeID, nodeID), AccountID: accountID, Reward: n.Reward, Memo: treeID + "/" + nodeID}
		return s.payer.PayTx(ctx, tx, []reward.Payout{po})
	})
	return out, err
}

// NodeState is a node of a tree as one player sees it.
type NodeState struct {
	Node
	Unlocked  bool   `json:"unlocked"`
	Available bool   `json:"available"`         // may be unlocked now (cost aside)
	Blocker   string `json:"blocker,omitempty"` // why not, when neither
}

// TreeState is a tree as one player sees it.
type TreeState struct {
	ID    string      `json:"id"`
	Name  string      `json:"name"`
	Kind  string      `json:"kind"`
	Nodes []NodeState `json:"nodes"`
}

// Trees returns every published tree with the player's progress in it.
func (s *Store) Trees(ctx context.Context, accountID int64) ([]TreeState, error) {
	bodies, err := content.PublishedBodies(ctx, s.conn, KindTree)
	if err != nil {
		return nil, err
	}
	st, err := s.State(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		TreeID string `db:"tree_id"`
		NodeID string `db:"node_id"`
	}
	if err := s.conn.SelectContext(ctx, &rows, `SELECT tree_id, node_id FROM unlocks WHERE account_id = $1`, accountID); err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, r := range rows {
		have[r.TreeID+"/"+r.NodeID] = true
	}
	ids := make([]string, 0, len(bodies))
	for id := range bodies {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]TreeState, 0, len(ids))
	for _, id := range ids {
		var t Tree
		if err := json.Unmarshal(bodies[id], &t); err != nil {
			return nil, fmt.Errorf("decode tree %s: %w", id, err)
		}
		ts := TreeState{ID: id, Name: t.Name, Kind: t.Kind}
		for _, n := range t.Nodes {
			ns := NodeState{Node: n, Unlocked: have[id+"/"+n.ID]}
			if !ns.Unlocked {
				ns.Blocker = blocker(n, st, func(r string) bool { return have[id+"/"+r] })
				ns.Available = ns.Blocker == ""
			}
			ts.Nodes = append(ts.Nodes, ns)
		}
		out = append(out, ts)
	}
	return out, nil
}

func blocker(n Node, st State, unlocked func(string) bool) string {
	for _, r := range n.Requires {
		if !unlocked(r) {
			return "unlock " + r + " first"
		}
	}
	switch {
	case st.Prestige < n.MinPrestige:
		return fmt.Sprintf("needs prestige %d", n.MinPrestige)
	case st.Prestige == n.MinPrestige && st.Level < n.MinLevel:
		return fmt.Sprintf("needs level %d", n.MinLevel)
	}
	return ""
}
