package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/session"
)

type countingVerifier struct{ calls int }

func (v *countingVerifier) Verify(context.Context, string) (session.Claims, error) {
	v.calls++
	return session.Claims{AccountID: 7, PlayerID: "p_test"}, nil
}

// The identity and economy routes each guard /v1/me; a request both guard
// is verified once.
func TestRequirePlayerVerifiesOnce(t *testing.T) {
	v := &countingVerifier{}
	app := fiber.New()
	app.Group("/v1/me", RequirePlayer(v))
	app.Get("/v1/me/inventory", RequirePlayer(v), func(c *fiber.Ctx) error {
		return c.SendString(claimsOf(c).PlayerID)
	})
	req := httptest.NewRequest(http.MethodGet, "/v1/me/inventory", nil)
	req.Header.Set("Authorization", "Bearer token")
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || v.calls != 1 {
		t.Fatalf("status %d after %d verifications, want 200 after 1", resp.StatusCode, v.calls)
	}
}
