package friend_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/friend"
)

func TestLimits(t *testing.T) {
	f := newFixture(t, friend.Config{MaxFriends: 2, MaxOutgoing: 2, MaxIncoming: 2, MaxBlocked: 1})
	ctx := context.Background()
	request := func(from, to gamer) error { _, err := f.store.Request(ctx, from.id, to.public); return err }
	befriend := func(a, b gamer) {
		t.Helper()
		f.must(request(a, b))
		_, err := f.store.Accept(ctx, b.id, a.public)
		f.must(err)
	}
	limit := func(err error, text string) {
		t.Helper()
		f.expectErr(err, friend.ErrLimit)
		if !strings.Contains(err.Error(), text) {
			t.Fatalf("err = %v, want it to say %q", err, text)
		}
	}

	// Outgoing requests.
	a, x, y, z := f.gamer(), f.gamer(), f.gamer(), f.gamer()
	f.must(request(a, x))
	f.must(request(a, y))
	limit(request(a, z), "requests waiting for an answer")
	f.must(f.store.Decline(ctx, a.id, x.public))
	f.must(request(a, z))

	// Incoming requests.
	popular := f.gamer()
	f.must(request(f.gamer(), popular))
	f.must(request(f.gamer(), popular))
	limit(request(f.gamer(), popular), "this player has too many requests")

	// Friends: mine, theirs, and on accept.
	b, full, p, q := f.gamer(), f.gamer(), f.gamer(), f.gamer()
	befriend(full, p)
	befriend(full, q)
	limit(request(b, full), "this player has as many friends")
	limit(request(full, b), "you have 2 friends")
	f.must(request(b, p))
	f.must(request(b, q))
	f.must(f.store.Remove(ctx, full.id, p.public))
	f.must(request(full, b)) // room again
	befriend(p, f.gamer())
	befriend(p, f.gamer()) // p now has 2 friends
	_, err := f.store.Accept(ctx, p.id, b.public)
	limit(err, "you have 2 friends")
	_, err = f.store.Accept(ctx, b.id, full.public)
	f.must(err)
	// A deleted friend frees the place.
	f.must(account.NewStore(f.conn).Delete(ctx, full.id))
	_, err = f.store.Accept(ctx, q.id, b.public)
	f.must(err)

	// Blocks.
	c := f.gamer()
	f.must(f.store.Block(ctx, c.id, f.gamer().public))
	limit(f.store.Block(ctx, c.id, f.gamer().public), "blocked 1 players")

	// A player who is blocked meets the same limits as anyone else, so
	// the answer does not tell that they are blocked.
	blocker, blocked := f.gamer(), f.gamer()
	f.must(f.store.Block(ctx, blocker.id, blocked.public))
	f.must(request(f.gamer(), blocker))
	f.must(request(f.gamer(), blocker))
	limit(request(blocked, blocker), "this player has too many requests")
}

// TestCrossingRequestsAtOnce has pairs of players ask each other at the
// same moment: each pair ends as friends once, with one request and one
// acceptance sent. The second round runs with the players' lists already
// there, so that only their row locks keep the requests apart.
func TestCrossingRequestsAtOnce(t *testing.T) {
	f := newFixture(t, friend.Config{})
	ctx := context.Background()
	const pairs = 20
	type duo struct{ a, b gamer }
	duos := make([]duo, pairs)
	for i := range duos {
		duos[i] = duo{f.gamer(), f.gamer()}
	}
	for round := 1; round <= 2; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, 2*pairs)
		for _, d := range duos {
			for _, ab := range [][2]gamer{{d.a, d.b}, {d.b, d.a}} {
				wg.Go(func() {
					_, err := f.store.Request(ctx, ab[0].id, ab[1].public)
					errs <- err
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			f.must(err)
		}
		for _, d := range duos {
			f.expectStates(d.a, map[string]friend.State{d.b.public: friend.StateFriend})
			f.expectStates(d.b, map[string]friend.State{d.a.public: friend.StateFriend})
			kinds := map[string]int{}
			for _, s := range append(f.sent(d.a), f.sent(d.b)...) {
				kinds[s.Kind]++
			}
			if kinds[friend.KindRequest] != round || kinds[friend.KindAccepted] != round || len(kinds) != 2 {
				t.Fatalf("round %d: pair sent %v in all, want %d requests and %d acceptances", round, kinds, round, round)
			}
			f.must(f.store.Remove(ctx, d.a.id, d.b.public))
		}
	}
}
