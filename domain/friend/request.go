package friend

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/notify"
)

// Request asks the player with public id playerID to be friends and
// answers the relation it leads to: outgoing, or friend when they had
// already asked (their request is accepted). Asking again while the
// request waits, or asking a friend, changes nothing. A banned player
// cannot be asked (ErrNotFound); a player you blocked is ErrBlocked. A
// player who blocked you never sees the request, and it is answered as
// pending all the same.
func (s *Store) Request(ctx context.Context, accountID int64, playerID string) (Relation, error) {
	var out Relation
	err := s.change(ctx, accountID, playerID, func(tx *sqlx.Tx, p *pair) error {
		if p.them.Banned {
			return ErrNotFound
		}
		switch p.mine {
		case StateBlocked:
			return ErrBlocked
		case StateFriend, StateOutgoing:
			out = p.relation()
			return nil
		case StateIncoming:
			if err := s.befriend(ctx, tx, p); err != nil {
				return err
			}
			out = p.relation()
			return nil
		}
		// The same checks whether or not they blocked me, so that the
		// answer does not tell.
		if err := s.checkRequest(ctx, tx, p); err != nil {
			return err
		}
		if err := p.setMine(ctx, tx, StateOutgoing); err != nil {
			return err
		}
		out = p.relation()
		if p.theirs == StateBlocked {
			return nil
		}
		if err := p.setTheirs(ctx, tx, StateIncoming); err != nil {
			return err
		}
		return notify.Send(ctx, tx, p.them.ID, KindRequest, Payload{PlayerID: p.me.PublicID, DisplayName: p.me.DisplayName})
	})
	return out, err
}

// checkRequest applies the limits of a new request.
func (s *Store) checkRequest(ctx context.Context, tx *sqlx.Tx, p *pair) error {
	mine, err := countsOf(ctx, tx, p.me.ID)
	if err != nil {
		return err
	}
	theirs, err := countsOf(ctx, tx, p.them.ID)
	if err != nil {
		return err
	}
	switch {
	case mine.Outgoing >= s.cfg.MaxOutgoing:
		return fmt.Errorf("%w: you have %d requests waiting for an answer, the most allowed; withdraw some first", ErrLimit, mine.Outgoing)
	case mine.Friends >= s.cfg.MaxFriends:
		return fmt.Errorf("%w: you have %d friends, the most allowed", ErrLimit, mine.Friends)
	case theirs.Friends >= s.cfg.MaxFriends:
		return fmt.Errorf("%w: this player has as many friends as allowed", ErrLimit)
	case theirs.Incoming >= s.cfg.MaxIncoming:
		return fmt.Errorf("%w: this player has too many requests waiting for an answer", ErrLimit)
	}
	return nil
}

// Accept accepts the request of the player with public id playerID and
// answers the friendship. Accepting a friend again changes nothing; with
// no request from them it is ErrNoRequest. A player banned since they
// asked is ErrNotFound.
func (s *Store) Accept(ctx context.Context, accountID int64, playerID string) (Relation, error) {
	var out Relation
	err := s.change(ctx, accountID, playerID, func(tx *sqlx.Tx, p *pair) error {
		switch p.mine {
		case StateFriend:
		case StateIncoming:
			if p.them.Banned {
				return ErrNotFound
			}
			if err := s.befriend(ctx, tx, p); err != nil {
				return err
			}
		default:
			return ErrNoRequest
		}
		out = p.relation()
		return nil
	})
	return out, err
}

// befriend turns their request to me into a friendship, within both
// players' friend limits, and tells them.
func (s *Store) befriend(ctx context.Context, tx *sqlx.Tx, p *pair) error {
	mine, err := countsOf(ctx, tx, p.me.ID)
	if err != nil {
		return err
	}
	theirs, err := countsOf(ctx, tx, p.them.ID)
	if err != nil {
		return err
	}
	switch {
	case mine.Friends >= s.cfg.MaxFriends:
		return fmt.Errorf("%w: you have %d friends, the most allowed", ErrLimit, mine.Friends)
	case theirs.Friends >= s.cfg.MaxFriends:
		return fmt.Errorf("%w: this player has as many friends as allowed", ErrLimit)
	}
	if err := p.setMine(ctx, tx, StateFriend); err != nil {
		return err
	}
	if err := p.setTheirs(ctx, tx, StateFriend); err != nil {
		return err
	}
	return notify.Send(ctx, tx, p.them.ID, KindAccepted, Payload{PlayerID: p.me.PublicID, DisplayName: p.me.DisplayName})
}

// Decline declines the request of the player with public id playerID, or
// withdraws the player's own request to them. Neither tells the other
// player. With no request either way it is ErrNoRequest.
func (s *Store) Decline(ctx context.Context, accountID int64, playerID string) error {
	return s.change(ctx, accountID, playerID, func(tx *sqlx.Tx, p *pair) error {
		switch p.mine {
		case StateIncoming, StateOutgoing:
		default:
			return ErrNoRequest
		}
		if p.theirs == StateIncoming || p.theirs == StateOutgoing {
			if err := p.dropTheirs(ctx, tx); err != nil {
				return err
			}
		}
		return p.dropMine(ctx, tx)
	})
}

// Remove ends the friendship with the player with public id playerID,
// for both, without telling them: ErrNotFriends when there is none.
func (s *Store) Remove(ctx context.Context, accountID int64, playerID string) error {
	return s.change(ctx, accountID, playerID, func(tx *sqlx.Tx, p *pair) error {
		if p.mine != StateFriend {
			return ErrNotFriends
		}
		if err := p.dropTheirs(ctx, tx); err != nil {
			return err
		}
		return p.dropMine(ctx, tx)
	})
}
