// Package rbac decides what studio staff may do in the console.
//
// Every staff account has exactly one role; a role holds a set of
// permissions, each a "resource:action" string such as "players:ban". The
// policy (which role holds which permission) lives in PostgreSQL's
// rbac_rules table, is evaluated by casbin with the model in model.conf, and
// can be edited at run time by owners. Every process keeps the whole policy
// in memory and reloads it when another process announces a change over
// state.PubSub, and every 30 seconds in case an announcement was lost.
//
// Nothing is allowed unless the policy allows it. The owner role always
// keeps "*:*", so no edit can lock the studio out of its own console.
package rbac

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Roles, from most to least powerful. A staff account's role is one of these.
const (
	// RoleOwner is for the studio's founders or technical leads: everything,
	// including managing staff accounts and editing what every other role may
	// do. Owners always keep "*:*". Keep the number of owners small.
	RoleOwner = "owner"
	// RoleAdmin is for live-ops leads who run the game day to day: the
	// dashboard, every player tool including bans and session revocation, the
	// audit log, the staff list (read-only: admins cannot create staff or
	// change roles), players' inventories and wallets with grants within
	// the admin limits, the catalog (read-only), live-ops content, match
	// review, game server credentials and the live matchmaking queues.
	RoleAdmin = "admin"
	// RoleDesigner is for game and economy designers: they edit the catalog
	// (items, currencies, recipes), the store and live-ops content (queues
	// included), and look at the live game, the dashboard, the live
	// matchmaking queues, player profiles, inventories and wallets, but
	// change no player.
	RoleDesigner = "designer"
	// RoleSupport is for customer-support agents who handle player tickets:
	// player lookup, bans and session revocation, grants and removals of
	// items and currency within the support limits (every action is
	// audited), and the audit log to see what colleagues did to a player.
	RoleSupport = "support"
	// RoleAnalyst is for data and business analysts: read-only access to the
	// dashboard, player profiles, inventories and wallets, the catalog, the
	// store, progression content, matches, the live matchmaking queues and
	// the audit log.
	RoleAnalyst = "analyst"
)

// Roles lists every role, from most to least powerful.
var Roles = []string{RoleOwner, RoleAdmin, RoleDesigner, RoleSupport, RoleAnalyst}

// IsRole reports whether role is one of Roles.
func IsRole(role string) bool { return slices.Contains(Roles, role) }

// Permissions the console checks today, as "resource:action".
const (
	PermDashboardView   = "dashboard:view"
	PermPlayersView     = "players:view"
	PermPlayersBan      = "players:ban"
	PermPlayersSession  = "players:sessions"
	PermAuditView       = "audit:view"
	PermStaffView       = "staff:view"
	PermStaffManage     = "staff:manage"
	PermRolesManage     = "roles:manage"
	PermCatalogView     = "catalog:view"
	PermCatalogEdit     = "catalog:edit"
	PermEconomyView     = "economy:view"       // a player's inventory, wallets and their history
	PermEconomyGrant    = "economy:grant"      // grant or take items and currency, within the role's limits
	PermStoreView       = "store:view"         // store offers, packs, regional prices and revenue
	PermStoreEdit       = "store:edit"         // edit store content
	PermOrdersView      = "orders:view"        // a player's purchases and their payment trail
	PermOrdersRefund    = "orders:refund"      // refund real-money purchases through Stripe
	PermProgressView    = "progression:view"   // progression content and a player's progression
	PermProgressEdit    = "progression:edit"   // edit and publish XP curves, unlock trees, seasons, challenges, modes
	PermProgressAdjust  = "progression:adjust" // grant a player XP or battle pass tiers, with a reason
	PermMatchesView     = "matches:view"       // match results, quarantined ones included
	PermMatchesReview   = "matches:review"     // release or discard a quarantined result
	PermServersManage   = "servers:manage"     // create and revoke game server credentials
	PermMatchmakingView = "matchmaking:view"   // live queue depths, wait times and match quality
	// PermAll grants every action on every resource, including those added
	// in later versions. The owner role always holds it.
	PermAll = "*:*"
)

// AllPermissions lists the permissions of the constants above except PermAll,
// in the order a console screen should show them.
var AllPermissions = []string{
	PermDashboardView, PermPlayersView, PermPlayersBan, PermPlayersSession,
	PermAuditView, PermStaffView, PermStaffManage, PermRolesManage,
	PermCatalogView, PermCatalogEdit, PermEconomyView, PermEconomyGrant,
	PermStoreView, PermStoreEdit, PermOrdersView, PermOrdersRefund,
	PermProgressView, PermProgressEdit, PermProgressAdjust, PermMatchesView, PermMatchesReview, PermServersManage,
	PermMatchmakingView,
}

// DefaultPolicy returns the permissions each role starts with. Seed writes it
// to an empty rbac_rules table. The result is a fresh copy on every call.
func DefaultPolicy() map[string][]string {
	return map[string][]string{
		RoleOwner: {PermAll},
		RoleAdmin: {PermDashboardView, PermPlayersView, PermPlayersBan, PermPlayersSession,
			PermAuditView, PermStaffView, PermCatalogView, PermEconomyView, PermEconomyGrant,
			PermStoreView, PermStoreEdit, PermOrdersView, PermOrdersRefund,
			PermProgressView, PermProgressEdit, PermProgressAdjust, PermMatchesView, PermMatchesReview, PermServersManage,
			PermMatchmakingView},
		RoleDesigner: {PermDashboardView, PermPlayersView, PermCatalogView, PermCatalogEdit, PermEconomyView,
			PermStoreView, PermStoreEdit, PermProgressView, PermProgressEdit, PermMatchmakingView},
		RoleSupport: {PermDashboardView, PermPlayersView, PermPlayersBan, PermPlayersSession,
			PermAuditView, PermEconomyView, PermEconomyGrant, PermStoreView, PermOrdersView, PermOrdersRefund,
			PermProgressView, PermProgressAdjust, PermMatchesView},
		RoleAnalyst: {PermDashboardView, PermPlayersView, PermAuditView, PermCatalogView, PermEconomyView,
			PermStoreView, PermOrdersView, PermProgressView, PermMatchesView, PermMatchmakingView},
	}
}

// Errors of this package.
var (
	// ErrUnknownRole means the role is not one of Roles.
	ErrUnknownRole = errors.New("unknown role")
	// ErrInvalidPermission means a permission is not "resource:action".
	ErrInvalidPermission = errors.New("invalid permission")
	// ErrOwnerLockout means an edit would take "*:*" away from the owner
	// role, which could leave nobody able to manage staff or roles.
	ErrOwnerLockout = errors.New("the owner role must keep every permission (*:*)")
)

// SplitPermission splits "resource:action" into its parts. Each part is
// "*" or 1 to 64 characters of a-z, 0-9, '_', '-' and '.'.
func SplitPermission(perm string) (resource, action string, err error) {
	resource, action, ok := strings.Cut(perm, ":")
	if !ok || !validPart(resource) || !validPart(action) {
		return "", "", fmt.Errorf("%w: %q, want resource:action", ErrInvalidPermission, perm)
	}
	return resource, action, nil
}

func validPart(s string) bool {
	if s == "*" {
		return true
	}
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-' && r != '.' {
			return false
		}
	}
	return true
}
