package content

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Store reads and edits content documents.
type Store struct {
	conn  *sqlx.DB
	kinds map[string]Kind
}

// New returns a Store over conn with no kinds registered.
func New(conn *sqlx.DB) *Store { return &Store{conn: conn, kinds: map[string]Kind{}} }

// Register adds a kind; the package that owns it calls this once.
func (s *Store) Register(k Kind) {
	if _, dup := s.kinds[k.Name]; dup {
		panic("content: kind " + k.Name + " registered twice")
	}
	s.kinds[k.Name] = k
}

// Kinds lists the registered kinds by name.
func (s *Store) Kinds() []string {
	out := make([]string, 0, len(s.kinds))
	for name := range s.kinds {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// DB is the connection the store reads through, for callers that read
// published content with Published outside a transaction of their own.
func (s *Store) DB() *sqlx.DB { return s.conn }

const docCols = `kind, id, name, draft, draft_revision, draft_by, draft_at, published_version, published, published_at`

// Get returns one document.
func (s *Store) Get(ctx context.Context, kind, id string) (Doc, error) {
	var d Doc
	err := s.conn.GetContext(ctx, &d, `SELECT `+docCols+` FROM content_documents WHERE kind = $1 AND id = $2`, kind, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Doc{}, ErrNotFound
	}
	return d, err
}

// List returns every document of kind by id.
func (s *Store) List(ctx context.Context, kind string) ([]Doc, error) {
	var out []Doc
	err := s.conn.SelectContext(ctx, &out, `SELECT `+docCols+` FROM content_documents WHERE kind = $1 ORDER BY id`, kind)
	return out, err
}

// Versions returns the published versions of a document, newest first.
func (s *Store) Versions(ctx context.Context, kind, id string) ([]Version, error) {
	var out []Version
	const q = `SELECT version, body, published_by, published_at FROM content_versions WHERE kind = $1 AND id = $2 ORDER BY version DESC`
	err := s.conn.SelectContext(ctx, &out, q, kind, id)
	return out, err
}

// check runs the kind's Check on body.
func (s *Store) check(ctx context.Context, q sqlx.QueryerContext, kind, id string, body json.RawMessage) error {
	k, ok := s.kinds[kind]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownKind, kind)
	}
	if !ValidID(id) {
		return Invalid("id", "use 1 to 64 lower-case letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
	if !json.Valid(body) {
		return Invalid("document", "not valid JSON")
	}
	return k.Check(ctx, q, id, body)
}

// lock loads a document for update; a missing one is ErrNotFound.
func lock(ctx context.Context, tx *sqlx.Tx, kind, id string) (Doc, error) {
	var d Doc
	err := tx.GetContext(ctx, &d, `SELECT `+docCols+` FROM content_documents WHERE kind = $1 AND id = $2 FOR UPDATE`, kind, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Doc{}, ErrNotFound
	}
	return d, err
}

// SaveDraft checks body and saves it as the document's draft, creating the
// document when e.Expected is 0. The draft revision goes up by one.
func (s *Store) SaveDraft(ctx context.Context, kind, id, name string, body json.RawMessage, e Edit) (Doc, error) {
	var out Doc
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		if err := s.check(ctx, tx, kind, id, body); err != nil {
			return err
		}
		before, err := lock(ctx, tx, kind, id)
		switch {
		case errors.Is(err, ErrNotFound) && e.Expected == 0:
			before = Doc{Kind: kind, ID: id}
			const ins = `INSERT INTO content_documents (kind, id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
			if res, err := tx.ExecContext(ctx, ins, kind, id); err != nil {
				return err
			} else if n, _ := res.RowsAffected(); n == 0 {
				return ErrStaleRevision // created meanwhile by someone else
			}
		case err != nil:
			return err
		case before.DraftRevision != e.Expected:
			return ErrStaleRevision
		}
		const upd = `UPDATE content_documents SET name = $3, draft = $4, draft_revision = draft_revision + 1, draft_by = $5, draft_at = now()
			WHERE kind = $1 AND id = $2 RETURNING ` + docCols
		if err := tx.GetContext(ctx, &out, upd, kind, id, name, []byte(body), e.Editor); err != nil {
			return fmt.Errorf("save draft: %w", err)
		}
		return also(tx, e, before, out)
	})
	return out, err
}

// Publish checks the draft again and makes it the next published version.
// e.Expected is the draft revision the publisher reviewed.
func (s *Store) Publish(ctx context.Context, kind, id string, e Edit) (Doc, error) {
	return s.editDraft(ctx, kind, id, e, func(tx *sqlx.Tx, before Doc) (out Doc, err error) {
		if err := s.check(ctx, tx, kind, id, before.Draft); err != nil {
			return Doc{}, err
		}
		const upd = `UPDATE content_documents SET published = draft, published_version = published_version + 1, published_at = now(),
			draft = NULL, draft_revision = draft_revision + 1 WHERE kind = $1 AND id = $2 RETURNING ` + docCols
		if err := tx.GetContext(ctx, &out, upd, kind, id); err != nil {
			return Doc{}, fmt.Errorf("publish: %w", err)
		}
		const ins = `INSERT INTO content_versions (kind, id, version, body, published_by) VALUES ($1, $2, $3, $4, $5)`
		if _, err := tx.ExecContext(ctx, ins, kind, id, out.Version, []byte(out.Published), e.Editor); err != nil {
			return Doc{}, fmt.Errorf("keep version: %w", err)
		}
		return out, nil
	})
}

// Discard drops the draft, leaving the published version as it is.
func (s *Store) Discard(ctx context.Context, kind, id string, e Edit) (Doc, error) {
	return s.editDraft(ctx, kind, id, e, func(tx *sqlx.Tx, _ Doc) (out Doc, err error) {
		const upd = `UPDATE content_documents SET draft = NULL, draft_revision = draft_revision + 1 WHERE kind = $1 AND id = $2 RETURNING ` + docCols
		err = tx.GetContext(ctx, &out, upd, kind, id)
		return out, err
	})
}

// editDraft runs change on a document's pending draft in a transaction:
// the document locked, its draft revision checked against e.Expected, then
// e.Also with the document before and after.
func (s *Store) editDraft(ctx context.Context, kind, id string, e Edit, change func(tx *sqlx.Tx, before Doc) (Doc, error)) (Doc, error) {
	var out Doc
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		before, err := lock(ctx, tx, kind, id)
		switch {
		case err != nil:
			return err
		case before.DraftRevision != e.Expected:
			return ErrStaleRevision
		case !before.HasDraft():
			return ErrNoDraft
		}
		if out, err = change(tx, before); err != nil {
			return err
		}
		return also(tx, e, before, out)
	})
	return out, err
}

func also(tx *sqlx.Tx, e Edit, before, after Doc) error {
	if e.Also == nil {
		return nil
	}
	return e.Also(tx, before, after)
}

// Published decodes the published version of kind/id into dest and returns
// its version number: ErrNotFound or ErrNotPublished otherwise. q is a
// transaction or the connection.
func Published(ctx context.Context, q sqlx.QueryerContext, kind, id string, dest any) (int, error) {
	var row struct {
		Version int    `db:"published_version"`
		Body    []byte `db:"published"`
	}
	const sel = `SELECT published_version, published FROM content_documents WHERE kind = $1 AND id = $2`
	err := sqlx.GetContext(ctx, q, &row, sel, kind, id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, ErrNotFound
	case err != nil:
		return 0, err
	case row.Version == 0:
		return 0, ErrNotPublished
	}
	if err := json.Unmarshal(row.Body, dest); err != nil {
		return 0, fmt.Errorf("decode %s/%s v%d: %w", kind, id, row.Version, err)
	}
	return row.Version, nil
}

// PublishedBodies returns the published body of every published document of
// kind, by id.
func PublishedBodies(ctx context.Context, q sqlx.QueryerContext, kind string) (map[string]json.RawMessage, error) {
	var rows []struct {
		ID   string          `db:"id"`
		Body json.RawMessage `db:"published"`
	}
	const sel = `SELECT id, published FROM content_documents WHERE kind = $1 AND published_version > 0 ORDER BY id`
	if err := sqlx.SelectContext(ctx, q, &rows, sel, kind); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Body
	}
	return out, nil
}
