package catalog

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/console/frame"
	content "github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/web"
)

func (h *handler) recipes(c *fiber.Ctx) error {
	retired := c.Query("retired") != ""
	rows, err := h.store.Recipes(c.UserContext(), retired)
	if err != nil {
		return err
	}
	return frame.Render(c, http.StatusOK, recipeList(h.f.Page(c, "Catalog: recipes", "catalog"), rows, retired, h.f.Allowed(c, rbac.PermCatalogEdit)))
}

// RecipeForm is the recipe editor as typed. Inputs are lines of
// "item_id x quantity".
type RecipeForm struct {
	Form
	ID, OutputItem, OutputQuantity, Inputs, CostCurrency, CostAmount string
	Retired                                                          bool
}

// recipeFields are the fields the recipe form shows errors beside.
var recipeFields = []string{"id", "output_item", "output_quantity", "inputs", "cost_currency", "cost_amount"}

// RecipePage is the recipe editor with what it offers.
type RecipePage struct {
	Form       RecipeForm
	CanEdit    bool
	Currencies []content.Currency
	Items      []content.Item // suggestions for the output
	Revisions  []content.Revision
}

func (h *handler) renderRecipe(c *fiber.Ctx, status int, form RecipeForm) error {
	ctx := c.UserContext()
	d := RecipePage{Form: form, CanEdit: h.f.Allowed(c, rbac.PermCatalogEdit)}
	var err error
	if d.Currencies, err = h.store.Currencies(ctx); err != nil {
		return err
	}
	if d.CanEdit {
		if d.Items, err = h.store.Items(ctx, content.Filter{}); err != nil {
			return err
		}
	}
	title := "New recipe"
	if !form.New {
		title = "Recipe " + form.ID
		if d.Revisions, err = h.store.Revisions(ctx, "recipe", form.ID); err != nil {
			return err
		}
	}
	return frame.Render(c, status, recipeEditor(h.f.Page(c, title, "catalog"), d))
}

func (h *handler) newRecipe(c *fiber.Ctx) error {
	return h.renderRecipe(c, http.StatusOK, RecipeForm{Form: Form{New: true}, OutputQuantity: "1", CostAmount: "0"})
}

func (h *handler) recipe(c *fiber.Ctx) error {
	r, err := h.store.Recipe(c.UserContext(), c.Params("id"))
	if errors.Is(err, content.ErrNotFound) {
		return notFound("recipe", c.Params("id"))
	}
	if err != nil {
		return err
	}
	return h.renderRecipe(c, http.StatusOK, RecipeForm{Form: Form{Version: r.Version}, ID: r.ID, OutputItem: r.OutputItem,
		OutputQuantity: itoa(r.OutputQuantity), Inputs: frame.ShowLines(r.Inputs), CostCurrency: deref(r.CostCurrency),
		CostAmount: itoa64(r.CostAmount), Retired: r.Retired})
}

func recipeFormOf(c *fiber.Ctx) RecipeForm {
	v := func(name string) string { return strings.TrimSpace(web.CleanText(c.FormValue(name), 2000)) }
	version, _ := strconv.Atoi(c.FormValue("version"))
	return RecipeForm{Form: Form{Version: version}, ID: v("id"), OutputItem: v("output_item"), OutputQuantity: v("output_quantity"),
		Inputs: v("inputs"), CostCurrency: v("cost_currency"), CostAmount: v("cost_amount"), Retired: checked(c, "retired")}
}

func (h *handler) createRecipe(c *fiber.Ctx) error {
	form := recipeFormOf(c)
	form.New, form.Version = true, 0
	return h.saveRecipe(c, form)
}

func (h *handler) updateRecipe(c *fiber.Ctx) error {
	form := recipeFormOf(c)
	form.ID = c.Params("id")
	if form.Version < 1 {
		return fiber.NewError(http.StatusBadRequest, "the form has no version; reload the page")
	}
	return h.saveRecipe(c, form)
}

func (h *handler) saveRecipe(c *fiber.Ctx, form RecipeForm) error {
	r := content.Recipe{ID: form.ID, OutputItem: form.OutputItem, OutputQuantity: int(form.Whole("output_quantity", form.OutputQuantity, 1)),
		Inputs: form.Lines("inputs", form.Inputs), CostCurrency: optional(form.CostCurrency),
		CostAmount: form.Whole("cost_amount", form.CostAmount, 0), Retired: form.Retired}
	if len(form.Errs) > 0 {
		return h.renderRecipe(c, http.StatusBadRequest, form)
	}
	saved, err := h.store.SaveRecipe(c.UserContext(), r, edit(c, form.Version, "catalog.recipe.save", "recipe", r.ID))
	if err != nil {
		status := saveError(err, &form.Form, "recipe", "id", recipeFields...)
		if status == 0 {
			return err
		}
		return h.renderRecipe(c, status, form)
	}
	return h.f.SetFlash(c, "ok", "Saved recipe "+saved.ID+", version "+itoa(saved.Version)+".", "/catalog/recipes/"+saved.ID)
}
