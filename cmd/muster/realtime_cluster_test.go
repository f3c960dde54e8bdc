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
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/musterhq/muster/realtime/protocol/pb"
	"github.com/musterhq/muster/sdk/go/muster"
	"github.com/musterhq/muster/test/testenv"
)

// gatewayNode is a muster child process for the realtime cluster test.
type gatewayNode struct {
	http, realtime, ops string
	cmd                 *exec.Cmd
	out                 *bytes.Buffer
}

// startNode runs `muster serve --target=targets` as a child process sharing
// the test's database and Redis prefix.
func startNode(t *testing.T, targets, dbURL, prefix string, env ...string) *gatewayNode {
	t.Helper()
	return startBinary(t, os.Args[0], "serve", targets, dbURL, prefix, env...)
}

// startBinary is startNode with another muster binary (exe) and command
// (serve or dev).
func startBinary(t *testing.T, exe, command, targets, dbURL, prefix string, env ...string) *gatewayNode {
	t.Helper()
	n := &gatewayNode{http: freeAddr(t), realtime: freeAddr(t), ops: freeAddr(t), out: &bytes.Buffer{}}
	ops := n.ops
	n.cmd = exec.Command(exe, command, "--console-addr="+freeAddr(t))
	n.cmd.Env = append(os.Environ(),
		"MUSTER_TEST_CHILD=1",
		"MUSTER_TARGET="+targets,
		"MUSTER_DATABASE_URL="+dbURL,
		"MUSTER_REDIS_URL="+testenv.RedisURL(),
		"MUSTER_REDIS_PREFIX="+prefix,
		"MUSTER_HTTP_ADDR="+n.http,
		"MUSTER_OPS_ADDR="+ops,
		"MUSTER_REALTIME_ADDR="+n.realtime,
		"MUSTER_REALTIME_HEARTBEAT=500ms",
		"MUSTER_REALTIME_PRESENCE_TTL=2s",
		"MUSTER_OUTBOX_POLL=50ms",
		"MUSTER_SECRET_KEY="+devSecretKey(),
		"MUSTER_SHUTDOWN_TIMEOUT=5s",
		"MUSTER_LOG_FORMAT=json",
	)
	n.cmd.Env = append(n.cmd.Env, env...) // later values win
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- n.cmd.Wait() }()
	t.Cleanup(func() { _ = n.cmd.Process.Kill() })
	waitReady(t, &http.Client{Timeout: 5 * time.Second}, "http://"+ops+"/readyz", exited, n.out)
	return n
}

// reports says whether the node's metrics report queue's depth, which
// only the replica holding the queue's lease does.
func (n *gatewayNode) reports(t *testing.T, queue string) bool {
	t.Helper()
	resp, err := http.Get("http://" + n.ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(body), `muster_matchmaking_queue_players{queue="`+queue+`"}`)
}

// restPlayer is a player registered over REST.
type restPlayer struct {
	id, token string
}

func restCall(t *testing.T, method, url, token, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, raw, want)
	}
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return out
}

// unique returns prefix and 12 random hex digits: a name (a Redis prefix,
// a queue, a player) no other test or run shares.
func unique(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func registerPlayer(t *testing.T, base string) restPlayer {
	t.Helper()
	name := unique("p")
	out := restCall(t, http.MethodPost, base+"/v1/auth/register", "",
		fmt.Sprintf(`{"email":"%s@example.com","password":"correct horse battery staple","display_name":"%s"}`, name, name), http.StatusCreated)
	player, _ := out["player"].(map[string]any)
	tokens, _ := out["tokens"].(map[string]any)
	return restPlayer{id: player["id"].(string), token: tokens["access_token"].(string)}
}

// befriend makes a and b friends over REST.
func befriend(t *testing.T, base string, a, b restPlayer) {
	t.Helper()
	restCall(t, http.MethodPost, base+"/v1/me/friends/requests", a.token, `{"player_id":"`+b.id+`"}`, http.StatusOK)
	restCall(t, http.MethodPost, base+"/v1/me/friends/"+a.id+"/accept", b.token, "", http.StatusOK)
}

// TestRealtimeAcrossTwoNodes runs two gateway processes on one PostgreSQL
// and Redis: a party invite sent by a player on node A reaches the invitee on
// node B; killing node B with SIGKILL shows its player offline to friends on
// node A once the presence TTL runs out; and the player resumes on node A with
// what they missed, exactly once.
func TestRealtimeAcrossTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two muster processes")
	}
	dbURL := testenv.DBURL(t)
	prefix := unique("cluster") + ":"
	a := startNode(t, "auth,realtime,worker", dbURL, prefix)
	b := startNode(t, "realtime", dbURL, prefix)
	api := "http://" + a.http
	leader, invitee, other := registerPlayer(t, api), registerPlayer(t, api), registerPlayer(t, api)
	befriend(t, api, leader, invitee)
	befriend(t, api, other, invitee)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	onA, err := muster.Dial(ctx, a.realtime, muster.SocketOptions{AccessToken: leader.token})
	if err != nil {
		t.Fatal(err)
	}
	defer onA.Close()
	onB, err := muster.Dial(ctx, b.realtime, muster.SocketOptions{AccessToken: invitee.token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := muster.Await(ctx, onA, func(m *pb.PresenceChanged) bool {
		return m.Presence.PlayerId == invitee.id && m.Presence.Status == pb.Status_STATUS_ONLINE
	}); err != nil {
		t.Fatalf("node A never heard that the invitee on node B came online: %v", err)
	}

	// The invite crosses nodes: outbox on A's worker, pub/sub, B's gateway.
	created, err := onA.Call(ctx, &pb.PartyCreate{})
	if err != nil {
		t.Fatal(err)
	}
	partyID := created.(*pb.PartyState).PartyId
	if _, err := onA.Call(ctx, &pb.PartyInvite{PlayerId: invitee.id}); err != nil {
		t.Fatal(err)
	}
	invite, err := muster.Await(ctx, onB, func(n *pb.Notification) bool { return n.Kind == "party.invite" })
	if err != nil {
		t.Fatalf("the invitee on node B got no invitation: %v", err)
	}
	if !strings.Contains(string(invite.PayloadJson), partyID) {
		t.Fatalf("invitation %s is not for party %s", invite.PayloadJson, partyID)
	}
	_ = onB.Send(&pb.Ack{Seq: invite.Seq})
	if _, err := onB.Call(ctx, &pb.PartyJoin{PartyId: partyID}); err != nil {
		t.Fatal(err)
	}
	if _, err := muster.Await(ctx, onA, func(m *pb.PartyState) bool { return len(m.Members) == 2 }); err != nil {
		t.Fatalf("the leader on node A did not see the join: %v", err)
	}
	resume := onB.Welcome().ResumeToken

	// SIGKILL node B: no clean disconnect; presence expires.
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for {
		list, err := onA.Call(ctx, &pb.ListFriends{})
		if err != nil {
			t.Fatal(err)
		}
		status := pb.Status(-1)
		for _, f := range list.(*pb.FriendList).Friends {
			if f.PlayerId == invitee.id && f.Presence != nil {
				status = f.Presence.Status
			}
		}
		if status == pb.Status_STATUS_OFFLINE {
			break
		}
		// Offline once the presence TTL (2s) ran out; the margin is for a
		// loaded machine: what counts is that they go, not when.
		if time.Since(killed) > 2*time.Second+8*time.Second {
			t.Fatalf("the invitee still shows %v %s after node B was killed (presence TTL 2s)", status, time.Since(killed))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("offline to friends %s after SIGKILL (TTL 2s)", time.Since(killed).Round(10*time.Millisecond))

	// While the invitee is away a stored notification arrives for them.
	restCall(t, http.MethodDelete, api+"/v1/me/friends/"+invitee.id, other.token, "", http.StatusNoContent)
	restCall(t, http.MethodPost, api+"/v1/me/friends/requests", other.token, `{"player_id":"`+invitee.id+`"}`, http.StatusOK)
	time.Sleep(300 * time.Millisecond) // the worker stores it

	// The invitee resumes on node A and gets it once, after the invite.
	again, err := muster.Dial(ctx, a.realtime, muster.SocketOptions{AccessToken: invitee.token, ResumeToken: resume, LastSeq: invite.Seq})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !again.Welcome().Resumed {
		t.Fatal("the session did not resume on node A")
	}
	got, err := muster.Await(ctx, again, (func(*pb.Notification) bool)(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != invite.Seq+1 || got.Kind != "friend.request" {
		t.Fatalf("resumed with %d %s, want seq %d friend.request", got.Seq, got.Kind, invite.Seq+1)
	}
	if _, err := again.Call(ctx, &pb.Ping{Nonce: 1}); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if dup, err := muster.Await(short, again, (func(*pb.Notification) bool)(nil)); err == nil {
		t.Fatalf("a notification arrived twice or unexpectedly: %d %s", dup.Seq, dup.Kind)
	}
	// And the party survived node B: the invitee is still a member.
	st, err := again.Call(ctx, &pb.GetParty{})
	if err != nil || st.(*pb.PartyState).PartyId != partyID {
		t.Fatalf("party after resume: %v %v", st, err)
	}
}

// TestRealtimeDrainMovesClientsToAnotherNode: SIGTERM on a gateway process
// tells its clients to reconnect; a client that does so on the other node
// resumes with the notification sent while it moved, once.
func TestRealtimeDrainMovesClientsToAnotherNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two muster processes")
	}
	dbURL := testenv.DBURL(t)
	prefix := unique("drain") + ":"
	a := startNode(t, "auth,realtime,worker", dbURL, prefix)
	b := startNode(t, "realtime", dbURL, prefix)
	api := "http://" + a.http
	mover, asker := registerPlayer(t, api), registerPlayer(t, api)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	onB, err := muster.Dial(ctx, b.realtime, muster.SocketOptions{AccessToken: mover.token})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	hint, err := muster.Await(ctx, onB, (func(*pb.Reconnect) bool)(nil))
	if err != nil {
		t.Fatalf("no Reconnect from the draining node: %v", err)
	}
	// A notification arrives while the client moves.
	restCall(t, http.MethodPost, api+"/v1/me/friends/requests", asker.token, `{"player_id":"`+mover.id+`"}`, http.StatusOK)
	select {
	case <-onB.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the draining node did not close the connection")
	}
	time.Sleep(time.Duration(hint.DelayMs) * time.Millisecond)
	onA, err := muster.Dial(ctx, a.realtime, muster.SocketOptions{AccessToken: mover.token,
		ResumeToken: onB.Welcome().ResumeToken, LastSeq: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer onA.Close()
	if !onA.Welcome().Resumed {
		t.Fatal("the session did not resume on the other node")
	}
	n, err := muster.Await(ctx, onA, (func(*pb.Notification) bool)(nil))
	if err != nil || n.Kind != "friend.request" || n.Seq != 1 {
		t.Fatalf("after the move: %v %v", n, err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if dup, err := muster.Await(short, onA, (func(*pb.Notification) bool)(nil)); err == nil {
		t.Fatalf("notification %d arrived twice", dup.Seq)
	}
}
