package bots

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The players' sessions kept between runs, as a game client keeps its
// refresh token: a file mapping each player's email to their refresh
// token. Refresh tokens rotate on every use, so the file is rewritten at
// the end of each run with the newest.

// loadSessions reads the sessions file; a missing file (the first run)
// holds none.
func loadSessions(path string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("sessions file %s: %w", path, err)
	}
	return out, nil
}

// saveSessions writes the players' current refresh tokens (readable by
// its owner only: they are credentials), replacing the file at once.
func saveSessions(path string, bots []*bot) error {
	if path == "" {
		return nil
	}
	out := map[string]string{}
	for _, b := range bots {
		if b.api == nil || b.id == "" {
			continue
		}
		if tok := b.api.auth.Tokens().RefreshToken; tok != "" {
			out[b.email] = tok
		}
	}
	return writeSessions(path, out)
}

// writeSessions replaces the sessions file with the tokens given.
func writeSessions(path string, out map[string]string) error {
	raw, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sessions-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
