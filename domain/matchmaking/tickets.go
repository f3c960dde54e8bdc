package matchmaking

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/push"
)

// KindStatus is the push kind of a ticket's change; its data is a Status.
const KindStatus = "matchmaking.status"

// Errors of the ticket service; their texts are fit to show a player.
var (
	ErrAlreadyQueued = errors.New("you (or a member of your party) are already in a matchmaking queue")
	ErrNotQueued     = errors.New("you are not in a matchmaking queue")
	ErrNotLeader     = errors.New("only the party leader may queue the party")
	ErrPartySize     = errors.New("your party's size is not allowed in this queue")
	ErrNoRegion      = errors.New("no region of this queue is reachable: send latencies (1 to 2000 ms) for at least one of its regions")
)

// Ratings reads players' ratings (ordinals) in a pool.
type Ratings interface {
	Ordinals(ctx context.Context, pool string, accountIDs []int64) (map[int64]float64, error)
}

// Parties answers the party a player is in.
type Parties interface {
	Get(ctx context.Context, accountID int64) (party.View, error)
}

// Accounts names players.
type Accounts interface {
	ByID(ctx context.Context, id int64) (account.Account, error)
	ByPublicID(ctx context.Context, publicID string) (account.Account, error)
}

// Service is the players' side of matchmaking: tickets.
type Service struct {
	db       *sqlx.DB
	parties  Parties
	ratings  Ratings
	accounts Accounts
	bus      *push.Bus
	log      *slog.Logger
}

// NewService returns the ticket service. parties may be nil (no parties:
// every ticket is one player); bus may be nil (no pushes).
func NewService(conn *sqlx.DB, parties Parties, ratings Ratings, accounts Accounts, bus *push.Bus, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{db: conn, parties: parties, ratings: ratings, accounts: accounts, bus: bus, log: log}
}

// Status is a player's ticket as they see it.
type Status struct {
	TicketID     string    `json:"ticket_id"`
	Queue        string    `json:"queue"`
	State        string    `json:"state"` // waiting, matched, cancelled
	PartyID      string    `json:"party_id,omitempty"`
	Players      []string  `json:"players"` // public ids
	WaitingSince time.Time `json:"waiting_since"`
	MatchID      string    `json:"match_id,omitempty"`
	Reason       string    `json:"reason,omitempty"`
}

type ticketRow struct {
	ID           string          `db:"id"`
	Queue        string          `db:"queue"`
	State        string          `db:"state"`
	PartyID      sql.NullString  `db:"party_id"`
	Players      json.RawMessage `db:"players"`
	Latency      json.RawMessage `db:"latency"`
	Rating       float64         `db:"rating"`
	WaitingSince time.Time       `db:"waiting_since"`
	MatchID      sql.NullString  `db:"match_id"`
	Reason       sql.NullString  `db:"reason"`
	Seq          int64           `db:"seq"`
}

const ticketCols = `id, queue, state, party_id, players, latency, rating, waiting_since, match_id, reason, seq`

func (r ticketRow) status() Status {
	var ps []Player
	_ = json.Unmarshal(r.Players, &ps)
	s := Status{TicketID: r.ID, Queue: r.Queue, State: r.State, PartyID: r.PartyID.String, WaitingSince: r.WaitingSince,
		MatchID: r.MatchID.String, Reason: r.Reason.String, Players: make([]string, len(ps))}
	for i, p := range ps {
		s.Players[i] = p.PlayerID
	}
	return s
}

func (r ticketRow) ticket() (*Ticket, error) {
	t := &Ticket{ID: r.ID, PartyID: r.PartyID.String, Rating: r.Rating, Created: r.WaitingSince}
	if err := json.Unmarshal(r.Players, &t.Players); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(r.Latency, &t.Latency); err != nil {
		return nil, err
	}
	return t, nil
}

func (r ticketRow) accountIDs() []int64 {
	var ps []Player
	_ = json.Unmarshal(r.Players, &ps)
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.AccountID
	}
	return out
}

// Join queues the player, or their whole party when they lead one, in
// queue with the latencies (milliseconds per region) the client measured.
func (s *Service) Join(ctx context.Context, accountID int64, queueID string, latency map[string]int) (Status, error) {
	q, err := LoadQueue(ctx, s.db, queueID)
	if err != nil {
		return Status{}, err
	}
	clean := map[string]int{}
	for _, r := range q.Regions {
		if ms, ok := latency[r]; ok && ms >= 1 && ms <= 2000 {
			clean[r] = ms
		}
	}
	if len(clean) == 0 {
		return Status{}, ErrNoRegion
	}
	members, partyID, err := s.members(ctx, accountID)
	if err != nil {
		return Status{}, err
	}
	if len(members) < q.PartyMin || len(members) > q.PartyMax {
		return Status{}, fmt.Errorf("%w: %d to %d players, your party has %d", ErrPartySize, q.PartyMin, q.PartyMax, len(members))
	}
	ids := make([]int64, len(members))
	for i, m := range members {
		ids[i] = m.AccountID
	}
	ratings, err := s.ratings.Ordinals(ctx, q.pool(queueID), ids)
	if err != nil {
		return Status{}, err
	}
	sum := 0.0
	for i := range members {
		members[i].Rating = ratings[members[i].AccountID]
		sum += members[i].Rating
	}
	id := newTicketID()
	for i := range members {
		members[i].Ticket = id
	}
	players, _ := json.Marshal(members)
	lat, _ := json.Marshal(clean)
	var row ticketRow
	err = db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &row, `INSERT INTO mm_tickets (id, queue, party_id, leader_id, players, latency, rating)
			VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6, $7) RETURNING `+ticketCols,
			id, queueID, partyID, accountID, players, lat, sum/float64(len(members)))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO mm_ticket_players (ticket_id, account_id) SELECT $1, unnest($2::bigint[])`, id, pq.Int64Array(ids))
		var pe *pq.Error
		if errors.As(err, &pe) && pe.Code == "23505" {
			return ErrAlreadyQueued
		}
		return err
	})
	if err != nil {
		return Status{}, err
	}
	st := row.status()
	s.tell(ctx, st, ids)
	return st, nil
}

// members are the players a ticket of accountID holds: their party when
// they lead one (ErrNotLeader when they are a member), else themselves.
func (s *Service) members(ctx context.Context, accountID int64) ([]Player, string, error) {
	if s.parties != nil {
		v, err := s.parties.Get(ctx, accountID)
		switch {
		case err == nil && len(v.Members) > 1:
			var out []Player
			leader := ""
			for _, m := range v.Members {
				a, err := s.accounts.ByPublicID(ctx, m.PlayerID)
				if err != nil {
					return nil, "", err
				}
				if a.ID == accountID {
					leader = m.PlayerID
				}
				out = append(out, Player{AccountID: a.ID, PlayerID: m.PlayerID, PartyID: v.ID})
			}
			if v.LeaderID != leader {
				return nil, "", ErrNotLeader
			}
			return out, v.ID, nil
		case err != nil && !errors.Is(err, party.ErrNoParty):
			return nil, "", err
		}
	}
	a, err := s.accounts.ByID(ctx, accountID)
	if err != nil {
		return nil, "", err
	}
	return []Player{{AccountID: accountID, PlayerID: a.PublicID}}, "", nil
}

// Status answers the player's waiting ticket, or ErrNotQueued.
func (s *Service) Status(ctx context.Context, accountID int64) (Status, error) {
	var row ticketRow
	err := s.db.GetContext(ctx, &row, `SELECT `+ticketCols+` FROM mm_tickets
		WHERE id = (SELECT ticket_id FROM mm_ticket_players WHERE account_id = $1 AND active)`, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return Status{}, ErrNotQueued
	}
	if err != nil {
		return Status{}, err
	}
	return row.status(), nil
}

// Cancel takes the player's waiting ticket (their party's) out of its
// queue. Any member of the ticket may cancel it.
func (s *Service) Cancel(ctx context.Context, accountID int64, reason string) (Status, error) {
	st, ids, err := s.cancelWhere(ctx, `id = (SELECT ticket_id FROM mm_ticket_players WHERE account_id = $1 AND active)`, accountID, reason)
	if err != nil {
		return Status{}, err
	}
	if len(st) == 0 {
		return Status{}, ErrNotQueued
	}
	return st[0], s.tellAll(ctx, st, ids)
}

// PartyChanged cancels the waiting tickets of the party and of its
// members, for the party service to call when a party's members change: a
// queued party that changes queues again.
func (s *Service) PartyChanged(ctx context.Context, partyID string, memberIDs []int64) error {
	st, ids, err := s.cancelWhere(ctx, `state = 'waiting' AND (party_id = $1 OR id IN
		(SELECT ticket_id FROM mm_ticket_players WHERE account_id = ANY($2) AND active))`, partyID, pq.Int64Array(memberIDs), "party_changed")
	if err != nil {
		return err
	}
	return s.tellAll(ctx, st, ids)
}

// cancelWhere cancels the waiting tickets matching where (its arguments
// first, the reason last).
func (s *Service) cancelWhere(ctx context.Context, where string, args ...any) ([]Status, [][]int64, error) {
	var rows []ticketRow
	err := db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		q := `UPDATE mm_tickets SET state = 'cancelled', reason = $` + strconv.Itoa(len(args)) + `, updated_at = now()
			WHERE state = 'waiting' AND ` + where + ` RETURNING ` + ticketCols
		if err := sqlx.SelectContext(ctx, tx, &rows, q, args...); err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, `UPDATE mm_ticket_players SET active = false WHERE ticket_id = $1`, r.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	st := make([]Status, len(rows))
	ids := make([][]int64, len(rows))
	for i, r := range rows {
		st[i], ids[i] = r.status(), r.accountIDs()
	}
	return st, ids, nil
}

func (s *Service) tellAll(ctx context.Context, st []Status, ids [][]int64) error {
	for i := range st {
		s.tell(ctx, st[i], ids[i])
	}
	return nil
}

// tell pushes a ticket's status to its players' connections.
func (s *Service) tell(ctx context.Context, st Status, ids []int64) {
	if s.bus == nil {
		return
	}
	if err := s.bus.Send(ctx, KindStatus, st, ids...); err != nil {
		s.log.Warn("matchmaking: push ticket status", "ticket", st.TicketID, "err", err)
	}
}

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func newTicketID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "tk_" + lowerBase32.EncodeToString(b[:])
}
