package api

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/web"
)

type inventoryPage struct {
	Items []inventory.Entitlement `json:"items"`
	Next  *string                 `json:"next"` // the after of the next page; null on the last
}

// listInventory answers a page of what the player holds, by item id, or
// with all=true everything at once.
func (h *economyHandlers) listInventory(c *fiber.Ctx) error {
	id := claimsOf(c).AccountID
	if s := c.Query("all"); s != "" {
		all, err := strconv.ParseBool(s)
		if err != nil {
			return web.BadRequest("all must be true or false")
		}
		if all {
			if c.Query("kind") != "" || c.Query("after") != "" || c.Query("limit") != "" {
				return web.BadRequest("all=true returns every item: leave out kind, after and limit")
			}
			items, err := h.reader.All(c.UserContext(), id)
			if err != nil {
				return fail(c, err)
			}
			return c.JSON(inventoryPage{Items: items})
		}
	}
	kind := c.Query("kind")
	if kind != "" && !slices.Contains(catalog.Kinds, kind) {
		return web.BadRequest("kind must be one of " + strings.Join(catalog.Kinds, ", "))
	}
	after := c.Query("after")
	if len(after) > 200 {
		return web.BadRequest("after must be an item id from a previous page's next")
	}
	limit, err := queryInt(c, "limit", 100, 500)
	if err != nil {
		return err
	}
	items, err := h.reader.List(c.UserContext(), id, inventory.Page{Kind: kind, After: after, Limit: int(limit)})
	if err != nil {
		return fail(c, err)
	}
	page := inventoryPage{Items: items}
	if len(items) == int(limit) {
		page.Next = &items[len(items)-1].ItemID
	}
	return c.JSON(page)
}

type inventoryHistoryPage struct {
	Records []inventory.Record `json:"records"`
	Next    *int64             `json:"next"` // the before of the next page; null on the last
}

// historyLimit bounds a history page. One more line than the page is read
// to learn whether another page follows, within the domain's cap of 200.
const historyLimit = 100

// inventoryHistory answers the player's inventory journal, newest first, a
// page at a time. A page never splits an operation's lines: the cursor is
// an operation id, so lines of an operation cut off at the page's end are
// left for the next page.
func (h *economyHandlers) inventoryHistory(c *fiber.Ctx) error {
	before, err := queryInt(c, "before", 0, 1<<63-1)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 50, historyLimit)
	if err != nil {
		return err
	}
	ctx, id := c.UserContext(), claimsOf(c).AccountID
	recs, err := h.reader.History(ctx, id, before, int(limit)+1)
	if err != nil {
		return fail(c, err)
	}
	page := inventoryHistoryPage{Records: recs}
	if len(recs) <= int(limit) {
		return c.JSON(page)
	}
	page.Records = recs[:limit]
	if cut := recs[limit].OpID; page.Records[limit-1].OpID == cut {
		// The last operation continues past the page: move all of it on,
		// or, when it is the only one, read it whole (an operation touches
		// at most inventory.MaxLines items).
		end := int(limit)
		for end > 0 && page.Records[end-1].OpID == cut {
			end--
		}
		if end > 0 {
			page.Records = page.Records[:end]
		} else {
			whole, err := h.reader.History(ctx, id, before, 200)
			if err != nil {
				return fail(c, err)
			}
			end = 0
			for end < len(whole) && whole[end].OpID == cut {
				end++
			}
			page.Records = whole[:end]
			if end == len(whole) && len(whole) < 200 {
				return c.JSON(page) // nothing older
			}
		}
	}
	next := page.Records[len(page.Records)-1].OpID
	page.Next = &next
	return c.JSON(page)
}
