package muster

import (
	"context"
	"time"

	"github.com/musterhq/muster/realtime/protocol/pb"
)

// Dial connects the player's realtime socket to the gateway at addr with
// a fresh access token, and keeps the connection's token fresh (sending
// RefreshToken before it expires) while the socket lives.
func (c *Client) Dial(ctx context.Context, addr string, o SocketOptions) (*Socket, error) {
	tok, err := c.AccessToken(ctx)
	if err != nil {
		return nil, err
	}
	o.AccessToken = tok
	s, err := Dial(ctx, addr, o)
	if err != nil {
		return nil, err
	}
	go c.keepFresh(s, tok)
	return s, nil
}

// Resume dials again after old dropped (or was told to Reconnect),
// resuming its session: the server sends what was missed after
// old.LastSeq(). When the resume window has passed a new session starts
// (Welcome().Resumed is false); fetch missed notifications over REST then.
func (c *Client) Resume(ctx context.Context, addr string, old *Socket, o SocketOptions) (*Socket, error) {
	o.ResumeToken, o.LastSeq = old.ResumeToken(), old.LastSeq()
	return c.Dial(ctx, addr, o)
}

// keepFresh sends the socket a new access token shortly before the one it
// holds expires, until the socket ends.
func (c *Client) keepFresh(s *Socket, tok string) {
	for {
		exp, ok := jwtExpiry(tok)
		if !ok {
			return
		}
		wait := exp.Sub(c.now()) - c.margin()
		t := time.NewTimer(max(wait, time.Second))
		select {
		case <-s.Done():
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		next, err := c.AccessToken(ctx)
		if err == nil && next == tok {
			// Not due yet by the client's clock: force the refresh.
			if err = c.refreshAfter(ctx, tok); err == nil {
				next, err = c.AccessToken(ctx)
			}
		}
		if err == nil {
			_, err = s.Call(ctx, &pb.RefreshToken{AccessToken: next})
		}
		cancel()
		if err != nil {
			return // the socket ends when its token does; Resume then
		}
		tok = next
	}
}
