package bots

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/sdk/go/muster"
)

// rtCodes names the realtime protocol's error codes (docs/protocol.md).
var rtCodes = map[protocol.Code]string{
	protocol.CodeBadFrame: "bad_frame", protocol.CodeFrameTooLarge: "frame_too_large",
	protocol.CodeUnsupportedVersion: "unsupported_version", protocol.CodeUnauthenticated: "unauthenticated",
	protocol.CodeTokenExpired: "token_expired", protocol.CodeUnknownType: "unknown_type",
	protocol.CodeOutOfOrder: "out_of_order", protocol.CodeRateLimited: "rate_limited",
	protocol.CodeSlowConsumer: "slow_consumer", protocol.CodeIdleTimeout: "idle_timeout",
	protocol.CodeResumeFailed: "resume_failed", protocol.CodeInternal: "internal",
	protocol.CodeUnavailable: "unavailable", protocol.CodeInvalidArgument: "invalid_argument",
	protocol.CodeNotFound: "not_found", protocol.CodeForbidden: "forbidden", protocol.CodeConflict: "conflict",
}

// flowError is a step of a bot's flow that did not go as the platform
// promises (a match that never came, a resume that started a new session).
type flowError struct{ code, msg string }

func (e *flowError) Error() string { return e.code + ": " + e.msg }

func flowErr(code, format string, a ...any) error {
	return &flowError{code: code, msg: fmt.Sprintf(format, a...)}
}

// codeOf is the stable code the report counts err under: the REST error
// code, "rt_" and the realtime code, or what went wrong on the way.
func codeOf(err error) string {
	if err == nil {
		return ""
	}
	var fe *flowError
	if errors.As(err, &fe) {
		return fe.code
	}
	if c := apiCode(err); c != "" {
		return c
	}
	var se *muster.ServerError
	if errors.As(err, &se) {
		if n, ok := rtCodes[se.Code]; ok {
			return "rt_" + n
		}
		return fmt.Sprintf("rt_%d", se.Code)
	}
	switch {
	case errors.Is(err, muster.ErrClosed):
		return "socket_closed"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "transport"
}
