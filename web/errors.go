// Package web is the HTTP base every Muster fiber app is built on: one error
// shape, request ids, panic recovery, request logging and metrics, body and
// time limits, a strict JSON decoder, and the ops endpoints.
package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// Stable error codes. Clients switch on these; never change one's meaning.
const (
	CodeBadRequest       = "bad_request"
	CodeInvalidJSON      = "invalid_json"
	CodeUnknownField     = "unknown_field"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeBodyTooLarge     = "body_too_large"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeRateLimited      = "rate_limited"
	CodeTimeout          = "timeout"
	CodeInternal         = "internal"
	CodeUnavailable      = "unavailable"
	// CodeAuthBusy (503, with Retry-After): more passwords arrived than the
	// node can hash; the request was turned away having changed nothing,
	// so any request, even one not safe to repeat, may be sent again.
	CodeAuthBusy = "auth_busy"
)

// Error is an error that a handler returns to answer with the error shape
// {"error":{"code":"...","message":"..."}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError returns an *Error with the given status, code and message.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// BadRequest is a 400 with code bad_request.
func BadRequest(message string) *Error {
	return NewError(http.StatusBadRequest, CodeBadRequest, message)
}

type errorBody struct {
	Error *Error `json:"error"`
}

// WriteError writes e in the error shape.
func WriteError(c *fiber.Ctx, e *Error) error {
	return c.Status(e.Status).JSON(errorBody{Error: e})
}

// statusCodes gives fiber's own errors (routing, limits) a stable code.
var statusCodes = map[int]string{
	http.StatusBadRequest:            CodeBadRequest,
	http.StatusUnauthorized:          CodeUnauthorized,
	http.StatusForbidden:             CodeForbidden,
	http.StatusNotFound:              CodeNotFound,
	http.StatusMethodNotAllowed:      CodeMethodNotAllowed,
	http.StatusConflict:              CodeConflict,
	http.StatusRequestEntityTooLarge: CodeBodyTooLarge,
	http.StatusUnsupportedMediaType:  CodeUnsupportedMedia,
	http.StatusTooManyRequests:       CodeRateLimited,
	http.StatusRequestTimeout:        CodeTimeout,
	http.StatusServiceUnavailable:    CodeUnavailable,
}

// errorHandler turns any error a handler returns into the error shape. An
// error that is neither *Error nor *fiber.Error is a bug: it is logged once
// here and the client sees only "internal".
func errorHandler(log *slog.Logger, page func(*fiber.Ctx, *Error) error) fiber.ErrorHandler {
	write := WriteError
	if page != nil {
		write = page
	}
	return func(c *fiber.Ctx, err error) error {
		var we *Error
		if errors.As(err, &we) {
			return write(c, we)
		}
		var fe *fiber.Error
		if errors.As(err, &fe) {
			code, ok := statusCodes[fe.Code]
			if !ok {
				code = CodeInternal
				if fe.Code < 500 {
					code = CodeBadRequest
				}
			}
			return write(c, NewError(fe.Code, code, fe.Message))
		}
		log.ErrorContext(c.UserContext(), "request failed", "req_id", RequestID(c), "method", c.Method(), "path", c.Path(), "err", err)
		return write(c, NewError(http.StatusInternalServerError, CodeInternal, "internal error"))
	}
}
