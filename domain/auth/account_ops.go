package auth

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/session"
)

// Revoke reasons recorded on sessions.
const (
	reasonPasswordChanged = "password_changed"
	reasonPasswordReset   = "password_reset"
	reasonBanned          = "banned"
	reasonDeleted         = "account_deleted"
)

// Me returns the account and its identities.
func (s *Service) Me(ctx context.Context, id int64) (account.Account, []account.Identity, error) {
	a, err := s.accounts.ByID(ctx, id)
	if err != nil {
		return account.Account{}, nil, err
	}
	ids, err := s.accounts.Identities(ctx, id)
	return a, ids, err
}

// Sessions lists the account's live sessions.
func (s *Service) Sessions(ctx context.Context, id int64) ([]session.Session, error) {
	return s.sessions.List(ctx, id)
}

// RevokeSession ends one of the account's sessions.
func (s *Service) RevokeSession(ctx context.Context, id int64, sessionID string) error {
	return s.sessions.Revoke(ctx, id, sessionID, "player_revoked")
}

// RevokeAllSessions ends every session of the account.
func (s *Service) RevokeAllSessions(ctx context.Context, id int64) (int, error) {
	return s.sessions.RevokeAll(ctx, id, "player_revoked_all")
}

// ChangePassword checks the current password, sets the new one, ends every
// session of the account and opens a new one for the caller.
func (s *Service) ChangePassword(ctx context.Context, c Client, id int64, current, next string) (session.Issued, error) {
	if err := s.hasher.Admit(c.Queued); err != nil {
		return session.Issued{}, err
	}
	if err := s.allow(ctx, "password:acct:"+strconv.FormatInt(id, 10), s.cfg.PasswordPerUser); err != nil {
		return session.Issued{}, err
	}
	email, hash, err := s.accounts.PasswordHash(ctx, id)
	if err != nil {
		return session.Issued{}, err
	}
	if ok, _, err := s.hasher.Verify(ctx, hash, current); err != nil {
		return session.Issued{}, err
	} else if !ok {
		return session.Issued{}, ErrInvalidCredentials
	}
	a, err := s.accounts.ByID(ctx, id)
	if err != nil {
		return session.Issued{}, err
	}
	if err := account.CheckPassword(next, email, a.DisplayName); err != nil {
		return session.Issued{}, err
	}
	newHash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return session.Issued{}, err
	}
	if err := s.accounts.SetPasswordHash(ctx, id, newHash); err != nil {
		return session.Issued{}, err
	}
	if _, err := s.sessions.RevokeAll(ctx, id, reasonPasswordChanged); err != nil {
		return session.Issued{}, err
	}
	return s.sessions.Start(ctx, a.ID, a.PublicID, session.Meta{IP: c.IP, UserAgent: c.UserAgent, Method: account.ProviderEmail})
}

// RequestReset mails a one-time reset token when email belongs to an
// account. It answers the same whether or not it does.
func (s *Service) RequestReset(ctx context.Context, c Client, email string) error {
	if s.mailer == nil {
		return ErrResetNotConfigured
	}
	if err := s.allow(ctx, "reset:ip:"+c.IP, s.cfg.ResetPerIP); err != nil {
		return err
	}
	norm, err := account.NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.allow(ctx, "reset:email:"+norm, s.cfg.ResetPerAccount); err != nil {
		return err
	}
	a, _, err := s.accounts.ByEmail(ctx, norm)
	if errors.Is(err, account.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	token, err := s.accounts.CreateReset(ctx, a.ID, s.cfg.ResetTTL)
	if err != nil {
		return err
	}
	// Mail goes out after the answer, so its latency does not tell whether
	// the address is registered.
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s.mailer.SendPasswordReset(ctx, norm, token); err != nil {
			s.log.ErrorContext(ctx, "send password reset", "player_id", a.PublicID, "err", err)
		}
	}()
	return nil
}

// ConfirmReset sets a new password with a reset token and ends every
// session of the account.
func (s *Service) ConfirmReset(ctx context.Context, c Client, token, next string) error {
	if err := s.hasher.Admit(c.Queued); err != nil {
		return err
	}
	if err := s.allow(ctx, "reset:ip:"+c.IP, s.cfg.ResetPerIP); err != nil {
		return err
	}
	if err := account.CheckPassword(next); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	id, err := s.accounts.ConsumeReset(ctx, token, hash)
	if err != nil {
		return err
	}
	_, err = s.sessions.RevokeAll(ctx, id, reasonPasswordReset)
	return err
}

// LinkSteam adds the Steam account of a ticket to the account.
func (s *Service) LinkSteam(ctx context.Context, id int64, ticket string) error {
	if err := s.allow(ctx, "link:acct:"+strconv.FormatInt(id, 10), s.cfg.PasswordPerUser); err != nil {
		return err
	}
	t, err := s.steamTicket(ctx, ticket)
	if err != nil {
		return err
	}
	return s.accounts.LinkSteam(ctx, id, t.SteamID, t.OwnerSteamID)
}

// LinkEmail adds an email and password to the account.
func (s *Service) LinkEmail(ctx context.Context, c Client, id int64, email, password string) error {
	if err := s.hasher.Admit(c.Queued); err != nil {
		return err
	}
	if err := s.allow(ctx, "link:acct:"+strconv.FormatInt(id, 10), s.cfg.PasswordPerUser); err != nil {
		return err
	}
	norm, err := account.NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := account.CheckPassword(password, norm); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	return s.accounts.LinkEmail(ctx, id, norm, hash)
}

// Unlink removes an identity, unless it is the last one.
func (s *Service) Unlink(ctx context.Context, id int64, provider string) error {
	return s.accounts.Unlink(ctx, id, provider)
}

// ChangeDisplayName renames the account, at most once per cooldown.
func (s *Service) ChangeDisplayName(ctx context.Context, id int64, name string) (account.Account, error) {
	return s.accounts.ChangeDisplayName(ctx, id, name, s.cfg.DisplayNameCooldown)
}

// Ban bans the account and ends every session it has. until nil is
// permanent. record, when not nil, runs in the ban's transaction (the
// console writes its audit row there).
func (s *Service) Ban(ctx context.Context, id int64, until *time.Time, reason string, record account.Change) error {
	if strings.TrimSpace(reason) == "" {
		return ErrReasonRequired
	}
	if until != nil && !until.After(time.Now()) {
		return ErrBanEndsInPast
	}
	if err := s.accounts.Ban(ctx, id, until, reason, record); err != nil {
		return err
	}
	_, err := s.sessions.RevokeAll(ctx, id, reasonBanned)
	return err
}

// Unban lifts a ban; record, when not nil, runs in its transaction.
func (s *Service) Unban(ctx context.Context, id int64, record account.Change) error {
	return s.accounts.Unban(ctx, id, record)
}

// EndSessions ends every session of the account on behalf of staff; record
// runs in the same transaction with the ids of the ended sessions.
func (s *Service) EndSessions(ctx context.Context, id int64, record func(tx *sqlx.Tx, ids []string) error) (int, error) {
	return s.sessions.RevokeAllWith(ctx, id, "staff_revoked", record)
}

// Stats returns the figures of the console's dashboard.
func (s *Service) Stats(ctx context.Context) (account.Stats, int, error) {
	st, err := s.accounts.Stats(ctx)
	if err != nil {
		return account.Stats{}, 0, err
	}
	live, err := s.sessions.ActiveCount(ctx)
	return st, live, err
}

// Search finds players for support staff.
func (s *Service) Search(ctx context.Context, q account.Query) ([]account.Account, int, error) {
	return s.accounts.Search(ctx, q)
}

// Player returns an account by public id with its identities.
func (s *Service) Player(ctx context.Context, publicID string) (account.Account, []account.Identity, error) {
	a, err := s.accounts.ByPublicID(ctx, publicID)
	if err != nil {
		return account.Account{}, nil, err
	}
	ids, err := s.accounts.Identities(ctx, a.ID)
	return a, ids, err
}

// Delete closes the account for good and ends every session it has.
func (s *Service) Delete(ctx context.Context, id int64) error {
	if err := s.accounts.Delete(ctx, id); err != nil {
		return err
	}
	_, err := s.sessions.RevokeAll(ctx, id, reasonDeleted)
	return err
}

// History returns the account's latest login attempts.
func (s *Service) History(ctx context.Context, id int64, limit int) ([]account.LoginRecord, error) {
	return s.accounts.History(ctx, id, limit)
}
