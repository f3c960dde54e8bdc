package steam_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/web/steam"
	"github.com/musterhq/muster/web/steam/steamtest"
)

const (
	key    = "C0FFEE5EC12E7KEY0123456789ABCDEF"
	appID  = "480"
	ticket = "140000006A7B3C5D"
	alice  = "76561197960287930"
	bob    = "76561197960287931"
)

func newClient(s *steamtest.Server, mod func(*steam.Config)) *steam.Client {
	// Long enough for a loaded machine; the timeout test sets its own.
	cfg := steam.Config{BaseURL: s.URL(), APIKey: key, AppID: appID, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	return steam.New(cfg, nil)
}

func TestAuthenticateTicket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(*steamtest.Server)
		cfg      func(*steam.Config)
		ticket   string
		want     auth.SteamTicket
		wantErr  error
		wantMsg  string // substring of the error
		requests int    // requests Steam must have seen
	}{
		{
			name:     "ok",
			setup:    func(s *steamtest.Server) { s.AddTicket(ticket, steamtest.Player{SteamID: alice}) },
			ticket:   ticket,
			want:     auth.SteamTicket{SteamID: alice, OwnerSteamID: alice},
			requests: 1,
		},
		{
			name: "family sharing and bans pass through",
			setup: func(s *steamtest.Server) {
				s.AddTicket(ticket, steamtest.Player{SteamID: alice, OwnerSteamID: bob, VACBanned: true, PublisherBanned: true})
			},
			ticket:   strings.ToLower(ticket),
			want:     auth.SteamTicket{SteamID: alice, OwnerSteamID: bob, VACBanned: true, PublisherBanned: true},
			requests: 1,
		},
		{
			name: "identity sent",
			setup: func(s *steamtest.Server) {
				s.SetIdentity("muster")
				s.AddTicket(ticket, steamtest.Player{SteamID: alice})
			},
			cfg:      func(c *steam.Config) { c.Identity = "muster" },
			ticket:   ticket,
			want:     auth.SteamTicket{SteamID: alice, OwnerSteamID: alice},
			requests: 1,
		},
		{
			name: "identity mismatch",
			setup: func(s *steamtest.Server) {
				s.SetIdentity("muster")
				s.AddTicket(ticket, steamtest.Player{SteamID: alice})
			},
			ticket:   ticket,
			wantErr:  auth.ErrSteamTicketInvalid,
			wantMsg:  "errorcode 101",
			requests: 1,
		},
		{name: "unknown ticket", ticket: ticket, wantErr: auth.ErrSteamTicketInvalid, wantMsg: `errorcode 101: "Invalid ticket"`, requests: 1},
		{
			name:     "ticket for other app",
			setup:    func(s *steamtest.Server) { s.RejectTicket(ticket, 102, "Ticket for other app") },
			ticket:   ticket,
			wantErr:  auth.ErrSteamTicketInvalid,
			wantMsg:  "errorcode 102",
			requests: 1,
		},
		{name: "steam error", setup: fail(steamtest.SteamError), ticket: ticket, wantErr: auth.ErrSteamTicketInvalid, wantMsg: "errorcode 100", requests: 1},
		{name: "malformed steamid", setup: func(s *steamtest.Server) { s.AddTicket(ticket, steamtest.Player{SteamID: "42"}) }, ticket: ticket, wantErr: auth.ErrSteamTicketInvalid, requests: 1},
		{name: "missing steamid", setup: func(s *steamtest.Server) { s.AddTicket(ticket, steamtest.Player{}) }, ticket: ticket, wantErr: auth.ErrSteamTicketInvalid, requests: 1},
		{name: "HTTP 500", setup: fail(steamtest.ServerError), ticket: ticket, wantErr: auth.ErrSteamUnavailable, wantMsg: "HTTP 500", requests: 1},
		{name: "HTTP 503", setup: fail(steamtest.Unavailable), ticket: ticket, wantErr: auth.ErrSteamUnavailable, wantMsg: "HTTP 503", requests: 1},
		{name: "HTTP 429", setup: fail(steamtest.RateLimited), ticket: ticket, wantErr: auth.ErrSteamUnavailable, wantMsg: "HTTP 429", requests: 1},
		{name: "not JSON", setup: fail(steamtest.BadBody), ticket: ticket, wantErr: auth.ErrSteamUnavailable, wantMsg: "unreadable", requests: 1},
		{name: "key revoked", setup: fail(steamtest.WrongKey), ticket: ticket, wantErr: auth.ErrSteamUnavailable, wantMsg: "publisher Web API key", requests: 1},
		{name: "wrong key", cfg: func(c *steam.Config) { c.APIKey = "WRONG" + key }, ticket: ticket, wantErr: auth.ErrSteamUnavailable, wantMsg: "HTTP 403", requests: 1},
		{name: "wrong app", cfg: func(c *steam.Config) { c.AppID = "570" }, ticket: ticket, wantErr: auth.ErrSteamUnavailable, wantMsg: "HTTP 403", requests: 1},
		{name: "wrong base path", cfg: func(c *steam.Config) { c.BaseURL += "/api" }, ticket: ticket, wantErr: auth.ErrSteamUnavailable, wantMsg: "HTTP 404", requests: 1},
		{name: "no key", cfg: func(c *steam.Config) { c.APIKey = "" }, ticket: ticket, wantErr: auth.ErrSteamNotConfigured},
		{name: "no app id", cfg: func(c *steam.Config) { c.AppID = "" }, ticket: ticket, wantErr: auth.ErrSteamNotConfigured},
		{name: "empty ticket", ticket: "", wantErr: auth.ErrSteamTicketInvalid},
		{name: "odd length", ticket: "ABC", wantErr: auth.ErrSteamTicketInvalid},
		{name: "not hex", ticket: "ZZ00", wantErr: auth.ErrSteamTicketInvalid},
		{name: "query injection", ticket: "00&key=x", wantErr: auth.ErrSteamTicketInvalid},
		{name: "too long", ticket: strings.Repeat("AB", steam.MaxTicketHex/2+1), wantErr: auth.ErrSteamTicketInvalid},
		{name: "longest", ticket: strings.Repeat("AB", steam.MaxTicketHex/2), wantErr: auth.ErrSteamTicketInvalid, wantMsg: "errorcode 101", requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := steamtest.NewServer(t, key, appID)
			if tt.setup != nil {
				tt.setup(s)
			}
			got, err := newClient(s, tt.cfg).AuthenticateTicket(context.Background(), tt.ticket)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
				}
				checkNoKey(t, err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if n := s.Requests(); n != tt.requests {
				t.Errorf("steam saw %d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	s := steamtest.NewServer(t, key, appID)
	s.AddTicket(ticket, steamtest.Player{SteamID: alice})
	s.SetSlowDelay(30 * time.Second)
	s.FailNext(steamtest.Slow)
	start := time.Now()
	_, err := newClient(s, func(c *steam.Config) { c.Timeout = 300 * time.Millisecond }).AuthenticateTicket(context.Background(), ticket)
	// Given up at the client's timeout, not at Steam's answer 30 s on.
	if el := time.Since(start); el < 300*time.Millisecond || el > 10*time.Second {
		t.Errorf("took %v, want about the 300ms timeout", el)
	}
	if !errors.Is(err, auth.ErrSteamUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrSteamUnavailable and DeadlineExceeded", err)
	}
	checkNoKey(t, err)
}

func TestSlowButInTime(t *testing.T) {
	t.Parallel()
	s := steamtest.NewServer(t, key, appID)
	s.AddTicket(ticket, steamtest.Player{SteamID: alice})
	s.SetSlowDelay(20 * time.Millisecond)
	s.FailNext(steamtest.Slow)
	if _, err := newClient(s, nil).AuthenticateTicket(context.Background(), ticket); err != nil {
		t.Fatal(err)
	}
}

func TestNetworkError(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(nil)
	dead.Close()
	c := steam.New(steam.Config{BaseURL: dead.URL, APIKey: key, AppID: appID}, nil)
	_, err := c.AuthenticateTicket(context.Background(), ticket)
	if !errors.Is(err, auth.ErrSteamUnavailable) {
		t.Fatalf("err = %v, want ErrSteamUnavailable", err)
	}
	checkNoKey(t, err)
}

func TestCanceled(t *testing.T) {
	t.Parallel()
	s := steamtest.NewServer(t, key, appID)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newClient(s, nil).AuthenticateTicket(ctx, ticket)
	if !errors.Is(err, auth.ErrSteamUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrSteamUnavailable and Canceled", err)
	}
	checkNoKey(t, err)
}

func BenchmarkAuthenticateTicket(b *testing.B) {
	s := steamtest.NewServer(b, key, appID)
	s.AddTicket(ticket, steamtest.Player{SteamID: alice})
	c := steam.New(steam.Config{BaseURL: s.URL(), APIKey: key, AppID: appID}, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.AuthenticateTicket(ctx, ticket); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func fail(m steamtest.Mode) func(*steamtest.Server) {
	return func(s *steamtest.Server) { s.FailNext(m) }
}

func checkNoKey(t *testing.T, err error) {
	t.Helper()
	if strings.Contains(err.Error(), key) {
		t.Errorf("error leaks the API key: %q", err)
	}
}
