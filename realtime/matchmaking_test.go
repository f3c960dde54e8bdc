package realtime_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/rating"
	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// withMatchmaking publishes a 2v2 queue and gives the gateway the ticket
// service; it answers the queue's id.
func withMatchmaking(queue *string) func(*env, *realtime.Deps) {
	return func(e *env, d *realtime.Deps) {
		cs := content.New(e.db)
		cs.Register(match.ModeKind())
		cs.Register(matchmaking.QueueKind())
		*queue = economytest.Name("q")
		pub := func(kind, id string, body any) {
			b, _ := json.Marshal(body)
			doc, err := cs.SaveDraft(context.Background(), kind, id, "", b, content.Edit{Editor: "test"})
			if err == nil {
				_, err = cs.Publish(context.Background(), kind, id, content.Edit{Expected: doc.DraftRevision, Editor: "test"})
			}
			if err != nil {
				e.t.Fatal(err)
			}
		}
		pub(match.KindMode, *queue, match.Mode{Name: "2v2", Teams: 2, TeamSize: 2, MaxDurationSeconds: 600,
			Bounds: map[string]int64{match.StatKills: 50, match.StatSecondsPlayed: 600}, XP: match.XPRules{PerKill: 1, Max: 100}})
		pub(matchmaking.KindQueue, *queue, matchmaking.Queue{Name: "2v2", Mode: *queue, TeamSize: 2, Teams: 2, Regions: []string{"eu-west"},
			PartyMin: 1, PartyMax: 2, MaxWaitSeconds: 60, Fallback: matchmaking.FallbackNone})
		ratings, err := rating.New(e.db, rating.Config{})
		if err != nil {
			e.t.Fatal(err)
		}
		d.Matchmaking = matchmaking.NewService(e.db, e.parties, ratings, e.accounts, push.New(e.ps), nil)
	}
}

// TestQueueOverTheSocket: a player queues, reads their ticket, a second
// ticket is refused, and a cancel is pushed to the party's other member.
func TestQueueOverTheSocket(t *testing.T) {
	var queue string
	e := newEnv(t, realtime.Config{}, withMatchmaking(&queue))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.gw.Follow(ctx, e.ps) }()
	lead, mate := e.player(), e.player()
	cl, cm := e.dial(), e.dial()
	cl.hello(lead, "", 0)
	cm.hello(mate, "", 0)

	cl.callErr(&pb.QueueJoin{Queue: "nope", LatencyMs: map[string]uint32{"eu-west": 20}}, protocol.CodeNotFound)
	cl.callErr(&pb.QueueJoin{Queue: queue, LatencyMs: map[string]uint32{"mars": 20}}, protocol.CodeInvalidArgument)
	if st := cl.call(&pb.GetQueueStatus{}).(*pb.QueueStatus); st.State != pb.QueueState_QUEUE_STATE_NONE {
		t.Fatalf("before queueing: %v", st)
	}
	created := cl.call(&pb.PartyCreate{JoinByCode: true}).(*pb.PartyState)
	cm.call(&pb.PartyJoin{InviteCode: created.InviteCode})
	cm.callErr(&pb.QueueJoin{Queue: queue, LatencyMs: map[string]uint32{"eu-west": 20}}, protocol.CodeForbidden)
	st := cl.call(&pb.QueueJoin{Queue: queue, LatencyMs: map[string]uint32{"eu-west": 20}}).(*pb.QueueStatus)
	if st.State != pb.QueueState_QUEUE_STATE_WAITING || len(st.Players) != 2 || st.PartyId != created.PartyId || st.WaitingSinceMs == 0 {
		t.Fatalf("queued %v", st)
	}
	pushed := cm.until(&pb.QueueStatus{}).(*pb.QueueStatus)
	if pushed.TicketId != st.TicketId {
		t.Fatalf("the member was pushed %v", pushed)
	}
	cl.callErr(&pb.QueueJoin{Queue: queue, LatencyMs: map[string]uint32{"eu-west": 20}}, protocol.CodeConflict)
	if got := cm.call(&pb.QueueCancel{}).(*pb.QueueStatus); got.State != pb.QueueState_QUEUE_STATE_CANCELLED {
		t.Fatalf("cancel answered %v", got)
	}
	for {
		p := cl.until(&pb.QueueStatus{}).(*pb.QueueStatus)
		if p.State == pb.QueueState_QUEUE_STATE_CANCELLED {
			break
		}
	}
	cl.callErr(&pb.QueueCancel{}, protocol.CodeNotFound)
}
