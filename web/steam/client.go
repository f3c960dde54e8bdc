// Package steam checks Steam Web API auth tickets with
// ISteamUserAuth/AuthenticateUserTicket. It implements
// auth.SteamAuthenticator and never puts the publisher key in an error.
package steam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/musterhq/muster/domain/auth"
)

// Defaults used by New when the Config leaves them unset.
const (
	DefaultBaseURL = "https://partner.steam-api.com"
	DefaultTimeout = 5 * time.Second
)

const (
	// Path is the Web API method the client calls, relative to BaseURL.
	Path = "/ISteamUserAuth/AuthenticateUserTicket/v1/"
	// MaxTicketHex is the longest ticket (in hex characters) accepted.
	MaxTicketHex = 2048
	// maxBody caps how much of Steam's answer is read.
	maxBody = 64 << 10
)

// Config configures a Client.
type Config struct {
	BaseURL  string        // Web API base; DefaultBaseURL when empty
	APIKey   string        // publisher Web API key (secret)
	AppID    string        // Steam app id the tickets are issued for
	Identity string        // identity passed to GetAuthTicketForWebApi; optional
	Timeout  time.Duration // per call; DefaultTimeout when <= 0
}

// Client checks auth tickets with Steam. It is safe for concurrent use.
type Client struct {
	cfg      Config
	hc       *http.Client
	endpoint string
}

var _ auth.SteamAuthenticator = (*Client)(nil)

// New returns a Client for cfg. If hc is nil, a client with cfg.Timeout and
// a connection pool sized for many concurrent logins is used. Every call is
// bounded by cfg.Timeout whatever hc is.
func New(cfg Config, hc *http.Client) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{Timeout: cfg.Timeout, Transport: tr}
	}
	return &Client{cfg: cfg, hc: hc, endpoint: strings.TrimRight(cfg.BaseURL, "/") + Path}
}

// response is Steam's answer: either params or error is set.
type response struct {
	Response struct {
		Params *struct {
			Result          string `json:"result"`
			SteamID         string `json:"steamid"`
			OwnerSteamID    string `json:"ownersteamid"`
			VACBanned       bool   `json:"vacbanned"`
			PublisherBanned bool   `json:"publisherbanned"`
		} `json:"params"`
		Error *struct {
			Code int    `json:"errorcode"`
			Desc string `json:"errordesc"`
		} `json:"error"`
	} `json:"response"`
}

// AuthenticateTicket asks Steam who owns ticketHex. Errors wrap
// auth.ErrSteamNotConfigured, auth.ErrSteamTicketInvalid or
// auth.ErrSteamUnavailable.
func (c *Client) AuthenticateTicket(ctx context.Context, ticketHex string) (auth.SteamTicket, error) {
	t, err := c.authenticate(ctx, ticketHex)
	if err != nil && c.cfg.APIKey != "" {
		// Belt and braces: no path above should quote the key, but a
		// transport error from a custom http.Client might.
		if msg := err.Error(); strings.Contains(msg, c.cfg.APIKey) || strings.Contains(msg, url.QueryEscape(c.cfg.APIKey)) {
			msg = strings.ReplaceAll(msg, c.cfg.APIKey, "REDACTED")
			msg = strings.ReplaceAll(msg, url.QueryEscape(c.cfg.APIKey), "REDACTED")
			err = &redactedError{msg: msg, err: err}
		}
	}
	return t, err
}

// redactedError hides the key in its message but keeps the chain for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (c *Client) authenticate(ctx context.Context, ticketHex string) (auth.SteamTicket, error) {
	if c.cfg.APIKey == "" || c.cfg.AppID == "" {
		return auth.SteamTicket{}, auth.ErrSteamNotConfigured
	}
	if err := checkTicket(ticketHex); err != nil {
		return auth.SteamTicket{}, fmt.Errorf("%w: %v", auth.ErrSteamTicketInvalid, err)
	}

	q := url.Values{"key": {c.cfg.APIKey}, "appid": {c.cfg.AppID}, "ticket": {ticketHex}}
	if c.cfg.Identity != "" {
		q.Set("identity", c.cfg.Identity)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"?"+q.Encode(), nil)
	if err != nil { // only a bad BaseURL gets here; the error quotes the URL
		return auth.SteamTicket{}, fmt.Errorf("%w: bad base URL", auth.ErrSteamUnavailable)
	}
	req.Header.Set("Accept", "application/json")

	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which holds the key: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return auth.SteamTicket{}, fmt.Errorf("%w: no answer in time: %w", auth.ErrSteamUnavailable, err)
		}
		return auth.SteamTicket{}, fmt.Errorf("%w: %w", auth.ErrSteamUnavailable, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // allow connection reuse
		_ = resp.Body.Close()
	}()

	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return auth.SteamTicket{}, fmt.Errorf("%w: steam refused the publisher Web API key or app id (HTTP %d)",
			auth.ErrSteamUnavailable, resp.StatusCode)
	default: // 429, 5xx and anything unexpected
		return auth.SteamTicket{}, fmt.Errorf("%w: HTTP %d", auth.ErrSteamUnavailable, resp.StatusCode)
	}

	var r response
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&r); err != nil {
		return auth.SteamTicket{}, fmt.Errorf("%w: unreadable answer: %w", auth.ErrSteamUnavailable, err)
	}
	if e := r.Response.Error; e != nil {
		return auth.SteamTicket{}, fmt.Errorf("%w: errorcode %d: %q", auth.ErrSteamTicketInvalid, e.Code, truncate(e.Desc, 200))
	}
	p := r.Response.Params
	if p == nil {
		return auth.SteamTicket{}, fmt.Errorf("%w: answer has neither params nor error", auth.ErrSteamUnavailable)
	}
	if p.Result != "OK" {
		return auth.SteamTicket{}, fmt.Errorf("%w: result %q", auth.ErrSteamTicketInvalid, truncate(p.Result, 50))
	}
	if p.OwnerSteamID == "" {
		p.OwnerSteamID = p.SteamID
	}
	if !isSteamID(p.SteamID) || !isSteamID(p.OwnerSteamID) {
		return auth.SteamTicket{}, fmt.Errorf("%w: missing or malformed steamid", auth.ErrSteamTicketInvalid)
	}
	return auth.SteamTicket{
		SteamID:         p.SteamID,
		OwnerSteamID:    p.OwnerSteamID,
		VACBanned:       p.VACBanned,
		PublisherBanned: p.PublisherBanned,
	}, nil
}

// checkTicket accepts a non-empty, even-length hex string of at most
// MaxTicketHex characters.
func checkTicket(t string) error {
	switch {
	case t == "":
		return errors.New("empty ticket")
	case len(t) > MaxTicketHex:
		return fmt.Errorf("ticket longer than %d hex characters", MaxTicketHex)
	case len(t)%2 != 0:
		return errors.New("ticket has odd length")
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return errors.New("ticket is not hex")
		}
	}
	return nil
}

// isSteamID reports whether s is a 17-digit SteamID64.
func isSteamID(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
