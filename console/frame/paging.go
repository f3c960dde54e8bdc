package frame

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// MaxRows is how deep a table pages: past the first 10,000 rows, staff
// narrow the search or reverse the sort instead. Offset paging costs grow
// with depth, and no one reads page 1,000 of a player list.
const MaxRows = 10_000

// Paging is the page of a table a request asks for.
type Paging struct {
	Page, Size, Total int
	Sort              string
	Desc              bool
	base              url.URL
}

// PagingOf reads page, size and sort from the query; sort must be one of
// allowed (the first is the default).
func PagingOf(c *fiber.Ctx, allowed ...string) Paging {
	p := Paging{Page: max(c.QueryInt("page", 1), 1), Size: min(max(c.QueryInt("size", 50), 10), 200)}
	p.Page = min(p.Page, MaxRows/p.Size)
	p.Sort = allowed[0]
	for _, s := range allowed {
		if c.Query("sort") == s {
			p.Sort = s
		}
	}
	p.Desc = c.Query("dir") != "asc"
	u, _ := url.Parse(c.OriginalURL())
	p.base = *u
	return p
}

// Offset is the row offset of the page.
func (p Paging) Offset() int { return (p.Page - 1) * p.Size }

// HasPrev reports whether there is an earlier page.
func (p Paging) HasPrev() bool { return p.Page > 1 }

// HasNext reports whether there is a later page within MaxRows.
func (p Paging) HasNext() bool { return p.Page*p.Size < min(p.Total, MaxRows) }

// PrevURL links to the earlier page.
func (p Paging) PrevURL() string { return p.with("page", strconv.Itoa(p.Page-1)) }

// NextURL links to the later page.
func (p Paging) NextURL() string { return p.with("page", strconv.Itoa(p.Page+1)) }

// SortURL links to the table sorted by column, flipping the direction when
// it is already sorted by it.
func (p Paging) SortURL(column string) string {
	dir := "desc"
	if p.Sort == column && p.Desc {
		dir = "asc"
	}
	u := p.base
	q := u.Query()
	q.Set("sort", column)
	q.Set("dir", dir)
	q.Del("page")
	u.RawQuery = q.Encode()
	return u.String()
}

// Summary says which rows are shown.
func (p Paging) Summary() string {
	if p.Total == 0 {
		return "No results"
	}
	first, last := p.Offset()+1, min(p.Offset()+p.Size, p.Total)
	s := strconv.Itoa(first) + "–" + strconv.Itoa(last) + " of " + strconv.Itoa(p.Total)
	if p.Total > MaxRows && !p.HasNext() {
		s += " (the first 10,000 are listed: narrow the search or reverse the sort)"
	}
	return s
}

func (p Paging) with(key, value string) string {
	u := p.base
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func itoa(n int) string { return strconv.Itoa(n) }
