package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/web"
)

type testApp struct {
	app    *fiber.App
	health *web.Health
	logs   *bytes.Buffer
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := web.NewRegistry()
	app := web.New(web.Config{BodyLimit: 1024, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}, log, web.NewMetrics(reg))
	h := web.NewHealth(time.Second)
	web.MountOps(app, h, reg)
	type item struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	app.Post("/v1/items", func(c *fiber.Ctx) error {
		var in item
		if err := web.Decode(c, &in); err != nil {
			return err
		}
		return c.Status(http.StatusCreated).JSON(in)
	})
	app.Get("/v1/items/:id", func(c *fiber.Ctx) error { return c.SendString(c.Params("id")) })
	app.Get("/v1/panic", func(c *fiber.Ctx) error { panic("boom") })
	app.Get("/v1/fail", func(c *fiber.Ctx) error { return errors.New("db password=hunter2 broke") })
	app.Get("/v1/conflict", func(c *fiber.Ctx) error {
		return web.NewError(http.StatusConflict, web.CodeConflict, "name taken")
	})
	return &testApp{app: app, health: h, logs: logs}
}

func (a *testApp) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := a.app.Test(req, 5000)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var shape struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &shape); err != nil || shape.Error.Code == "" || shape.Error.Message == "" {
		t.Fatalf("body is not the error shape: %s", body)
	}
	return shape.Error.Code
}

func TestErrorsUseOneShape(t *testing.T) {
	a := newTestApp(t)
	post := func(ct, body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/v1/items", strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		return r
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"unknown route", httptest.NewRequest(http.MethodGet, "/v1/nope", nil), 404, web.CodeNotFound},
		{"wrong method", httptest.NewRequest(http.MethodDelete, "/v1/items", nil), 405, web.CodeMethodNotAllowed},
		{"panic", httptest.NewRequest(http.MethodGet, "/v1/panic", nil), 500, web.CodeInternal},
		{"plain error", httptest.NewRequest(http.MethodGet, "/v1/fail", nil), 500, web.CodeInternal},
		{"domain error", httptest.NewRequest(http.MethodGet, "/v1/conflict", nil), 409, web.CodeConflict},
		{"malformed json", post("application/json", `{"name":`), 400, web.CodeInvalidJSON},
		{"syntax error", post("application/json", `{"name" "x"}`), 400, web.CodeInvalidJSON},
		{"unknown field", post("application/json", `{"name":"x","admin":true}`), 400, web.CodeUnknownField},
		{"wrong type", post("application/json", `{"count":"many"}`), 400, web.CodeInvalidJSON},
		{"two values", post("application/json", `{"name":"x"}{"name":"y"}`), 400, web.CodeInvalidJSON},
		{"empty body", post("application/json", ``), 400, web.CodeInvalidJSON},
		{"not json", post("text/plain", `{"name":"x"}`), 415, web.CodeUnsupportedMedia},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := a.do(t, tt.req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			if got := errorCode(t, body); got != tt.code {
				t.Fatalf("code = %q, want %q", got, tt.code)
			}
			if strings.Contains(string(body), "hunter2") || strings.Contains(string(body), "boom") {
				t.Fatalf("internal detail leaked to the client: %s", body)
			}
		})
	}

	resp, body := a.do(t, post("application/json; charset=utf-8", `{"name":"x","count":2}`))
	if resp.StatusCode != 201 || !strings.Contains(string(body), `"count":2`) {
		t.Fatalf("valid body: %d %s", resp.StatusCode, body)
	}
	if n := strings.Count(a.logs.String(), `"stack"`); n != 1 {
		t.Fatalf("panic stack logged %d times, want once", n)
	}
}

func TestRequestIDAcceptedOrGenerated(t *testing.T) {
	a := newTestApp(t)
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	req.Header.Set(web.HeaderRequestID, "edge-42.abc")
	resp, _ := a.do(t, req)
	if got := resp.Header.Get(web.HeaderRequestID); got != "edge-42.abc" {
		t.Fatalf("echoed id = %q", got)
	}
	for _, bad := range []string{"", "has space", "new\nline", strings.Repeat("a", 200)} {
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		if bad != "" {
			req.Header.Set(web.HeaderRequestID, bad)
		}
		resp, _ := a.do(t, req)
		got := resp.Header.Get(web.HeaderRequestID)
		if got == "" || got == bad || len(got) != 24 {
			t.Fatalf("for %q got id %q, want a generated one", bad, got)
		}
	}
	if !strings.Contains(a.logs.String(), `"req_id":"edge-42.abc"`) {
		t.Fatalf("request log lacks the request id: %s", a.logs.String())
	}
}

func TestReadyzFollowsChecksAndDraining(t *testing.T) {
	a := newTestApp(t)
	ready := func() (int, string) {
		resp, body := a.do(t, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return resp.StatusCode, string(body)
	}
	if st, body := ready(); st != 200 {
		t.Fatalf("readyz with no checks = %d %s", st, body)
	}
	var failing error
	a.health.AddCheck("database", func(ctx context.Context) error { return failing })
	failing = errors.New("connection refused")
	if st, body := ready(); st != 503 || !strings.Contains(body, "database") {
		t.Fatalf("readyz with failing check = %d %s", st, body)
	}
	failing = nil
	if st, _ := ready(); st != 200 {
		t.Fatalf("readyz after recovery = %d", st)
	}
	a.health.Drain()
	if st, body := ready(); st != 503 || !strings.Contains(body, "draining") {
		t.Fatalf("readyz while draining = %d %s", st, body)
	}
	resp, _ := a.do(t, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if resp.StatusCode != 200 {
		t.Fatalf("healthz while draining = %d", resp.StatusCode)
	}
}

func TestMetricsByRouteMethodStatus(t *testing.T) {
	a := newTestApp(t)
	a.do(t, httptest.NewRequest(http.MethodGet, "/v1/items/abc", nil))
	a.do(t, httptest.NewRequest(http.MethodGet, "/v1/items/def", nil))
	a.do(t, httptest.NewRequest(http.MethodGet, "/no/such/thing", nil))
	_, body := a.do(t, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	text := string(body)
	for _, want := range []string{
		`muster_http_requests_total{method="GET",route="/v1/items/:id",status="200"} 2`,
		`muster_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`muster_http_request_duration_seconds_bucket{method="GET",route="/v1/items/:id",status="200",le="+Inf"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "/v1/items/abc") {
		t.Error("metrics carry a raw path instead of the route pattern")
	}
}

// The body limit is enforced by the server before routing, so it is checked
// over a real listener rather than app.Test.
func TestOversizedBodyOverTheWire(t *testing.T) {
	a := newTestApp(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.app.Listener(ln) }()
	t.Cleanup(func() { _ = a.app.Shutdown() })
	body := `{"name":"` + strings.Repeat("x", 4096) + `"}`
	resp, err := http.Post("http://"+ln.Addr().String()+"/v1/items", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d (%s)", resp.StatusCode, got)
	}
	if code := errorCode(t, got); code != web.CodeBodyTooLarge {
		t.Fatalf("code = %q", code)
	}
}

// Without trusted proxies, X-Forwarded-For is not believed: a client cannot
// pick the address its rate limits are counted under.
func TestProxyHeaderIgnoredWithoutTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		trusted []string
		want    string
	}{{nil, "0.0.0.0"}, {[]string{"0.0.0.0"}, "203.0.113.9"}} {
		app := web.New(web.Config{BodyLimit: 1024, ProxyHeader: "X-Forwarded-For", TrustedProxies: tc.trusted},
			slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		app.Get("/ip", func(c *fiber.Ctx) error { return c.SendString(c.IP()) })
		req := httptest.NewRequest(http.MethodGet, "/ip", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != tc.want {
			t.Errorf("trusted %v: client address %q, want %q", tc.trusted, body, tc.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":            "plain",
		"a\x00b":           "ab",
		"line\nbreak\ttab": "line\nbreak\ttab",
		"bad \xff utf8":    "bad \uFFFD utf8",
		"ééééé":            "éé", // 5 bytes max: never half a character
	} {
		max := 100
		if in == "ééééé" {
			max = 5
		}
		if got := web.CleanText(in, max); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
}

// Label values outlive the request: fasthttp reuses a connection's buffers
// for its next request, so a label taken from them unchanged would change
// under the metric (a GET counted as "POS"), and /metrics would then fail
// on two series with the same labels.
func TestMetricsLabelsSurviveTheNextRequest(t *testing.T) {
	a := newTestApp(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.app.Listener(ln) }()
	t.Cleanup(func() { _ = a.app.Shutdown() })
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}} // one keep-alive connection
	send := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 3 {
		send(http.MethodGet, "/v1/items/abc", "")
		send(http.MethodPost, "/v1/items", `{"name":"x","count":1}`)
		send(http.MethodDelete, "/v1/items/abc", "")
	}
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics answered %d: %.500s", resp.StatusCode, text)
	}
	for _, want := range []string{
		`muster_http_requests_total{method="GET",route="/v1/items/:id",status="200"} 3`,
		`muster_http_requests_total{method="POST",route="/v1/items",status="201"} 3`,
		`muster_http_requests_total{method="DELETE",route="unmatched",status="405"} 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
