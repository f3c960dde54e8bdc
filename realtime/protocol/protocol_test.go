package protocol_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

var update = flag.Bool("update", false, "rewrite the golden vectors in testdata/")

// samples is one message of every type, as the golden vectors hold them.
// A C++ (or any) client decodes each file to the same values.
var samples = []struct {
	name      string
	requestID uint32
	msg       proto.Message
}{
	{"hello", 1, &pb.Hello{Versions: []uint32{1}, AccessToken: "eyJhbGciOiJFZERTQSJ9.e30.sig", ResumeToken: "rt_abc", LastSeq: 41, Client: "sample/1.0"}},
	{"welcome", 1, &pb.Welcome{Version: 1, SessionId: "s_123", ResumeToken: "rt_def", HeartbeatMs: 15000, IdleTimeoutMs: 45000,
		MaxFrame: 65536, Resumed: true, PlayerId: "p_42", ResumeWindowMs: 120000}},
	{"error", 7, &pb.Error{Code: uint32(protocol.CodeRateLimited), Message: "too many requests", RetryAfterMs: 1500}},
	{"ping", 2, &pb.Ping{Nonce: 99}},
	{"pong", 2, &pb.Pong{Nonce: 99, ServerTimeMs: 1795000000000}},
	{"refresh_token", 3, &pb.RefreshToken{AccessToken: "eyJhbGciOiJFZERTQSJ9.e30.new"}},
	{"token_refreshed", 3, &pb.TokenRefreshed{ExpiresAtMs: 1795000900000}},
	{"notification", 0, &pb.Notification{Seq: 42, Id: "n_7", Kind: "progression.level_up", PayloadJson: []byte(`{"level":12}`), CreatedAtMs: 1795000000123}},
	{"ack", 0, &pb.Ack{Seq: 42}},
	{"reconnect", 0, &pb.Reconnect{DelayMs: 2500, Reason: "node draining"}},
	{"goodbye", 0, &pb.Goodbye{Reason: "client quit"}},
	{"ok", 4, &pb.Ok{}},
	{"set_status", 5, &pb.SetStatus{Text: "grinding camos", InMatch: true}},
	{"presence_changed", 0, &pb.PresenceChanged{Presence: &pb.Presence{PlayerId: "p_7", DisplayName: "Vex", Status: pb.Status_STATUS_IN_PARTY, Text: "lfg", SinceMs: 1795000000000}}},
	{"list_friends", 6, &pb.ListFriends{}},
	{"friend_list", 6, &pb.FriendList{Friends: []*pb.Friend{
		{PlayerId: "p_7", DisplayName: "Vex", State: pb.FriendState_FRIEND_STATE_FRIEND, SinceMs: 1794000000000,
			Presence: &pb.Presence{PlayerId: "p_7", DisplayName: "Vex", Status: pb.Status_STATUS_ONLINE, SinceMs: 1795000000000}},
		{PlayerId: "p_9", DisplayName: "Moth", State: pb.FriendState_FRIEND_STATE_INCOMING, SinceMs: 1794500000000},
	}}},
	{"friend_action", 7, &pb.FriendAction{PlayerId: "p_9", Op: pb.FriendOp_FRIEND_OP_ACCEPT}},
	{"party_create", 8, &pb.PartyCreate{MaxSize: 4, JoinByCode: true}},
	{"party_state", 8, &pb.PartyState{PartyId: "pt_1", Version: 3, LeaderId: "p_42", MaxSize: 4, JoinByCode: true, InviteCode: "K7Q2MX",
		ReadyCheckEndsMs: 1795000030000, Members: []*pb.PartyMember{
			{PlayerId: "p_42", DisplayName: "Nova", Ready: true, Status: pb.Status_STATUS_IN_PARTY, JoinedAtMs: 1795000000000},
			{PlayerId: "p_7", DisplayName: "Vex", Status: pb.Status_STATUS_IN_PARTY, JoinedAtMs: 1795000001000},
		}}},
	{"party_invite", 9, &pb.PartyInvite{PlayerId: "p_7"}},
	{"party_join", 10, &pb.PartyJoin{PartyId: "pt_1", InviteCode: "K7Q2MX"}},
	{"party_leave", 11, &pb.PartyLeave{}},
	{"party_kick", 12, &pb.PartyKick{PlayerId: "p_7"}},
	{"party_promote", 13, &pb.PartyPromote{PlayerId: "p_7"}},
	{"party_settings", 14, &pb.PartySettings{MaxSize: 3, JoinByCode: false}},
	{"party_ready_check", 15, &pb.PartyReadyCheck{}},
	{"party_ready", 16, &pb.PartyReady{Ready: true}},
	{"party_chat", 17, &pb.PartyChat{Text: "gg"}},
	{"party_left", 0, &pb.PartyLeft{PartyId: "pt_1", Reason: "kicked"}},
	{"party_chat_message", 0, &pb.PartyChatMessage{PartyId: "pt_1", PlayerId: "p_7", DisplayName: "Vex", Text: "gg", SentAtMs: 1795000002000}},
	{"get_party", 18, &pb.GetParty{}},
	{"queue_join", 19, &pb.QueueJoin{Queue: "br_quads", LatencyMs: map[string]uint32{"eu-west": 31}}},
	{"queue_status", 19, &pb.QueueStatus{TicketId: "tk_abc", Queue: "br_quads", State: pb.QueueState_QUEUE_STATE_WAITING,
		PartyId: "pt_1", Players: []string{"p_42", "p_7"}, WaitingSinceMs: 1795000000000}},
	{"queue_cancel", 20, &pb.QueueCancel{}},
	{"get_queue_status", 21, &pb.GetQueueStatus{}},
}

// TestGoldenVectors checks every message type against its frame in
// testdata/<name>.hex, both ways.
func TestGoldenVectors(t *testing.T) {
	seen := map[protocol.Type]bool{}
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			wire, err := protocol.Append(nil, s.requestID, s.msg)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", s.name+".hex")
			if *update {
				if err := os.WriteFile(path, []byte(hex.EncodeToString(wire)+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			golden, err := hex.DecodeString(strings.TrimSpace(string(raw)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(wire, golden) {
				t.Fatalf("encoded %x\nwant    %x", wire, golden)
			}
			f, err := protocol.NewReader(bytes.NewReader(golden), protocol.DefaultMaxFrame).Read()
			if err != nil {
				t.Fatal(err)
			}
			got, err := protocol.Decode(f)
			if err != nil || f.RequestID != s.requestID || !proto.Equal(got, s.msg) {
				t.Fatalf("decoded %v (request %d), %v; want %v (request %d)", got, f.RequestID, err, s.msg, s.requestID)
			}
			seen[f.Type] = true
		})
	}
	for _, typ := range protocol.Types() {
		if !seen[typ] {
			t.Errorf("message type %d has no golden vector", typ)
		}
	}
}

func TestReaderRefusesBadFrames(t *testing.T) {
	frame := func(length uint32, rest ...byte) []byte {
		return append([]byte{byte(length >> 24), byte(length >> 16), byte(length >> 8), byte(length)}, rest...)
	}
	cases := []struct {
		name string
		wire []byte
		want error
	}{
		{"too large", frame(70000), protocol.ErrFrameTooLarge},
		{"length below the header", frame(5, 0, 4, 0, 0, 0), protocol.ErrFrameTooShort},
		{"ends inside the frame", frame(10, 0, 4, 0, 0, 0, 1), io.ErrUnexpectedEOF},
		{"ends inside the length", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"nothing", nil, io.EOF},
	}
	for _, c := range cases {
		if _, err := protocol.NewReader(bytes.NewReader(c.wire), protocol.DefaultMaxFrame).Read(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := protocol.Decode(protocol.Frame{Type: 999}); !errors.Is(err, protocol.ErrUnknownType) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := protocol.Decode(protocol.Frame{Type: protocol.TypeHello, Body: []byte{0xff, 0xff}}); !errors.Is(err, protocol.ErrBadBody) {
		t.Errorf("bad body: %v", err)
	}
}

// FuzzReadFrame feeds arbitrary bytes to the reader and decoder: they
// return errors, never panic, and every frame they accept encodes back to
// the bytes it came from.
func FuzzReadFrame(f *testing.F) {
	for _, s := range samples {
		wire, _ := protocol.Append(nil, s.requestID, s.msg)
		f.Add(wire)
	}
	f.Add([]byte{0, 0, 0, 6, 0, 4, 0, 0, 0, 1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := protocol.NewReader(bytes.NewReader(data), 4096)
		var rebuilt []byte
		consumed := 0
		for {
			fr, err := r.Read()
			if err != nil {
				break
			}
			consumed += 4 + 6 + len(fr.Body)
			rebuilt = protocol.AppendFrame(rebuilt, fr)
			if m, err := protocol.Decode(fr); err == nil {
				if _, err := protocol.Append(nil, fr.RequestID, m); err != nil {
					t.Fatalf("a decoded %T does not encode: %v", m, err)
				}
			}
		}
		if !bytes.Equal(rebuilt, data[:consumed]) {
			t.Fatalf("frames read do not encode back to their bytes")
		}
	})
}

// TestCodeNames keeps Code.String, which traces and logs show, in step
// with the error code table of docs/protocol.md.
func TestCodeNames(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (\\d+) \\| `([A-Z_]+)` \\|")
	documented := map[protocol.Code]string{}
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		n, _ := strconv.Atoi(m[1])
		documented[protocol.Code(n)] = m[2]
	}
	if len(documented) < 17 {
		t.Fatalf("found %d codes in docs/protocol.md's table: the table's format changed", len(documented))
	}
	for code, name := range documented {
		if got := code.String(); got != name {
			t.Errorf("Code(%d).String() = %q, docs/protocol.md says %q", code, got, name)
		}
	}
	if got := protocol.Code(99).String(); got != "CODE_99" {
		t.Errorf("an undefined code is %q, want CODE_99", got)
	}
}
