package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	playerdata "github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
	"github.com/musterhq/muster/web"
)

// BenchmarkPlayerReadsHTTP serves the player data routes on a real
// listener, as a player target does, and reads from 1 or 8 clients at
// once over keep-alive connections: "profile" is GET /v1/me/profile,
// "login" the three reads a client makes at login (profile, loadouts,
// settings).
// Documents are cached (warm); the access token is verified on every
// request. Latencies are of whole HTTP round trips.
//
//	go test -run '^$' -bench PlayerReadsHTTP -benchtime 20000x ./api/
func BenchmarkPlayerReadsHTTP(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn := testenv.DB(b)
	client, prefix := testenv.Redis(b)
	shared := state.NewRedis(client, prefix)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	scfg := session.Config{SecretKey: secret}
	keys := session.NewKeys(conn, scfg)
	if err := keys.Ensure(ctx); err != nil {
		b.Fatal(err)
	}
	deny := session.NewDenyList(shared, shared, scfg.DenyTTL())
	go func() { _ = deny.Run(ctx) }()
	tokens := session.NewTokens(keys, deny, scfg)
	sessions := session.NewStore(conn, tokens, deny, scfg)
	inv := inventory.NewStore(conn, ledger.New(conn), inventory.Config{})

	app := web.New(web.Config{BodyLimit: 64 << 10, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}, log, web.NewMetrics(web.NewRegistry()))
	api.MountPlayer(app, api.Player{Players: playerdata.New(conn, shared, inv, playerdata.Config{CacheTTL: time.Hour, Log: log}),
		Verifier: tokens, Log: log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	defer func() { _ = app.Shutdown() }()
	base := "http://" + ln.Addr().String()

	const players = 50
	bearer := make([]string, players)
	for i := range bearer {
		id := economytest.Player(b, conn)
		var public string
		if err := conn.Get(&public, `SELECT public_id FROM accounts WHERE id = $1`, id); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(`INSERT INTO player_settings (account_id, body, version) VALUES ($1, '{"fov":90,"sens":1.5}', 1)`, id); err != nil {
			b.Fatal(err)
		}
		issued, err := sessions.Start(ctx, id, public, session.Meta{IP: "192.0.2.1", UserAgent: "bench", Method: "steam"})
		if err != nil {
			b.Fatal(err)
		}
		bearer[i] = "Bearer " + issued.AccessToken
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 5 * time.Second}
	get := func(path, auth string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", auth)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		return nil
	}
	pick := func(n int64) string { return bearer[(int(n)%players+players)%players] }
	for _, c := range []struct {
		name    string
		clients int
		paths   []string
	}{
		{"profile/clients=1", 1, []string{"/v1/me/profile"}},
		{"profile/clients=8", 8, []string{"/v1/me/profile"}},
		{"login/clients=8", 8, []string{"/v1/me/profile", "/v1/me/loadouts", "/v1/me/settings"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := range bearer { // warm the cache and the token cache
				for _, p := range c.paths {
					if err := get(p, bearer[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			economytest.Drive(b, c.clients, 0, func(_ int, n int64) error {
				auth := pick(n)
				for _, p := range c.paths {
					if err := get(p, auth); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
}
