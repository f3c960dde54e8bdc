package realtime

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/domain/friend"
	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// Friends is what the gateway needs of the friend service; *friend.Store
// is one.
type Friends interface {
	List(ctx context.Context, accountID int64) (friend.List, error)
	Request(ctx context.Context, accountID int64, playerID string) (friend.Relation, error)
	Accept(ctx context.Context, accountID int64, playerID string) (friend.Relation, error)
	Decline(ctx context.Context, accountID int64, playerID string) error
	Remove(ctx context.Context, accountID int64, playerID string) error
	Block(ctx context.Context, accountID int64, playerID string) error
	Unblock(ctx context.Context, accountID int64, playerID string) error
}

func init() {
	handlers[protocol.TypeListFriends] = listFriends
	handlers[protocol.TypeFriendAction] = friendAction
	domainErrors = append(domainErrors, friendErrors...)
}

// errInvalidArgument answers a request with a field missing or out of
// range; the message after it says which.
var errInvalidArgument = errors.New("invalid request")

// friendErrors map the friend service's errors to protocol codes (see
// domainErrors).
var friendErrors = []errorCode{
	{errInvalidArgument, protocol.CodeInvalidArgument},
	{errRateLimited, protocol.CodeRateLimited},
	{friend.ErrSelf, protocol.CodeInvalidArgument},
	{friend.ErrNotFound, protocol.CodeNotFound},
	{friend.ErrNoRequest, protocol.CodeNotFound},
	{friend.ErrNotFriends, protocol.CodeNotFound},
	{friend.ErrNotBlocked, protocol.CodeNotFound},
	{friend.ErrBlocked, protocol.CodeForbidden},
	{friend.ErrLimit, protocol.CodeConflict},
}

// listFriends answers ListFriends with the player's friends, requests
// both ways and blocks.
func listFriends(ctx context.Context, c *conn, _ proto.Message) (proto.Message, error) {
	fs := c.g.deps.Friends
	if fs == nil {
		return nil, errUnavailable
	}
	l, err := fs.List(ctx, c.claimsNow().AccountID)
	if err != nil {
		return nil, err
	}
	out := &pb.FriendList{Friends: make([]*pb.Friend, 0, len(l.Friends)+len(l.Incoming)+len(l.Outgoing)+len(l.Blocked))}
	for _, group := range [][]friend.Relation{l.Friends, l.Incoming, l.Outgoing, l.Blocked} {
		for _, r := range group {
			out.Friends = append(out.Friends, &pb.Friend{PlayerId: r.PlayerID, DisplayName: r.DisplayName,
				State: friendStates[r.State], SinceMs: r.Since.UnixMilli()})
		}
	}
	c.g.friendPresence(ctx, l.Friends, out.Friends[:len(l.Friends)])
	return out, nil
}

// friendPresence sets the presence of each friend in out (out[i] is
// friends[i]) when this node tracks presence. The list is worth answering
// without it: a failure is logged.
func (g *Gateway) friendPresence(ctx context.Context, friends []friend.Relation, out []*pb.Friend) {
	t := g.deps.Presence
	if t == nil || len(friends) == 0 {
		return
	}
	ids := make([]int64, len(friends))
	for i, r := range friends {
		ids[i] = r.AccountID
	}
	seen, err := t.Lookup(ctx, ids)
	if err != nil {
		g.log.Warn("realtime: friend list without presence", "err", err)
		return
	}
	for i, r := range friends {
		v := seen[r.AccountID]
		if v.Status == "" {
			v.Status = presence.Offline
		}
		// Offline records carry no names.
		v.PlayerID, v.DisplayName = r.PlayerID, r.DisplayName
		out[i].Presence = presenceOf(v)
	}
}

var friendStates = map[friend.State]pb.FriendState{
	friend.StateFriend:   pb.FriendState_FRIEND_STATE_FRIEND,
	friend.StateIncoming: pb.FriendState_FRIEND_STATE_INCOMING,
	friend.StateOutgoing: pb.FriendState_FRIEND_STATE_OUTGOING,
	friend.StateBlocked:  pb.FriendState_FRIEND_STATE_BLOCKED,
}

// friendAction runs a FriendAction and answers Ok.
func friendAction(ctx context.Context, c *conn, m proto.Message) (proto.Message, error) {
	fs := c.g.deps.Friends
	if fs == nil {
		return nil, errUnavailable
	}
	a := m.(*pb.FriendAction)
	me := c.claimsNow().AccountID
	var act func() error
	switch a.Op {
	case pb.FriendOp_FRIEND_OP_REQUEST:
		act = func() error { _, err := fs.Request(ctx, me, a.PlayerId); return err }
	case pb.FriendOp_FRIEND_OP_ACCEPT:
		act = func() error { _, err := fs.Accept(ctx, me, a.PlayerId); return err }
	case pb.FriendOp_FRIEND_OP_DECLINE:
		act = func() error { return fs.Decline(ctx, me, a.PlayerId) }
	case pb.FriendOp_FRIEND_OP_REMOVE:
		act = func() error { return fs.Remove(ctx, me, a.PlayerId) }
	case pb.FriendOp_FRIEND_OP_BLOCK:
		act = func() error { return fs.Block(ctx, me, a.PlayerId) }
	case pb.FriendOp_FRIEND_OP_UNBLOCK:
		act = func() error { return fs.Unblock(ctx, me, a.PlayerId) }
	default:
		return nil, fmt.Errorf("%w: op %d is not a friend action", errInvalidArgument, a.Op)
	}
	if a.PlayerId == "" {
		return nil, fmt.Errorf("%w: player_id is required", errInvalidArgument)
	}
	if err := c.g.allow(ctx, "friends", me, c.g.deps.FriendWrites); err != nil {
		return nil, err
	}
	return nil, act()
}
