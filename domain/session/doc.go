// Package session keeps players logged in: a session is one login on one
// device. It hands out short-lived access JWTs (EdDSA, verified locally on
// every node without a database round trip) and opaque refresh tokens that
// rotate on every use and are stored only as SHA-256 hashes.
//
// The pieces, each with explicit dependencies:
//
//   - Keys: Ed25519 signing keys in auth_signing_keys, private halves sealed
//     with AES-256-GCM under Config.SecretKey; published as a JWKS.
//   - Tokens: signs and verifies access tokens, with a bounded cache of
//     verified tokens so the request path stays well under 20 µs.
//   - DenyList: revoked session ids shared across nodes through
//     state.Presence (polled) and state.PubSub (instant), so a revoked
//     session's access tokens stop working everywhere within about a second.
//   - Store: starts, refreshes, lists and revokes sessions in PostgreSQL.
package session
