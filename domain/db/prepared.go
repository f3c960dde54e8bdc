package db

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Prepared runs a store's hot statements prepared once: for the CTEs on
// login and refresh paths, planning costs about as much as running, and an
// unprepared statement with arguments takes lib/pq two round trips.
// database/sql prepares a statement again on each pooled connection that
// runs it. The zero value is not usable; use NewPrepared.
type Prepared struct {
	conn  *sqlx.DB
	stmts sync.Map // query -> *sqlx.Stmt
}

// NewPrepared returns a statement cache over conn.
func NewPrepared(conn *sqlx.DB) *Prepared { return &Prepared{conn: conn} }

// Get runs q, which returns one row, into dest.
func (p *Prepared) Get(ctx context.Context, dest any, q string, args ...any) error {
	stmt, err := p.Stmt(ctx, q)
	if err != nil {
		return err
	}
	return stmt.GetContext(ctx, dest, args...)
}

// Select runs q into the slice dest.
func (p *Prepared) Select(ctx context.Context, dest any, q string, args ...any) error {
	stmt, err := p.Stmt(ctx, q)
	if err != nil {
		return err
	}
	return stmt.SelectContext(ctx, dest, args...)
}

// TxGet runs q inside tx, which returns one row, into dest.
func (p *Prepared) TxGet(ctx context.Context, tx *sqlx.Tx, dest any, q string, args ...any) error {
	stmt, err := p.Stmt(ctx, q)
	if err != nil {
		return err
	}
	return tx.StmtxContext(ctx, stmt).GetContext(ctx, dest, args...)
}

// Stmt returns q prepared.
func (p *Prepared) Stmt(ctx context.Context, q string) (*sqlx.Stmt, error) {
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
