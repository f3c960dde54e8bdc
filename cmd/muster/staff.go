package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/domain/staff"
)

// cmdStaff bootstraps console access: `muster staff create --email
// ana@studio.com --role owner` creates a staff account with a generated
// password, printed once. Later staff are added in the console.
func cmdStaff(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("want `muster staff create --email ADDRESS --role ROLE [--name NAME]`")
	}
	// The staff flags come first; the rest are the usual settings.
	fs := flag.NewFlagSet("muster staff create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "email of the staff member")
	role := fs.String("role", "", "role: "+strings.Join(rbac.Roles, ", "))
	name := fs.String("name", "", "display name (default: the part of the email before @)")
	var mine, rest []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		n, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (n == "email" || n == "role" || n == "name") {
			mine = append(mine, a)
			if !hasValue && i+1 < len(args) {
				i++
				mine = append(mine, args[i])
			}
			continue
		}
		rest = append(rest, a)
	}
	if err := fs.Parse(mine); err != nil {
		return err
	}
	cfg, _, err := parseConfig("staff create", rest, getenv, stderr)
	if err != nil {
		return err
	}
	if *email == "" || !rbac.IsRole(*role) {
		return fmt.Errorf("give --email and --role (one of %s)", strings.Join(rbac.Roles, ", "))
	}
	if *name == "" {
		*name, _, _ = strings.Cut(*email, "@")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	hasher, err := account.NewHasher(cfg.BcryptCost)
	if err != nil {
		return err
	}
	secret, _ := decodeSecretKey(cfg.SecretKey)
	var raw [15]byte
	_, _ = rand.Read(raw[:])
	password := base64.RawURLEncoding.EncodeToString(raw[:])
	s, err := staff.NewStore(conn, hasher, secret, staff.Config{}).Create(ctx, *email, *name, *role, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s (%s, id %d)\npassword: %s\nSign in to the console and set up two-factor sign-in under My account.\n", s.Email, s.Role, s.ID, password)
	return nil
}
