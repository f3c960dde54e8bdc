package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
)

// Rule is a rate limit: N attempts per Per.
type Rule struct {
	N   int
	Per time.Duration
}

// Config tunes the identity use cases.
type Config struct {
	DisplayNameCooldown      time.Duration
	ResetTTL                 time.Duration
	SteamDenyVACBanned       bool
	SteamDenyPublisherBanned bool

	LoginPerIP      Rule
	LoginPerAccount Rule // keyed by the email or Steam id tried (known or not) and the address
	RegisterPerIP   Rule
	RefreshPerIP    Rule
	ResetPerIP      Rule
	ResetPerAccount Rule
	PasswordPerUser Rule // password changes and identity links per account

	// Credential stuffing: once an account has seen StuffingFailures failed
	// logins from at least StuffingIPs addresses within StuffingWindow, an IP
	// that never logged into it gets one attempt per StuffingSlowdown. IPs
	// the player used before are not slowed, so an attacker cannot lock the
	// player out.
	StuffingFailures int
	StuffingIPs      int
	StuffingWindow   time.Duration
	StuffingSlowdown time.Duration

	Anomaly account.AnomalyRules
}

// Client is who is asking: the address and user agent of the request, and
// how long the client has been in the login queue.
type Client struct {
	IP        string
	UserAgent string
	// Queued is how long ago the platform first turned this client away
	// as busy (auth_busy), as its queue ticket proves; 0 on a first try.
	// The longer it is, the sooner a password call is let in
	// (account.Hasher.Admit).
	Queued time.Duration
}

// Service runs the identity use cases.
type Service struct {
	accounts *account.Store
	sessions *session.Store
	hasher   *account.Hasher
	steam    SteamAuthenticator
	limiter  state.Limiter
	mailer   Mailer
	log      *slog.Logger
	cfg      Config
}

// NewService wires the use cases to their stores and collaborators.
func NewService(accounts *account.Store, sessions *session.Store, hasher *account.Hasher, steam SteamAuthenticator, limiter state.Limiter, mailer Mailer, log *slog.Logger, cfg Config) *Service {
	return &Service{accounts: accounts, sessions: sessions, hasher: hasher, steam: steam, limiter: limiter, mailer: mailer, log: log, cfg: cfg}
}

// allow applies rule to key, answering a *RateLimitError when it is spent.
func (s *Service) allow(ctx context.Context, key string, rule Rule) error {
	if rule.N <= 0 {
		return nil
	}
	d, err := s.limiter.Allow(ctx, key, rule.N, rule.Per)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return &RateLimitError{RetryAfter: max(d.RetryAfter, time.Second)}
	}
	return nil
}

// checkStanding refuses a banned account.
func checkStanding(a account.Account) error {
	if a.BannedAt(time.Now()) {
		return &BannedError{Until: a.BannedUntil, Reason: a.BanReason}
	}
	if a.Status == account.StatusDeleted {
		return account.ErrNotFound
	}
	return nil
}

// startSession opens a session for a login that succeeded and records it.
func (s *Service) startSession(ctx context.Context, c Client, a account.Account, method string) (session.Issued, error) {
	issued, err := s.sessions.Start(ctx, a.ID, a.PublicID, session.Meta{IP: c.IP, UserAgent: c.UserAgent, Method: method})
	if err != nil {
		return session.Issued{}, err
	}
	s.record(ctx, c, &a.ID, method, account.OutcomeSuccess)
	return issued, nil
}

// record appends to the login history. A failure to record is logged, not
// returned: the player's login does not depend on it.
func (s *Service) record(ctx context.Context, c Client, id *int64, method, outcome string) {
	ev := account.LoginEvent{AccountID: id, IP: c.IP, Method: method, Outcome: outcome, UserAgent: c.UserAgent}
	if _, err := s.accounts.RecordLogin(ctx, ev, s.cfg.Anomaly); err != nil {
		s.log.ErrorContext(ctx, "record login", "err", err)
	}
}

// Register creates an account with email and password and logs it in.
func (s *Service) Register(ctx context.Context, c Client, email, password, displayName string) (account.Account, session.Issued, error) {
	if err := s.hasher.Admit(c.Queued); err != nil {
		return account.Account{}, session.Issued{}, err
	}
	if err := s.allow(ctx, "register:ip:"+c.IP, s.cfg.RegisterPerIP); err != nil {
		return account.Account{}, session.Issued{}, err
	}
	email, err := account.NormalizeEmail(email)
	if err != nil {
		return account.Account{}, session.Issued{}, err
	}
	if _, err := account.CheckDisplayName(displayName); err != nil {
		return account.Account{}, session.Issued{}, err
	}
	if err := account.CheckPassword(password, email, displayName); err != nil {
		return account.Account{}, session.Issued{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return account.Account{}, session.Issued{}, err
	}
	a, err := s.accounts.CreateWithEmail(ctx, email, hash, displayName)
	if err != nil {
		return account.Account{}, session.Issued{}, err
	}
	issued, err := s.startSession(ctx, c, a, account.ProviderEmail)
	return a, issued, err
}

// LoginEmail logs in with email and password. An unknown email and a wrong
// password give the same error after the same amount of hashing work.
func (s *Service) LoginEmail(ctx context.Context, c Client, email, password string) (account.Account, session.Issued, error) {
	fail := func(err error) (account.Account, session.Issued, error) {
		return account.Account{}, session.Issued{}, err
	}
	if err := s.hasher.Admit(c.Queued); err != nil {
		return fail(err)
	}
	if err := s.allow(ctx, "login:ip:"+c.IP, s.cfg.LoginPerIP); err != nil {
		return fail(err)
	}
	norm, err := account.NormalizeEmail(email)
	if err != nil {
		if err := s.hasher.Dummy(ctx, password); err != nil {
			return fail(err)
		}
		return fail(ErrInvalidCredentials)
	}
	// Keyed by address too, so guesses from elsewhere cannot lock the player
	// out; guessing from many addresses meets the stuffing rule instead.
	if err := s.allow(ctx, "login:email:"+norm+":"+c.IP, s.cfg.LoginPerAccount); err != nil {
		return fail(err)
	}
	a, hash, err := s.accounts.ByEmail(ctx, norm)
	if errors.Is(err, account.ErrNotFound) {
		if err := s.hasher.Dummy(ctx, password); err != nil {
			return fail(err)
		}
		s.record(ctx, c, nil, account.ProviderEmail, account.OutcomeUnknown)
		return fail(ErrInvalidCredentials)
	}
	if err != nil {
		return fail(err)
	}
	if err := s.slowStuffing(ctx, c, a.ID); err != nil {
		return fail(err)
	}
	ok, rehash, err := s.hasher.Verify(ctx, hash, password)
	if err != nil {
		return fail(err)
	}
	if !ok {
		s.record(ctx, c, &a.ID, account.ProviderEmail, account.OutcomeBadPassword)
		return fail(ErrInvalidCredentials)
	}
	if err := checkStanding(a); err != nil {
		s.record(ctx, c, &a.ID, account.ProviderEmail, account.OutcomeBanned)
		return fail(err)
	}
	if rehash && s.hasher.Admit(0) == nil { // a busy hasher leaves it for the next login
		if h, err := s.hasher.Hash(ctx, password); err == nil {
			if err := s.accounts.SetPasswordHash(ctx, a.ID, h); err != nil {
				s.log.ErrorContext(ctx, "rehash password", "player_id", a.PublicID, "err", err)
			}
		}
	}
	issued, err := s.startSession(ctx, c, a, account.ProviderEmail)
	return a, issued, err
}

// slowStuffing applies the credential-stuffing rule to a login attempt.
func (s *Service) slowStuffing(ctx context.Context, c Client, id int64) error {
	if s.cfg.StuffingFailures <= 0 {
		return nil
	}
	failures, ips, err := s.accounts.FailureStats(ctx, id, time.Now().Add(-s.cfg.StuffingWindow))
	if err != nil || failures < s.cfg.StuffingFailures || ips < s.cfg.StuffingIPs {
		return err
	}
	known, err := s.accounts.KnownIP(ctx, id, c.IP)
	if err != nil || known {
		return err
	}
	if err := s.allow(ctx, fmt.Sprintf("login:slow:%d", id), Rule{N: 1, Per: s.cfg.StuffingSlowdown}); err != nil {
		s.record(ctx, c, &id, account.ProviderEmail, account.OutcomeSlowed)
		return err
	}
	return nil
}

// LoginSteam logs in with a Steam auth ticket, creating the account on the
// first login.
func (s *Service) LoginSteam(ctx context.Context, c Client, ticket string) (account.Account, session.Issued, bool, error) {
	fail := func(err error) (account.Account, session.Issued, bool, error) {
		return account.Account{}, session.Issued{}, false, err
	}
	if err := s.allow(ctx, "login:ip:"+c.IP, s.cfg.LoginPerIP); err != nil {
		return fail(err)
	}
	t, err := s.steamTicket(ctx, ticket)
	if err != nil {
		return fail(err)
	}
	if err := s.allow(ctx, "login:steam:"+t.SteamID+":"+c.IP, s.cfg.LoginPerAccount); err != nil {
		return fail(err)
	}
	a, created, err := s.accounts.FindOrCreateSteam(ctx, t.SteamID, t.OwnerSteamID)
	if err != nil {
		return fail(err)
	}
	if err := checkStanding(a); err != nil {
		s.record(ctx, c, &a.ID, account.ProviderSteam, account.OutcomeBanned)
		return fail(err)
	}
	issued, err := s.startSession(ctx, c, a, account.ProviderSteam)
	return a, issued, created, err
}

// steamTicket asks Steam about a ticket and applies the ban policy.
func (s *Service) steamTicket(ctx context.Context, ticket string) (SteamTicket, error) {
	if s.steam == nil {
		return SteamTicket{}, ErrSteamNotConfigured
	}
	t, err := s.steam.AuthenticateTicket(ctx, ticket)
	if err != nil {
		return SteamTicket{}, err
	}
	if (t.VACBanned && s.cfg.SteamDenyVACBanned) || (t.PublisherBanned && s.cfg.SteamDenyPublisherBanned) {
		return SteamTicket{}, ErrSteamBanned
	}
	return t, nil
}

// Refresh exchanges a refresh token for a new pair.
func (s *Service) Refresh(ctx context.Context, c Client, refreshToken string) (session.Issued, error) {
	if err := s.allow(ctx, "refresh:ip:"+c.IP, s.cfg.RefreshPerIP); err != nil {
		return session.Issued{}, err
	}
	return s.sessions.Refresh(ctx, refreshToken, session.Meta{IP: c.IP, UserAgent: c.UserAgent})
}

// Logout ends the session of a refresh token.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	return s.sessions.Logout(ctx, refreshToken)
}
