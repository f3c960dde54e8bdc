package muster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// ErrNoSession is returned by player calls made before any login,
// Register or SetTokens, and after the session ended.
var ErrNoSession = errors.New("muster: no session: log in first")

// refreshFlight is one refresh under way, which concurrent calls share.
type refreshFlight struct {
	done chan struct{}
	err  error
}

// SetTokens restores a saved session (the pair OnTokens gave). An empty
// access token with a refresh token is fine: the next call refreshes.
func (c *Client) SetTokens(t Tokens) {
	c.mu.Lock()
	c.setLocked(t, c.now())
	c.mu.Unlock()
}

// Tokens returns the session's current token pair (zero without one).
func (c *Client) Tokens() Tokens {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens
}

// AccessToken returns an access token valid for a while yet, refreshing
// the pair first when it is about to expire: for the realtime connection
// or another service that verifies Muster tokens.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	_, tok, err := c.bearer(ctx)
	return tok, err
}

// setLocked stores t; the access token's expiry comes from its exp claim,
// else from ExpiresIn counted from now.
func (c *Client) setLocked(t Tokens, now time.Time) {
	c.tokens = t
	c.expires = time.Time{}
	if exp, ok := jwtExpiry(t.AccessToken); ok {
		c.expires = exp
	} else if t.AccessToken != "" && t.ExpiresIn > 0 {
		c.expires = now.Add(time.Duration(t.ExpiresIn) * time.Second)
	}
}

// store keeps a new pair from the server and tells OnTokens.
func (c *Client) store(t Tokens) {
	c.mu.Lock()
	c.setLocked(t, c.now())
	c.mu.Unlock()
	if c.onTokens != nil {
		c.onTokens(t)
	}
}

// forget ends the session held when it is still the one of refresh (empty:
// whatever is held), and tells OnTokens.
func (c *Client) forget(refresh string) {
	c.mu.Lock()
	if refresh != "" && c.tokens.RefreshToken != refresh {
		c.mu.Unlock()
		return
	}
	c.setLocked(Tokens{}, c.now())
	c.mu.Unlock()
	if c.onTokens != nil {
		c.onTokens(Tokens{})
	}
}

// bearer gives the Authorization header, refreshing first when the access
// token is missing or expires within the refresh margin.
func (c *Client) bearer(ctx context.Context) (string, string, error) {
	c.mu.Lock()
	tok, refresh, exp := c.tokens.AccessToken, c.tokens.RefreshToken, c.expires
	c.mu.Unlock()
	if tok == "" && refresh == "" {
		return "", "", ErrNoSession
	}
	if tok == "" || (!exp.IsZero() && exp.Sub(c.now()) < c.margin()) {
		if refresh != "" {
			if err := c.refreshAfter(ctx, tok); err != nil {
				return "", "", err
			}
			c.mu.Lock()
			tok = c.tokens.AccessToken
			c.mu.Unlock()
		}
	}
	if tok == "" {
		return "", "", ErrNoSession
	}
	return "Bearer " + tok, tok, nil
}

// margin is how long before exp to refresh: the configured margin, at most
// half of the token's life as far as it is known.
func (c *Client) margin() time.Duration {
	m := c.early
	c.mu.Lock()
	life := time.Duration(c.tokens.ExpiresIn) * time.Second
	c.mu.Unlock()
	if life > 0 && m > life/2 {
		m = life / 2
	}
	return m
}

// refreshAfter refreshes the pair unless the access token is no longer
// used (another call refreshed it already). Concurrent callers share one
// refresh; it is not cancelled with one caller's context.
func (c *Client) refreshAfter(ctx context.Context, used string) error {
	c.mu.Lock()
	if c.tokens.AccessToken != used && c.tokens.AccessToken != "" {
		c.mu.Unlock()
		return nil
	}
	f := c.flight
	if f == nil {
		f = &refreshFlight{done: make(chan struct{})}
		c.flight = f
		refresh := c.tokens.RefreshToken
		c.mu.Unlock()
		go c.runRefresh(ctx, f, refresh)
	} else {
		c.mu.Unlock()
	}
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) runRefresh(ctx context.Context, f *refreshFlight, refresh string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if refresh == "" {
		f.err = ErrNoSession
	} else {
		_, f.err = c.RefreshTokens(ctx, refresh)
	}
	c.mu.Lock()
	c.flight = nil
	c.mu.Unlock()
	close(f.done)
}

// RefreshTokens exchanges refreshToken ("" for the one held) for a new
// pair, which the client then holds. The client refreshes by itself; call
// it only to refresh ahead of time. A refused refresh token
// (invalid_refresh_token, refresh_token_reused) ends the session held.
func (c *Client) RefreshTokens(ctx context.Context, refreshToken string) (*Tokens, error) {
	if refreshToken == "" {
		refreshToken = c.Tokens().RefreshToken
	}
	var out Tokens
	err := c.public(ctx, &call{method: http.MethodPost, path: "/v1/auth/refresh",
		body: RefreshTokenRequest{RefreshToken: refreshToken}, out: &out})
	if err != nil {
		var e *APIError
		if errors.As(err, &e) && e.Status == http.StatusUnauthorized {
			c.forget(refreshToken)
		}
		return nil, err
	}
	c.store(out)
	return &out, nil
}

// jwtExpiry reads the exp claim of a JWT without verifying it: the client
// only needs to know when to refresh.
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp == 0 {
		return time.Time{}, false
	}
	return time.Unix(claims.Exp, 0), true
}
