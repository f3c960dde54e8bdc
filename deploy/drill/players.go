package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// player is a registered player of the drill.
type player struct {
	ID    string // public id
	Token string // access token
}

// register creates a player with a random email through the proxy. A POST
// is not retried by the proxy, so players are made before any instance is
// restarted.
func register(ctx context.Context, client *http.Client, base string) (player, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	body, _ := json.Marshal(map[string]string{
		"email":        "drill-" + id + "@example.com",
		"password":     hex.EncodeToString(pw),
		"display_name": "drill" + id[:12],
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/v1/auth/register", bytes.NewReader(body))
	if err != nil {
		return player{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return player{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return player{}, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
	}
	var login struct {
		Player struct {
			ID string `json:"id"`
		} `json:"player"`
		Tokens struct {
			AccessToken string `json:"access_token"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(raw, &login); err != nil || login.Tokens.AccessToken == "" || login.Player.ID == "" {
		return player{}, fmt.Errorf("no player id or access token in %s", bytes.TrimSpace(raw))
	}
	return player{ID: login.Player.ID, Token: login.Tokens.AccessToken}, nil
}

// registerMany registers n players, four at a time.
func registerMany(ctx context.Context, client *http.Client, base string, n int) ([]player, error) {
	out := make([]player, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = register(ctx, client, base)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
