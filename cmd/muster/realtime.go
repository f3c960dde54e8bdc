package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/realtime"
)

// initRealtime opens the realtime gateway's TCP listener, serves the same
// protocol over WebSocket at /v1/realtime, and the notification REST
// routes. The gateway follows published notifications
// and, on shutdown, tells its clients to reconnect elsewhere.
func initRealtime(p *platform) error {
	gw := realtime.New(realtime.Config{
		Heartbeat: p.cfg.RealtimeHeartbeat, IdleTimeout: p.cfg.RealtimeIdleTimeout, ResumeWindow: p.cfg.RealtimeResumeWindow,
		SendQueue: p.cfg.RealtimeSendQueue,
	}, realtime.Deps{Verify: p.tokens, Notes: realtime.StoredNotes{Store: p.meta.notify}, Resumes: p.state, Log: p.log})
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
