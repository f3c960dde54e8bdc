package party

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Get returns the party accountID is in, or ErrNoParty.
func (s *Service) Get(ctx context.Context, accountID int64) (View, error) {
	p, err := s.current(ctx, accountID)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, p), nil
}

// Create starts a party led by accountID, who must be in none. maxSize 0
// takes the default.
func (s *Service) Create(ctx context.Context, accountID int64, maxSize int, joinByCode bool) (View, error) {
	if maxSize == 0 {
		maxSize = s.cfg.DefaultSize
	}
	if maxSize < 2 || maxSize > s.cfg.MaxSize {
		return View{}, fmt.Errorf("%w: a party holds 2 to %d players", ErrInvalid, s.cfg.MaxSize)
	}
	a, err := s.d.Accounts.ByID(ctx, accountID)
	if err != nil {
		return View{}, err
	}
	id := newID()
	if err := s.claim(ctx, accountID, id); err != nil {
		return View{}, err
	}
	now := time.Now().UTC()
	p := Party{ID: id, Version: 1, Leader: accountID, MaxSize: maxSize, CreatedAt: now,
		Members: []Member{{AccountID: accountID, PlayerID: a.PublicID, DisplayName: a.DisplayName, JoinedAt: now}}}
	if joinByCode {
		if p.Code, err = s.reserveCode(ctx, id); err != nil {
			s.release(ctx, accountID, id)
			return View{}, err
		}
		p.JoinByCode = true
	}
	raw, _ := jsonMarshal(p)
	if _, err := s.d.Store.CompareAndSwap(ctx, partyKey(id), nil, raw, s.cfg.TTL); err != nil {
		s.release(ctx, accountID, id)
		return View{}, err
	}
	return s.view(ctx, p), nil
}

// Join puts accountID in a party: the one named by partyID, which must have
// invited them, or the one whose invite code is code.
func (s *Service) Join(ctx context.Context, accountID int64, partyID, code string) (View, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	byCode := code != ""
	if byCode {
		if len(code) != CodeLength {
			return View{}, ErrNotFound
		}
		raw, err := s.d.Store.Get(ctx, codeKey(code))
		if err != nil {
			return View{}, ErrNotFound
		}
		partyID = string(raw)
	}
	if partyID == "" {
		return View{}, fmt.Errorf("%w: name the party or its invite code", ErrInvalid)
	}
	p, _, err := s.load(ctx, partyID)
	if err != nil {
		return View{}, err
	}
	for _, m := range p.Members {
		// Nobody joins a party with a player they blocked or who blocked
		// them; they are told only that it is not there.
		if blocked, err := s.d.Friends.Blocked(ctx, accountID, m.AccountID); err != nil || blocked {
			if err == nil {
				err = ErrNotFound
			}
			return View{}, err
		}
	}
	a, err := s.d.Accounts.ByID(ctx, accountID)
	if err != nil {
		return View{}, err
	}
	if err := s.claim(ctx, accountID, partyID); err != nil {
		return View{}, err
	}
	before, after, err := s.mutate(ctx, partyID, func(p *Party) error {
		now := time.Now()
		p.pruneInvites(now)
		key := idKey(accountID)
		switch {
		case p.member(accountID) >= 0:
			return ErrInParty
		case byCode && (!p.JoinByCode || p.Code != code):
			return ErrNotFound
		case !byCode && p.Invites[key] == 0:
			return ErrNotFound
		case len(p.Members) >= p.MaxSize:
			return ErrFull
		}
		delete(p.Invites, key)
		p.Members = append(p.Members, Member{AccountID: accountID, PlayerID: a.PublicID, DisplayName: a.DisplayName, JoinedAt: now.UTC()})
		return nil
	})
	if err != nil {
		s.release(ctx, accountID, partyID)
		return View{}, err
	}
	s.changed(ctx, before, after, "")
	return s.view(ctx, after), nil
}

// Leave takes accountID out of their party. A leaving leader hands the
// party to the member who joined first; the last member's leaving ends it.
func (s *Service) Leave(ctx context.Context, accountID int64) error {
	p, err := s.current(ctx, accountID)
	if err != nil {
		return err
	}
	return s.remove(ctx, p.ID, accountID, "left", nil)
}

// Kick removes a member (by public id) from the leader's party.
func (s *Service) Kick(ctx context.Context, leaderID int64, playerID string) error {
	p, err := s.current(ctx, leaderID)
	if err != nil {
		return err
	}
	i := p.byPlayer(playerID)
	if i < 0 {
		return ErrNotMember
	}
	target := p.Members[i].AccountID
	if target == leaderID {
		return fmt.Errorf("%w: leave the party instead of kicking yourself", ErrInvalid)
	}
	return s.remove(ctx, p.ID, target, "kicked", func(p *Party) error {
		if p.Leader != leaderID {
			return ErrNotLeader
		}
		return nil
	})
}

// remove takes accountID out of party id after check passes.
func (s *Service) remove(ctx context.Context, id string, accountID int64, reason string, check func(*Party) error) error {
	before, after, err := s.mutate(ctx, id, func(p *Party) error {
		if check != nil {
			if err := check(p); err != nil {
				return err
			}
		}
		i := p.member(accountID)
		if i < 0 {
			return ErrNotMember
		}
		p.Members = append(p.Members[:i], p.Members[i+1:]...)
		if p.Leader == accountID && len(p.Members) > 0 {
			p.Leader = p.Members[0].AccountID
		}
		return nil
	})
	if errors.Is(err, ErrNotMember) && check == nil {
		err = ErrNoParty // left meanwhile
	}
	if err != nil {
		return err
	}
	s.release(ctx, accountID, id)
	if len(after.Members) == 0 && before.Code != "" {
		s.dropCode(ctx, before.Code, id)
	}
	s.changed(ctx, before, after, reason)
	return nil
}

// Promote makes a member (by public id) the leader of the leader's party.
func (s *Service) Promote(ctx context.Context, leaderID int64, playerID string) error {
	p, err := s.current(ctx, leaderID)
	if err != nil {
		return err
	}
	before, after, err := s.mutate(ctx, p.ID, func(p *Party) error {
		if p.Leader != leaderID {
			return ErrNotLeader
		}
		i := p.byPlayer(playerID)
		if i < 0 {
			return ErrNotMember
		}
		p.Leader = p.Members[i].AccountID
		return nil
	})
	if err != nil {
		return err
	}
	s.changed(ctx, before, after, "")
	return nil
}

// Settings changes the leader's party: its size (0 keeps it) and whether
// it can be joined by code (turning it on makes a new code).
func (s *Service) Settings(ctx context.Context, leaderID int64, maxSize int, joinByCode bool) (View, error) {
	if maxSize != 0 && (maxSize < 2 || maxSize > s.cfg.MaxSize) {
		return View{}, fmt.Errorf("%w: a party holds 2 to %d players", ErrInvalid, s.cfg.MaxSize)
	}
	p, err := s.current(ctx, leaderID)
	if err != nil {
		return View{}, err
	}
	if p.Leader != leaderID {
		return View{}, ErrNotLeader
	}
	code := ""
	if joinByCode && !p.JoinByCode {
		if code, err = s.reserveCode(ctx, p.ID); err != nil {
			return View{}, err
		}
	}
	before, after, err := s.mutate(ctx, p.ID, func(p *Party) error {
		if p.Leader != leaderID {
			return ErrNotLeader
		}
		if maxSize != 0 {
			if maxSize < len(p.Members) {
				return fmt.Errorf("%w: the party already has %d members", ErrInvalid, len(p.Members))
			}
			p.MaxSize = maxSize
		}
		switch {
		case joinByCode && !p.JoinByCode && code != "":
			p.JoinByCode, p.Code = true, code
		case !joinByCode:
			p.JoinByCode, p.Code = false, ""
		}
		return nil
	})
	if err != nil {
		if code != "" {
			s.dropCode(ctx, code, p.ID)
		}
		return View{}, err
	}
	if before.Code != "" && before.Code != after.Code {
		s.dropCode(ctx, before.Code, p.ID)
	}
	if code != "" && after.Code != code {
		s.dropCode(ctx, code, p.ID) // another change turned it on first
	}
	s.changed(ctx, before, after, "")
	return s.view(ctx, after), nil
}

// reserveCode takes a free invite code for party id.
func (s *Service) reserveCode(ctx context.Context, id string) (string, error) {
	for range 8 {
		code := newCode()
		ok, err := s.d.Store.SetNX(ctx, codeKey(code), []byte(id), s.cfg.TTL)
		if err != nil {
			return "", err
		}
		if ok {
			return code, nil
		}
	}
	return "", ErrBusy
}

// dropCode frees code if it still names party id.
func (s *Service) dropCode(ctx context.Context, code, id string) {
	if _, err := s.d.Store.CompareAndSwap(ctx, codeKey(code), []byte(id), nil, 0); err != nil {
		s.d.Log.Warn("party: free an invite code", "party_id", id, "err", err)
	}
}
