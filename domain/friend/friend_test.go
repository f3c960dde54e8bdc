package friend_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/friend"
)

func TestRequestAcceptRemove(t *testing.T) {
	f := newFixture(t, friend.Config{})
	ctx := context.Background()
	a, b := f.gamer(), f.gamer()

	r, err := f.store.Request(ctx, a.id, b.public)
	f.must(err)
	if r.State != friend.StateOutgoing || r.PlayerID != b.public || r.DisplayName != b.name || r.AccountID != b.id || r.Since.IsZero() {
		t.Fatalf("request = %+v", r)
	}
	f.expectStates(a, map[string]friend.State{b.public: friend.StateOutgoing})
	f.expectStates(b, map[string]friend.State{a.public: friend.StateIncoming})
	if got := f.sent(b); !slices.Equal(got, []sent{{friend.KindRequest, friend.Payload{PlayerID: a.public, DisplayName: a.name}}}) {
		t.Fatalf("b was sent %+v", got)
	}
	// Asking again changes nothing and sends nothing.
	again, err := f.store.Request(ctx, a.id, b.public)
	f.must(err)
	if again.State != friend.StateOutgoing || !again.Since.Equal(r.Since) || len(f.sent(b)) != 1 {
		t.Fatalf("request again = %+v, sent %v", again, f.sent(b))
	}

	acc, err := f.store.Accept(ctx, b.id, a.public)
	f.must(err)
	if acc.State != friend.StateFriend || acc.PlayerID != a.public {
		t.Fatalf("accept = %+v", acc)
	}
	f.expectStates(a, map[string]friend.State{b.public: friend.StateFriend})
	f.expectStates(b, map[string]friend.State{a.public: friend.StateFriend})
	if got := f.sent(a); !slices.Equal(got, []sent{{friend.KindAccepted, friend.Payload{PlayerID: b.public, DisplayName: b.name}}}) {
		t.Fatalf("a was sent %+v", got)
	}
	// Accepting again, or asking a friend, changes nothing.
	_, err = f.store.Accept(ctx, b.id, a.public)
	f.must(err)
	r, err = f.store.Request(ctx, a.id, b.public)
	f.must(err)
	if r.State != friend.StateFriend || len(f.sent(a)) != 1 || len(f.sent(b)) != 1 {
		t.Fatalf("request of a friend = %+v; sent %v, %v", r, f.sent(a), f.sent(b))
	}
	for _, pair := range [][2]gamer{{a, b}, {b, a}} {
		ok, err := f.store.AreFriends(ctx, pair[0].id, pair[1].id)
		f.must(err)
		ids, err := f.store.FriendIDs(ctx, pair[0].id)
		f.must(err)
		if !ok || !slices.Equal(ids, []int64{pair[1].id}) {
			t.Fatalf("AreFriends = %v, FriendIDs = %v", ok, ids)
		}
	}

	f.must(f.store.Remove(ctx, b.id, a.public))
	f.expectStates(a, nil)
	f.expectStates(b, nil)
	ok, err := f.store.AreFriends(ctx, a.id, b.id)
	f.must(err)
	ids, err := f.store.FriendIDs(ctx, a.id)
	f.must(err)
	if ok || len(ids) != 0 {
		t.Fatalf("after remove: AreFriends = %v, FriendIDs = %v", ok, ids)
	}
	f.expectErr(f.store.Remove(ctx, a.id, b.public), friend.ErrNotFriends)
	if len(f.sent(a)) != 1 || len(f.sent(b)) != 1 {
		t.Fatal("remove told someone")
	}
}

func TestRequestToSomeoneWhoAskedAccepts(t *testing.T) {
	f := newFixture(t, friend.Config{})
	ctx := context.Background()
	a, b := f.gamer(), f.gamer()
	_, err := f.store.Request(ctx, a.id, b.public)
	f.must(err)
	r, err := f.store.Request(ctx, b.id, a.public)
	f.must(err)
	if r.State != friend.StateFriend {
		t.Fatalf("crossing request = %+v, want friends", r)
	}
	f.expectStates(a, map[string]friend.State{b.public: friend.StateFriend})
	if got := f.sent(a); len(got) != 1 || got[0].Kind != friend.KindAccepted || got[0].Payload.PlayerID != b.public {
		t.Fatalf("a was sent %+v, want one friend.accepted from b", got)
	}
}

func TestDeclineAndWithdraw(t *testing.T) {
	f := newFixture(t, friend.Config{})
	ctx := context.Background()
	a, b, c := f.gamer(), f.gamer(), f.gamer()
	_, err := f.store.Request(ctx, a.id, b.public)
	f.must(err)
	_, err = f.store.Request(ctx, a.id, c.public)
	f.must(err)

	f.must(f.store.Decline(ctx, b.id, a.public)) // b declines
	f.must(f.store.Decline(ctx, a.id, c.public)) // a withdraws
	for _, g := range []gamer{a, b, c} {
		f.expectStates(g, nil)
	}
	f.expectErr(f.store.Decline(ctx, b.id, a.public), friend.ErrNoRequest)
	_, err = f.store.Accept(ctx, c.id, a.public)
	f.expectErr(err, friend.ErrNoRequest)
	if len(f.sent(a)) != 0 {
		t.Fatalf("a was told of a decline: %v", f.sent(a))
	}
	// Friends cannot be declined.
	_, err = f.store.Request(ctx, a.id, b.public)
	f.must(err)
	_, err = f.store.Accept(ctx, b.id, a.public)
	f.must(err)
	f.expectErr(f.store.Decline(ctx, a.id, b.public), friend.ErrNoRequest)
}

func TestBlockIsNotTold(t *testing.T) {
	f := newFixture(t, friend.Config{})
	ctx := context.Background()
	a, b, c := f.gamer(), f.gamer(), f.gamer()
	_, err := f.store.Request(ctx, a.id, b.public)
	f.must(err)
	_, err = f.store.Accept(ctx, b.id, a.public)
	f.must(err)
	_, err = f.store.Request(ctx, c.id, a.public)
	f.must(err)
	sentToB := len(f.sent(b))

	// a blocks b (a friend) and c (who asked): both relations end.
	f.must(f.store.Block(ctx, a.id, b.public))
	f.must(f.store.Block(ctx, a.id, c.public))
	f.must(f.store.Block(ctx, a.id, c.public)) // again: nothing changes
	f.expectStates(a, map[string]friend.State{b.public: friend.StateBlocked, c.public: friend.StateBlocked})
	f.expectStates(b, nil)
	f.expectStates(c, nil)
	for _, pair := range [][2]gamer{{a, b}, {b, a}} {
		blocked, err := f.store.Blocked(ctx, pair[0].id, pair[1].id)
		f.must(err)
		friends, err := f.store.AreFriends(ctx, pair[0].id, pair[1].id)
		f.must(err)
		if !blocked || friends {
			t.Fatalf("Blocked = %v, AreFriends = %v", blocked, friends)
		}
	}
	if len(f.sent(b)) != sentToB {
		t.Fatal("the blocked player was told")
	}

	// b asks a: answered like any request, but a never sees it.
	sentToA := len(f.sent(a))
	r, err := f.store.Request(ctx, b.id, a.public)
	f.must(err)
	if r.State != friend.StateOutgoing || r.PlayerID != a.public {
		t.Fatalf("request to the blocker = %+v, want outgoing", r)
	}
	f.expectStates(b, map[string]friend.State{a.public: friend.StateOutgoing})
	f.expectStates(a, map[string]friend.State{b.public: friend.StateBlocked, c.public: friend.StateBlocked})
	if len(f.sent(a)) != sentToA {
		t.Fatal("the blocker was sent the blocked player's request")
	}
	_, err = f.store.Accept(ctx, a.id, b.public)
	f.expectErr(err, friend.ErrNoRequest)
	// The blocker must unblock before asking.
	_, err = f.store.Request(ctx, a.id, b.public)
	f.expectErr(err, friend.ErrBlocked)

	// Unblocking drops the hidden request, as a decline would.
	f.must(f.store.Unblock(ctx, a.id, b.public))
	f.expectErr(f.store.Unblock(ctx, a.id, b.public), friend.ErrNotBlocked)
	f.expectStates(a, map[string]friend.State{c.public: friend.StateBlocked})
	f.expectStates(b, nil)
	blocked, err := f.store.Blocked(ctx, b.id, a.id)
	f.must(err)
	if blocked {
		t.Fatal("still blocked after unblock")
	}
	// Now b's request reaches a.
	_, err = f.store.Request(ctx, b.id, a.public)
	f.must(err)
	f.expectStates(a, map[string]friend.State{b.public: friend.StateIncoming, c.public: friend.StateBlocked})
	if got := f.sent(a); len(got) != sentToA+1 || got[len(got)-1].Kind != friend.KindRequest {
		t.Fatalf("a was sent %v", got)
	}

	// Blocks both ways are each their own.
	f.must(f.store.Block(ctx, c.id, a.public))
	f.must(f.store.Unblock(ctx, a.id, c.public))
	f.expectStates(c, map[string]friend.State{a.public: friend.StateBlocked})
	blocked, err = f.store.Blocked(ctx, a.id, c.id)
	f.must(err)
	if !blocked {
		t.Fatal("c's block of a was lifted by a's unblock")
	}
}

func TestPlayersThatCannotBeAsked(t *testing.T) {
	f := newFixture(t, friend.Config{})
	ctx := context.Background()
	accounts := account.NewStore(f.conn)
	a, banned, deleted, asker := f.gamer(), f.gamer(), f.gamer(), f.gamer()
	_, err := f.store.Request(ctx, asker.id, a.public)
	f.must(err)
	_, err = f.store.Request(ctx, a.id, deleted.public)
	f.must(err)
	f.must(accounts.Ban(ctx, banned.id, nil, "cheating", nil))
	f.must(accounts.Ban(ctx, asker.id, nil, "cheating", nil))
	f.must(accounts.Delete(ctx, deleted.id))

	actions := map[string]func(playerID string) error{
		"request": func(id string) error { _, err := f.store.Request(ctx, a.id, id); return err },
		"accept":  func(id string) error { _, err := f.store.Accept(ctx, a.id, id); return err },
		"decline": func(id string) error { return f.store.Decline(ctx, a.id, id) },
		"remove":  func(id string) error { return f.store.Remove(ctx, a.id, id) },
		"block":   func(id string) error { return f.store.Block(ctx, a.id, id) },
		"unblock": func(id string) error { return f.store.Unblock(ctx, a.id, id) },
	}
	for name, act := range actions {
		f.expectErr(act(a.public), friend.ErrSelf)
		for _, id := range []string{"", "p_nobody", deleted.public, string(make([]byte, 65))} {
			if err := act(id); !errors.Is(err, friend.ErrNotFound) {
				t.Fatalf("%s %q = %v, want ErrNotFound", name, id, err)
			}
		}
	}
	// A banned player cannot be asked, nor their request accepted, but
	// may be declined and blocked.
	_, err = f.store.Request(ctx, a.id, banned.public)
	f.expectErr(err, friend.ErrNotFound)
	_, err = f.store.Accept(ctx, a.id, asker.public)
	f.expectErr(err, friend.ErrNotFound)
	f.must(f.store.Block(ctx, a.id, banned.public))
	f.must(f.store.Decline(ctx, a.id, asker.public))
	// The deleted player's request is gone from the list.
	f.expectStates(a, map[string]friend.State{banned.public: friend.StateBlocked})
	// A ban that ended no longer counts.
	past := time.Now().Add(-time.Minute)
	f.must(accounts.Ban(ctx, asker.id, &past, "served", nil))
	_, err = f.store.Request(ctx, a.id, asker.public)
	f.must(err)
}

func TestListOrder(t *testing.T) {
	f := newFixture(t, friend.Config{})
	ctx := context.Background()
	me := f.gamer()
	var askers []gamer
	for range 3 {
		g := f.gamer()
		_, err := f.store.Request(ctx, g.id, me.public)
		f.must(err)
		askers = append(askers, g)
	}
	for _, g := range askers[:2] {
		_, err := f.store.Accept(ctx, me.id, g.public)
		f.must(err)
	}
	l, err := f.store.List(ctx, me.id)
	f.must(err)
	if len(l.Friends) != 2 || len(l.Incoming) != 1 || len(l.Outgoing) != 0 || len(l.Blocked) != 0 {
		t.Fatalf("list = %+v", l)
	}
	if l.Friends[0].DisplayName > l.Friends[1].DisplayName {
		t.Fatalf("friends not by name: %+v", l.Friends)
	}
	if l.Incoming[0].PlayerID != askers[2].public || l.Incoming[0].State != friend.StateIncoming {
		t.Fatalf("incoming = %+v", l.Incoming)
	}
	empty, err := f.store.List(ctx, f.gamer().id)
	f.must(err)
	if empty.Friends == nil || empty.Incoming == nil || empty.Outgoing == nil || empty.Blocked == nil {
		t.Fatal("an empty list has nil groups")
	}
}
