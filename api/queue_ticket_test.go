package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/account"
)

// A ticket proves since when its holder has been in the login queue, to any
// process with the same key, for a minute after it was given; anything
// forged, altered, foreign or stale counts as a first try.
func TestQueueTicketKeepsThePlayersPlace(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	key := QueueTicketKey([]byte("0123456789abcdef0123456789abcdef"))
	q := newQueueTickets(key)
	q.now = func() time.Time { return now }
	ticket := q.issue(now.Add(-40 * time.Second))

	other := newQueueTickets(QueueTicketKey([]byte("another secret key of 32 bytes!!")))
	other.now = q.now
	later := q
	later.now = func() time.Time { return now.Add(20 * time.Second) }
	stale := q
	stale.now = func() time.Time { return now.Add(queueTicketTTL + time.Second) }
	same := newQueueTickets(key) // another auth process
	same.now = q.now

	i := strings.LastIndexByte(ticket, '.')
	for _, c := range []struct {
		name   string
		q      queueTickets
		ticket string
		want   time.Duration
	}{
		{"fresh", q, ticket, 40 * time.Second},
		{"on another process", same, ticket, 40 * time.Second},
		{"twenty seconds on", later, ticket, 60 * time.Second},
		{"past its minute", stale, ticket, 0},
		{"under another key", other, ticket, 0},
		{"since moved earlier", q, "1" + ticket, 0},
		{"mac cut", q, ticket[:i+5], 0},
		{"no mac", q, ticket[:i], 0},
		{"none", q, "", 0},
		{"garbage", q, "a.b.c", 0},
		{"since after issue", q, signed(q, now.Add(time.Second), now), 0},
		{"claims a day", q, signed(q, now.Add(-24*time.Hour), now), maxQueued},
	} {
		if got := c.q.queued(c.ticket); got != c.want {
			t.Errorf("%s: queued(%q) = %v, want %v", c.name, c.ticket, got, c.want)
		}
	}
}

// signed is a ticket issued at issued for a player queued since since.
func signed(q queueTickets, since, issued time.Time) string {
	q.now = func() time.Time { return issued }
	return q.issue(since)
}

// A password call turned away as busy carries a ticket that keeps the
// caller's first time in the queue; other errors carry none.
func TestBusyAnswerGivesATicketThatKeepsThePlace(t *testing.T) {
	h := &authHandlers{queue: newQueueTickets(nil)}
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(http.StatusTeapot).SendString(err.Error())
	}})
	var queued time.Duration
	app.Post("/:answer", func(c *fiber.Ctx) error {
		cl := h.queuedClient(c)
		queued = cl.Queued
		if c.Params("answer") == "busy" {
			return h.failQueued(c, cl, account.ErrBusy)
		}
		return h.failQueued(c, cl, account.ErrEmailTaken)
	})
	send := func(path, ticket string) *http.Response {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, path, nil)
		if ticket != "" {
			req.Header.Set(QueueTicketHeader, ticket)
		}
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	first := send("/busy", "")
	ticket := first.Header.Get(QueueTicketHeader)
	if queued != 0 || ticket == "" || first.Header.Get(fiber.HeaderRetryAfter) == "" {
		t.Fatalf("first busy answer: queued %v, ticket %q, Retry-After %q", queued, ticket, first.Header.Get(fiber.HeaderRetryAfter))
	}
	// The holder comes back later: the server reads how long it has
	// waited, and a new ticket keeps the first time.
	h.queue.now = func() time.Time { return time.Now().Add(30 * time.Second) }
	again := send("/busy", ticket)
	if queued < 29*time.Second || queued > 31*time.Second {
		t.Fatalf("queued %v with a 30 s old ticket", queued)
	}
	h.queue.now = func() time.Time { return time.Now().Add(50 * time.Second) }
	if send("/taken", again.Header.Get(QueueTicketHeader)).Header.Get(QueueTicketHeader) != "" {
		t.Fatal("an answer other than busy gave a ticket")
	}
	if queued < 49*time.Second || queued > 51*time.Second {
		t.Fatalf("queued %v with the renewed ticket 50 s after the first busy answer", queued)
	}
}
