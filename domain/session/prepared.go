package session

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// prepared holds the Store's statements, prepared once: planning the
// refresh CTE costs about as much as running it. database/sql prepares a
// statement again on each pooled connection that runs it.
type prepared struct {
	conn  *sqlx.DB
	stmts sync.Map // query -> *sqlx.Stmt
}

// get runs query q, which returns one row, into dest.
func (p *prepared) get(ctx context.Context, dest any, q string, args ...any) error {
	stmt, err := p.stmt(ctx, q)
	if err != nil {
		return err
	}
	return stmt.GetContext(ctx, dest, args...)
}

// sel runs query q into the slice dest.
func (p *prepared) sel(ctx context.Context, dest any, q string, args ...any) error {
	stmt, err := p.stmt(ctx, q)
	if err != nil {
		return err
	}
	return stmt.SelectContext(ctx, dest, args...)
}

func (p *prepared) stmt(ctx context.Context, q string) (*sqlx.Stmt, error) {
	if s, ok := p.stmts.Load(q); ok {
		return s.(*sqlx.Stmt), nil
	}
	s, err := p.conn.PreparexContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := p.stmts.LoadOrStore(q, s); loaded {
		_ = s.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return s, nil
}
