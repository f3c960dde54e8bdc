package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/catalog"
)

type currencyView struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type itemView struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	Kind               string     `json:"kind"`
	Rarity             string     `json:"rarity"`
	Tags               []string   `json:"tags"`
	MaxStack           int        `json:"max_stack"`
	LifetimeSeconds    *int       `json:"lifetime_seconds,omitempty"`
	EndsAt             *time.Time `json:"ends_at,omitempty"`
	Tradable           bool       `json:"tradable"`
	Giftable           bool       `json:"giftable"`
	CraftValue         int64      `json:"craft_value"`
	DisenchantCurrency *string    `json:"disenchant_currency,omitempty"`
	DisenchantYield    int64      `json:"disenchant_yield"`
}

type recipeView struct {
	ID             string               `json:"id"`
	OutputItem     string               `json:"output_item"`
	OutputQuantity int                  `json:"output_quantity"`
	Inputs         []catalog.Ingredient `json:"inputs"`
	CostCurrency   *string              `json:"cost_currency,omitempty"`
	CostAmount     int64                `json:"cost_amount"`
}

type catalogView struct {
	Currencies []currencyView `json:"currencies"`
	Items      []itemView     `json:"items"`
	Recipes    []recipeView   `json:"recipes"`
}

// getCatalog answers the content players see: currencies, items and
// recipes that are not retired. Clients cache it: the answer carries an
// ETag of its content and a conditional request for the same content is
// answered 304 without a body.
func (h *economyHandlers) getCatalog(c *fiber.Ctx) error {
	view, err := h.loadCatalog(c.UserContext())
	if err != nil {
		return fail(c, err)
	}
	body, err := json.Marshal(view)
	if err != nil {
		return fmt.Errorf("encode catalog: %w", err)
	}
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	c.Set(fiber.HeaderCacheControl, "private, max-age=60")
	c.Set(fiber.HeaderETag, etag)
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), etag) {
		return c.SendStatus(http.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}

func (h *economyHandlers) loadCatalog(ctx context.Context) (catalogView, error) {
	v := catalogView{Currencies: []currencyView{}, Items: []itemView{}, Recipes: []recipeView{}}
	currencies, err := h.catalog.Currencies(ctx)
	if err != nil {
		return v, err
	}
	for _, cur := range currencies {
		if !cur.Retired {
			v.Currencies = append(v.Currencies, currencyView{Code: cur.Code, Name: cur.Name, Kind: cur.Kind})
		}
	}
	live := map[string]bool{}
	for after := ""; ; {
		const page = 500
		items, err := h.catalog.Items(ctx, catalog.Filter{After: after, Limit: page})
		if err != nil {
			return v, err
		}
		for _, it := range items {
			live[it.ID] = true
			if it.EndsAt != nil {
				t := it.EndsAt.UTC() // the same bytes, and ETag, from every node
				it.EndsAt = &t
			}
			tags := it.Tags
			if tags == nil {
				tags = []string{}
			}
			v.Items = append(v.Items, itemView{ID: it.ID, Name: it.Name, Kind: it.Kind, Rarity: it.Rarity, Tags: tags,
				MaxStack: it.MaxStack, LifetimeSeconds: it.LifetimeSeconds, EndsAt: it.EndsAt, Tradable: it.Tradable,
				Giftable: it.Giftable, CraftValue: it.CraftValue, DisenchantCurrency: it.DisenchantCurrency,
				DisenchantYield: it.DisenchantYield})
		}
		if len(items) < page {
			break
		}
		after = items[len(items)-1].ID
	}
	recipes, err := h.catalog.Recipes(ctx, false)
	if err != nil {
		return v, err
	}
	for _, r := range recipes {
		if !live[r.OutputItem] {
			continue // its output is retired: crafting it would fail
		}
		inputs := r.Inputs
		if inputs == nil {
			inputs = []catalog.Ingredient{}
		}
		v.Recipes = append(v.Recipes, recipeView{ID: r.ID, OutputItem: r.OutputItem, OutputQuantity: r.OutputQuantity,
			Inputs: inputs, CostCurrency: r.CostCurrency, CostAmount: r.CostAmount})
	}
	return v, nil
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match) or is "*".
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
