package party

import (
	"context"
	"time"

	"github.com/musterhq/muster/domain/presence"
)

// View is a party as its members see it (REST answers, pushes).
type View struct {
	ID             string       `json:"party_id"`
	Version        uint64       `json:"version"`
	LeaderID       string       `json:"leader_id"`
	Members        []MemberView `json:"members"`
	MaxSize        int          `json:"max_size"`
	JoinByCode     bool         `json:"join_by_code"`
	InviteCode     string       `json:"invite_code,omitempty"`
	ReadyCheckEnds *time.Time   `json:"ready_check_ends,omitempty"`
}

// MemberView is one member in a View.
type MemberView struct {
	PlayerID    string          `json:"player_id"`
	DisplayName string          `json:"display_name"`
	Ready       bool            `json:"ready"`
	Status      presence.Status `json:"status"`
	JoinedAt    time.Time       `json:"joined_at"`
}

// view builds the View of p, with each member's presence when the service
// has a tracker.
func (s *Service) view(ctx context.Context, p Party) View {
	v := View{ID: p.ID, Version: p.Version, MaxSize: p.MaxSize, JoinByCode: p.JoinByCode, InviteCode: p.Code,
		Members: make([]MemberView, len(p.Members))}
	if !p.ReadyCheckEnds.IsZero() && time.Now().Before(p.ReadyCheckEnds) {
		ends := p.ReadyCheckEnds
		v.ReadyCheckEnds = &ends
	}
	var seen map[int64]presence.View
	if s.d.Presence != nil {
		var err error
		if seen, err = s.d.Presence.Lookup(ctx, p.MemberIDs()); err != nil {
			s.d.Log.Warn("party: read members' presence", "party_id", p.ID, "err", err)
		}
	}
	for i, m := range p.Members {
		if m.AccountID == p.Leader {
			v.LeaderID = m.PlayerID
		}
		st := presence.Online
		if pv, ok := seen[m.AccountID]; ok {
			st = pv.Status
		}
		v.Members[i] = MemberView{PlayerID: m.PlayerID, DisplayName: m.DisplayName, Ready: m.Ready, Status: st, JoinedAt: m.JoinedAt}
	}
	return v
}
