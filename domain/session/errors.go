package session

import "errors"

// Errors returned by this package, wrapped with detail where there is any.
var (
	// ErrInvalidToken: the access token is malformed, its signature or
	// algorithm is wrong, its key id is unknown, its issuer or audience is
	// not ours, or it has no expiry.
	ErrInvalidToken = errors.New("invalid access token")
	// ErrExpiredToken: the access token was valid but has expired.
	ErrExpiredToken = errors.New("access token expired")
	// ErrRevoked: the access token's session has been revoked.
	ErrRevoked = errors.New("session revoked")
	// ErrInvalidRefresh: the refresh token is unknown or expired, or its
	// session is revoked or expired.
	ErrInvalidRefresh = errors.New("invalid refresh token")
	// ErrRefreshReused: a refresh token that was already exchanged was
	// presented again. Someone else may hold the session, so the whole
	// session has been revoked.
	ErrRefreshReused = errors.New("refresh token reused; session revoked")
	// ErrNotFound: the account has no such live session.
	ErrNotFound = errors.New("session not found")
	// ErrAccountBlocked: the account is banned or deleted, so no session
	// may start.
	ErrAccountBlocked = errors.New("account is banned or closed")
	// ErrNoSigningKey: this process has no private signing key (no secret
	// key configured, or Ensure was never run).
	ErrNoSigningKey = errors.New("no signing key")
	// ErrSealing: a private signing key cannot be sealed or unsealed with
	// the configured secret key (wrong secret, wrong length, or tampering).
	ErrSealing = errors.New("cannot seal or unseal signing key with this secret key")
)
