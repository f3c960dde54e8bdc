package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/web"
)

const localClaims = "muster.claims"

// RequirePlayer admits requests with a valid access token in
// "Authorization: Bearer ...", verified locally (signature, expiry,
// audience, revocation), and makes its claims available to handlers. A
// request already admitted by an earlier RequirePlayer (the identity and
// economy routes share the /v1/me prefix when one process serves both) is
// not verified twice.
func RequirePlayer(v Verifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, ok := c.Locals(localClaims).(session.Claims); ok {
			return c.Next()
		}
		h := c.Get(fiber.HeaderAuthorization)
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="muster"`)
			return web.NewError(http.StatusUnauthorized, web.CodeUnauthorized, "send an access token: Authorization: Bearer <token>")
		}
		claims, err := v.Verify(c.UserContext(), token)
		if err != nil {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="muster", error="invalid_token"`)
			if errors.Is(err, session.ErrInvalidToken) || errors.Is(err, session.ErrExpiredToken) || errors.Is(err, session.ErrRevoked) {
				return fail(c, err)
			}
			return err
		}
		c.Locals(localClaims, claims)
		return c.Next()
	}
}

// claimsOf returns the verified claims RequirePlayer stored.
func claimsOf(c *fiber.Ctx) session.Claims {
	claims, _ := c.Locals(localClaims).(session.Claims)
	return claims
}
