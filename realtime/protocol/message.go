package protocol

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

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
)

// newMessage returns an empty message of type t, or nil for a type version
// 1 does not define.
func newMessage(t Type) proto.Message {
	switch t {
	case TypeHello:
		return &pb.Hello{}
	case TypeWelcome:
		return &pb.Welcome{}
	case TypeError:
		return &pb.Error{}
	case TypePing:
		return &pb.Ping{}
	case TypePong:
		return &pb.Pong{}
	case TypeRefreshToken:
		return &pb.RefreshToken{}
	case TypeTokenRefreshed:
		return &pb.TokenRefreshed{}
	case TypeNotification:
		return &pb.Notification{}
	case TypeAck:
		return &pb.Ack{}
	case TypeReconnect:
		return &pb.Reconnect{}
	case TypeGoodbye:
		return &pb.Goodbye{}
	}
	return nil
}

// TypeOf returns the frame type of a message of this package's schema.
func TypeOf(m proto.Message) (Type, error) {
	switch m.(type) {
	case *pb.Hello:
		return TypeHello, nil
	case *pb.Welcome:
		return TypeWelcome, nil
	case *pb.Error:
		return TypeError, nil
	case *pb.Ping:
		return TypePing, nil
	case *pb.Pong:
		return TypePong, nil
	case *pb.RefreshToken:
		return TypeRefreshToken, nil
	case *pb.TokenRefreshed:
		return TypeTokenRefreshed, nil
	case *pb.Notification:
		return TypeNotification, nil
	case *pb.Ack:
		return TypeAck, nil
	case *pb.Reconnect:
		return TypeReconnect, nil
	case *pb.Goodbye:
		return TypeGoodbye, nil
	}
	return 0, fmt.Errorf("protocol: %T is not a message of the schema", m)
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
