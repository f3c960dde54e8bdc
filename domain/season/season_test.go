package season_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/season"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestSeasonsDoNotOverlapAndAreFoundByTime(t *testing.T) {
	conn := testenv.DB(t)
	cs := content.New(conn)
	cs.Register(season.ContentKind())
	ctx := context.Background()
	base := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	publish := func(id string, s season.Season) error {
		b, _ := json.Marshal(s)
		d, err := cs.SaveDraft(ctx, season.Kind, id, "", b, content.Edit{})
		if err != nil {
			return err
		}
		_, err = cs.Publish(ctx, season.Kind, id, content.Edit{Expected: d.DraftRevision})
		return err
	}
	s1 := season.Season{Name: "One", StartsAt: base, EndsAt: base.AddDate(0, 2, 0)}
	s2 := season.Season{Name: "Two", StartsAt: s1.EndsAt, EndsAt: s1.EndsAt.AddDate(0, 2, 0)}
	if err := publish("t1", s1); err != nil {
		t.Fatal(err)
	}
	if err := publish("t2", s2); err != nil {
		t.Fatalf("a season starting when the last ends: %v", err)
	}
	overlap := season.Season{Name: "Three", StartsAt: s2.StartsAt.AddDate(0, 1, 0), EndsAt: s2.EndsAt.AddDate(0, 1, 0)}
	var fe *content.FieldError
	if err := publish("t3", overlap); !errors.As(err, &fe) || fe.Field != "starts_at" {
		t.Fatalf("an overlapping season: %v, want a starts_at field error", err)
	}
	for _, bad := range []season.Season{{Name: "", StartsAt: base, EndsAt: base.Add(time.Hour)}, {Name: "x", StartsAt: base, EndsAt: base},
		{Name: "x", StartsAt: base, EndsAt: base.AddDate(2, 0, 0)}} {
		if err := publish(fmt.Sprintf("bad%d", time.Now().UnixNano()), bad); !errors.Is(err, content.ErrInvalid) {
			t.Errorf("season %+v: %v", bad, err)
		}
	}
	for at, want := range map[time.Time]string{
		base: "t1", s1.EndsAt.Add(-time.Second): "t1", s1.EndsAt: "t2", s2.EndsAt.Add(-time.Nanosecond): "t2", s2.EndsAt: "", base.Add(-time.Second): "",
	} {
		got, ok, err := season.At(ctx, conn, at)
		if err != nil || (want == "") == ok || got.ID != want {
			t.Errorf("At(%s) = %q %v %v, want %q", at, got.ID, ok, err, want)
		}
	}
}
