package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/musterhq/muster/domain/account"
)

// Config is every setting of the muster binary. Each field is set by a flag
// (--http-addr) or by its MUSTER_* environment variable (MUSTER_HTTP_ADDR);
// a flag wins over the environment, which wins over the default.
type Config struct {
	Target            string
	HTTPAddr          string
	OpsAddr           string
	OpsPprof          bool
	ConsoleAddr       string
	DatabaseURL       string
	DBMaxOpen         int
	DBMaxIdle         int
	DBConnMaxLifetime time.Duration
	RedisURL          string
	RedisPrefix       string
	LogLevel          string
	LogFormat         string
	BodyLimit         int
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	DrainDelay        time.Duration
	OutboxMaxAttempts int
	OutboxPoll        time.Duration
	OutboxWorkers     int

	ServerCredentialCache time.Duration
	BattlePassGrace       time.Duration
	SettingsMaxBytes      int

	SessionsHeartbeat        time.Duration
	SessionsHeartbeatTimeout time.Duration
	SessionsSweepEvery       time.Duration
	SessionsAllocateWithin   time.Duration
	SessionsAllocator        string
	SessionsFleet            string
	AgonesURL                string
	AgonesNamespace          string
	AgonesToken              string
	AgonesCAFile             string
	AgonesServer             string

	RealtimeAddr         string
	RealtimeHeartbeat    time.Duration
	RealtimeIdleTimeout  time.Duration
	RealtimeResumeWindow time.Duration
	RealtimeSendQueue    int
	RealtimeDrainSpread  time.Duration
	RealtimePresenceTTL  time.Duration
	RealtimeTLSCert      string
	RealtimeTLSKey       string
	PartyMaxSize         int
	PartyDefaultSize     int
	MatchmakingTick      time.Duration
	MatchmakingLease     time.Duration
	RateMatchmaking      rule
	RatePlayerData       rule
	RateFriends          rule
	DataDir              string
	DevPostgres          string
	Env                  string
	TrustedProxies       string
	ProxyHeader          string
	OTLPEndpoint         string
	TraceSampleRatio     float64

	SecretKey           string
	AuthIssuer          string
	AuthAudience        string
	AccessTTL           time.Duration
	RefreshTTL          time.Duration
	BcryptCost          int
	HashWait            time.Duration
	DisplayNameCooldown time.Duration
	ResetTTL            time.Duration

	SteamAPIURL        string
	SteamAPIKey        string
	SteamAppID         string
	SteamIdentity      string
	SteamTimeout       time.Duration
	SteamDenyVAC       bool
	SteamDenyPublisher bool

	RateLoginIP      rule
	RateLoginAccount rule
	RateRegisterIP   rule
	RateRefreshIP    rule
	RateResetIP      rule
	RateResetAccount rule
	RateAccountEdits rule

	Trades      bool
	TradeTTL    time.Duration
	GiftTTL     time.Duration
	RateEconomy rule
	SweepEvery  time.Duration

	StripeSecretKey      string
	StripeAPIURL         string
	StripeWebhookSecrets string
	StripeTolerance      time.Duration
	StripeTimeout        time.Duration
	StoreSuccessURL      string
	StoreCancelURL       string
	RefundPolicy         string
	CountryHeader        string
	RateStore            rule
	ReconcileEvery       time.Duration
	ReconcileWindow      time.Duration
}

// setting is one documented configuration entry.
type setting struct {
	name   string // flag name
	usage  string
	secret bool // masked when the configuration is logged
	value  flag.Value
	def    string
}

// env is the environment variable a flag name maps to.
func (s setting) env() string {
	return "MUSTER_" + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_"))
}

// settings binds every field of cfg to its flag without changing it; it is
// the one list the flag parser, the environment reader, the start-up log and
// the README table use.
func settings(cfg *Config) []setting {
	return []setting{
		str(&cfg.Target, "target", "all", "comma-separated targets to run, or all", false),
		str(&cfg.HTTPAddr, "http-addr", ":8080", "listen address of the player REST API", false),
		str(&cfg.OpsAddr, "ops-addr", ":9090", "listen address of /healthz, /readyz and /metrics", false),
		flg(&cfg.OpsPprof, "ops-pprof", false, "also serve Go's profiles (/debug/pprof/) on the ops listener; keep that listener private"),
		str(&cfg.ConsoleAddr, "console-addr", ":8081", "listen address of the staff console (keep it inside the studio's network; serve it over TLS)", false),
		str(&cfg.DatabaseURL, "database-url", "", "PostgreSQL URL (required by serve and migrate; dev finds or starts one)", true),
		num(&cfg.DBMaxOpen, "db-max-open", 20, "most open PostgreSQL connections"),
		num(&cfg.DBMaxIdle, "db-max-idle", 20, "most idle PostgreSQL connections kept (keep it equal to db-max-open: reconnecting under load is costly)"),
		dur(&cfg.DBConnMaxLifetime, "db-conn-max-lifetime", 30*time.Minute, "longest a PostgreSQL connection is reused"),
		str(&cfg.RedisURL, "redis-url", "", "Redis URL (required by serve; dev uses in-process state)", true),
		str(&cfg.RedisPrefix, "redis-prefix", "muster:", "prefix of every Redis key and channel", false),
		str(&cfg.LogLevel, "log-level", "info", "debug, info, warn or error", false),
		str(&cfg.LogFormat, "log-format", "auto", "json, text, or auto (text on a terminal, else json)", false),
		num(&cfg.BodyLimit, "http-body-limit", 1<<20, "largest request body in bytes"),
		dur(&cfg.ReadTimeout, "http-read-timeout", 10*time.Second, "longest time to read a request"),
		dur(&cfg.WriteTimeout, "http-write-timeout", 15*time.Second, "longest time to write a response"),
		dur(&cfg.IdleTimeout, "http-idle-timeout", 60*time.Second, "longest an idle keep-alive connection stays open"),
		dur(&cfg.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long in-flight work may take to finish after SIGTERM"),
		dur(&cfg.DrainDelay, "drain-delay", 0, "how long to keep serving with /readyz false before closing listeners (give load balancers time)"),
		num(&cfg.OutboxMaxAttempts, "outbox-max-attempts", 10, "deliveries of an outbox event before it is parked as dead"),
		dur(&cfg.OutboxPoll, "outbox-poll", time.Second, "how often the outbox relay looks for due events without a wake-up"),
		num(&cfg.OutboxWorkers, "outbox-workers", 4, "outbox deliveries the worker target runs at once"),
		str(&cfg.RealtimeAddr, "realtime-addr", ":7350", "listen address of the realtime gateway (TCP, docs/protocol.md)", false),
		dur(&cfg.RealtimeHeartbeat, "realtime-heartbeat", 15*time.Second, "how often realtime clients are asked to ping"),
		dur(&cfg.RealtimeIdleTimeout, "realtime-idle-timeout", 45*time.Second, "a realtime connection silent this long is closed"),
		dur(&cfg.RealtimeResumeWindow, "realtime-resume-window", 2*time.Minute, "how long a dropped realtime session may be resumed, missed notifications included"),
		num(&cfg.RealtimeSendQueue, "realtime-send-queue", 256, "frames waiting for a slow realtime client before it is cut off"),
		dur(&cfg.RealtimeDrainSpread, "realtime-drain-spread", 5*time.Second, "on shutdown, realtime clients are told to reconnect at times spread over this"),
		str(&cfg.RealtimeTLSCert, "realtime-tls-cert", "", "PEM certificate (chain) file: the realtime TCP listener speaks TLS when set with realtime-tls-key", false),
		str(&cfg.RealtimeTLSKey, "realtime-tls-key", "", "PEM private key file of realtime-tls-cert", false),
		dur(&cfg.RealtimePresenceTTL, "realtime-presence-ttl", 30*time.Second, "a player whose connections stop pinging shows offline to friends after this"),
		num(&cfg.PartyMaxSize, "party-max-size", 8, "the largest party a player may form"),
		num(&cfg.PartyDefaultSize, "party-default-size", 4, "a new party's size when the player names none"),
		dur(&cfg.MatchmakingTick, "matchmaking-tick", time.Second, "how often the matchmaker matches each queue it holds"),
		dur(&cfg.MatchmakingLease, "matchmaking-lease", 3*time.Second, "a queue's matchmaker lease; another replica takes a queue over this long after its holder stops"),
		lim(&cfg.RateMatchmaking, "rate-matchmaking", "30/1m", "queue joins and cancels per player"),
		num(&cfg.SettingsMaxBytes, "settings-max-bytes", 16<<10, "largest client settings document a player may store, in bytes"),
		lim(&cfg.RatePlayerData, "rate-player-data", "30/1m", "profile, loadout and settings writes per player"),
		lim(&cfg.RateFriends, "rate-friends", "30/1m", "friend requests, answers, removals and blocks per player, over REST and realtime together"),
		dur(&cfg.BattlePassGrace, "battlepass-grace", 24*time.Hour, "how long after a season ends the results of matches that started in it still count toward its battle pass"),
		dur(&cfg.ServerCredentialCache, "server-credential-cache", 5*time.Second, "how long a checked game server credential is trusted before it is read again (a revocation takes effect within this)"),
		dur(&cfg.SessionsHeartbeat, "sessions-heartbeat", 5*time.Second, "how often registered game server processes are asked to heartbeat"),
		dur(&cfg.SessionsHeartbeatTimeout, "sessions-heartbeat-timeout", 15*time.Second, "a game server process silent this long gets no new match, and the sweeper marks it gone and its matches lost"),
		dur(&cfg.SessionsSweepEvery, "sessions-sweep-every", 5*time.Second, "how often the sessions target sweeps silent game servers and matches past their mode's longest duration"),
		dur(&cfg.SessionsAllocateWithin, "sessions-allocate-within", 30*time.Second, "how long a formed match waits for a game server (retried with backoff) before it goes back to the matchmaker"),
		str(&cfg.SessionsAllocator, "sessions-allocator", "fleet", "where formed matches get a server: fleet (processes registered with Muster) or agones (GameServerAllocation on Kubernetes)", false),
		str(&cfg.SessionsFleet, "sessions-fleet", "", "the fleet matches are allocated from: a registered fleet name (empty: any), or the Agones Fleet (required with agones)", false),
		str(&cfg.AgonesURL, "agones-url", "https://kubernetes.default.svc", "Kubernetes API server the agones allocator calls", false),
		str(&cfg.AgonesNamespace, "agones-namespace", "default", "namespace of the Agones Fleet's GameServers", false),
		str(&cfg.AgonesToken, "agones-token", "", "bearer token of a service account allowed to create gameserverallocations there", true),
		str(&cfg.AgonesCAFile, "agones-ca-file", "", "PEM file of the CA that signs the Kubernetes API server's certificate (empty: system roots)", false),
		str(&cfg.AgonesServer, "agones-server", "", "name of the game server credential the Agones Fleet's pods use (muster servers create): matches are opened for it", false),
		str(&cfg.DataDir, "data-dir", ".muster", "where dev keeps its private PostgreSQL cluster", false),
		str(&cfg.DevPostgres, "dev-postgres", "auto", "dev's PostgreSQL: auto (database-url, else 127.0.0.1:5432, else private) or private", false),
		str(&cfg.Env, "env", "production", "production or development (dev sets development: reset tokens are logged)", false),
		str(&cfg.TrustedProxies, "trusted-proxies", "", "comma-separated load balancer addresses or CIDRs whose proxy-header is believed", false),
		str(&cfg.ProxyHeader, "proxy-header", "X-Real-IP", "header a trusted proxy overwrites with the client address (its first address is used, so not one clients can prepend to)", false),
		str(&cfg.OTLPEndpoint, "otlp-endpoint", "", "OTLP/HTTP collector URL traces are sent to, such as http://otel-collector:4318 (tracing is off without it)", false),
		frac(&cfg.TraceSampleRatio, "trace-sample-ratio", 0.1, "share of new traces sampled, 0 to 1 (a request with a sampled traceparent is always traced)"),

		str(&cfg.SecretKey, "secret-key", "", "base64 of 32 random bytes sealing signing keys at rest and signing login queue tickets (required by auth; the same on every auth process; dev uses a fixed development key)", true),
		str(&cfg.AuthIssuer, "auth-issuer", "muster", "iss of access tokens", false),
		str(&cfg.AuthAudience, "auth-audience", "muster-game", "aud of access tokens", false),
		dur(&cfg.AccessTTL, "access-ttl", 15*time.Minute, "lifetime of an access token"),
		dur(&cfg.RefreshTTL, "refresh-ttl", 720*time.Hour, "how long an unused session lasts (each refresh extends it)"),
		num(&cfg.BcryptCost, "bcrypt-cost", 10, "bcrypt cost of password hashes (at least 10; logins rehash when it changes)"),
		dur(&cfg.HashWait, "hash-wait", account.DefaultMaxHashWait, "longest a login or registration waits for a free processor to hash its password before it is answered 503 auth_busy"),
		dur(&cfg.DisplayNameCooldown, "display-name-cooldown", 720*time.Hour, "shortest time between display name changes"),
		dur(&cfg.ResetTTL, "reset-ttl", time.Hour, "lifetime of a password reset token"),

		str(&cfg.SteamAPIURL, "steam-api-url", "https://partner.steam-api.com", "base URL of Steam's Web API", false),
		str(&cfg.SteamAPIKey, "steam-api-key", "", "Steam publisher Web API key (Steam login is off without it)", true),
		str(&cfg.SteamAppID, "steam-app-id", "", "Steam app id of the game", false),
		str(&cfg.SteamIdentity, "steam-identity", "", "identity string the client passed to GetAuthTicketForWebApi", false),
		dur(&cfg.SteamTimeout, "steam-timeout", 5*time.Second, "longest wait for Steam"),
		flg(&cfg.SteamDenyVAC, "steam-deny-vac-banned", false, "refuse Steam logins of VAC-banned players"),
		flg(&cfg.SteamDenyPublisher, "steam-deny-publisher-banned", true, "refuse Steam logins of publisher-banned players"),

		lim(&cfg.RateLoginIP, "rate-login-ip", "20/1m", "logins per client IP"),
		lim(&cfg.RateLoginAccount, "rate-login-account", "10/1m", "logins per email or Steam id"),
		lim(&cfg.RateRegisterIP, "rate-register-ip", "10/1h", "registrations per client IP"),
		lim(&cfg.RateRefreshIP, "rate-refresh-ip", "120/1m", "token refreshes per client IP"),
		lim(&cfg.RateResetIP, "rate-reset-ip", "10/1h", "password reset requests and confirmations per client IP"),
		lim(&cfg.RateResetAccount, "rate-reset-account", "3/1h", "password reset mails per email"),
		lim(&cfg.RateAccountEdits, "rate-account-edits", "10/1h", "password changes and identity links per account"),

		flg(&cfg.Trades, "trades", false, "let players trade items with each other (escrowed two-party swaps)"),
		dur(&cfg.TradeTTL, "trade-ttl", 24*time.Hour, "how long a trade offer stays open"),
		dur(&cfg.GiftTTL, "gift-ttl", 14*24*time.Hour, "how long a gift waits for its recipient before it returns to the sender"),
		lim(&cfg.RateEconomy, "rate-economy", "60/1m", "crafts, disenchants, gifts and trades per player"),
		dur(&cfg.SweepEvery, "sweep-every", 10*time.Second, "how often the worker removes expired items and returns unclaimed gifts"),

		str(&cfg.StripeSecretKey, "stripe-secret-key", "", "Stripe secret API key (real-money purchases are off without it)", true),
		str(&cfg.StripeAPIURL, "stripe-api-url", "https://api.stripe.com", "base URL of Stripe's API (stripe-mock in tests)", false),
		str(&cfg.StripeWebhookSecrets, "stripe-webhook-secrets", "", "comma-separated Stripe webhook signing secrets (two while one is rotated)", true),
		dur(&cfg.StripeTolerance, "stripe-webhook-tolerance", 5*time.Minute, "oldest webhook signature timestamp accepted"),
		dur(&cfg.StripeTimeout, "stripe-timeout", 10*time.Second, "longest wait for one Stripe API call"),
		str(&cfg.StoreSuccessURL, "store-success-url", "http://localhost:8080/store/done?order={ORDER_ID}", "where Stripe Checkout returns a player who paid ({ORDER_ID} is replaced)", false),
		str(&cfg.StoreCancelURL, "store-cancel-url", "http://localhost:8080/store/cancelled?order={ORDER_ID}", "where Stripe Checkout returns a player who cancelled", false),
		str(&cfg.RefundPolicy, "refund-policy", "debt", "what a refund or chargeback does when the currency was spent: debt, revoke or flag (docs/store.md)", false),
		str(&cfg.CountryHeader, "country-header", "X-Country-Code", "header in which the ingress passes the client's country (ISO 3166-1 alpha-2)", false),
		lim(&cfg.RateStore, "rate-store", "30/1m", "purchases, checkouts and battle pass purchases per player"),
		dur(&cfg.ReconcileEvery, "reconcile-every", 5*time.Minute, "how often the worker repairs orders from Stripe's events and checkouts"),
		dur(&cfg.ReconcileWindow, "reconcile-window", 72*time.Hour, "how far back reconciliation lists Stripe's events"),
	}
}

// errHelp is returned when the user asked for help; it is not a failure.
var errHelp = errors.New("help requested")

// parseConfig reads cfg from defaults, then the environment, then args.
// It returns the arguments left after the flags.
func parseConfig(cmd string, args []string, getenv func(string) string, usage io.Writer) (Config, []string, error) {
	var cfg Config
	all := settings(&cfg)
	fs := flag.NewFlagSet("muster "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, s := range all {
		if err := s.value.Set(s.def); err != nil {
			panic("muster: bad default for " + s.name)
		}
		fs.Var(s.value, s.name, s.usage)
	}
	for _, s := range all {
		if v := getenv(s.env()); v != "" {
			if err := s.value.Set(v); err != nil {
				return cfg, nil, fmt.Errorf("%s=%q is invalid: %v", s.env(), maskValue(s, v), err)
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(usage)
			fmt.Fprintf(usage, "usage: muster %s [flags]\n", cmd)
			fs.PrintDefaults()
			return cfg, nil, errHelp
		}
		return cfg, nil, err
	}
	return cfg, fs.Args(), cfg.validate()
}

func (c Config) validate() error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log-level %q is invalid: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		return fmt.Errorf("log-format %q is invalid: want auto, json or text", c.LogFormat)
	}
	switch c.Env {
	case "production", "development":
	default:
		return fmt.Errorf("env %q is invalid: want production or development", c.Env)
	}
	if c.BcryptCost < 10 || c.BcryptCost > 31 {
		return fmt.Errorf("bcrypt-cost must be between 10 and 31, got %d", c.BcryptCost)
	}
	if c.HashWait <= 0 {
		return fmt.Errorf("hash-wait must be above 0, got %v", c.HashWait)
	}
	if c.SecretKey != "" {
		if _, err := decodeSecretKey(c.SecretKey); err != nil {
			return err
		}
	}
	for name, v := range map[string]time.Duration{"access-ttl": c.AccessTTL, "refresh-ttl": c.RefreshTTL, "reset-ttl": c.ResetTTL, "steam-timeout": c.SteamTimeout} {
		if v <= 0 {
			return fmt.Errorf("%s must be positive, got %s", name, v)
		}
	}
	switch c.DevPostgres {
	case "auto", "private":
	default:
		return fmt.Errorf("dev-postgres %q is invalid: want auto or private", c.DevPostgres)
	}
	for name, v := range map[string]int{"db-max-open": c.DBMaxOpen, "db-max-idle": c.DBMaxIdle, "http-body-limit": c.BodyLimit, "outbox-max-attempts": c.OutboxMaxAttempts, "outbox-workers": c.OutboxWorkers, "settings-max-bytes": c.SettingsMaxBytes, "realtime-send-queue": c.RealtimeSendQueue, "party-max-size": c.PartyMaxSize, "party-default-size": c.PartyDefaultSize} {
		if v <= 0 {
			return fmt.Errorf("%s must be positive, got %d", name, v)
		}
	}
	for name, v := range map[string]time.Duration{"http-read-timeout": c.ReadTimeout, "http-write-timeout": c.WriteTimeout, "shutdown-timeout": c.ShutdownTimeout, "outbox-poll": c.OutboxPoll, "realtime-presence-ttl": c.RealtimePresenceTTL, "matchmaking-tick": c.MatchmakingTick} {
		if v <= 0 {
			return fmt.Errorf("%s must be positive, got %s", name, v)
		}
	}
	for name, v := range map[string]time.Duration{"sessions-heartbeat": c.SessionsHeartbeat, "sessions-sweep-every": c.SessionsSweepEvery, "sessions-allocate-within": c.SessionsAllocateWithin} {
		if v <= 0 {
			return fmt.Errorf("%s must be positive, got %s", name, v)
		}
	}
	if c.SessionsHeartbeatTimeout < 2*c.SessionsHeartbeat {
		return fmt.Errorf("sessions-heartbeat-timeout must be at least twice sessions-heartbeat (one lost heartbeat must not take a server out), got %s and %s", c.SessionsHeartbeatTimeout, c.SessionsHeartbeat)
	}
	switch c.SessionsAllocator {
	case "fleet":
	case "agones":
		if c.SessionsFleet == "" || c.AgonesServer == "" {
			return errors.New("sessions-allocator agones needs sessions-fleet (the Agones Fleet) and agones-server (the credential its pods use)")
		}
		if u, err := url.Parse(c.AgonesURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("agones-url must be an http:// or https:// URL")
		}
	default:
		return fmt.Errorf("sessions-allocator %q is invalid: want fleet or agones", c.SessionsAllocator)
	}
	if c.MatchmakingLease < 2*c.MatchmakingTick {
		return fmt.Errorf("matchmaking-lease (%s) must be at least two matchmaking ticks (%s)", c.MatchmakingLease, c.MatchmakingTick)
	}
	if (c.RealtimeTLSCert == "") != (c.RealtimeTLSKey == "") {
		return errors.New("realtime-tls-cert and realtime-tls-key go together: set both or neither")
	}
	if c.PartyMaxSize < 2 || c.PartyDefaultSize < 2 || c.PartyDefaultSize > c.PartyMaxSize {
		return fmt.Errorf("party sizes must be at least 2 with party-default-size <= party-max-size, got %d and %d", c.PartyDefaultSize, c.PartyMaxSize)
	}
	if c.TraceSampleRatio < 0 || c.TraceSampleRatio > 1 {
		return fmt.Errorf("trace-sample-ratio must be between 0 and 1, got %v", c.TraceSampleRatio)
	}
	if c.OTLPEndpoint != "" {
		if u, err := url.Parse(c.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("otlp-endpoint must be an http:// or https:// URL")
		}
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return errors.New("database-url must be a postgres:// URL")
		}
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return errors.New("redis-url must be a redis:// or rediss:// URL")
		}
	}
	return nil
}

// require fails with the setting's name and variable when it is empty.
func require(cfg *Config, names ...string) error {
	for _, s := range settings(cfg) {
		for _, n := range names {
			if s.name == n && s.value.String() == "" {
				return fmt.Errorf("%s is required: set --%s or %s", s.name, s.name, s.env())
			}
		}
	}
	return nil
}

// logConfig writes the effective configuration with secrets masked.
func logConfig(log *slog.Logger, cfg *Config) {
	attrs := []any{}
	for _, s := range settings(cfg) {
		attrs = append(attrs, strings.ReplaceAll(s.name, "-", "_"), maskValue(s, s.value.String()))
	}
	log.Info("configuration", attrs...)
}

// maskValue hides a secret setting: a URL keeps its host but not its password.
func maskValue(s setting, v string) string {
	if !s.secret || v == "" {
		return v
	}
	if u, err := url.Parse(v); err == nil && u.Host != "" {
		return u.Redacted()
	}
	return "xxxxx"
}

// decodeSecretKey reads the base64 secret key, which must hold 32 bytes.
func decodeSecretKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, errors.New("secret-key must be the base64 of 32 random bytes (openssl rand -base64 32)")
	}
	return b, nil
}

// rule is a rate limit written N/duration, such as 20/1m.
type rule struct {
	N   int
	Per time.Duration
}

type ruleValue struct{ p *rule }

func (v ruleValue) Set(s string) error {
	n, per, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 0 {
		return errors.New("want N/duration such as 20/1m (0/1s turns the limit off)")
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return errors.New("want N/duration such as 20/1m (0/1s turns the limit off)")
	}
	*v.p = rule{N: count, Per: d}
	return nil
}

func (v ruleValue) String() string {
	if v.p == nil {
		return ""
	}
	per := v.p.Per.String()
	switch {
	case v.p.Per%time.Hour == 0:
		per = strconv.Itoa(int(v.p.Per/time.Hour)) + "h"
	case v.p.Per%time.Minute == 0:
		per = strconv.Itoa(int(v.p.Per/time.Minute)) + "m"
	}
	return strconv.Itoa(v.p.N) + "/" + per
}

type boolValue struct{ p *bool }

func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	*v.p = b
	return nil
}
func (v boolValue) String() string {
	if v.p == nil {
		return "false"
	}
	return strconv.FormatBool(*v.p)
}

// IsBoolFlag lets --flag stand for --flag=true.
func (v boolValue) IsBoolFlag() bool { return true }

func flg(p *bool, name string, def bool, usage string) setting {
	return setting{name: name, usage: usage, value: boolValue{p}, def: strconv.FormatBool(def)}
}

func lim(p *rule, name, def, usage string) setting {
	return setting{name: name, usage: usage, value: ruleValue{p}, def: def}
}

type stringValue struct{ p *string }

func (v stringValue) Set(s string) error { *v.p = s; return nil }
func (v stringValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

type intValue struct{ p *int }

func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	*v.p = n
	return nil
}
func (v intValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

type durationValue struct{ p *time.Duration }

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration such as 500ms, 10s or 1m")
	}
	*v.p = d
	return nil
}
func (v durationValue) String() string {
	if v.p == nil {
		return "0s"
	}
	return v.p.String()
}

func str(p *string, name, def, usage string, secret bool) setting {
	return setting{name: name, usage: usage, secret: secret, value: stringValue{p}, def: def}
}

func num(p *int, name string, def int, usage string) setting {
	return setting{name: name, usage: usage, value: intValue{p}, def: strconv.Itoa(def)}
}

func dur(p *time.Duration, name string, def time.Duration, usage string) setting {
	return setting{name: name, usage: usage, value: durationValue{p}, def: def.String()}
}

type floatValue struct{ p *float64 }

func (v floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("not a number")
	}
	*v.p = f
	return nil
}
func (v floatValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func frac(p *float64, name string, def float64, usage string) setting {
	return setting{name: name, usage: usage, value: floatValue{p}, def: strconv.FormatFloat(def, 'g', -1, 64)}
}
