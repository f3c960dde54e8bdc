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
// process with the same key, for a minute after it was given, from the
// address it was given to; anything forged, altered, foreign, stale or
// brought from another address counts as a first try.
func TestQueueTicketKeepsThePlayersPlace(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	const ip = "203.0.113.7"
	key := QueueTicketKey([]byte("0123456789abcdef0123456789abcdef"))
	q := newQueueTickets(key)
	q.now = func() time.Time { return now }
	ticket := q.issue(now.Add(-40*time.Second), ip)
	other := newQueueTickets(QueueTicketKey([]byte("another secret key of 32 bytes!!")))
	same := newQueueTickets(key) // another auth process

	i := strings.LastIndexByte(ticket, '.')
	for _, c := range []struct {
		name   string
		q      queueTickets
		ticket string
		ip     string
		at     time.Time
		want   time.Duration
	}{
		{"fresh", q, ticket, ip, now, 40 * time.Second},
		{"on another process", same, ticket, ip, now, 40 * time.Second},
		{"twenty seconds on", q, ticket, ip, now.Add(20 * time.Second), 60 * time.Second},
		{"past its minute", q, ticket, ip, now.Add(queueTicketTTL + time.Second), 0},
		{"from a clock a little behind", q, ticket, ip, now.Add(-3 * time.Second), 37 * time.Second},
		{"from the future", q, ticket, ip, now.Add(-10 * time.Second), 0},
		{"from another address", q, ticket, "203.0.113.8", now, 0},
		{"under another key", other, ticket, ip, now, 0},
		{"since moved earlier", q, "1" + ticket, ip, now, 0},
		{"mac cut", q, ticket[:i+5], ip, now, 0},
		{"no mac", q, ticket[:i], ip, now, 0},
		{"none", q, "", ip, now, 0},
		{"garbage", q, "a.b.c", ip, now, 0},
		{"since after issue", q, signed(q, now.Add(time.Second), now, ip), ip, now, 0},
		{"claims a day", q, signed(q, now.Add(-24*time.Hour), now, ip), ip, now, maxQueued},
	} {
		if got := c.q.queued(c.ticket, c.ip, c.at); got != c.want {
			t.Errorf("%s: queued(%q) = %v, want %v", c.name, c.ticket, got, c.want)
		}
	}
}

// signed is a ticket issued at issued to ip for a player queued since since.
func signed(q queueTickets, since, issued time.Time, ip string) string {
	q.now = func() time.Time { return issued }
	return q.issue(since, ip)
}

// A password call turned away as busy carries a ticket that keeps the
// caller's first time in the queue, even when the call waited before it was
// turned away; other errors carry none.
func TestBusyAnswerGivesATicketThatKeepsThePlace(t *testing.T) {
	h := &authHandlers{queue: newQueueTickets(nil)}
	clock := time.Now().Truncate(time.Millisecond) // tickets count milliseconds
	h.queue.now = func() time.Time { return clock }
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(http.StatusTeapot).SendString(err.Error())
	}})
	var queued, hashWait time.Duration
	app.Post("/:answer", func(c *fiber.Ctx) error {
		cl, since := h.queuedClient(c)
		queued = cl.Queued
		if c.Params("answer") == "busy" {
			clock = clock.Add(hashWait) // let in, then turned away after waiting
			return h.failQueued(c, since, account.ErrBusy)
		}
		return h.failQueued(c, since, account.ErrEmailTaken)
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
	// The holder comes back 30 s later: the server reads how long it has
	// waited. This try waits 10 s before it too is turned away, and its
	// new ticket still counts from the first.
	clock = clock.Add(30 * time.Second)
	hashWait = 10 * time.Second
	again := send("/busy", ticket)
	if queued != 30*time.Second {
		t.Fatalf("queued %v with a 30 s old ticket", queued)
	}
	clock = clock.Add(10 * time.Second)
	if send("/taken", again.Header.Get(QueueTicketHeader)).Header.Get(QueueTicketHeader) != "" {
		t.Fatal("an answer other than busy gave a ticket")
	}
	if queued != 50*time.Second {
		t.Fatalf("queued %v with the renewed ticket 50 s after the first busy answer", queued)
	}
}
