package realtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/friend"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// shelf stores notifications in the notify store the gateway reads.
type shelf struct {
	t     testing.TB
	db    *sqlx.DB
	store *notify.Store
}

// add stores a notification for accountID and returns it as the gateway
// sees it.
func (s *shelf) add(accountID int64, kind string) realtime.Note {
	s.t.Helper()
	ns, err := s.store.Add(context.Background(), s.db, []notify.New{{AccountID: accountID, Kind: kind, Payload: map[string]int{"k": 1}}})
	if err != nil {
		s.t.Fatal(err)
	}
	n := ns[0]
	return realtime.Note{Seq: n.Seq, ID: n.ID, Kind: n.Kind, Payload: n.Payload, CreatedAt: n.CreatedAt}
}

// env is a gateway on a loopback port with real access tokens.
type env struct {
	t        testing.TB
	gw       *realtime.Gateway
	addr     string
	sessions *session.Store
	accounts *account.Store
	db       *sqlx.DB
	ps       state.PubSub // the nodes' shared pub/sub (in-process here)
	shelf    *shelf
	ln       net.Listener
	friends  *friend.Store
	presence *presence.Tracker
	parties  *party.Service
}

// befriend makes a and b friends through the friend store.
func (e *env) befriend(a, b player) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.friends.Request(ctx, a.id, b.public); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.friends.Accept(ctx, b.id, a.public); err != nil {
		e.t.Fatal(err)
	}
}

// newEnv starts a gateway; with adds services to its dependencies.
func newEnv(t testing.TB, cfg realtime.Config, with ...func(*env, *realtime.Deps)) *env {
	conn := testenv.DB(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	mem := state.NewMemory()
	scfg := session.Config{SecretKey: []byte("0123456789abcdef0123456789abcdef")}
	keys := session.NewKeys(conn, scfg)
	if err := keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	deny := session.NewDenyList(mem, mem, time.Hour)
	go func() { _ = deny.Run(ctx) }()
	tokens := session.NewTokens(keys, deny, scfg)
	store := notify.NewStore(conn, notify.Config{})
	e := &env{t: t, db: conn, ps: mem, sessions: session.NewStore(conn, tokens, deny, scfg), accounts: account.NewStore(conn), shelf: &shelf{t: t, db: conn, store: store}}
	e.friends = friend.NewStore(conn, friend.Config{})
	bus := push.New(mem)
	e.presence = presence.New(mem, bus, e.friends, e.accounts, presence.Config{}, nil)
	e.parties = party.New(party.Deps{Store: mem, Bus: bus, Friends: e.friends, Accounts: e.accounts,
		Notifier: party.OutboxNotifier{DB: conn}, Presence: e.presence}, party.Config{})
	deps := realtime.Deps{Verify: tokens, Notes: realtime.StoredNotes{Store: store}, Resumes: mem,
		Presence: e.presence, Parties: e.parties}
	for _, w := range with {
		w(e, &deps)
	}
	e.gw = realtime.New(cfg, deps)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.ln, e.addr = ln, ln.Addr().String()
	go func() { _ = e.gw.Serve(ln) }()
	t.Cleanup(func() { ln.Close() })
	return e
}

// player is an account with a live session.
type player struct {
	id     int64
	public string
	token  string
	sessID string
}

func (e *env) player() player {
	e.t.Helper()
	ctx := context.Background()
	id := economytest.Player(e.t, e.db)
	a, err := e.accounts.ByID(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	is, err := e.sessions.Start(ctx, id, a.PublicID, session.Meta{IP: "192.0.2.1", Method: "steam"})
	if err != nil {
		e.t.Fatal(err)
	}
	return player{id: id, public: a.PublicID, token: is.AccessToken, sessID: is.SessionID}
}

// client is a test client speaking the protocol over TCP.
type client struct {
	t    testing.TB
	nc   net.Conn
	r    *protocol.Reader
	next uint32
}

func (e *env) dial() *client {
	e.t.Helper()
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { nc.Close() })
	return &client{t: e.t, nc: nc, r: protocol.NewReader(nc, protocol.DefaultMaxFrame)}
}

func (c *client) send(m proto.Message) uint32 {
	c.t.Helper()
	c.next++
	frame, err := protocol.Append(nil, c.next, m)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.nc.Write(frame); err != nil {
		c.t.Fatal(err)
	}
	return c.next
}

// read returns the next message within 5 s.
func (c *client) read() (proto.Message, uint32, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := c.r.Read()
	if err != nil {
		return nil, 0, err
	}
	m, err := protocol.Decode(f)
	return m, f.RequestID, err
}

func (c *client) expect(want proto.Message) proto.Message {
	c.t.Helper()
	m, _, err := c.read()
	if err != nil {
		c.t.Fatalf("want %T, read: %v", want, err)
	}
	if fmt.Sprintf("%T", m) != fmt.Sprintf("%T", want) {
		c.t.Fatalf("got %T %v, want %T", m, m, want)
	}
	return m
}

// expectError reads an Error frame with code and, when fatal, the close.
func (c *client) expectError(code protocol.Code, fatal bool) {
	c.t.Helper()
	e := c.expect(&pb.Error{}).(*pb.Error)
	if protocol.Code(e.Code) != code || e.Fatal != fatal {
		c.t.Fatalf("error %d (%s) fatal %v, want %d fatal %v", e.Code, e.Message, e.Fatal, code, fatal)
	}
	if fatal {
		if _, _, err := c.read(); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			c.t.Fatalf("after a fatal error the connection should close; read %v", err)
		}
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}

// hello completes a handshake.
func (c *client) hello(p player, resume string, lastSeq uint64) *pb.Welcome {
	c.t.Helper()
	c.send(&pb.Hello{Versions: []uint32{1}, AccessToken: p.token, ResumeToken: resume, LastSeq: lastSeq, Client: "test"})
	for {
		m, _, err := c.read()
		if err != nil {
			c.t.Fatalf("handshake: %v", err)
		}
		if w, ok := m.(*pb.Welcome); ok {
			return w
		}
		if e, ok := m.(*pb.Error); ok && protocol.Code(e.Code) == protocol.CodeResumeFailed {
			continue
		}
		c.t.Fatalf("handshake answered %T %v", m, m)
	}
}

// notes reads n notifications and returns their seqs.
func (c *client) notes(n int) []uint64 {
	c.t.Helper()
	var seqs []uint64
	for len(seqs) < n {
		m := c.expect(&pb.Notification{}).(*pb.Notification)
		seqs = append(seqs, m.Seq)
	}
	return seqs
}

func seqs(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// until reads messages, skipping others, until one of want's type arrives.
func (c *client) until(want proto.Message) proto.Message {
	c.t.Helper()
	for {
		m, _, err := c.read()
		if err != nil {
			c.t.Fatalf("waiting for %T: %v", want, err)
		}
		if fmt.Sprintf("%T", m) == fmt.Sprintf("%T", want) {
			return m
		}
	}
}

// call sends a request and returns its answer (skipping pushes).
func (c *client) call(m proto.Message) proto.Message {
	c.t.Helper()
	id := c.send(m)
	for {
		got, reqID, err := c.read()
		if err != nil {
			c.t.Fatalf("answer to %T: %v", m, err)
		}
		if reqID == id {
			return got
		}
	}
}

// callErr sends a request that must fail with code.
func (c *client) callErr(m proto.Message, code protocol.Code) {
	c.t.Helper()
	got := c.call(m)
	e, ok := got.(*pb.Error)
	if !ok || protocol.Code(e.Code) != code || e.Fatal {
		c.t.Fatalf("%T answered %T %v, want error %d", m, got, got, code)
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
