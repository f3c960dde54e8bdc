package main

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestConfigPrecedenceFlagOverEnvOverDefault(t *testing.T) {
	cfg, rest, err := parseConfig("serve", []string{"--http-addr=:7000", "extra"}, envOf(map[string]string{
		"MUSTER_HTTP_ADDR":        ":6000",
		"MUSTER_SHUTDOWN_TIMEOUT": "3s",
		"MUSTER_DB_MAX_OPEN":      "7",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":7000" || cfg.ShutdownTimeout != 3*time.Second || cfg.DBMaxOpen != 7 || cfg.OpsAddr != ":9090" {
		t.Fatalf("cfg = %+v", cfg)
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Fatalf("rest = %v", rest)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: []string{"--nope"}, want: "flag provided but not defined: -nope"},
		{args: []string{"--db-max-open=lots"}, want: "db-max-open"},
		{env: map[string]string{"MUSTER_SHUTDOWN_TIMEOUT": "soon"}, want: `MUSTER_SHUTDOWN_TIMEOUT="soon" is invalid`},
		{env: map[string]string{"MUSTER_LOG_LEVEL": "loud"}, want: `log-level "loud" is invalid`},
		{args: []string{"--db-max-open=0"}, want: "db-max-open must be positive"},
		{args: []string{"--database-url=mysql://x"}, want: "database-url must be a postgres:// URL"},
		{args: []string{"--redis-url=http://x"}, want: "redis-url must be a redis://"},
		{env: map[string]string{"MUSTER_DATABASE_URL": "http://u:topsecret@h/x"}, want: "database-url must be"},
	}
	for _, tt := range tests {
		_, _, err := parseConfig("serve", tt.args, envOf(tt.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("args %v env %v: err = %v, want %q", tt.args, tt.env, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "topsecret") {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
}

func TestConfigLogMasksSecrets(t *testing.T) {
	cfg, _, err := parseConfig("serve", []string{
		"--database-url=postgres://muster:pgsecret@db:5432/muster",
		"--redis-url=redis://:redissecret@cache:6379/0",
	}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	logConfig(slog.New(slog.NewJSONHandler(&buf, nil)), &cfg)
	out := buf.String()
	if strings.Contains(out, "pgsecret") || strings.Contains(out, "redissecret") {
		t.Fatalf("configuration log leaks a secret: %s", out)
	}
	if !strings.Contains(out, "db:5432") || !strings.Contains(out, `"http_addr":":8080"`) {
		t.Fatalf("configuration log lacks settings: %s", out)
	}
}

func TestRuleAndBoolSettings(t *testing.T) {
	cfg, _, err := parseConfig("serve", []string{"--rate-login-ip=5/30s", "--steam-deny-vac-banned"}, envOf(map[string]string{
		"MUSTER_RATE_REFRESH_IP":             "1000/1s",
		"MUSTER_STEAM_DENY_PUBLISHER_BANNED": "false",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RateLoginIP != (rule{5, 30 * time.Second}) || cfg.RateRefreshIP != (rule{1000, time.Second}) || cfg.RateRegisterIP != (rule{10, time.Hour}) {
		t.Fatalf("rules: %+v %+v %+v", cfg.RateLoginIP, cfg.RateRefreshIP, cfg.RateRegisterIP)
	}
	if !cfg.SteamDenyVAC || cfg.SteamDenyPublisher {
		t.Fatalf("bools: vac %v publisher %v", cfg.SteamDenyVAC, cfg.SteamDenyPublisher)
	}
	for _, bad := range []string{"--rate-login-ip=5", "--rate-login-ip=x/1m", "--rate-login-ip=5/-1s", "--secret-key=short", "--bcrypt-cost=4", "--env=staging"} {
		if _, _, err := parseConfig("serve", []string{bad}, envOf(nil), io.Discard); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestIsLocalDatabase(t *testing.T) {
	for u, want := range map[string]bool{
		"postgres://postgres@127.0.0.1:5432/muster": true,
		"postgres://postgres@localhost/muster":      true,
		"postgres://u:p@db.staging.internal/muster": false,
		"postgres://u:p@10.0.0.5:5432/muster":       false,
	} {
		if got := isLocalDatabase(u); got != want {
			t.Errorf("isLocalDatabase(%s) = %v", u, got)
		}
	}
}
