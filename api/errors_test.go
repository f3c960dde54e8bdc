package api

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/session"
)

func TestPublicMessageHidesLowerLayers(t *testing.T) {
	until := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		err      error
		sentinel error
		want     string
	}{
		{fmt.Errorf("%w (deny list not updated: dial tcp 10.0.0.7:6379: connection refused)", session.ErrRefreshReused), session.ErrRefreshReused, session.ErrRefreshReused.Error()},
		{fmt.Errorf("load: %w", session.ErrInvalidRefresh), session.ErrInvalidRefresh, session.ErrInvalidRefresh.Error()},
		{&auth.BannedError{Until: &until, Reason: "cheating"}, auth.ErrBanned, "account is banned until 2030-01-02T03:04:05Z: cheating"},
		{fmt.Errorf("craft: %w", fmt.Errorf("%w: item.sword", inventory.ErrUnknownItem)), inventory.ErrUnknownItem, "unknown or retired item: item.sword"},
		{fmt.Errorf("send gift: %w", inventory.ErrGiftNotFound), inventory.ErrGiftNotFound, inventory.ErrGiftNotFound.Error()},
	}
	for _, tt := range tests {
		if got := publicMessage(tt.err, tt.sentinel); got != tt.want {
			t.Errorf("publicMessage(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if !errors.Is(tests[0].err, session.ErrRefreshReused) {
		t.Fatal("test error does not wrap its sentinel")
	}
}
