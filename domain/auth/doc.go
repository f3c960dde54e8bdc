// Package auth holds Muster's identity use cases: registering, logging in
// with email and password or Steam, refreshing and ending sessions, changing
// and resetting passwords, linking identities, bans, and the rate limits and
// anomaly rules that guard them. It composes the account and session
// packages; the player REST API and the console call it.
package auth
