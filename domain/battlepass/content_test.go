package battlepass_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/reward"
)

func TestInvalidContentIsRefusedWithAFieldError(t *testing.T) {
	f := newFixture(t)
	s := f.season(0, 10*24*time.Hour)
	retired := economytest.Currency(t, f.conn, "soft")
	if _, err := f.conn.Exec(`UPDATE currencies SET retired = true WHERE code = $1`, retired); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		id    string
		edit  func(d *battlepass.Doc)
		field string
	}{
		{"valid", "", func(*battlepass.Doc) {}, ""},
		{"no season of that id", "no-such-season", func(*battlepass.Doc) {}, "id"},
		{"no tiers", "", func(d *battlepass.Doc) { d.Tiers = nil }, "tiers"},
		{"too many tiers", "", func(d *battlepass.Doc) { d.Tiers = f.doc(battlepass.MaxTiers + 1).Tiers }, "tiers"},
		{"the most tiers", "", func(d *battlepass.Doc) { d.Tiers = f.doc(battlepass.MaxTiers).Tiers }, ""},
		{"no XP for a tier", "", func(d *battlepass.Doc) { d.XPPerTier = 0; d.Tiers[0].XP = 100 }, "tiers[1].xp"},
		{"XP per tier listed", "", func(d *battlepass.Doc) {
			d.XPPerTier = 0
			for i := range d.Tiers {
				d.Tiers[i].XP = int64(100 * (i + 1))
			}
		}, ""},
		{"negative tier XP", "", func(d *battlepass.Doc) { d.Tiers[2].XP = -1 }, "tiers[2].xp"},
		{"tier XP too high", "", func(d *battlepass.Doc) { d.Tiers[2].XP = battlepass.MaxTierXP + 1 }, "tiers[2].xp"},
		{"XP per tier too high", "", func(d *battlepass.Doc) { d.XPPerTier = battlepass.MaxTierXP + 1 }, "xp_per_tier"},
		{"unknown premium item", "", func(d *battlepass.Doc) {
			d.Tiers[3].Premium.Items = []inventory.Line{{ItemID: "item.nope", Quantity: 1}}
		}, "tiers[3].premium.items[0]"},
		{"zero quantity", "", func(d *battlepass.Doc) {
			d.Tiers[0].Free.Items = []inventory.Line{{ItemID: f.emblem.ID, Quantity: 0}}
		}, "tiers[0].free.items[0]"},
		{"retired reward currency", "", func(d *battlepass.Doc) {
			d.Tiers[1].Free.Currencies = []reward.Amount{{Currency: retired, Amount: 5}}
		}, "tiers[1].free.currencies[0]"},
		{"empty tracks", "", func(d *battlepass.Doc) { d.Tiers[4].Free, d.Tiers[4].Premium = reward.Reward{}, reward.Reward{} }, ""},
		{"unknown premium currency", "", func(d *battlepass.Doc) { d.PremiumPrice.Currency = "nope" }, "premium_price.currency"},
		{"free premium", "", func(d *battlepass.Doc) { d.PremiumPrice.Amount = 0 }, "premium_price.amount"},
		{"tier price too high", "", func(d *battlepass.Doc) { d.TierSkipPrice.Amount = battlepass.MaxPrice + 1 }, "tier_skip_price.amount"},
		{"nothing for sale", "", func(d *battlepass.Doc) { d.PremiumPrice, d.TierSkipPrice = nil, nil }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := f.doc(5)
			tt.edit(&d)
			id := tt.id
			if id == "" {
				id = s.ID
			}
			err := f.publish(battlepass.Kind, id, d)
			checkField(t, err, tt.field)
		})
	}

	t.Run("unknown field", func(t *testing.T) {
		body, _ := json.Marshal(f.doc(1))
		body = append(body[:len(body)-1], []byte(`,"xp_per_teir":5}`)...)
		_, err := f.content.SaveDraft(ctx, battlepass.Kind, s.ID, "x", body, content.Edit{Expected: -1, Editor: "test"})
		checkField(t, err, "document")
	})
}

func checkField(t *testing.T, err error, field string) {
	t.Helper()
	var fe *content.FieldError
	switch {
	case field == "" && err != nil:
		t.Fatalf("refused: %v", err)
	case field == "":
	case !errors.As(err, &fe) || !errors.Is(err, content.ErrInvalid):
		t.Fatalf("err = %v, want a field error on %s", err, field)
	case fe.Field != field:
		t.Fatalf("field error on %q (%v), want %q", fe.Field, err, field)
	}
}
