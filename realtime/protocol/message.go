package protocol

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/musterhq/muster/realtime/protocol/pb"
)

// Code is a stable error code of an Error frame (docs/protocol.md lists
// what each means and what a client does about it).
type Code uint32

// Error codes of version 1. Numbers never change meaning.
const (
	CodeBadFrame           Code = 1  // malformed frame or body; fatal
	CodeFrameTooLarge      Code = 2  // a frame above the max frame; fatal
	CodeUnsupportedVersion Code = 3  // no common protocol version; fatal
	CodeUnauthenticated    Code = 4  // missing, invalid or revoked access token; fatal
	CodeTokenExpired       Code = 5  // the access token expired: refresh it, or connect again; fatal when it happens to the live connection
	CodeUnknownType        Code = 6  // a message type the server does not take from clients; not fatal
	CodeOutOfOrder         Code = 7  // a message not allowed now (anything before Hello, a second Hello); fatal
	CodeRateLimited        Code = 8  // too many requests; retry after retry_after_ms
	CodeSlowConsumer       Code = 9  // the client read too slowly and its queue filled; fatal
	CodeIdleTimeout        Code = 10 // nothing received within the idle timeout; fatal
	CodeResumeFailed       Code = 11 // the resume token is unknown or expired: a new session started; not fatal
	CodeInternal           Code = 12 // the server failed; retry
	CodeUnavailable        Code = 13 // the server is draining or overloaded; connect again after retry_after_ms
	CodeInvalidArgument    Code = 14 // a request's field is missing or malformed (message says which); not fatal
	CodeNotFound           Code = 15 // the player, party or invitation named does not exist (or is hidden); not fatal
	CodeForbidden          Code = 16 // the player may not do this (not the leader, not friends, blocked); not fatal
	CodeConflict           Code = 17 // the request conflicts with the current state (party full, already in a party); not fatal
)

// codeNames are the codes' names in docs/protocol.md.
var codeNames = map[Code]string{
	CodeBadFrame: "BAD_FRAME", CodeFrameTooLarge: "FRAME_TOO_LARGE", CodeUnsupportedVersion: "UNSUPPORTED_VERSION",
	CodeUnauthenticated: "UNAUTHENTICATED", CodeTokenExpired: "TOKEN_EXPIRED", CodeUnknownType: "UNKNOWN_TYPE",
	CodeOutOfOrder: "OUT_OF_ORDER", CodeRateLimited: "RATE_LIMITED", CodeSlowConsumer: "SLOW_CONSUMER",
	CodeIdleTimeout: "IDLE_TIMEOUT", CodeResumeFailed: "RESUME_FAILED", CodeInternal: "INTERNAL",
	CodeUnavailable: "UNAVAILABLE", CodeInvalidArgument: "INVALID_ARGUMENT", CodeNotFound: "NOT_FOUND",
	CodeForbidden: "FORBIDDEN", CodeConflict: "CONFLICT",
}

// String is the code's name in docs/protocol.md ("RATE_LIMITED"), or
// "CODE_<n>" for a code this version does not define.
func (c Code) String() string {
	if name, ok := codeNames[c]; ok {
		return name
	}
	return fmt.Sprintf("CODE_%d", uint32(c))
}

// messages maps each message type of version 1 to an empty message of it.
var messages = map[Type]proto.Message{
	TypeHello:          &pb.Hello{},
	TypeWelcome:        &pb.Welcome{},
	TypeError:          &pb.Error{},
	TypePing:           &pb.Ping{},
	TypePong:           &pb.Pong{},
	TypeRefreshToken:   &pb.RefreshToken{},
	TypeTokenRefreshed: &pb.TokenRefreshed{},
	TypeNotification:   &pb.Notification{},
	TypeAck:            &pb.Ack{},
	TypeReconnect:      &pb.Reconnect{},
	TypeGoodbye:        &pb.Goodbye{},
	TypeOk:             &pb.Ok{},

	TypeSetStatus:       &pb.SetStatus{},
	TypePresenceChanged: &pb.PresenceChanged{},

	TypeListFriends:  &pb.ListFriends{},
	TypeFriendList:   &pb.FriendList{},
	TypeFriendAction: &pb.FriendAction{},

	TypePartyCreate:      &pb.PartyCreate{},
	TypePartyState:       &pb.PartyState{},
	TypePartyInvite:      &pb.PartyInvite{},
	TypePartyJoin:        &pb.PartyJoin{},
	TypePartyLeave:       &pb.PartyLeave{},
	TypePartyKick:        &pb.PartyKick{},
	TypePartyPromote:     &pb.PartyPromote{},
	TypePartySettings:    &pb.PartySettings{},
	TypePartyReadyCheck:  &pb.PartyReadyCheck{},
	TypePartyReady:       &pb.PartyReady{},
	TypePartyChat:        &pb.PartyChat{},
	TypePartyLeft:        &pb.PartyLeft{},
	TypePartyChatMessage: &pb.PartyChatMessage{},
	TypeGetParty:         &pb.GetParty{},

	TypeQueueJoin:      &pb.QueueJoin{},
	TypeQueueStatus:    &pb.QueueStatus{},
	TypeQueueCancel:    &pb.QueueCancel{},
	TypeGetQueueStatus: &pb.GetQueueStatus{},
}

// typeByName is the frame type of each message, by its full protobuf name.
var typeByName = func() map[protoreflect.FullName]Type {
	out := make(map[protoreflect.FullName]Type, len(messages))
	for t, m := range messages {
		out[m.ProtoReflect().Descriptor().FullName()] = t
	}
	return out
}()

// newMessage returns an empty message of type t, or nil for a type version
// 1 does not define.
func newMessage(t Type) proto.Message {
	m, ok := messages[t]
	if !ok {
		return nil
	}
	return m.ProtoReflect().New().Interface()
}

// TypeOf returns the frame type of a message of this package's schema.
func TypeOf(m proto.Message) (Type, error) {
	if m != nil {
		if t, ok := typeByName[m.ProtoReflect().Descriptor().FullName()]; ok {
			return t, nil
		}
	}
	return 0, fmt.Errorf("protocol: %T is not a message of the schema", m)
}

// Types lists every message type of version 1, in order.
func Types() []Type {
	out := make([]Type, 0, len(messages))
	for t := range messages {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Errors of decoding a frame's body.
var (
	ErrUnknownType = errors.New("unknown message type")
	ErrBadBody     = errors.New("malformed message body")
)

// Decode returns the message a frame holds.
func Decode(f Frame) (proto.Message, error) {
	m := newMessage(f.Type)
	if m == nil {
		return nil, fmt.Errorf("%w: %d", ErrUnknownType, f.Type)
	}
	if err := proto.Unmarshal(f.Body, m); err != nil {
		return nil, fmt.Errorf("%w: type %d: %v", ErrBadBody, f.Type, err)
	}
	return m, nil
}

// Append appends the frame of m with requestID to dst.
func Append(dst []byte, requestID uint32, m proto.Message) ([]byte, error) {
	t, err := TypeOf(m)
	if err != nil {
		return dst, err
	}
	// Deterministic, so equal messages make equal frames (golden vectors).
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return dst, err
	}
	return AppendFrame(dst, Frame{Type: t, RequestID: requestID, Body: body}), nil
}

// ErrorFrame is the Error message of code, for the frame answering
// requestID (0 when it answers none).
func ErrorFrame(code Code, message string, fatal bool) *pb.Error {
	return &pb.Error{Code: uint32(code), Message: message, Fatal: fatal}
}
