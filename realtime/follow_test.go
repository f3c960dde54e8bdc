package realtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// TestNotificationReachesTheClientThroughTheWorker runs a notification the
// way production does: a service enqueues it, the worker's consumers store
// it and publish it after commit, the gateway follows the pub/sub shards
// and pushes it to the player's connection.
func TestNotificationReachesTheClientThroughTheWorker(t *testing.T) {
	e := newEnv(t, realtime.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.gw.Follow(ctx, e.ps) }()
	store := notify.NewStore(e.db, notify.Config{})
	relay := outbox.NewRelay(e.db, "", nil, nil, outbox.Config{})
	for _, c := range []outbox.Consumer{store.Consumer(), store.Publisher(e.ps)} {
		if err := relay.Register(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	p, other := e.player(), e.player()
	c := e.dial()
	c.hello(p, "", 0)
	time.Sleep(50 * time.Millisecond) // Follow has subscribed

	tx := e.db.MustBegin()
	if err := notify.Send(ctx, tx, other.id, "party.invite", map[string]string{"party": "x"}); err != nil {
		t.Fatal(err)
	}
	if err := notify.Send(ctx, tx, p.id, "party.invite", map[string]string{"party": "p-1"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := relay.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pending int
		_ = e.db.Get(&pending, `SELECT count(*) FROM outbox_deliveries WHERE state = 'pending' AND consumer = ANY('{notifications,notifications.publish}')`)
		return pending == 0
	})
	n := c.expect(&pb.Notification{}).(*pb.Notification)
	if n.Seq != 1 || n.Kind != "party.invite" || string(n.PayloadJson) != `{"party":"p-1"}` {
		t.Fatalf("notification = %v; want the player's own party invite as seq 1", n)
	}
	// Nothing else reaches this player (the other player's invite went to
	// their own connections only).
	c.send(&pb.Ping{Nonce: 1})
	c.expect(&pb.Pong{})
}
