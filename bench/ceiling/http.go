//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/musterhq/muster/bench/loadgen"
	"github.com/musterhq/muster/web/steam"
	"github.com/musterhq/muster/web/steam/steamtest"
)

const (
	requestTimeout = 10 * time.Second
	startTimeout   = 30 * time.Second
	stopGrace      = 10 * time.Second

	// The fake Steam's players: ticket i belongs to Steam id
	// firstSteamID+i, as in bench/authload.
	steamPlayers = 1000
	ticketBytes  = 234
	firstSteamID = 76561198000000000
	steamKey     = "ceiling-steam-key"
	steamAppID   = "480"

	accessTTL = 15 * time.Minute
)

// runHTTP loads a serve-http child in mode (empty, sign or steam) with
// o.conns closed-loop keep-alive connections.
func runHTTP(ctx context.Context, mode string, o options) (res result, err error) {
	res = result{Experiment: "http-" + mode, Connections: o.conns, Unit: "requests"}
	procs := []procRef{{"ceiling", os.Getpid()}}
	var tickets []string
	var steamChild *child
	steamURL := ""
	if mode == "steam" {
		tickets = newTickets(steamPlayers, ticketBytes)
		dir, err := os.MkdirTemp("", "ceiling-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(dir)
		file := filepath.Join(dir, "tickets")
		if err := os.WriteFile(file, []byte(strings.Join(tickets, "\n")+"\n"), 0o600); err != nil {
			return res, err
		}
		steamChild, err = startChild("fake-steam", "-tickets", file, "-key", steamKey, "-app-id", steamAppID)
		if err != nil {
			return res, err
		}
		defer stopInto(steamChild, &err)
		if steamURL, err = steamChild.line(startTimeout); err != nil {
			return res, err
		}
		if u, perr := url.Parse(steamURL); perr != nil || !loadgen.LoopbackAddr(u.Host) {
			return res, fmt.Errorf("fake steam answered a non-loopback URL %q", steamURL)
		}
	}

	srv, err := startChild("serve-http", "-mode", mode, "-addr", o.addr, "-steam", steamURL, "-conns", strconv.Itoa(o.conns))
	if err != nil {
		return res, err
	}
	defer stopInto(srv, &err)
	addr, err := srv.line(startTimeout)
	if err != nil {
		return res, err
	}
	if !loadgen.LoopbackAddr(addr) {
		return res, fmt.Errorf("server answered a non-loopback address %q", addr)
	}
	procs = append(procs, procRef{"server", srv.pid})
	if steamChild != nil {
		procs = append(procs, procRef{"fake steam", steamChild.pid})
	}

	var bodies [][]byte
	if mode == "steam" {
		for _, t := range tickets {
			bodies = append(bodies, []byte(`{"ticket":"`+t+`"}`))
		}
	} else {
		for range o.conns {
			bodies = append(bodies, []byte(`{"refresh_token":"`+randomHex(32)+`"}`))
		}
	}
	var dialled atomic.Int64
	client := loadgen.NewClient(o.conns, requestTimeout, &dialled)
	defer client.CloseIdleConnections()
	target := "http://" + addr + "/"
	wantToken := mode != "empty"

	begin := time.Now()
	measureFrom := begin.Add(o.warmup)
	until := measureFrom.Add(o.dur)
	var next atomic.Int64
	workers := make([]httpWorker, o.conns)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		wg.Go(func() {
			w.loop(ctx, client, target, bodies, &next, wantToken, measureFrom, until)
		})
	}

	var cpu0 cpuSample
	var steam0 counters
	sleepUntil(ctx, measureFrom)
	cpu0 = sampleCPU(procs)
	if steamChild != nil {
		if steam0, err = steamChild.sample(); err != nil {
			return res, err
		}
	}
	wg.Wait()
	end := time.Now()
	res.CPU = sampleCPU(procs).since(cpu0)
	if steamChild != nil {
		steam1, err := steamChild.sample()
		if err != nil {
			return res, err
		}
		res.SteamCalls = steam1.Count - steam0.Count
	}
	if ctx.Err() != nil {
		return res, errors.New("interrupted")
	}

	var all loadgen.Histogram
	for i := range workers {
		w := &workers[i]
		all.Merge(&w.hist)
		res.Errors += w.errors
		if res.FirstError == "" && w.firstErr != nil {
			res.FirstError = w.firstErr.Error()
		}
	}
	if n := dialled.Load(); n > int64(o.conns) {
		res.Errors++
		if res.FirstError == "" {
			res.FirstError = fmt.Sprintf("dialled %d connections for %d workers: keep-alive broke", n, o.conns)
		}
	}
	res.Seconds = end.Sub(measureFrom).Seconds()
	res.Count = all.Count
	res.Rate = float64(all.Count) / res.Seconds
	ms := loadgen.MS
	res.P50, res.P90, res.P99, res.Max = ms(all.Quantile(0.50)), ms(all.Quantile(0.90)), ms(all.Quantile(0.99)), ms(all.Max)
	return res, nil
}

// stopInto stops c and keeps its error in *err unless there is one.
func stopInto(c *child, err *error) {
	if e := c.stop(stopGrace); e != nil && *err == nil {
		*err = e
	}
}

// sleepUntil sleeps until t or until ctx is done.
func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// httpWorker is one connection's closed loop and its own counters.
type httpWorker struct {
	hist     loadgen.Histogram
	errors   int64
	firstErr error
	buf      bytes.Buffer
}

// loop posts bodies back to back until until; requests started from
// measureFrom on are counted.
func (w *httpWorker) loop(ctx context.Context, c *http.Client, target string, bodies [][]byte, next *atomic.Int64, wantToken bool, measureFrom, until time.Time) {
	for ctx.Err() == nil {
		start := time.Now()
		if !start.Before(until) {
			return
		}
		body := bodies[int((next.Add(1)-1)%int64(len(bodies)))]
		err := w.post(ctx, c, target, body, wantToken)
		if start.Before(measureFrom) || ctx.Err() != nil {
			continue
		}
		w.hist.Record(time.Since(start))
		if err != nil {
			w.errors++
			if w.firstErr == nil {
				w.firstErr = err
			}
		}
	}
}

var tokenField = []byte(`"access_token":"ey`)

func (w *httpWorker) post(ctx context.Context, c *http.Client, target string, body []byte, wantToken bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	w.buf.Reset()
	if _, err := w.buf.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, w.buf.Bytes())
	}
	if wantToken && !bytes.Contains(w.buf.Bytes(), tokenField) {
		return fmt.Errorf("answer without an access token: %.200s", w.buf.Bytes())
	}
	return nil
}

// serveHTTP is the serve-http child: a fiber v2 server on a loopback
// address, POST / only.
func serveHTTP(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("serve-http", flag.ContinueOnError)
	mode := fs.String("mode", "empty", "empty, sign or steam")
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	steamURL := fs.String("steam", "", "fake Steam base URL (mode steam)")
	conns := fs.Int("conns", 64, "connections to the fake Steam at most")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !loadgen.LoopbackAddr(*addr) {
		return fmt.Errorf("refusing non-loopback address %q", *addr)
	}

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	is := &issuer{key: priv, kid: randomHex(8)}
	var failed atomic.Int64
	var first firstError
	fail := func(c *fiber.Ctx, status int, err error) error {
		failed.Add(1)
		first.set(err)
		return c.Status(status).JSON(fiber.Map{"error": err.Error()})
	}

	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 8192})
	switch *mode {
	case "empty":
		answer := []byte(`{"ok":true}`)
		app.Post("/", func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			return c.Send(answer)
		})
	case "sign":
		app.Post("/", func(c *fiber.Ctx) error {
			var body struct {
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal(c.Body(), &body); err != nil || len(body.RefreshToken) != 64 {
				return fail(c, fiber.StatusBadRequest, fmt.Errorf("bad body: %v", err))
			}
			a, err := is.issue("0b7c5d3e-8f4a-4c1e-9d2b-6a5f4e3d2c1b")
			if err != nil {
				return fail(c, fiber.StatusInternalServerError, err)
			}
			return c.JSON(a)
		})
	case "steam":
		if *steamURL == "" {
			return errors.New("mode steam needs -steam")
		}
		sc := steam.New(steam.Config{BaseURL: *steamURL, APIKey: steamKey, AppID: steamAppID, Timeout: 5 * time.Second},
			loadgen.NewClient(*conns, 5*time.Second, nil))
		app.Post("/", func(c *fiber.Ctx) error {
			var body struct {
				Ticket string `json:"ticket"`
			}
			if err := json.Unmarshal(c.Body(), &body); err != nil {
				return fail(c, fiber.StatusBadRequest, fmt.Errorf("bad body: %v", err))
			}
			t, err := sc.AuthenticateTicket(c.UserContext(), body.Ticket)
			if err != nil {
				return fail(c, fiber.StatusBadGateway, err)
			}
			a, err := is.issue(t.SteamID)
			if err != nil {
				return fail(c, fiber.StatusInternalServerError, err)
			}
			return c.JSON(a)
		})
	default:
		return fmt.Errorf("unknown -mode %q", *mode)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	fmt.Fprintln(out, ln.Addr().String())
	err = answerSamples(in, out, func() counters {
		return counters{Errors: failed.Load(), FirstError: first.String()}
	})
	if serr := app.ShutdownWithTimeout(5 * time.Second); serr != nil && err == nil {
		err = serr
	}
	if serr := <-served; serr != nil && err == nil {
		err = serr
	}
	return err
}

// issuer signs access tokens as Muster's session package does: EdDSA with
// a kid header, issuer, audience, subject, session and account ids.
type issuer struct {
	key ed25519.PrivateKey
	kid string
}

type accessClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	AccountID string `json:"acc"`
}

// answer is a refresh answer.
type answer struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	ExpiresAt    time.Time `json:"expires_at"`
	RefreshToken string    `json:"refresh_token"`
}

func (is *issuer) issue(subject string) (answer, error) {
	now := time.Now()
	c := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "muster", Audience: jwt.ClaimStrings{"muster"}, Subject: subject,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(accessTTL)),
		},
		SessionID: uuid.NewString(),
		AccountID: subject,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = is.kid
	tok, err := t.SignedString(is.key)
	if err != nil {
		return answer{}, fmt.Errorf("sign: %w", err)
	}
	return answer{AccessToken: tok, TokenType: "Bearer", ExpiresAt: c.ExpiresAt.Time, RefreshToken: randomHex(32)}, nil
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// newTickets makes n distinct random Steam tickets of size bytes, in hex.
func newTickets(n, size int) []string {
	out := make([]string, 0, n)
	seen := make(map[string]bool, n)
	for len(out) < n {
		t := randomHex(size)
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// serveFakeSteam is the fake-steam child: steamtest's fake on a loopback
// port with one player per ticket of -tickets. Its samples count the
// requests it answered.
func serveFakeSteam(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("fake-steam", flag.ContinueOnError)
	file := fs.String("tickets", "", "file of hex tickets, one a line")
	key := fs.String("key", "", "API key to accept")
	appID := fs.String("app-id", "", "app id to accept")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	s := steamtest.Start(*key, *appID)
	defer s.Close()
	for i, t := range strings.Fields(string(b)) {
		s.AddTicket(t, steamtest.Player{SteamID: strconv.FormatInt(firstSteamID+int64(i), 10)})
	}
	fmt.Fprintln(out, s.URL())
	return answerSamples(in, out, func() counters { return counters{Count: int64(s.Requests())} })
}
