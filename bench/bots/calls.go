package bots

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/musterhq/muster/sdk/go/muster"
)

// The bots' REST calls, through the Go SDK (sdk/go/muster): a player's
// calls go to the process serving each call's target, with one client per
// process sharing the player's session; the simulated servers use the
// SDK's server client. The SDK's retries are off: a load test reports every
// failed attempt instead of hiding it.

type (
	wallet  = muster.Wallet
	line    = muster.LedgerLine
	listing = muster.Listing
	order   = muster.Order
	gift    = muster.Gift
)

// noRetry makes each call one attempt.
var noRetry = muster.WithRetryPolicy(muster.RetryPolicy{MaxAttempts: 1})

// api is one player's REST clients.
type api struct {
	by     map[string]*muster.Client // target -> the client of the process serving it
	auth   *muster.Client            // logs in and refreshes; the others follow its tokens
	others []*muster.Client
	http   *http.Client
	hook   string // the store target's Stripe webhook URL
}

func (r *runner) playerAPI(b *bot) *api {
	t := r.cfg.Targets
	a := &api{by: map[string]*muster.Client{}, http: b.http, hook: t.URL("store") + "/v1/stripe/webhook"}
	ua := muster.WithUserAgent("muster-bots/" + r.runID)
	follow := muster.WithOnTokens(func(tk muster.Tokens) {
		for _, o := range a.others {
			o.SetTokens(tk)
		}
	})
	a.auth = muster.NewClient(t.URL("auth"), muster.WithHTTPClient(b.http), ua, noRetry, follow,
		muster.WithRefreshBefore(2*time.Minute))
	byURL := map[string]*muster.Client{t.URL("auth"): a.auth}
	for _, s := range Services {
		u := t.URL(s)
		c := byURL[u]
		if c == nil {
			c = muster.NewClient(u, muster.WithHTTPClient(b.http), ua, noRetry)
			byURL[u] = c
			a.others = append(a.others, c)
		}
		a.by[s] = c
	}
	return a
}

// to is the client of target's process.
func (a *api) to(target string) *muster.Client { return a.by[target] }

// apiCode is the error code of an SDK error answer, "" for other errors.
func apiCode(err error) string {
	var ae *muster.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// login opens the player's session. A player who kept their session from
// an earlier run (--sessions) refreshes it, as a game client that stays
// logged in does. Otherwise they log in, registering the account when it
// does not exist yet: every password check costs the platform a bcrypt
// hash, so each player tries first what the run's first player found (the
// accounts exist, an earlier run: log in; or not: register) and falls back
// to the other.
func (b *bot) login(ctx context.Context) error {
	if tok := b.r.saved[b.email]; tok != "" {
		if b.resume(ctx, tok) == nil {
			return nil
		}
	}
	first := b.r.accounts.probe()
	if !first {
		select {
		case <-b.r.accounts.probed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	sc := b.r.sc.Accounts
	var l *muster.Login
	login := func() error {
		return b.queued(ctx, func() error {
			return b.timed("loginEmail", func() error {
				var err error
				l, err = b.api.auth.LoginEmail(ctx, muster.LoginRequest{Email: b.email, Password: sc.Password})
				return err
			}, "invalid_credentials", "auth_busy")
		})
	}
	register := func() error {
		err := b.queued(ctx, func() error {
			return b.timed("register", func() error {
				var err error
				l, err = b.api.auth.Register(ctx, muster.RegisterRequest{Email: b.email, Password: sc.Password, DisplayName: b.name})
				return err
			}, "email_taken", "auth_busy")
		})
		if err == nil {
			b.r.m.registered.Add(1)
		}
		return err
	}
	var err error
	if first || b.r.accounts.exist.Load() {
		if err = login(); apiCode(err) == "invalid_credentials" {
			err = register()
		}
	} else if err = register(); apiCode(err) == "email_taken" {
		err = login()
	}
	if first {
		b.r.accounts.exist.Store(err == nil && b.r.m.registered.Load() == 0)
		close(b.r.accounts.probed)
	}
	if err != nil {
		return err
	}
	b.r.m.gotIn(time.Since(b.started))
	b.id = l.Player.ID
	b.r.players.Store(b.id, b)
	for _, o := range b.api.others {
		o.SetTokens(l.Tokens)
	}
	return nil
}

// queued makes a password call (a login, a registration) again while the
// platform turns it away as busy (503 auth_busy, after the SDK's own
// retries), as a game client's login queue does. A player still queued
// when the run's time is up keeps trying in the drain, as one whose call
// was waiting in the platform would still be answered.
func (b *bot) queued(ctx context.Context, call func() error) error {
	for {
		err := call()
		if apiCode(err) != "auth_busy" {
			return err
		}
		if !sleep(ctx, time.Second+time.Duration(b.rng.Int64N(int64(2*time.Second)))) {
			return err
		}
	}
}

// resume refreshes a kept session and reads who the player is. A refresh
// token the platform no longer takes (expired, or rotated by a run that
// did not save its tokens) sends the player to the password.
func (b *bot) resume(ctx context.Context, refresh string) error {
	err := b.timed("refreshTokens", func() error {
		_, err := b.api.auth.RefreshTokens(ctx, refresh)
		return err
	}, "invalid_refresh_token", "refresh_token_reused")
	if err != nil {
		return err
	}
	var me *muster.Player
	if err := b.timed("getMe", func() error {
		var err error
		me, err = b.api.auth.GetMe(ctx)
		return err
	}); err != nil {
		return err
	}
	b.r.m.gotIn(time.Since(b.started))
	b.id = me.ID
	b.r.players.Store(b.id, b)
	for _, o := range b.api.others {
		o.SetTokens(b.api.auth.Tokens())
	}
	return nil
}

// accounts is what the run's first login found.
type accounts struct {
	first  sync.Once
	probed chan struct{} // closed once the first player logged in or registered
	exist  atomic.Bool   // the first player's account existed
}

// probe says whether the caller makes the run's first login.
func (a *accounts) probe() bool {
	first := false
	a.first.Do(func() { first = true })
	return first
}

func (a *api) wallets(ctx context.Context) ([]wallet, error) {
	w, err := a.to("inventory").ListWallets(ctx)
	if err != nil {
		return nil, err
	}
	return w.Wallets, nil
}

func (a *api) walletHistory(ctx context.Context, currency string, before int64) ([]line, *int64, error) {
	p, err := a.to("inventory").WalletHistory(ctx, currency, muster.PageParams{Before: before, Limit: 200})
	if err != nil {
		return nil, nil, err
	}
	return p.History, p.Next, nil
}

// inventory is what the player holds, by item (every page).
func (a *api) inventory(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	after := ""
	for {
		p, err := a.to("inventory").ListInventory(ctx, muster.ListInventoryParams{After: after})
		if err != nil {
			return nil, err
		}
		for _, e := range p.Items {
			out[e.ItemID] += e.Quantity
		}
		if p.Next == nil || *p.Next == "" {
			return out, nil
		}
		after = *p.Next
	}
}

func (a *api) progression(ctx context.Context) (int64, error) {
	p, err := a.to("progression").GetProgression(ctx)
	if err != nil {
		return 0, err
	}
	return p.TotalXP, nil
}

func (a *api) battlePass(ctx context.Context) (int, error) {
	p, err := a.to("progression").GetBattlePass(ctx, "")
	if err != nil {
		return 0, err
	}
	return p.Tier, nil
}

func (b *bot) requestFriend(ctx context.Context, id string) (string, error) {
	var f *muster.Friend
	err := b.timed("requestFriend", func() error {
		var err error
		f, err = b.api.to("realtime").RequestFriend(ctx, muster.PlayerRef{PlayerID: id})
		return err
	})
	if err != nil {
		return "", err
	}
	return f.State, nil
}

func (b *bot) acceptFriend(ctx context.Context, id string) error {
	return b.timed("acceptFriend", func() error {
		_, err := b.api.to("realtime").AcceptFriend(ctx, id)
		return err
	})
}

func (a *api) storefront(ctx context.Context) ([]listing, error) {
	s, err := a.to("store").GetStorefront(ctx, "")
	if err != nil {
		return nil, err
	}
	return s.Products, nil
}

func (a *api) buy(ctx context.Context, product, key string) (order, error) {
	o, err := a.to("store").BuyProduct(muster.WithIdempotencyKey(ctx, key), muster.OrderRequest{ProductID: product})
	if err != nil {
		return order{}, err
	}
	return *o, nil
}

func (a *api) checkout(ctx context.Context, product, key string) (order, error) {
	c, err := a.to("store").CreateCheckout(muster.WithIdempotencyKey(ctx, key), muster.OrderRequest{ProductID: product})
	if err != nil {
		return order{}, err
	}
	return c.Order, nil
}

func (a *api) order(ctx context.Context, id string) (order, error) {
	o, err := a.to("store").GetOrder(ctx, id)
	if err != nil {
		return order{}, err
	}
	return *o, nil
}

// webhook delivers a Stripe event to the store target. Stripe, not a
// player, makes this call, so it is not in the player SDK: it is posted
// here as Stripe posts it.
func (a *api) webhook(ctx context.Context, body []byte, signature string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.hook, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signature)
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return flowErr(fmt.Sprintf("webhook_%d", resp.StatusCode), "the Stripe webhook answered %d: %s", resp.StatusCode, raw)
	}
	return nil
}

func (a *api) sendGift(ctx context.Context, to, item string) error {
	_, err := a.to("inventory").SendGift(ctx, muster.GiftRequest{To: to, Items: []muster.ItemLine{{ItemID: item, Quantity: 1}}})
	return err
}

// gifts are the player's incoming gifts.
func (a *api) gifts(ctx context.Context) ([]gift, error) {
	l, err := a.to("inventory").ListGifts(ctx)
	if err != nil {
		return nil, err
	}
	return l.Incoming, nil
}

func (a *api) acceptGift(ctx context.Context, id int64) error {
	_, err := a.to("inventory").AcceptGift(ctx, id)
	return err
}

func (a *api) declineGift(ctx context.Context, id int64) error {
	_, err := a.to("inventory").DeclineGift(ctx, id)
	return err
}

// serverAPI is a simulated game server's calls.
type serverAPI struct {
	sessions, progression *muster.ServerClient
}

func (r *runner) serverAPI() *serverAPI {
	t := r.cfg.Targets
	hc := r.clients.server()
	ua := muster.WithUserAgent("muster-bots-server/" + r.runID)
	return &serverAPI{
		sessions:    muster.NewServerClient(t.URL("sessions"), r.cfg.ServerCredential, muster.WithHTTPClient(hc), ua, noRetry),
		progression: muster.NewServerClient(t.URL("progression"), r.cfg.ServerCredential, muster.WithHTTPClient(hc), ua, noRetry),
	}
}

func (s *serverAPI) register(ctx context.Context, fleet, region, addr string, capacity int, run string) (*muster.Instance, error) {
	version := "muster-bots"
	return s.sessions.RegisterInstance(ctx, muster.RegisterInstanceRequest{Fleet: fleet, Region: region, Address: addr,
		Capacity: &capacity, Version: &version, Labels: map[string]string{"run": run}})
}

func (s *serverAPI) heartbeat(ctx context.Context, id int64) ([]string, error) {
	hb, err := s.sessions.HeartbeatInstance(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(hb.Matches))
	for i, m := range hb.Matches {
		out[i] = m.MatchID
	}
	return out, nil
}

func (s *serverAPI) deregister(ctx context.Context, id int64) error {
	return s.sessions.DeregisterInstance(ctx, id)
}

// allocation is a match's roster: player -> team.
func (s *serverAPI) allocation(ctx context.Context, matchID string) (map[string]int, error) {
	a, err := s.sessions.GetAllocation(ctx, matchID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(a.Players))
	for _, p := range a.Players {
		out[p.PlayerID] = p.Team
	}
	return out, nil
}

func (s *serverAPI) players(ctx context.Context, matchID string, joined []string) error {
	_, err := s.sessions.ReportAllocationPlayers(ctx, matchID, muster.AllocationPlayersRequest{Joined: joined})
	return err
}

func (s *serverAPI) result(ctx context.Context, matchID string, lines []resultLine) (string, error) {
	req := muster.MatchResultRequest{Players: make([]muster.MatchResultRequestPlayer, len(lines))}
	for i, l := range lines {
		req.Players[i] = muster.MatchResultRequestPlayer{PlayerID: l.PlayerID, Team: l.Team, Placement: l.Placement, Stats: l.Stats}
	}
	rc, err := s.progression.ReportMatch(ctx, matchID, req)
	if err != nil {
		return "", err
	}
	return rc.Status, nil
}

func (s *serverAPI) end(ctx context.Context, matchID string) error {
	_, err := s.sessions.EndAllocation(ctx, matchID, muster.EndAllocationRequest{})
	return err
}
