package muster

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// balance returns the player's balance of currency.
func balance(t *testing.T, c *Client, currency string) int64 {
	t.Helper()
	ws, err := c.ListWallets(testCtx(t))
	if err != nil {
		t.Fatalf("ListWallets: %v", err)
	}
	for _, w := range ws.Wallets {
		if w.Currency == currency {
			return w.Balance
		}
	}
	return 0
}

func TestPurchaseReplaysByIdempotencyKey(t *testing.T) {
	srv := startDev(t)
	ctx := testCtx(t)
	demo := srv.demoPlayer(t)
	before := balance(t, demo, "credits")
	keyed := WithIdempotencyKey(ctx, NewIdempotencyKey())
	first, err := demo.BuyProduct(keyed, OrderRequest{ProductID: "offer.uav.5"})
	if err != nil || first.Replayed || first.Status != "completed" {
		t.Fatalf("BuyProduct = %+v, %v", first, err)
	}
	again, err := demo.BuyProduct(keyed, OrderRequest{ProductID: "offer.uav.5"})
	if err != nil || !again.Replayed || again.ID != first.ID {
		t.Fatalf("the same key again = %+v, %v; want order %s replayed", again, err, first.ID)
	}
	if spent := before - balance(t, demo, "credits"); spent != first.PriceAmount || spent != 250 {
		t.Fatalf("spent %d credits, want one purchase's 250", spent)
	}
	// The key with another request is refused; a new key buys again.
	if _, err := demo.BuyProduct(keyed, OrderRequest{ProductID: "offer.boost.double_xp"}); !IsCode(err, "idempotency_key_reused") {
		t.Fatalf("same key, other product: %v", err)
	}
	second, err := demo.BuyProduct(ctx, OrderRequest{ProductID: "offer.uav.5"})
	if err != nil || second.ID == first.ID {
		t.Fatalf("a second purchase = %+v, %v", second, err)
	}
	got, err := demo.GetOrder(ctx, first.ID)
	if err != nil || got.ProductID != "offer.uav.5" {
		t.Fatalf("GetOrder = %+v, %v", got, err)
	}
}

// TestBroadPass calls most operations of the player and server APIs
// against muster dev, checking each answer decodes into its type.
func TestBroadPass(t *testing.T) {
	srv := startDev(t)
	ctx := testCtx(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	demo := srv.demoPlayer(t)
	alice, a := srv.newPlayer(t)
	bob, b := srv.newPlayer(t)

	// Account.
	me, err := alice.ChangeDisplayName(ctx, DisplayNameRequest{DisplayName: "x" + a.Player.DisplayName})
	must("ChangeDisplayName", err)
	if me.DisplayName != "x"+a.Player.DisplayName {
		t.Errorf("display name %q", me.DisplayName)
	}
	logins, err := alice.ListLogins(ctx)
	must("ListLogins", err)
	if len(logins.Logins) == 0 {
		t.Error("ListLogins: none")
	}

	// Economy.
	cat, err := demo.GetCatalog(ctx)
	must("GetCatalog", err)
	if len(cat.Items) == 0 || len(cat.Currencies) != 2 || len(cat.Recipes) == 0 {
		t.Errorf("catalog %d items, %d currencies, %d recipes", len(cat.Items), len(cat.Currencies), len(cat.Recipes))
	}
	inv, err := demo.ListInventory(ctx, ListInventoryParams{Limit: 100})
	must("ListInventory", err)
	if len(inv.Items) == 0 {
		t.Error("the demo player holds nothing")
	}
	_, err = demo.InventoryHistory(ctx, PageParams{Limit: 5})
	must("InventoryHistory", err)
	page, err := demo.WalletHistory(ctx, "credits", PageParams{Limit: 2})
	must("WalletHistory", err)
	if len(page.History) == 0 {
		t.Error("WalletHistory: no lines")
	}
	op, err := demo.Craft(ctx, CraftRequest{RecipeID: "craft.uav"})
	must("Craft", err)
	if len(op.Changes) == 0 {
		t.Errorf("Craft changed nothing: %+v", op)
	}
	gift, err := demo.SendGift(ctx, GiftRequest{To: a.Player.ID, Items: []ItemLine{{ItemID: "consumable.scrap", Quantity: 5}}})
	must("SendGift", err)
	gifts, err := alice.ListGifts(ctx)
	must("ListGifts", err)
	if len(gifts.Incoming) != 1 || gifts.Incoming[0].ID != gift.ID || gifts.Incoming[0].From.DisplayName == "" {
		t.Errorf("alice's gifts %+v", gifts)
	}
	accepted, err := alice.AcceptGift(ctx, gift.ID)
	must("AcceptGift", err)
	if accepted.Status != "accepted" {
		t.Errorf("gift %+v", accepted)
	}
	if _, err := alice.DeclineGift(ctx, gift.ID); !IsCode(err, "gift_closed") {
		t.Errorf("declining an accepted gift: %v", err)
	}
	_, err = alice.ListTrades(ctx)
	if err != nil && !IsCode(err, "trades_disabled") {
		t.Errorf("ListTrades: %v", err)
	}

	// Store.
	front, err := demo.GetStorefront(ctx, "DE")
	must("GetStorefront", err)
	if len(front.Products) == 0 || front.Region != "DE" {
		t.Errorf("storefront %+v", front)
	}
	country, err := demo.SetStoreCountry(ctx, StoreCountryRequest{Country: "gb"})
	must("SetStoreCountry", err)
	if country.Country != "GB" {
		t.Errorf("country %q", country.Country)
	}
	_, err = demo.CreateCheckout(ctx, OrderRequest{ProductID: "pack.points.500"})
	if !IsCode(err, "payments_not_configured") {
		t.Errorf("CreateCheckout without Stripe: %v", err)
	}
	_, err = demo.ListOrders(ctx, PageParams{Limit: 10})
	must("ListOrders", err)

	// Metagame.
	prog, err := demo.GetProgression(ctx)
	must("GetProgression", err)
	if prog.MaxLevel != 50 {
		t.Errorf("progression %+v", prog)
	}
	_, err = demo.GetProgressionHistory(ctx, 5)
	must("GetProgressionHistory", err)
	if _, err := alice.Prestige(ctx); !IsCode(err, "not_max_level") {
		t.Errorf("Prestige at level 1: %v", err)
	}
	trees, err := demo.ListUnlocks(ctx)
	must("ListUnlocks", err)
	if len(trees.Trees) == 0 || len(trees.Trees[0].Nodes) == 0 {
		t.Errorf("unlock trees %+v", trees)
	}
	bp, err := demo.GetBattlePass(ctx, "")
	must("GetBattlePass", err)
	if bp.Season.ID != "s1" || len(bp.Tiers) == 0 || bp.PremiumPrice == nil {
		t.Errorf("battle pass %+v", bp)
	}
	receipt, err := demo.BuyBattlePassTiers(ctx, "", BattlePassSkipRequest{Tiers: 1})
	must("BuyBattlePassTiers", err)
	if receipt.Tiers != 1 || receipt.Battlepass.Tier != bp.Tier+1 {
		t.Errorf("tier receipt %+v", receipt)
	}
	if _, err := bob.UnlockBattlePassPremium(ctx, ""); !IsCode(err, "insufficient_funds") {
		t.Errorf("premium without funds: %v", err)
	}
	ch, err := demo.ListChallenges(ctx)
	must("ListChallenges", err)
	if ch.Daily == nil || len(ch.Daily.Challenges) == 0 {
		t.Errorf("challenges %+v", ch)
	} else if rr, err := demo.RerollChallenge(ctx, ch.Daily.Challenges[0].ID); err != nil || rr.Replaced != ch.Daily.Challenges[0].ID {
		t.Errorf("RerollChallenge = %+v, %v", rr, err)
	}

	// Player data.
	prof, err := alice.GetMyProfile(ctx)
	must("GetMyProfile", err)
	_, err = alice.PutMyProfile(ctx, ProfileRequest{Version: prof.Version})
	must("PutMyProfile", err)
	pub, err := bob.GetPlayerProfile(ctx, a.Player.ID)
	must("GetPlayerProfile", err)
	if pub.ID != a.Player.ID {
		t.Errorf("public profile %+v", pub)
	}
	_, err = alice.ListMyLoadouts(ctx)
	must("ListMyLoadouts", err)
	lo, err := alice.PutMyLoadout(ctx, "main", LoadoutRequest{Version: 0, Name: "Main"})
	if err == nil {
		must("DeleteMyLoadout", alice.DeleteMyLoadout(ctx, "main", lo.Version))
	} else if !IsCode(err, "slot_required") {
		t.Errorf("PutMyLoadout: %v", err)
	}
	set, err := alice.PutMySettings(ctx, SettingsRequest{Version: 0, Settings: []byte(`{"sensitivity":0.5}`)})
	must("PutMySettings", err)
	_, err = alice.PutMySettings(ctx, SettingsRequest{Version: 0, Settings: []byte(`{}`)})
	var stale *APIError
	if !errors.As(err, &stale) || stale.Code != "stale_version" || len(stale.Body) == 0 {
		t.Errorf("a stale settings write: %v", err)
	}
	got, err := alice.GetMySettings(ctx)
	must("GetMySettings", err)
	if got.Version != set.Version || string(got.Settings) != `{"sensitivity":0.5}` {
		t.Errorf("settings %+v", got)
	}
	_, err = alice.GetMyStats(ctx, "")
	must("GetMyStats", err)

	// Friends, party, notifications.
	_, err = alice.RequestFriend(ctx, PlayerRef{PlayerID: b.Player.ID})
	must("RequestFriend", err)
	fr, err := bob.AcceptFriend(ctx, a.Player.ID)
	must("AcceptFriend", err)
	if fr.State != "friend" {
		t.Errorf("friend %+v", fr)
	}
	friends, err := alice.ListFriends(ctx)
	must("ListFriends", err)
	if len(friends.Friends) != 1 || friends.Friends[0].PlayerID != b.Player.ID {
		t.Errorf("alice's friends %+v", friends)
	}
	party, err := alice.CreateParty(ctx, PartySettings{})
	must("CreateParty", err)
	must("InviteToParty", alice.InviteToParty(ctx, PartyPlayer{PlayerID: b.Player.ID}))
	joined, err := bob.JoinParty(ctx, PartyJoin{PartyID: &party.Party.PartyID})
	must("JoinParty", err)
	if joined.Party == nil || len(joined.Party.Members) != 2 {
		t.Errorf("party after join %+v", joined)
	}
	open := true
	upd, err := alice.UpdateParty(ctx, PartySettings{JoinByCode: &open})
	must("UpdateParty", err)
	if upd.Party.InviteCode == "" {
		t.Errorf("no invite code: %+v", upd.Party)
	}
	must("StartReadyCheck", alice.StartReadyCheck(ctx))
	must("SetPartyReady", bob.SetPartyReady(ctx, PartyReady{Ready: true}))
	must("SendPartyChat", bob.SendPartyChat(ctx, PartyChat{Text: "gl hf"}))
	must("PromotePartyMember", alice.PromotePartyMember(ctx, PartyPlayer{PlayerID: b.Player.ID}))
	must("KickFromParty", bob.KickFromParty(ctx, PartyPlayer{PlayerID: a.Player.ID}))
	must("LeaveParty", bob.LeaveParty(ctx))
	if p, err := bob.GetParty(ctx); err != nil || p.Party != nil {
		t.Errorf("GetParty after leaving = %+v, %v", p, err)
	}
	notes, err := bob.ListNotifications(ctx, ListNotificationsParams{Limit: 50})
	must("ListNotifications", err)
	if len(notes.Notifications) == 0 || notes.UnreadCount == 0 {
		t.Errorf("bob's notifications %+v", notes)
	} else {
		ids := []string{notes.Notifications[0].ID}
		marked, err := bob.MarkNotificationsRead(ctx, MarkNotificationsReadRequest{IDs: ids})
		must("MarkNotificationsRead", err)
		// The worker may store more of bob's notifications meanwhile (the
		// party's and the friends' events): the unread count is not exact,
		// the marked one is.
		if marked.Marked != 1 {
			t.Errorf("marked %+v of %d unread", marked, notes.UnreadCount)
		}
		after, err := bob.ListNotifications(ctx, ListNotificationsParams{Limit: 50})
		must("ListNotifications", err)
		for _, n := range after.Notifications {
			if n.ID == ids[0] && n.ReadAt == nil {
				t.Errorf("notification %s is still unread after MarkNotificationsRead", n.ID)
			}
		}
	}
	must("RemoveFriend", alice.RemoveFriend(ctx, b.Player.ID))
	must("BlockPlayer", alice.BlockPlayer(ctx, PlayerRef{PlayerID: b.Player.ID}))
	if _, err := alice.RequestFriend(ctx, PlayerRef{PlayerID: b.Player.ID}); !IsCode(err, "player_blocked") {
		t.Errorf("a request to a player one blocked: %v", err)
	}
	must("UnblockPlayer", alice.UnblockPlayer(ctx, b.Player.ID))

	// Matchmaking.
	tk, err := alice.JoinMatchmaking(ctx, QueueJoin{Queue: "tdm_6v6", LatencyMs: map[string]int{"eu-west": 30}})
	must("JoinMatchmaking", err)
	if tk.Ticket == nil || tk.Ticket.Queue != "tdm_6v6" {
		t.Errorf("ticket %+v", tk)
	}
	if got, err := alice.GetMatchmakingTicket(ctx); err != nil || got.Ticket == nil {
		t.Errorf("GetMatchmakingTicket = %+v, %v", got, err)
	}
	_, err = alice.CancelMatchmaking(ctx)
	must("CancelMatchmaking", err)
	if _, err := alice.GetMyMatch(ctx); !IsCode(err, "no_live_match") {
		t.Errorf("GetMyMatch with none: %v", err)
	}

	// A game server.
	gs := NewServerClient(srv.url, srv.serverCredential(t))
	inst, err := gs.RegisterInstance(ctx, RegisterInstanceRequest{Fleet: "main", Region: "eu-west", Address: "127.0.0.1:7777"})
	must("RegisterInstance", err)
	hb, err := gs.HeartbeatInstance(ctx, inst.ID)
	must("HeartbeatInstance", err)
	if hb.ID != inst.ID || hb.Drain {
		t.Errorf("heartbeat %+v", hb)
	}
	if _, err := gs.GetAllocation(ctx, "no-such-match"); !IsCode(err, "allocation_not_found") {
		t.Errorf("GetAllocation of nothing: %v", err)
	}
	if _, err := gs.ReportAllocationPlayers(ctx, "no-such-match", AllocationPlayersRequest{Joined: []string{a.Player.ID}}); !IsCode(err, "allocation_not_found") {
		t.Errorf("ReportAllocationPlayers of nothing: %v", err)
	}
	if _, err := gs.EndAllocation(ctx, "no-such-match", EndAllocationRequest{Reason: "test"}); !IsCode(err, "allocation_not_found") {
		t.Errorf("EndAllocation of nothing: %v", err)
	}
	must("DeregisterInstance", gs.DeregisterInstance(ctx, inst.ID))
	m, err := gs.OpenMatch(ctx, OpenMatchRequest{MatchID: "sdk-" + randomName(), Mode: "tdm_6v6", Players: []string{a.Player.ID, b.Player.ID}})
	must("OpenMatch", err)
	result := MatchResultRequest{Players: []MatchResultRequestPlayer{
		{PlayerID: a.Player.ID, Team: 1, Placement: 1, Stats: map[string]int64{"kills": 3}},
		{PlayerID: b.Player.ID, Team: 2, Placement: 2, Stats: map[string]int64{"kills": 1}},
	}}
	rc, err := gs.ReportMatch(ctx, m.MatchID, result)
	must("ReportMatch", err)
	if rc.Status != "accepted" || rc.Replayed {
		t.Errorf("receipt %+v", rc)
	}
	if rc, err := gs.ReportMatch(ctx, m.MatchID, result); err != nil || !rc.Replayed {
		t.Errorf("the same report again = %+v, %v", rc, err)
	}
	if _, err := NewServerClient(srv.url, "msv_1_wrong").HeartbeatInstance(ctx, inst.ID); !IsCode(err, "invalid_server_credential") {
		t.Errorf("a wrong credential: %v", err)
	}

	// Last, the account goes.
	must("DeleteMe", bob.DeleteMe(ctx))
	if _, err := bob.GetMe(ctx); !errors.Is(err, ErrNoSession) {
		t.Errorf("GetMe after DeleteMe: %v", err)
	}
}

// TestSocketDialAndResume connects the realtime socket with the client's
// token and, after the connection drops, resumes it: what was missed
// arrives, once.
func TestSocketDialAndResume(t *testing.T) {
	srv := startDev(t)
	ctx := testCtx(t)
	alice, a := srv.newPlayer(t)
	bob, b := srv.newPlayer(t)
	sock, err := bob.Dial(ctx, srv.realtime, SocketOptions{Client: "sdk-test"})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if sock.Welcome().PlayerId != b.Player.ID || sock.ResumeToken() == "" {
		t.Fatalf("welcome %+v", sock.Welcome())
	}
	if _, err := alice.RequestFriend(ctx, PlayerRef{PlayerID: b.Player.ID}); err != nil {
		t.Fatal(err)
	}
	req, err := Await(ctx, sock, func(n *pb.Notification) bool { return n.Kind == "friend.request" })
	if err != nil {
		t.Fatalf("the friend request's notification: %v", err)
	}
	if sock.LastSeq() != req.Seq {
		t.Fatalf("LastSeq %d, want %d", sock.LastSeq(), req.Seq)
	}
	// The connection drops; an invitation comes meanwhile.
	sock.nc.Close()
	<-sock.Done()
	if _, err := bob.AcceptFriend(ctx, a.Player.ID); err != nil {
		t.Fatal(err)
	}
	party, err := alice.CreateParty(ctx, PartySettings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.InviteToParty(ctx, PartyPlayer{PlayerID: b.Player.ID}); err != nil {
		t.Fatal(err)
	}
	again, err := bob.Resume(ctx, srv.realtime, sock, SocketOptions{})
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	defer again.Close()
	if !again.Welcome().Resumed {
		t.Fatal("Welcome.Resumed is false")
	}
	n, err := Await[*pb.Notification](ctx, again, nil)
	if err != nil || n.Kind != "party.invite" || n.Seq != req.Seq+1 || !strings.Contains(string(n.PayloadJson), party.Party.PartyID) {
		t.Fatalf("resumed with %+v, %v; want seq %d party.invite", n, err, req.Seq+1)
	}
	if again.LastSeq() != n.Seq {
		t.Fatalf("LastSeq %d after resuming, want %d", again.LastSeq(), n.Seq)
	}
	if err := again.Ack(n.Seq); err != nil {
		t.Fatal(err)
	}
}

// TestSocketTokenKeptFresh keeps a socket of Client.Dial open past several
// access token lifetimes, while a socket given one token is closed with
// TOKEN_EXPIRED at its first request after the token expired.
func TestSocketTokenKeptFresh(t *testing.T) {
	srv := startDev(t, "--access-ttl=4s")
	ctx := testCtx(t)
	c, login := srv.newPlayer(t)
	kept, err := c.Dial(ctx, srv.realtime, SocketOptions{NoHeartbeat: true})
	if err != nil {
		t.Fatalf("Client.Dial: %v", err)
	}
	defer kept.Close()
	fixed, err := Dial(ctx, srv.realtime, SocketOptions{AccessToken: login.Tokens.AccessToken, NoHeartbeat: true})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer fixed.Close()
	time.Sleep(10 * time.Second)
	if _, err := kept.Call(ctx, &pb.Ping{Nonce: 1}); err != nil {
		t.Fatalf("the kept socket after 10 s: %v", err)
	}
	_, err = fixed.Call(ctx, &pb.Ping{Nonce: 1})
	var se *ServerError
	if !errors.As(err, &se) || se.Code != protocol.CodeTokenExpired {
		t.Fatalf("the socket of one token after 10 s: %v, want TOKEN_EXPIRED", err)
	}
}
