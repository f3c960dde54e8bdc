package presence_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixedFriends gives every player the same friends.
type fixedFriends []int64

func (f fixedFriends) FriendIDs(context.Context, int64) ([]int64, error) { return f, nil }

func TestPresenceLifecycle(t *testing.T) {
	conn := testenv.DB(t)
	client, prefix := testenv.Redis(t)
	st := state.NewRedis(client, prefix)
	sub, err := st.Subscribe(t.Context(), push.Channel)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	friendsOf := fixedFriends{901, 902}
	tr := presence.New(st, push.New(st), friendsOf, account.NewStore(conn), presence.Config{TTL: 300 * time.Millisecond}, nil)
	ctx := t.Context()
	id := economytest.Player(t, conn)

	next := func() presence.View {
		t.Helper()
		select {
		case m := <-sub.C():
			ev, err := push.Decode(m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			var v presence.View
			if ev.Kind != presence.KindChanged || len(ev.To) != 2 || ev.To[0] != 901 || json.Unmarshal(ev.Data, &v) != nil {
				t.Fatalf("push %+v", ev)
			}
			return v
		case <-time.After(2 * time.Second):
			t.Fatal("no presence push")
		}
		return presence.View{}
	}
	quiet := func() {
		t.Helper()
		select {
		case m := <-sub.C():
			t.Fatalf("unexpected push %s", m.Payload)
		case <-time.After(50 * time.Millisecond):
		}
	}
	status := func() presence.View {
		t.Helper()
		m, err := tr.Lookup(ctx, []int64{id, 12345678})
		if err != nil {
			t.Fatal(err)
		}
		if m[12345678].Status != presence.Offline {
			t.Fatalf("an unknown player: %+v", m[12345678])
		}
		return m[id]
	}

	if err := tr.Connect(ctx, id, "c1", false); err != nil {
		t.Fatal(err)
	}
	if v := next(); v.Status != presence.Online || v.PlayerID == "" || v.DisplayName == "" {
		t.Fatalf("online push %+v", v)
	}
	if err := tr.Connect(ctx, id, "c2", false); err != nil {
		t.Fatal(err)
	}
	quiet() // a second connection changes nothing friends see

	if err := tr.SetStatus(ctx, id, "grinding", true); err != nil {
		t.Fatal(err)
	}
	if v := next(); v.Status != presence.InMatch || v.Text != "grinding" {
		t.Fatalf("status push %+v", v)
	}
	if err := tr.SetStatus(ctx, id, string(make([]byte, 65)), false); !errors.Is(err, presence.ErrInvalid) {
		t.Fatalf("long text: %v", err)
	}
	if err := tr.SetStatus(ctx, id, "grinding", true); err != nil {
		t.Fatal(err)
	}
	quiet() // nothing changed

	if err := tr.Disconnect(ctx, id, "c1"); err != nil {
		t.Fatal(err)
	}
	quiet()
	if v := status(); v.Status != presence.InMatch {
		t.Fatalf("with one connection left: %+v", v)
	}
	if err := tr.Disconnect(ctx, id, "c2"); err != nil {
		t.Fatal(err)
	}
	if v := next(); v.Status != presence.Offline {
		t.Fatalf("offline push %+v", v)
	}
	if v := status(); v.Status != presence.Offline {
		t.Fatalf("after the last disconnect: %+v", v)
	}

	// A connection whose heartbeats stop (its node died) expires within
	// the TTL; heartbeats keep it.
	if err := tr.Connect(ctx, id, "c3", false); err != nil {
		t.Fatal(err)
	}
	next()
	for range 4 {
		time.Sleep(150 * time.Millisecond)
		if err := tr.Beat(ctx, id, "c3"); err != nil {
			t.Fatal(err)
		}
	}
	if v := status(); v.Status != presence.Online {
		t.Fatalf("with heartbeats: %+v", v)
	}
	time.Sleep(400 * time.Millisecond)
	if v := status(); v.Status != presence.Offline {
		t.Fatalf("without heartbeats for longer than the TTL: %+v", v)
	}
	// A late heartbeat brings the player back, and friends hear of it.
	if err := tr.Beat(ctx, id, "c3"); err != nil {
		t.Fatal(err)
	}
	if v := next(); v.Status != presence.Online {
		t.Fatalf("back online push %+v", v)
	}
}
