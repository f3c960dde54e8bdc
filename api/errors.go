package api

import (
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/friend"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/party"
	playerdata "github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/web"
)

// domainErrors maps each domain error to its status and stable code. The
// message shown is the error's own text, which domain packages keep fit for
// players.
var domainErrors = []struct {
	err    error
	status int
	code   string
}{
	{auth.ErrInvalidCredentials, http.StatusUnauthorized, "invalid_credentials"},
	{auth.ErrRateLimited, http.StatusTooManyRequests, web.CodeRateLimited},
	{auth.ErrBanned, http.StatusForbidden, "account_banned"},
	{auth.ErrSteamBanned, http.StatusForbidden, "steam_banned"},
	{auth.ErrSteamTicketInvalid, http.StatusUnauthorized, "steam_ticket_invalid"},
	{auth.ErrSteamUnavailable, http.StatusServiceUnavailable, "steam_unavailable"},
	{account.ErrBusy, http.StatusServiceUnavailable, web.CodeAuthBusy},
	{auth.ErrSteamNotConfigured, http.StatusNotImplemented, "steam_not_configured"},
	{auth.ErrResetNotConfigured, http.StatusNotImplemented, "reset_not_configured"},
	{account.ErrWeakPassword, http.StatusBadRequest, "weak_password"},
	{account.ErrInvalidEmail, http.StatusBadRequest, "invalid_email"},
	{account.ErrInvalidDisplayName, http.StatusBadRequest, "invalid_display_name"},
	{account.ErrEmailTaken, http.StatusConflict, "email_taken"},
	{account.ErrDisplayNameTaken, http.StatusConflict, "display_name_taken"},
	{account.ErrDisplayNameTooSoon, http.StatusConflict, "display_name_cooldown"},
	{account.ErrSteamTaken, http.StatusConflict, "steam_taken"},
	{account.ErrAlreadyLinked, http.StatusConflict, "already_linked"},
	{account.ErrNotLinked, http.StatusNotFound, "not_linked"},
	{account.ErrLastIdentity, http.StatusConflict, "last_identity"},
	{account.ErrInvalidResetToken, http.StatusBadRequest, "invalid_reset_token"},
	{account.ErrNotFound, http.StatusNotFound, web.CodeNotFound},
	{session.ErrInvalidRefresh, http.StatusUnauthorized, "invalid_refresh_token"},
	{session.ErrRefreshReused, http.StatusUnauthorized, "refresh_token_reused"},
	{session.ErrNotFound, http.StatusNotFound, "session_not_found"},
	{session.ErrAccountBlocked, http.StatusForbidden, "account_banned"},
	{session.ErrInvalidToken, http.StatusUnauthorized, "invalid_token"},
	{session.ErrExpiredToken, http.StatusUnauthorized, "token_expired"},
	{session.ErrRevoked, http.StatusUnauthorized, "session_revoked"},
	{ledger.ErrInsufficientFunds, http.StatusConflict, "insufficient_funds"},
	{ledger.ErrKeyReused, http.StatusConflict, "idempotency_key_reused"},
	{ledger.ErrUnknownCurrency, http.StatusNotFound, "unknown_currency"},
	{ledger.ErrInvalidTransfer, http.StatusBadRequest, "invalid_transfer"},
	{inventory.ErrKeyReused, http.StatusConflict, "idempotency_key_reused"},
	{inventory.ErrUnknownItem, http.StatusNotFound, "unknown_item"},
	{inventory.ErrRecipeUnknown, http.StatusNotFound, "unknown_recipe"},
	{inventory.ErrStackFull, http.StatusConflict, "stack_full"},
	{inventory.ErrAlreadyOwned, http.StatusConflict, "already_owned"},
	{inventory.ErrNotEnoughItems, http.StatusConflict, "not_enough_items"},
	{inventory.ErrInvalid, http.StatusBadRequest, "invalid_operation"},
	{inventory.ErrNotGiftable, http.StatusBadRequest, "not_giftable"},
	{inventory.ErrNotTradable, http.StatusBadRequest, "not_tradable"},
	{inventory.ErrNotDisenchant, http.StatusBadRequest, "not_disenchantable"},
	{inventory.ErrRecipientAbsent, http.StatusNotFound, "recipient_not_found"},
	{inventory.ErrGiftNotFound, http.StatusNotFound, "gift_not_found"},
	{inventory.ErrGiftClosed, http.StatusConflict, "gift_closed"},
	{inventory.ErrTradesDisabled, http.StatusForbidden, "trades_disabled"},
	{inventory.ErrTradeNotFound, http.StatusNotFound, "trade_not_found"},
	{inventory.ErrTradeClosed, http.StatusConflict, "trade_closed"},
	{catalog.ErrInvalid, http.StatusBadRequest, codeInvalidField},
	{store.ErrNotFound, http.StatusNotFound, "product_not_found"},
	{errOrderNotFound, http.StatusNotFound, "order_not_found"},
	{store.ErrNotOnSale, http.StatusConflict, "not_on_sale"},
	{store.ErrLimitReached, http.StatusConflict, "purchase_limit_reached"},
	{store.ErrKeyReused, http.StatusConflict, "idempotency_key_reused"},
	{store.ErrWrongKind, http.StatusBadRequest, "wrong_product_kind"},
	{store.ErrPaymentsOff, http.StatusNotImplemented, "payments_not_configured"},
	{store.ErrPaymentFailed, http.StatusBadGateway, "payment_provider_unavailable"},
	{store.ErrBadSignature, http.StatusBadRequest, "invalid_signature"},
	{store.ErrInvalidPayload, http.StatusBadRequest, "invalid_payload"},
	{playerdata.ErrStaleVersion, http.StatusConflict, codeStaleVersion}, // answered with the current document (failPlayer)
	{playerdata.ErrNotOwned, http.StatusConflict, "item_not_owned"},
	{playerdata.ErrItemNotAllowed, http.StatusBadRequest, "item_not_allowed"},
	{playerdata.ErrUnknownSlot, http.StatusBadRequest, "unknown_slot"},
	{playerdata.ErrSlotRequired, http.StatusBadRequest, "slot_required"},
	{playerdata.ErrTooManyLoadouts, http.StatusConflict, "too_many_loadouts"},
	{playerdata.ErrLoadoutNotFound, http.StatusNotFound, "loadout_not_found"},
	{playerdata.ErrSettingsTooLarge, http.StatusRequestEntityTooLarge, "settings_too_large"},
	{playerdata.ErrInvalid, http.StatusBadRequest, "invalid_player_data"},
	{playerdata.ErrNotFound, http.StatusNotFound, "player_not_found"},
	{playerdata.ErrUnknownSeason, http.StatusNotFound, "season_not_found"},
	{challenge.ErrNotConfigured, http.StatusNotFound, "challenges_not_configured"},
	{challenge.ErrNotFound, http.StatusNotFound, "challenge_not_found"},
	{challenge.ErrCompleted, http.StatusConflict, "challenge_completed"},
	{challenge.ErrNoRerolls, http.StatusConflict, "no_rerolls_left"},
	{challenge.ErrNoReplacement, http.StatusConflict, "no_replacement_challenge"},
	{challenge.ErrKeyReused, http.StatusConflict, "idempotency_key_reused"},
	{battlepass.ErrNoSeason, http.StatusNotFound, "season_not_found"},
	{battlepass.ErrNoPass, http.StatusNotFound, "battlepass_not_found"},
	{battlepass.ErrSeasonNotStarted, http.StatusConflict, "season_not_started"},
	{battlepass.ErrSeasonOver, http.StatusConflict, "season_over"},
	{battlepass.ErrAlreadyPremium, http.StatusConflict, "already_premium"},
	{battlepass.ErrNotForSale, http.StatusConflict, "not_for_sale"},
	{battlepass.ErrMaxTier, http.StatusConflict, "max_tier_reached"},
	{battlepass.ErrKeyReused, http.StatusConflict, "idempotency_key_reused"},
	{battlepass.ErrInvalid, http.StatusBadRequest, "invalid_operation"},
	{progression.ErrNotMaxLevel, http.StatusConflict, "not_max_level"},
	{progression.ErrPrestigeCap, http.StatusConflict, "prestige_cap_reached"},
	{progression.ErrKeyReused, http.StatusConflict, "idempotency_key_reused"},
	{progression.ErrInvalid, http.StatusBadRequest, "invalid_request"},
	{progression.ErrUnknownTree, http.StatusNotFound, "unknown_unlock_tree"},
	{progression.ErrUnknownNode, http.StatusNotFound, "unknown_unlock_node"},
	{progression.ErrAlreadyUnlocked, http.StatusConflict, "already_unlocked"},
	{progression.ErrLocked, http.StatusConflict, "unlock_requirements_unmet"},
	{match.ErrInvalidServer, http.StatusUnauthorized, codeServerCredential},
	{match.ErrUnknownMode, http.StatusNotFound, "unknown_mode"},
	{match.ErrMatchExists, http.StatusConflict, "match_exists"},
	{match.ErrMatchNotFound, http.StatusNotFound, "match_not_found"},
	{match.ErrNotYourMatch, http.StatusForbidden, "not_your_match"},
	{match.ErrAlreadyReported, http.StatusConflict, "result_already_reported"},
	{match.ErrNotInMatch, http.StatusUnprocessableEntity, "player_not_in_match"},
	{match.ErrInvalidResult, http.StatusUnprocessableEntity, "invalid_result"},
	{match.ErrInvalidRoster, http.StatusUnprocessableEntity, "invalid_roster"},
	{fleet.ErrInvalid, http.StatusUnprocessableEntity, "invalid_registration"},
	{fleet.ErrInstanceNotFound, http.StatusNotFound, "instance_not_found"},
	{fleet.ErrInstanceGone, http.StatusGone, "instance_gone"},
	{fleet.ErrAddressInUse, http.StatusConflict, "address_in_use"},
	{fleet.ErrNotAllocated, http.StatusNotFound, "allocation_not_found"},
	{fleet.ErrAllocationOver, http.StatusConflict, "allocation_over"},
	{fleet.ErrNoLiveMatch, http.StatusNotFound, "no_live_match"},
	{notify.ErrInvalid, http.StatusBadRequest, "invalid_request"},
	{party.ErrInParty, http.StatusConflict, "already_in_party"},
	{party.ErrNoParty, http.StatusNotFound, "not_in_party"},
	{party.ErrNotFound, http.StatusNotFound, "party_not_found"},
	{party.ErrNotLeader, http.StatusForbidden, "not_party_leader"},
	{party.ErrNotFriends, http.StatusForbidden, "not_friends"},
	{party.ErrFull, http.StatusConflict, "party_full"},
	{party.ErrNotMember, http.StatusNotFound, "not_party_member"},
	{party.ErrAlready, http.StatusConflict, "already_party_member"},
	{party.ErrInvalid, http.StatusBadRequest, "invalid_request"},
	{party.ErrBusy, http.StatusServiceUnavailable, "party_busy"},
	{matchmaking.ErrUnknownQueue, http.StatusNotFound, "queue_not_found"},
	{matchmaking.ErrAlreadyQueued, http.StatusConflict, "already_queued"},
	{matchmaking.ErrNotQueued, http.StatusNotFound, "not_queued"},
	{matchmaking.ErrNotLeader, http.StatusForbidden, "not_party_leader"},
	{matchmaking.ErrPartySize, http.StatusConflict, "party_size_not_allowed"},
	{matchmaking.ErrNoRegion, http.StatusBadRequest, "no_reachable_region"},
	{friend.ErrSelf, http.StatusBadRequest, "cannot_add_self"},
	{friend.ErrNotFound, http.StatusNotFound, "player_not_found"},
	{friend.ErrLimit, http.StatusConflict, "friend_limit_reached"},
	{friend.ErrNoRequest, http.StatusNotFound, "friend_request_not_found"},
	{friend.ErrNotFriends, http.StatusNotFound, "not_friends"},
	{friend.ErrBlocked, http.StatusConflict, "player_blocked"},
	{friend.ErrNotBlocked, http.StatusNotFound, "not_blocked"},
}

// fail answers a domain error with its status and code; an error it does
// not know goes on to the error handler as an internal error. A rate limit
// also sets Retry-After.
func fail(c *fiber.Ctx, err error) error {
	var limited *auth.RateLimitError
	if errors.As(err, &limited) {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(limited.RetryAfter.Seconds()))))
	}
	if errors.Is(err, account.ErrBusy) {
		// 1 to 3 s, so that the clients turned away together do not all
		// come back together.
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(1+rand.IntN(3)))
	}
	for _, m := range domainErrors {
		if errors.Is(err, m.err) {
			return web.NewError(m.status, m.code, publicMessage(err, m.err))
		}
	}
	return err
}

// detailed are the errors whose wrapping detail is written for players (a
// ban's end and reason, when a rename is allowed again, what a display name
// may hold); any other error shows only its sentinel's text, so detail from
// lower layers (a Redis or database message) never reaches a client.
var detailed = []error{auth.ErrBanned, auth.ErrRateLimited, account.ErrDisplayNameTooSoon, account.ErrInvalidDisplayName}

// detailedFrom are the errors whose domain package writes, after the
// sentinel's text, which item, recipe or currency the error is about and
// what the rule is ("unknown or retired item: item.sword"). The player sees
// the message from the sentinel on, without the context that wraps it.
var detailedFrom = []error{
	inventory.ErrUnknownItem, inventory.ErrRecipeUnknown, inventory.ErrStackFull, inventory.ErrAlreadyOwned,
	inventory.ErrNotEnoughItems, inventory.ErrInvalid, inventory.ErrNotGiftable, inventory.ErrNotTradable,
	inventory.ErrNotDisenchant, ledger.ErrUnknownCurrency,
	playerdata.ErrNotOwned, playerdata.ErrItemNotAllowed, playerdata.ErrUnknownSlot, playerdata.ErrSlotRequired, playerdata.ErrTooManyLoadouts,
	playerdata.ErrSettingsTooLarge, playerdata.ErrInvalid, playerdata.ErrUnknownSeason,
	progression.ErrLocked, progression.ErrInvalid, match.ErrUnknownMode, match.ErrNotInMatch, match.ErrInvalidResult, match.ErrInvalidRoster,
	notify.ErrInvalid, friend.ErrLimit, fleet.ErrInvalid,
}

// publicMessage is the error text for the player, without wrapping detail
// from lower layers that the player has no use for.
func publicMessage(err, sentinel error) string {
	var pe *account.PasswordPolicyError
	if errors.As(err, &pe) {
		return "password " + pe.Reason
	}
	switch {
	case errors.Is(err, auth.ErrSteamUnavailable):
		return "Steam did not answer; try again shortly"
	case errors.Is(err, account.ErrBusy):
		return "too many players are logging in right now; nothing was done, try again in a few seconds"
	case errors.Is(err, auth.ErrSteamTicketInvalid):
		return "Steam rejected the auth ticket; get a new one and try again"
	}
	for _, d := range detailed {
		if errors.Is(err, d) {
			return err.Error()
		}
	}
	for _, d := range detailedFrom {
		if errors.Is(err, d) {
			msg := err.Error()
			if i := strings.Index(msg, d.Error()); i >= 0 {
				return msg[i:]
			}
			return d.Error()
		}
	}
	return sentinel.Error()
}
