// Package muster is the Go client of Muster's player APIs: the REST API
// of api/openapi.yaml (Client, one method per operation) with the
// dedicated-server API (ServerClient), and the realtime connection
// (Socket, docs/protocol.md). The project's own end-to-end tests and its
// load tool (muster bots) use it.
//
// A Client holds one player's session:
//
//	c := muster.NewClient("http://localhost:8080", muster.WithOnTokens(save))
//	if _, err := c.LoginEmail(ctx, muster.LoginRequest{Email: e, Password: p}); err != nil {
//		return err
//	}
//	order, err := c.BuyProduct(ctx, muster.OrderRequest{ProductID: "starter_bundle"})
//	if muster.IsCode(err, "insufficient_funds") {
//		// ...
//	}
//	sock, err := c.Dial(ctx, "localhost:7350", muster.SocketOptions{})
//
// Errors the API answers are *APIError (errors.As), with the HTTP status
// and the stable code of docs and openapi.yaml. Calls that are safe to
// repeat are retried on network errors, 429 (after Retry-After), 502, 503
// and 504, with exponential backoff and full jitter (RetryPolicy). Any
// call is retried after a 503 auth_busy (too many passwords to hash at
// once), which the API answers before doing anything; the client sends
// that answer's login queue ticket back with its next password call, so
// the player keeps their place in the queue.
// Operations that take an Idempotency-Key get a new one per call, kept
// across that call's retries; WithIdempotencyKey gives one of the app's.
// The access token is refreshed shortly before it expires and once after
// a 401 token_expired, one refresh at a time however many calls wait.
package muster
