package muster

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// notInSDK are the operations of api/openapi.yaml the SDK leaves out on
// purpose: neither a game client nor a game server calls them.
var notInSDK = map[string]string{
	"getJWKS":       "for services that verify access tokens themselves",
	"stripeWebhook": "Stripe's, signed with the webhook secret",
}

// TestEveryOperationHasAMethod fails when an operation of the player or
// dedicated-server API has no method named after its operationId: player
// operations on *Client, /v1/server/ operations on *ServerClient.
func TestEveryOperationHasAMethod(t *testing.T) {
	raw, err := os.ReadFile("../../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	client, server := reflect.TypeFor[*Client](), reflect.TypeFor[*ServerClient]()
	seen := 0
	for path, item := range doc.Paths {
		for method, n := range item {
			if !slices.Contains([]string{"get", "put", "post", "patch", "delete"}, method) {
				continue
			}
			var op struct {
				OperationID string `yaml:"operationId"`
			}
			if err := n.Decode(&op); err != nil || op.OperationID == "" {
				t.Fatalf("%s %s: no operationId (%v)", method, path, err)
			}
			seen++
			if _, ok := notInSDK[op.OperationID]; ok {
				continue
			}
			name := strings.ToUpper(op.OperationID[:1]) + op.OperationID[1:]
			on := client
			if strings.HasPrefix(path, "/v1/server/") {
				on = server
			}
			m, ok := on.MethodByName(name)
			if !ok {
				t.Errorf("%s %s (%s): no method %s.%s", strings.ToUpper(method), path, op.OperationID, on.Elem().Name(), name)
				continue
			}
			if m.Type.NumIn() < 2 || m.Type.In(1).String() != "context.Context" ||
				m.Type.Out(m.Type.NumOut()-1) != reflect.TypeFor[error]() {
				t.Errorf("%s.%s: want (ctx context.Context, ...) (..., error), have %s", on.Elem().Name(), name, m.Type)
			}
		}
	}
	if seen < 90 {
		t.Fatalf("read %d operations from openapi.yaml; the parse missed some", seen)
	}
	for id := range notInSDK {
		name := strings.ToUpper(id[:1]) + id[1:]
		if _, ok := client.MethodByName(name); ok {
			t.Errorf("%s is excluded but has a method; drop it from notInSDK", id)
		}
	}
}
