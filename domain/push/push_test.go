package push_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/state"
)

func TestSendSplitsRecipients(t *testing.T) {
	mem := state.NewMemory()
	sub, err := mem.Subscribe(t.Context(), push.Channel)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	bus := push.New(mem)
	to := make([]int64, push.MaxRecipients+5)
	for i := range to {
		to[i] = int64(i + 1)
	}
	if err := bus.Send(t.Context(), "party.chat", map[string]string{"text": "gg"}, to...); err != nil {
		t.Fatal(err)
	}
	if err := bus.Send(t.Context(), "party.chat", nil); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for len(got) < len(to) {
		select {
		case m := <-sub.C():
			ev, err := push.Decode(m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			var data map[string]string
			if ev.Kind != "party.chat" || json.Unmarshal(ev.Data, &data) != nil || data["text"] != "gg" {
				t.Fatalf("event %+v", ev)
			}
			got = append(got, ev.To...)
		case <-time.After(2 * time.Second):
			t.Fatalf("received %d recipients of %d", len(got), len(to))
		}
	}
	for i, id := range got {
		if id != int64(i+1) {
			t.Fatalf("recipient %d is %d", i, id)
		}
	}
	select {
	case m := <-sub.C():
		t.Fatalf("an event without recipients was published: %s", m.Payload)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := push.Decode([]byte(`{"to":[1]}`)); err == nil {
		t.Fatal("an event without a kind decoded")
	}
}
