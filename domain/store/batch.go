package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
)

// Virtual purchases arriving together are written together: a batcher takes
// the purchases waiting when it is free (at most maxBatch), records their
// orders, debits their wallets and grants their items in one transaction of
// three statements, however many they are. What a batch cannot do as a
// whole (a replayed key, a product edited meanwhile, a wallet short of the
// price, an item that does not fit, two purchases of one player) falls back
// to the one-by-one path, which gives each its own answer. The result is
// the same as buying one by one; only the number of transactions differs.
const (
	maxBatch = 100
	batchers = 2
)

type purchase struct {
	key, country string
	hash         []byte
	accountID    int64
	product      Product
}

func newPurchases(s *Store) *db.Group[purchase, Order] {
	return db.NewGroup(maxBatch, batchers, func(p purchase) int64 { return p.accountID }, s.writePurchases)
}

// writePurchases runs one batch of purchases and answers each.
func (s *Store) writePurchases(batch []*db.Job[purchase, Order]) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	orders := map[string]Order{}
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		clear(orders)
		fresh, err := s.insertOrders(ctx, tx, batch)
		if err != nil {
			return err
		}
		if len(fresh) == 0 {
			return nil
		}
		transfers := make([]ledger.Transfer, 0, len(fresh))
		grants := make([]inventory.Grant, 0, len(fresh))
		for _, o := range fresh {
			orders[o.idemKey] = o.Order
			memo := "order " + o.PublicID
			transfers = append(transfers, ledger.Transfer{Key: "order:" + o.PublicID + ":pay", Source: "purchase",
				From: ledger.Player(o.AccountID), To: ledger.System(ledger.StoreRevenue), Currency: o.PriceCurrency,
				Amount: o.PriceAmount, Memo: memo})
			grants = append(grants, inventory.Grant{Key: "order:" + o.PublicID + ":items", AccountID: o.AccountID,
				Source: "purchase", Items: o.Items, Duplicates: inventory.DuplicatesRefuse, Memo: memo})
		}
		if _, err := s.ledger.PostBatch(ctx, tx, transfers); err != nil {
			return err
		}
		_, err = s.inv.GrantBatchTx(ctx, tx, grants)
		return err
	})
	for _, j := range batch {
		o, ok := orders[j.In.key]
		if err != nil || !ok {
			j.Answer(Order{}, db.ErrAlone)
			continue
		}
		j.Answer(o, nil)
	}
}

// freshOrder is an order a batch recorded, with its key.
type freshOrder struct {
	Order
	idemKey string
}

// insertOrders records the batch's orders in one statement, each unless its
// key exists or its product changed since it was priced; it returns those
// it recorded.
func (s *Store) insertOrders(ctx context.Context, tx *sqlx.Tx, batch []*db.Job[purchase, Order]) ([]freshOrder, error) {
	n := len(batch)
	ids, keys, products, currencies, countries, items := make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n),
		make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n)
	hashes := make(pq.ByteaArray, n)
	accounts, versions, amounts := make(pq.Int64Array, n), make(pq.Int64Array, n), make(pq.Int64Array, n)
	for i, j := range batch {
		p := j.In
		b, err := json.Marshal(p.product.Items)
		if err != nil {
			return nil, err
		}
		ids[i], keys[i], hashes[i], accounts[i] = uuid.NewString(), p.key, p.hash, p.accountID
		products[i], versions[i], countries[i] = p.product.ID, int64(p.product.Version), p.country
		currencies[i], amounts[i], items[i] = p.product.PriceCurrency, p.product.PriceAmount, string(b)
	}
	const q = `INSERT INTO store_orders (public_id, idem_key, request_hash, account_id, product_id, product_version, kind, status,
		country, price_currency, price_amount, items)
		SELECT r.public_id, r.idem_key, r.hash, r.account_id, r.product_id, r.version, 'virtual', 'completed',
			r.country, r.currency, r.amount, r.items
		FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::bigint[], $5::text[], $6::int[], $7::text[], $8::text[], $9::bigint[], $10::jsonb[])
			AS r (public_id, idem_key, hash, account_id, product_id, version, country, currency, amount, items)
		WHERE EXISTS (SELECT 1 FROM store_products p WHERE p.id = r.product_id AND p.version = r.version)
		ON CONFLICT (idem_key) DO NOTHING RETURNING ` + orderCols + `, idem_key`
	var out []struct {
		Order
		IdemKey string `db:"idem_key"`
	}
	if err := s.stmts.TxSelect(ctx, tx, &out, q, ids, keys, hashes, accounts, products, versions, countries, currencies, amounts, items); err != nil {
		return nil, err
	}
	fresh := make([]freshOrder, len(out))
	for i, o := range out {
		if err := o.Order.decode(); err != nil {
			return nil, err
		}
		fresh[i] = freshOrder{Order: o.Order, idemKey: o.IdemKey}
	}
	return fresh, nil
}
