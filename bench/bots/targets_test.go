package bots

import (
	"strings"
	"testing"
)

func TestTargetsRouteEachServiceToItsProcess(t *testing.T) {
	one, err := ParseTargets([]string{"http://127.0.0.1:8080/"}, []string{"127.0.0.1:7350"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Services {
		if one.URL(s) != "http://127.0.0.1:8080" {
			t.Errorf("%s -> %q", s, one.URL(s))
		}
	}
	split, err := ParseTargets([]string{"auth,player,progression,inventory,store=http://127.0.0.1:8080",
		"realtime,matchmaking,sessions,worker=http://localhost:8180"}, []string{"127.0.0.1:7350", "127.0.0.1:7351"})
	if err != nil {
		t.Fatal(err)
	}
	if split.URL("store") != "http://127.0.0.1:8080" || split.URL("sessions") != "http://localhost:8180" || len(split.Bases()) != 2 {
		t.Errorf("store %s sessions %s bases %v", split.URL("store"), split.URL("sessions"), split.Bases())
	}
	if r := split.Remote(); r != "" {
		t.Errorf("loopback targets reported remote: %s", r)
	}
	far, err := ParseTargets([]string{"https://muster.example.com"}, []string{"127.0.0.1:7350"})
	if err != nil {
		t.Fatal(err)
	}
	if far.Remote() != "https://muster.example.com" {
		t.Errorf("remote = %q", far.Remote())
	}
}

func TestTargetsRefuseGapsAndDoubles(t *testing.T) {
	rt := []string{"127.0.0.1:7350"}
	for _, c := range []struct {
		values   []string
		realtime []string
		want     string
	}{
		{nil, rt, "--target is required"},
		{[]string{"auth,store=http://127.0.0.1:8080"}, rt, "no process serves player, progression"},
		{[]string{"http://127.0.0.1:8080", "store=http://127.0.0.1:8081"}, rt, "store is served by both"},
		{[]string{"auth,shop=http://127.0.0.1:8080"}, rt, `unknown target "shop"`},
		{[]string{"127.0.0.1:8080"}, rt, "want a base URL"},
		{[]string{"http://127.0.0.1:8080/v1"}, rt, "want a base URL"},
		{[]string{"http://127.0.0.1:8080"}, nil, "--realtime is required"},
		{[]string{"http://127.0.0.1:8080"}, []string{"7350"}, "want host:port"},
	} {
		_, err := ParseTargets(c.values, c.realtime)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: err %v, want %q", c.values, c.realtime, err, c.want)
		}
	}
}
