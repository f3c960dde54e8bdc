package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/web/steam"
)

// devSecretKey is the fixed secret key of `muster dev`. It is public, so it
// protects nothing: production must set its own.
func devSecretKey() string {
	sum := sha256.Sum256([]byte("muster development secret key: never use in production"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func (p *platform) sessionConfig() session.Config {
	secret, _ := decodeSecretKey(p.cfg.SecretKey) // validated with the configuration
	return session.Config{
		Issuer: p.cfg.AuthIssuer, Audience: p.cfg.AuthAudience,
		AccessTTL: p.cfg.AccessTTL, RefreshTTL: p.cfg.RefreshTTL,
		SecretKey: secret, Logger: p.log,
	}
}

// initTokens lets a process verify access tokens on its own: it loads the
// published signing keys and follows the shared deny list of revoked
// sessions. Every target that serves players depends on it.
func initTokens(p *platform) error {
	cfg := p.sessionConfig()
	p.keys = session.NewKeys(p.db, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.keys.Load(ctx); err != nil {
		return err
	}
	p.deny = session.NewDenyList(p.state, p.state, cfg.DenyTTL()).WithLogger(p.log)
	p.tokens = session.NewTokens(p.keys, p.deny, cfg)
	p.runners = append(p.runners,
		runner{name: "signing keys", run: func(ctx context.Context) error { p.keys.Run(ctx); return nil }},
		runner{name: "session deny list", run: p.deny.Run},
	)
	return nil
}

// initIdentity builds the identity use cases that the auth target serves to
// players and the console serves to staff.
func initIdentity(p *platform) error {
	if p.cfg.SecretKey == "" {
		return errors.New("secret-key is required by the auth and console targets: set --secret-key or MUSTER_SECRET_KEY (openssl rand -base64 32)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.keys.Ensure(ctx); err != nil {
		return err
	}
	hasher, err := account.NewHasher(p.cfg.BcryptCost)
	if err != nil {
		return err
	}
	hasher.SetMaxWait(p.cfg.HashWait)
	var steamAuth auth.SteamAuthenticator
	if p.cfg.SteamAPIKey != "" && p.cfg.SteamAppID != "" {
		steamAuth = steam.New(steam.Config{
			BaseURL: p.cfg.SteamAPIURL, APIKey: p.cfg.SteamAPIKey, AppID: p.cfg.SteamAppID,
			Identity: p.cfg.SteamIdentity, Timeout: p.cfg.SteamTimeout,
		}, nil) // the client's own pooled transport
	} else {
		p.log.Info("steam login is off: set steam-api-key and steam-app-id to turn it on")
	}
	c := p.cfg
	accounts := account.NewStore(p.db)
	if p.dev {
		p.seeds = append(p.seeds, func(ctx context.Context) error { return seedDemoPlayer(ctx, accounts, hasher) })
	}
	svc := auth.NewService(
		accounts,
		session.NewStore(p.db, p.tokens, p.deny, p.sessionConfig()),
		hasher, steamAuth, p.state,
		mailer(p),
		p.log,
		auth.Config{
			DisplayNameCooldown:      c.DisplayNameCooldown,
			ResetTTL:                 c.ResetTTL,
			SteamDenyVACBanned:       c.SteamDenyVAC,
			SteamDenyPublisherBanned: c.SteamDenyPublisher,
			LoginPerIP:               auth.Rule(c.RateLoginIP),
			LoginPerAccount:          auth.Rule(c.RateLoginAccount),
			RegisterPerIP:            auth.Rule(c.RateRegisterIP),
			RefreshPerIP:             auth.Rule(c.RateRefreshIP),
			ResetPerIP:               auth.Rule(c.RateResetIP),
			ResetPerAccount:          auth.Rule(c.RateResetAccount),
			PasswordPerUser:          auth.Rule(c.RateAccountEdits),
			StuffingFailures:         10,
			StuffingIPs:              3,
			StuffingWindow:           15 * time.Minute,
			StuffingSlowdown:         30 * time.Second,
			Anomaly:                  account.AnomalyRules{ManyAccountsPerIP: 5, ManyAccountsWindow: 24 * time.Hour},
		},
	)
	p.hasher, p.auth = hasher, svc
	return nil
}

// initAuth serves registration, login, sessions and account identity.
func initAuth(p *platform) error {
	secret, err := decodeSecretKey(p.cfg.SecretKey)
	if err != nil {
		return err // the login queue tickets' key must be the studio's secret
	}
	api.MountAuth(p.public, api.Auth{Service: p.auth, Verifier: p.tokens, JWKS: p.keys.JWKS, Log: p.log,
		QueueKey: api.QueueTicketKey(secret)})
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// mailer delivers account mail. Development logs it; a production
// deployment has no mail service yet, so password reset answers 501 there
// rather than promise a mail that never comes.
func mailer(p *platform) auth.Mailer {
	if p.cfg.Env == "development" {
		return auth.LogMailer{Log: p.log, RevealTokens: true}
	}
	p.log.Warn("password reset is off: no mail service is configured")
	return nil
}
