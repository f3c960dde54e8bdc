package party

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/notify"
)

func idKey(accountID int64) string { return strconv.FormatInt(accountID, 10) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// Invitation is the payload of a NotifyInvite notification.
type Invitation struct {
	PartyID         string    `json:"party_id"`
	FromPlayerID    string    `json:"from_player_id"`
	FromDisplayName string    `json:"from_display_name"`
	ExpiresAt       time.Time `json:"expires_at"`
}

// Invite invites a friend (by public id) into the inviter's party; any
// member may invite. The invitee gets a NotifyInvite notification and may
// join within the invitation's lifetime.
func (s *Service) Invite(ctx context.Context, fromID int64, playerID string) error {
	if playerID == "" {
		return ErrInvalidPlayer
	}
	p, err := s.current(ctx, fromID)
	if err != nil {
		return err
	}
	to, err := s.d.Accounts.ByPublicID(ctx, playerID)
	if err != nil {
		return ErrNotFriends // unknown players are not friends either
	}
	if to.ID == fromID || p.member(to.ID) >= 0 {
		return ErrAlready
	}
	friends, err := s.d.Friends.AreFriends(ctx, fromID, to.ID)
	if err != nil {
		return err
	}
	if !friends {
		return ErrNotFriends
	}
	expires := time.Now().Add(s.cfg.InviteTTL)
	_, after, err := s.mutate(ctx, p.ID, func(p *Party) error {
		p.pruneInvites(time.Now())
		switch {
		case p.member(fromID) < 0:
			return ErrNoParty
		case p.member(to.ID) >= 0:
			return ErrAlready
		case len(p.Members) >= p.MaxSize:
			return ErrFull
		case len(p.Invites) >= s.cfg.MaxInvites && p.Invites[idKey(to.ID)] == 0:
			return ErrFull
		}
		if p.Invites == nil {
			p.Invites = map[string]int64{}
		}
		p.Invites[idKey(to.ID)] = expires.UnixMilli()
		return nil
	})
	if err != nil {
		return err
	}
	from := after.Members[after.member(fromID)]
	return s.d.Notifier.Notify(ctx, to.ID, NotifyInvite, Invitation{PartyID: after.ID, FromPlayerID: from.PlayerID,
		FromDisplayName: from.DisplayName, ExpiresAt: expires.UTC().Truncate(time.Millisecond)})
}

// ReadyCheck starts a ready check in the leader's party: every member's
// ready flag resets (the leader's is set) until they answer with Ready.
func (s *Service) ReadyCheck(ctx context.Context, leaderID int64) error {
	p, err := s.current(ctx, leaderID)
	if err != nil {
		return err
	}
	before, after, err := s.mutate(ctx, p.ID, func(p *Party) error {
		if p.Leader != leaderID {
			return ErrNotLeader
		}
		p.ReadyCheckEnds = time.Now().Add(s.cfg.ReadyCheck).UTC()
		for i := range p.Members {
			p.Members[i].Ready = p.Members[i].AccountID == leaderID
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.changed(ctx, before, after, "")
	return nil
}

// Ready sets the player's ready flag in their party.
func (s *Service) Ready(ctx context.Context, accountID int64, ready bool) error {
	p, err := s.current(ctx, accountID)
	if err != nil {
		return err
	}
	if i := p.member(accountID); i >= 0 && p.Members[i].Ready == ready {
		return nil
	}
	before, after, err := s.mutate(ctx, p.ID, func(p *Party) error {
		i := p.member(accountID)
		if i < 0 {
			return ErrNoParty
		}
		p.Members[i].Ready = ready
		return nil
	})
	if err != nil {
		return err
	}
	s.changed(ctx, before, after, "")
	return nil
}

// MaxChat bounds a chat line, in characters.
const MaxChat = 256

// ChatLine is the data of a KindChat push.
type ChatLine struct {
	PartyID     string    `json:"party_id"`
	PlayerID    string    `json:"player_id"`
	DisplayName string    `json:"display_name"`
	Text        string    `json:"text"`
	SentAt      time.Time `json:"sent_at"`
}

// chatLimit is how many lines a player may send per chatWindow.
const (
	chatLimit  = 10
	chatWindow = 10 * time.Second
)

// Chat sends a line to the player's party. Lines are not stored.
func (s *Service) Chat(ctx context.Context, accountID int64, text string) error {
	text = strings.TrimSpace(text)
	if text == "" || !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxChat {
		return ErrInvalidChat
	}
	d, err := s.d.Store.Allow(ctx, "party:chat:"+idKey(accountID), chatLimit, chatWindow)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return &RateLimitError{RetryAfter: d.RetryAfter}
	}
	p, err := s.current(ctx, accountID)
	if err != nil {
		return err
	}
	m := p.Members[p.member(accountID)]
	line := ChatLine{PartyID: p.ID, PlayerID: m.PlayerID, DisplayName: m.DisplayName, Text: text, SentAt: time.Now().UTC()}
	return s.d.Bus.Send(ctx, KindChat, line, p.MemberIDs()...)
}

// RateLimitError is ErrRateLimited with when to try again.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string { return ErrRateLimited.Error() }
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// OutboxNotifier stores notifications through the outbox (notify.Send), so
// an invitation survives a crash and reaches an offline player later.
type OutboxNotifier struct{ DB sqlx.ExtContext }

// Notify implements Notifier.
func (n OutboxNotifier) Notify(ctx context.Context, accountID int64, kind string, payload any) error {
	return notify.Send(ctx, n.DB, accountID, kind, payload)
}

// RetryAfterMillis is RetryAfter in whole milliseconds, rounded up.
func (e *RateLimitError) RetryAfterMillis() uint32 {
	return uint32((e.RetryAfter + time.Millisecond - 1) / time.Millisecond)
}
