package bots

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/musterhq/muster/sdk/go/muster"
)

// bot is one simulated player. Its life runs on one goroutine (live);
// the pushes of its socket are sorted onto its inbox by another (route).
type bot struct {
	r     *runner
	i     int
	name  string // display name, also the email's local part
	email string
	http  *http.Client
	rng   *rand.Rand
	group *group // nil: plays alone
	api   *api   // the player's REST calls

	id      string // public player id, once logged in
	started time.Time
	playing <-chan struct{} // closed when the run's time is up; nil in the drain
	ending  bool            // in the drain: calls are reported as endOp+op

	sockMu      sync.Mutex
	sock        *muster.Socket
	resumeToken string
	lastSeq     atomic.Uint64
	routed      chan struct{} // closed when the current socket's pushes end

	// inbox: what the socket's pushes (and other bots, in-process) ask of
	// the player, in order; handled between activities and while pausing.
	inbox chan any

	partyID      string
	waitingSince time.Time // when the player's ticket started waiting; zero when none
	owned        map[string]int
	played       int // matches played to their end
	accepted     int // of which the server's results were accepted
	wallets      map[string]walletMark
	own          map[string]int64 // currency moved by the player's own purchases, as the answers said
	xpStart      int64
	tierStart    int
	joinAskedAt  time.Time
}

// friendAsk is a player who wants to be the leader's friend and in their
// party: accept (they asked over REST and a friend.request arrived), or
// only invite (they were friends already).
type friendAsk struct {
	id     string
	accept bool
}

// partyInvite is a party.invite notification.
type partyInvite string

// giftSent tells the player a friend sent them a gift.
type giftSent struct{ from *bot }

// giftBack tells a player that a gift they gave was declined: the items
// are theirs again.
type giftBack struct{ items []muster.ItemLine }

// handle acts on one inbox event.
func (b *bot) handle(ctx context.Context, ev any) {
	switch ev := ev.(type) {
	case friendAsk:
		b.welcome(ctx, ev)
	case partyInvite:
		b.joinParty(ctx, string(ev))
	case matchFound:
		b.playMatch(ctx, ev)
	case giftSent:
		b.takeGifts(ctx)
	case giftBack:
		for _, it := range ev.items {
			b.owned[it.ItemID] += it.Quantity
		}
	case queueEvent:
		b.queueChanged(ev)
	}
}

// matchFound is a match.found notification.
type matchFound struct {
	MatchID  string `json:"match_id"`
	Queue    string `json:"queue"`
	Address  string `json:"address"`
	Port     int    `json:"port"`
	Team     int    `json:"team"`
	received time.Time
}

type queueEvent struct {
	state, reason string
	since         time.Time
}

// group is a party: its leader (who creates it, accepts the members'
// friend requests, invites them and queues) and its members.
type group struct {
	leader   *bot
	members  []*bot
	ready    chan struct{} // closed once the party exists
	partyID  string
	leaderID string
	joined   atomic.Int32
	size     int
	mu       sync.Mutex
	in       []*bot // members who joined
}

func (b *bot) isLeader() bool { return b.group != nil && b.group.leader == b }

// live is the player's whole run: log in, connect, form the party, then
// activities from the scenario's mix until the run's deadline (play), and
// the drain's last steps (until ctx ends).
func (b *bot) live(ctx, play context.Context) {
	m := b.r.m
	m.arrived.Add(1)
	if err := b.start(ctx); err != nil {
		if b.group != nil && b.isLeader() {
			close(b.group.ready) // members give up waiting
		}
		return
	}
	m.ready.Add(1)
	// Calls run under ctx, so that one under way at the deadline ends
	// (a purchase the platform made is one the player knows of); waits end
	// with play.
	b.playing = play.Done()
	b.social(ctx)
	for play.Err() == nil {
		b.act(ctx, b.pick())
		b.idle(ctx, b.r.draw(b.rng, b.r.sc.Think))
	}
	b.playing = nil
	b.ending = true
	b.finish(ctx)
}

// start logs the player in (registering a new account), reads what they
// hold and connects their socket, leaving any party or ticket an earlier
// run left behind.
func (b *bot) start(ctx context.Context) error {
	b.started = time.Now()
	if err := b.login(ctx); err != nil {
		return err
	}
	if _, err := b.readWallets(ctx, true); err != nil {
		return err
	}
	if err := b.readInventory(ctx); err != nil {
		return err
	}
	if xp, tier, err := b.readProgress(ctx); err == nil {
		b.xpStart, b.tierStart = xp, tier
	} else {
		return err
	}
	if err := b.connect(ctx, false); err != nil {
		return err
	}
	return b.tidy(ctx)
}

// pick draws an activity from the mix.
func (b *bot) pick() string {
	n := b.rng.IntN(b.r.mixTotal)
	for _, a := range activities {
		w := b.r.sc.Mix[a]
		if n < w {
			return a
		}
		n -= w
	}
	return ActPlay
}

// act runs one activity.
func (b *bot) act(ctx context.Context, a string) {
	switch a {
	case ActPlay:
		b.play(ctx)
	case ActBuyOffer:
		b.buyOffer(ctx)
	case ActBuyPack:
		b.buyPack(ctx)
	case ActGift:
		b.gift(ctx)
	case ActProgression:
		_, _, _ = b.readProgress(ctx)
	case ActReconnect:
		b.reconnect(ctx)
	case ActStorefront:
		_, _ = b.storefront(ctx)
	case ActFriends:
		b.listFriends(ctx)
	case ActChat:
		b.chat(ctx)
	}
}

// idle waits d (or until the run's time is up), handling the inbox
// meanwhile.
func (b *bot) idle(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.playing:
			return
		case <-t.C:
			return
		case ev := <-b.inbox:
			b.handle(ctx, ev)
		}
	}
}

// endOp prefixes the operations of the drain, from the end of the run's
// time, when every player leaves at once (their party, the final reads of
// the economy check) and every match ends: that stampede is the run's own,
// no audience makes it, so the report keeps it apart from the latencies of
// play.
const endOp = "end."

// timed runs one call of op, recording its latency and how it ended.
// expected lists error codes the flow takes in its stride.
func (b *bot) timed(op string, call func() error, expected ...string) error {
	if b.ending || b.r.stopping() {
		op = endOp + op
	}
	t0 := time.Now()
	err := call()
	code := codeOf(err)
	ok := code == ""
	for _, e := range expected {
		ok = ok || code == e
	}
	if code == "cancelled" && b.r.stopping() {
		ok = true // the run ended under it
	}
	b.r.m.done(op, time.Since(t0), code, code != "" && ok)
	if code != "" && !ok {
		b.r.logf("%s %s: %v", b.name, op, err)
	}
	return err
}

// fail records a step that did not go as it should.
func (b *bot) fail(op string, err error) {
	b.r.m.fail(op, codeOf(err))
	b.r.logf("%s %s: %v", b.name, op, err)
}

func (b *bot) key(what string) string {
	return fmt.Sprintf("bots-%s-%d-%s-%d", b.r.nonce, b.i, what, b.rng.Int64())
}
