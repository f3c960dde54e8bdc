package realtime

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

func init() {
	handlers[protocol.TypeSetStatus] = setStatus
	handlers[protocol.TypeGetParty] = partyRequest(func(ctx context.Context, s *party.Service, id int64, _ proto.Message) (proto.Message, error) {
		v, err := s.Get(ctx, id)
		if err == party.ErrNoParty {
			return &pb.PartyState{}, nil
		}
		return partyState(v), err
	})
	handlers[protocol.TypePartyCreate] = partyRequest(func(ctx context.Context, s *party.Service, id int64, m proto.Message) (proto.Message, error) {
		r := m.(*pb.PartyCreate)
		v, err := s.Create(ctx, id, int(min(r.MaxSize, 1000)), r.JoinByCode)
		return partyState(v), err
	})
	handlers[protocol.TypePartyInvite] = partyRequest(func(ctx context.Context, s *party.Service, id int64, m proto.Message) (proto.Message, error) {
		return nil, s.Invite(ctx, id, m.(*pb.PartyInvite).PlayerId)
	})
	handlers[protocol.TypePartyJoin] = partyRequest(func(ctx context.Context, s *party.Service, id int64, m proto.Message) (proto.Message, error) {
		r := m.(*pb.PartyJoin)
		v, err := s.Join(ctx, id, r.PartyId, r.InviteCode)
		return partyState(v), err
	})
	handlers[protocol.TypePartyLeave] = partyRequest(func(ctx context.Context, s *party.Service, id int64, _ proto.Message) (proto.Message, error) {
		return nil, s.Leave(ctx, id)
	})
	handlers[protocol.TypePartyKick] = partyRequest(func(ctx context.Context, s *party.Service, id int64, m proto.Message) (proto.Message, error) {
		return nil, s.Kick(ctx, id, m.(*pb.PartyKick).PlayerId)
	})
	handlers[protocol.TypePartyPromote] = partyRequest(func(ctx context.Context, s *party.Service, id int64, m proto.Message) (proto.Message, error) {
		return nil, s.Promote(ctx, id, m.(*pb.PartyPromote).PlayerId)
	})
	handlers[protocol.TypePartySettings] = partyRequest(func(ctx context.Context, s *party.Service, id int64, m proto.Message) (proto.Message, error) {
		r := m.(*pb.PartySettings)
		v, err := s.Settings(ctx, id, int(min(r.MaxSize, 1000)), r.JoinByCode)
		return partyState(v), err
	})
	handlers[protocol.TypePartyReadyCheck] = partyRequest(func(ctx context.Context, s *party.Service, id int64, _ proto.Message) (proto.Message, error) {
		return nil, s.ReadyCheck(ctx, id)
	})
	handlers[protocol.TypePartyReady] = partyRequest(func(ctx context.Context, s *party.Service, id int64, m proto.Message) (proto.Message, error) {
		return nil, s.Ready(ctx, id, m.(*pb.PartyReady).Ready)
	})
	handlers[protocol.TypePartyChat] = partyRequest(func(ctx context.Context, s *party.Service, id int64, m proto.Message) (proto.Message, error) {
		return nil, s.Chat(ctx, id, m.(*pb.PartyChat).Text)
	})
	domainErrors = append(domainErrors,
		errorCode{party.ErrInParty, protocol.CodeConflict},
		errorCode{party.ErrNoParty, protocol.CodeNotFound},
		errorCode{party.ErrNotFound, protocol.CodeNotFound},
		errorCode{party.ErrNotLeader, protocol.CodeForbidden},
		errorCode{party.ErrNotFriends, protocol.CodeForbidden},
		errorCode{party.ErrFull, protocol.CodeConflict},
		errorCode{party.ErrNotMember, protocol.CodeNotFound},
		errorCode{party.ErrAlready, protocol.CodeConflict},
		errorCode{party.ErrInvalid, protocol.CodeInvalidArgument},
		errorCode{party.ErrRateLimited, protocol.CodeRateLimited},
		errorCode{party.ErrBusy, protocol.CodeUnavailable},
		errorCode{presence.ErrInvalid, protocol.CodeInvalidArgument},
	)
}

// partyRequest adapts a party call to a handler.
func partyRequest(call func(ctx context.Context, s *party.Service, accountID int64, m proto.Message) (proto.Message, error)) handler {
	return func(ctx context.Context, c *conn, m proto.Message) (proto.Message, error) {
		s := c.g.deps.Parties
		if s == nil {
			return nil, errUnavailable
		}
		return call(ctx, s, c.claimsNow().AccountID, m)
	}
}

func setStatus(ctx context.Context, c *conn, m proto.Message) (proto.Message, error) {
	t := c.g.deps.Presence
	if t == nil {
		return nil, errUnavailable
	}
	r := m.(*pb.SetStatus)
	return nil, t.SetStatus(ctx, c.claimsNow().AccountID, r.Text, r.InMatch)
}

// partyState is the protocol message of a party view.
func partyState(v party.View) *pb.PartyState {
	out := &pb.PartyState{PartyId: v.ID, Version: v.Version, LeaderId: v.LeaderID, MaxSize: uint32(v.MaxSize),
		JoinByCode: v.JoinByCode, InviteCode: v.InviteCode, Members: make([]*pb.PartyMember, len(v.Members))}
	if v.ReadyCheckEnds != nil {
		out.ReadyCheckEndsMs = v.ReadyCheckEnds.UnixMilli()
	}
	for i, m := range v.Members {
		out.Members[i] = &pb.PartyMember{PlayerId: m.PlayerID, DisplayName: m.DisplayName, Ready: m.Ready,
			Status: statusOf(m.Status), JoinedAtMs: m.JoinedAt.UnixMilli()}
	}
	return out
}

func statusOf(s presence.Status) pb.Status {
	switch s {
	case presence.Online:
		return pb.Status_STATUS_ONLINE
	case presence.InParty:
		return pb.Status_STATUS_IN_PARTY
	case presence.InMatch:
		return pb.Status_STATUS_IN_MATCH
	}
	return pb.Status_STATUS_OFFLINE
}

// presenceOf is the protocol message of a presence view.
func presenceOf(v presence.View) *pb.Presence {
	out := &pb.Presence{PlayerId: v.PlayerID, DisplayName: v.DisplayName, Status: statusOf(v.Status), Text: v.Text}
	if v.Status != presence.Offline && !v.Since.IsZero() {
		out.SinceMs = v.Since.UnixMilli()
	}
	return out
}
