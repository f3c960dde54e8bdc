package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// QueueTicketHeader carries a login queue ticket: the API sets it on every
// 503 auth_busy answer of a password call (login, registration, password
// change, reset confirmation, linking an email), and a client sends it
// back on its next one so that the call is let in ahead of players who
// came later.
const QueueTicketHeader = "Muster-Queue-Ticket"

// A queue ticket says since when its holder has been in the login queue,
// signed so that a client cannot claim to have waited longer than it has,
// and bound to the client's address so that one ticket cannot be handed
// round. It reads "<since>.<issued>.<mac>", the two times in Unix
// milliseconds. Each busy answer gives a new ticket with the same since,
// and a ticket is good for queueTicketTTL after it was given: a player who
// stops trying comes back as a first try.
const (
	queueTicketTTL = time.Minute
	// maxQueued caps the wait a ticket can claim: past it, every
	// player in the queue is first alike.
	maxQueued = 10 * time.Minute
)

// queueTickets signs and reads the login queue tickets. Every process that
// serves auth with the same secret key reads the others' tickets.
type queueTickets struct {
	key []byte
	now func() time.Time
}

// QueueTicketKey derives the queue ticket key from the platform's secret
// key, so that it is the same on every auth process and used for nothing
// else.
func QueueTicketKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("muster login queue ticket v1"))
	return m.Sum(nil)
}

func newQueueTickets(key []byte) queueTickets {
	if len(key) == 0 {
		// Tickets then hold only on this process, which is enough
		// for one process and for tests.
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return queueTickets{key: key, now: time.Now}
}

// issue returns a ticket for the client at ip, in the queue since since.
func (q queueTickets) issue(since time.Time, ip string) string {
	body := strconv.FormatInt(since.UnixMilli(), 10) + "." + strconv.FormatInt(q.now().UnixMilli(), 10)
	return body + "." + q.mac(body, ip)
}

// queued returns how long before now the ticket's holder, the client at
// ip, was first turned away; 0 for no ticket or one that is forged,
// malformed, out of date or another address's.
func (q queueTickets) queued(ticket, ip string, now time.Time) time.Duration {
	if ticket == "" || len(ticket) > 80 {
		return 0
	}
	i := strings.LastIndexByte(ticket, '.')
	if i < 0 || !hmac.Equal([]byte(ticket[i+1:]), []byte(q.mac(ticket[:i], ip))) {
		return 0
	}
	sinceText, issuedText, ok := strings.Cut(ticket[:i], ".")
	since, err1 := strconv.ParseInt(sinceText, 10, 64)
	issued, err2 := strconv.ParseInt(issuedText, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return 0
	}
	// A few seconds' allowance for auth processes whose clocks differ.
	if age := now.Sub(time.UnixMilli(issued)); age < -5*time.Second || age > queueTicketTTL || since > issued {
		return 0
	}
	return min(max(now.Sub(time.UnixMilli(since)), 0), maxQueued)
}

func (q queueTickets) mac(body, ip string) string {
	m := hmac.New(sha256.New, q.key)
	m.Write([]byte(body))
	m.Write([]byte{0})
	m.Write([]byte(ip))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}
