package account

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestConcurrentFirstSteamLoginsMakeOneAccount(t *testing.T) {
	s := NewStore(testenv.DB(t))
	steamID := fmt.Sprintf("7656119%010d", time.Now().UnixNano()%1e10)
	var wg sync.WaitGroup
	ids := make(chan int64, 8)
	created := make(chan bool, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, c, err := s.FindOrCreateSteam(context.Background(), steamID, steamID)
			if err != nil {
				t.Error(err)
				return
			}
			ids <- a.ID
			created <- c
		}()
	}
	wg.Wait()
	close(ids)
	close(created)
	first := int64(0)
	for id := range ids {
		if first == 0 {
			first = id
		}
		if id != first {
			t.Fatalf("two accounts for one steam id: %d and %d", first, id)
		}
	}
	n := 0
	for c := range created {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d logins reported creating the account, want 1", n)
	}
}

func TestConcurrentUnlinksKeepOneIdentity(t *testing.T) {
	s := NewStore(testenv.DB(t))
	ctx := context.Background()
	name := fmt.Sprintf("u%d", time.Now().UnixNano()%1e9)
	a, err := s.CreateWithEmail(ctx, name+"@example.com", "bcrypt-sha256$x", name)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LinkSteam(ctx, a.ID, fmt.Sprintf("7656119%010d", time.Now().UnixNano()%1e10), ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, p := range []string{ProviderEmail, ProviderSteam} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Unlink(ctx, a.ID, p)
		}()
	}
	wg.Wait()
	close(errs)
	var refused int
	for err := range errs {
		if errors.Is(err, ErrLastIdentity) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	ids, err := s.Identities(ctx, a.ID)
	if err != nil || len(ids) != 1 || refused != 1 {
		t.Fatalf("identities %v, refused %d, err %v; want exactly one left", ids, refused, err)
	}
}

func TestCheckDisplayNameAndEmail(t *testing.T) {
	for name, ok := range map[string]bool{"Ana": true, "ab": false, "Zoë_99": true, "_lead": false, "has space": false,
		"twentycharacterslong": true, "twentyonecharacterslo": false, "名前です": true, "a.b-c": true} {
		if _, err := CheckDisplayName(name); (err == nil) != ok {
			t.Errorf("CheckDisplayName(%q) = %v", name, err)
		}
	}
	for email, ok := range map[string]bool{" Ana@Example.COM ": true, "no-at.example.com": false, "a@b": false, "a@@b.co": false, "a b@c.co": false, "a@b.co.": false} {
		if _, err := NormalizeEmail(email); (err == nil) != ok {
			t.Errorf("NormalizeEmail(%q) = %v", email, err)
		}
	}
}
