package frame

import (
	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/domain/staff"
)

// Page is what the layout needs to frame a screen.
type Page struct {
	Title  string
	Active string // the nav entry to highlight
	Staff  staff.Staff
	CSRF   string
	Nav    []NavItem
	Flash  *Flash
	// Refresh reloads a live screen every so many seconds (a meta refresh:
	// the console runs no script); 0 never.
	Refresh int
}

// NavItem is one entry of the navigation.
type NavItem struct {
	Key, Label, Href string
}

// nav is the navigation, each entry shown only to roles that may open it.
var nav = []struct {
	item       NavItem
	permission string
}{
	{NavItem{"dashboard", "Dashboard", "/"}, rbac.PermDashboardView},
	{NavItem{"players", "Players", "/players"}, rbac.PermPlayersView},
	{NavItem{"catalog", "Catalog", "/catalog"}, rbac.PermCatalogView},
	{NavItem{"store", "Store", "/store"}, rbac.PermStoreView},
	{NavItem{"liveops", "Live-ops", "/liveops"}, rbac.PermProgressView},
	{NavItem{"matches", "Matches", "/matches"}, rbac.PermMatchesView},
	{NavItem{"matchmaking", "Matchmaking", "/matchmaking"}, rbac.PermMatchmakingView},
	{NavItem{"servers", "Servers", "/servers"}, rbac.PermServersManage},
	{NavItem{"fleet", "Fleet", "/fleet"}, rbac.PermServersManage},
	{NavItem{"audit", "Audit log", "/audit"}, rbac.PermAuditView},
	{NavItem{"staff", "Staff", "/staff"}, rbac.PermStaffView},
	{NavItem{"roles", "Roles", "/roles"}, rbac.PermRolesManage},
}

// Page builds the frame of a screen for the signed-in staff member.
func (f *Frame) Page(c *fiber.Ctx, title, active string) Page {
	s, _ := StaffOf(c)
	p := Page{Title: title, Active: active, Staff: s, CSRF: CSRF(c), Flash: f.TakeFlash(c)}
	for _, n := range nav {
		if f.rbac.Allowed(s.Role, n.permission) {
			p.Nav = append(p.Nav, n.item)
		}
	}
	return p
}
