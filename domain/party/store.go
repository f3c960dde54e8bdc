package party

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/musterhq/muster/domain/state"
)

// maxSwaps bounds the read-change-swap attempts of one change.
const maxSwaps = 32

// load reads a party document and its raw bytes (for the swap).
func (s *Service) load(ctx context.Context, id string) (Party, []byte, error) {
	raw, err := s.d.Store.Get(ctx, partyKey(id))
	if errors.Is(err, state.ErrNotFound) {
		return Party{}, nil, ErrNotFound
	}
	if err != nil {
		return Party{}, nil, err
	}
	var p Party
	if err := json.Unmarshal(raw, &p); err != nil {
		return Party{}, nil, fmt.Errorf("party %s: %w", id, err)
	}
	return p, raw, nil
}

// current returns the party accountID is in, or ErrNoParty. A stale hint
// (the party is gone or no longer lists the player) is cleared.
func (s *Service) current(ctx context.Context, accountID int64) (Party, error) {
	raw, err := s.d.Store.Get(ctx, ofKey(accountID))
	if errors.Is(err, state.ErrNotFound) {
		return Party{}, ErrNoParty
	}
	if err != nil {
		return Party{}, err
	}
	p, _, err := s.load(ctx, string(raw))
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return Party{}, err
	case p.member(accountID) >= 0:
		return p, nil
	}
	if _, err := s.d.Store.CompareAndSwap(ctx, ofKey(accountID), raw, nil, 0); err != nil {
		return Party{}, err
	}
	return Party{}, ErrNoParty
}

// claim records that accountID is joining party id; it fails with
// ErrInParty when the player is in another party.
func (s *Service) claim(ctx context.Context, accountID int64, id string) error {
	for range 2 {
		ok, err := s.d.Store.SetNX(ctx, ofKey(accountID), []byte(id), 0)
		if err != nil || ok {
			return err
		}
		// A hint exists: it is either real (in a party) or stale.
		if _, err := s.current(ctx, accountID); !errors.Is(err, ErrNoParty) {
			if err == nil {
				err = ErrInParty
			}
			return err
		}
	}
	return ErrInParty
}

// release clears accountID's hint if it still names party id.
func (s *Service) release(ctx context.Context, accountID int64, id string) {
	if _, err := s.d.Store.CompareAndSwap(ctx, ofKey(accountID), []byte(id), nil, 0); err != nil {
		s.d.Log.Warn("party: clear a member's party", "party_id", id, "err", err)
	}
}

// mutate applies change to party id by compare-and-swap and returns the
// party before and after. change returns an error to leave the party
// unchanged. A party left with no members is deleted.
func (s *Service) mutate(ctx context.Context, id string, change func(p *Party) error) (before, after Party, err error) {
	for range maxSwaps {
		p, raw, err := s.load(ctx, id)
		if err != nil {
			return Party{}, Party{}, err
		}
		before = p
		before.Members = append([]Member(nil), p.Members...)
		if err := change(&p); err != nil {
			return Party{}, Party{}, err
		}
		p.Version++
		var next []byte
		if len(p.Members) > 0 {
			if next, err = json.Marshal(p); err != nil {
				return Party{}, Party{}, err
			}
		}
		ok, err := s.d.Store.CompareAndSwap(ctx, partyKey(id), raw, next, s.cfg.TTL)
		if err != nil {
			return Party{}, Party{}, err
		}
		if ok {
			if p.Code != "" {
				// The code lives as long as its party.
				if _, err := s.d.Store.Expire(ctx, codeKey(p.Code), s.cfg.TTL); err != nil {
					s.d.Log.Warn("party: keep the invite code", "party_id", id, "err", err)
				}
			}
			return before, p, nil
		}
	}
	return Party{}, Party{}, ErrBusy
}

// changed tells the members what changed: the new state to those in the
// party, Left to those who are not any more, and presence's in-party flag
// to whoever's changed.
func (s *Service) changed(ctx context.Context, before, after Party, reason string) {
	if len(after.Members) > 0 {
		v := s.view(ctx, after)
		if err := s.d.Bus.Send(ctx, KindState, v, after.MemberIDs()...); err != nil {
			s.d.Log.Warn("party: push state", "party_id", after.ID, "err", err)
		}
	}
	var gone []int64
	for _, m := range before.Members {
		if after.member(m.AccountID) < 0 {
			gone = append(gone, m.AccountID)
		}
	}
	if len(gone) > 0 {
		if err := s.d.Bus.Send(ctx, KindLeft, Left{PartyID: before.ID, Reason: reason}, gone...); err != nil {
			s.d.Log.Warn("party: push left", "party_id", before.ID, "err", err)
		}
	}
	if s.d.Queue != nil && !sameMembers(before, after) {
		ids := before.MemberIDs()
		for _, id := range after.MemberIDs() {
			if before.member(id) < 0 {
				ids = append(ids, id)
			}
		}
		if err := s.d.Queue.PartyChanged(ctx, before.ID, ids); err != nil {
			s.d.Log.Warn("party: leave the matchmaking queue", "party_id", before.ID, "err", err)
		}
	}
	if s.d.Presence == nil {
		return
	}
	wasIn, isIn := len(before.Members) >= 2, len(after.Members) >= 2
	for _, m := range before.Members {
		if after.member(m.AccountID) < 0 && wasIn {
			s.setInParty(ctx, m.AccountID, false)
		} else if wasIn != isIn {
			s.setInParty(ctx, m.AccountID, isIn)
		}
	}
	for _, m := range after.Members {
		if before.member(m.AccountID) < 0 && isIn {
			s.setInParty(ctx, m.AccountID, true)
		}
	}
}

func (s *Service) setInParty(ctx context.Context, accountID int64, in bool) {
	if err := s.d.Presence.SetInParty(ctx, accountID, in); err != nil {
		s.d.Log.Warn("party: update presence", "err", err)
	}
}

// Left is the data of a KindLeft push.
type Left struct {
	PartyID string `json:"party_id"`
	Reason  string `json:"reason"` // "left" or "kicked"
}

// sameMembers reports whether two versions of a party have the same members.
func sameMembers(a, b Party) bool {
	if len(a.Members) != len(b.Members) {
		return false
	}
	for _, m := range a.Members {
		if b.member(m.AccountID) < 0 {
			return false
		}
	}
	return true
}
