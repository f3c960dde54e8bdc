package db

import (
	"context"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Prepared runs a store's hot statements prepared once: for the CTEs on
// login and refresh paths, planning costs about as much as running, and an
// unprepared statement with arguments takes lib/pq two round trips.
// database/sql prepares a statement again on each pooled connection that
// runs it. The zero value is not usable; use NewPrepared.
type Prepared struct {
	conn      *sqlx.DB
	stmts     sync.Map // query -> *sqlx.Stmt
	preparing sync.Map // query -> true while or once prepared in the background
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
	if stmt := p.forTx(q); stmt != nil {
		return tx.StmtxContext(ctx, stmt).GetContext(ctx, dest, args...)
	}
	return tx.GetContext(ctx, dest, q, args...)
}

// TxSelect runs q inside tx into the slice dest.
func (p *Prepared) TxSelect(ctx context.Context, tx *sqlx.Tx, dest any, q string, args ...any) error {
	if stmt := p.forTx(q); stmt != nil {
		return tx.StmtxContext(ctx, stmt).SelectContext(ctx, dest, args...)
	}
	return tx.SelectContext(ctx, dest, q, args...)
}

// forTx returns q prepared, or nil the first time: preparing takes a
// connection from the pool, and a transaction holding one must not wait for
// another (every connection may be held by a transaction doing the same).
// The first caller runs q unprepared while q is prepared in the background.
func (p *Prepared) forTx(q string) *sqlx.Stmt {
	if s, ok := p.stmts.Load(q); ok {
		return s.(*sqlx.Stmt)
	}
	if _, busy := p.preparing.LoadOrStore(q, true); !busy {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := p.Stmt(ctx, q); err != nil {
				p.preparing.Delete(q) // a later call tries again
			}
		}()
	}
	return nil
}

// Stmt returns q prepared. Inside a transaction, database/sql reuses the
// statement already prepared on the transaction's connection, or prepares
// it there once and keeps it for later transactions on that connection.
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
