package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/realtime"
)

// initRealtime opens the realtime gateway's TCP listener, serves the same
// protocol over WebSocket at /v1/realtime, and the notification and friend
// REST routes. The gateway follows published notifications
// and, on shutdown, tells its clients to reconnect elsewhere.
func initRealtime(p *platform) error {
	gw := realtime.New(realtime.Config{
		Heartbeat: p.cfg.RealtimeHeartbeat, IdleTimeout: p.cfg.RealtimeIdleTimeout, ResumeWindow: p.cfg.RealtimeResumeWindow,
		SendQueue: p.cfg.RealtimeSendQueue,
	}, realtime.Deps{Verify: p.tokens, Notes: realtime.StoredNotes{Store: p.meta.notify}, Resumes: p.state, Log: p.log,
		Friends: p.meta.friends, Limiter: p.state, FriendWrites: realtime.Rate(p.cfg.RateFriends),
		Presence: p.meta.presence, Parties: p.meta.parties, Matchmaking: p.meta.matchmaking, Tracing: p.tracerProvider(), Metrics: p.reg})
	ln, err := net.Listen("tcp", p.cfg.RealtimeAddr)
	if err != nil {
		return fmt.Errorf("realtime-addr %s: %w", p.cfg.RealtimeAddr, err)
	}
	if p.cfg.RealtimeTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(p.cfg.RealtimeTLSCert, p.cfg.RealtimeTLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("realtime-tls-cert: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	p.closers = append(p.closers, ln.Close)
	api.MountNotifications(p.public, api.Notifications{Store: p.meta.notify, Verifier: p.tokens})
	api.MountFriends(p.public, api.Friends{Store: p.meta.friends, Verifier: p.tokens, Presence: friendPresence(p.meta.presence),
		Limiter: p.state, WriteLimit: auth.Rule(p.cfg.RateFriends), Log: p.log})
	api.MountParties(p.public, api.Parties{Service: p.meta.parties, Verifier: p.tokens,
		Limiter: p.state, WriteLimit: auth.Rule(p.cfg.RateFriends), Log: p.log})
	gw.MountWebSocket(p.public, "/v1/realtime")
	p.runners = append(p.runners, runner{name: "realtime gateway", run: func(ctx context.Context) error {
		p.log.Info("realtime gateway listening", "realtime_addr", ln.Addr().String(), "tls", p.cfg.RealtimeTLSCert != "")
		served := make(chan error, 1)
		go func() { served <- gw.Serve(ln) }()
		followed := make(chan error, 1)
		go func() { followed <- gw.Follow(ctx, p.state) }()
		select {
		case err := <-served:
			return err
		case err := <-followed:
			if err != nil {
				return fmt.Errorf("follow notifications: %w", err)
			}
		case <-ctx.Done():
		}
		// Shutting down: no new connections; every client is told to
		// reconnect (to another node) within the drain spread, and what is
		// left is closed before the shutdown timeout.
		_ = ln.Close()
		drainCtx, cancel := context.WithTimeout(context.Background(), max(p.cfg.ShutdownTimeout/2, time.Second))
		defer cancel()
		gw.Drain(drainCtx, p.cfg.RealtimeDrainSpread)
		return nil
	}})
	return nil
}

// friendPresence answers the friend list's presence from the tracker.
func friendPresence(t *presence.Tracker) func(context.Context, []int64) (map[int64]api.PresenceView, error) {
	return func(ctx context.Context, ids []int64) (map[int64]api.PresenceView, error) {
		seen, err := t.Lookup(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[int64]api.PresenceView, len(seen))
		for id, v := range seen {
			pv := api.PresenceView{Status: string(v.Status), Text: v.Text}
			if v.Status != presence.Offline {
				since := v.Since
				pv.Since = &since
			}
			out[id] = pv
		}
		return out, nil
	}
}
