package realtime

import (
	"context"
	"encoding/json"
	"errors"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

func init() {
	handlers[protocol.TypeQueueJoin] = queueRequest(func(ctx context.Context, s *matchmaking.Service, id int64, m proto.Message) (matchmaking.Status, error) {
		r := m.(*pb.QueueJoin)
		lat := make(map[string]int, len(r.LatencyMs))
		for k, v := range r.LatencyMs {
			lat[k] = int(min(v, 1<<20))
		}
		return s.Join(ctx, id, r.Queue, lat)
	})
	handlers[protocol.TypeQueueCancel] = queueRequest(func(ctx context.Context, s *matchmaking.Service, id int64, _ proto.Message) (matchmaking.Status, error) {
		return s.Cancel(ctx, id, "cancelled")
	})
	handlers[protocol.TypeGetQueueStatus] = queueRequest(func(ctx context.Context, s *matchmaking.Service, id int64, _ proto.Message) (matchmaking.Status, error) {
		st, err := s.Status(ctx, id)
		if errors.Is(err, matchmaking.ErrNotQueued) {
			return matchmaking.Status{}, nil
		}
		return st, err
	})
	domainErrors = append(domainErrors,
		errorCode{matchmaking.ErrUnknownQueue, protocol.CodeNotFound},
		errorCode{matchmaking.ErrAlreadyQueued, protocol.CodeConflict},
		errorCode{matchmaking.ErrNotQueued, protocol.CodeNotFound},
		errorCode{matchmaking.ErrNotLeader, protocol.CodeForbidden},
		errorCode{matchmaking.ErrPartySize, protocol.CodeConflict},
		errorCode{matchmaking.ErrNoRegion, protocol.CodeInvalidArgument},
	)
	pushKinds[matchmaking.KindStatus] = func(data json.RawMessage) (proto.Message, error) {
		var st matchmaking.Status
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, err
		}
		return queueStatus(st), nil
	}
}

// queueRequest adapts a ticket call to a handler answering QueueStatus.
func queueRequest(call func(ctx context.Context, s *matchmaking.Service, accountID int64, m proto.Message) (matchmaking.Status, error)) handler {
	return func(ctx context.Context, c *conn, m proto.Message) (proto.Message, error) {
		s := c.g.deps.Matchmaking
		if s == nil {
			return nil, errUnavailable
		}
		st, err := call(ctx, s, c.claimsNow().AccountID, m)
		if err != nil {
			return nil, err
		}
		return queueStatus(st), nil
	}
}

var queueStates = map[string]pb.QueueState{
	"waiting":   pb.QueueState_QUEUE_STATE_WAITING,
	"matched":   pb.QueueState_QUEUE_STATE_MATCHED,
	"cancelled": pb.QueueState_QUEUE_STATE_CANCELLED,
}

func queueStatus(st matchmaking.Status) *pb.QueueStatus {
	out := &pb.QueueStatus{TicketId: st.TicketID, Queue: st.Queue, State: queueStates[st.State], PartyId: st.PartyID,
		Players: st.Players, MatchId: st.MatchID, Reason: st.Reason}
	if !st.WaitingSince.IsZero() {
		out.WaitingSinceMs = st.WaitingSince.UnixMilli()
	}
	return out
}
