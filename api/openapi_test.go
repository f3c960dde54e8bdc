package api

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"go.yaml.in/yaml/v3"

	"github.com/musterhq/muster/web"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIOperation is the part of an operation the tests read.
type openAPIOperation struct {
	OperationID string               `yaml:"operationId"`
	Responses   map[string]yaml.Node `yaml:"responses"`
	Parameters  []openAPIParameter   `yaml:"parameters"`
}

type openAPIParameter struct {
	Ref      string `yaml:"$ref"`
	Name     string `yaml:"name"`
	In       string `yaml:"in"`
	Required bool   `yaml:"required"`
}

type openAPIDocument struct {
	OpenAPI string                          `yaml:"openapi"`
	Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	root    yaml.Node
}

// operations returns "METHOD path" -> operation for every operation of the
// document.
func (d *openAPIDocument) operations(t *testing.T) map[string]openAPIOperation {
	t.Helper()
	ops := map[string]openAPIOperation{}
	for path, item := range d.Paths {
		var shared []openAPIParameter
		if n, ok := item["parameters"]; ok {
			if err := n.Decode(&shared); err != nil {
				t.Fatalf("paths[%s].parameters: %v", path, err)
			}
		}
		for key, n := range item {
			if !slices.Contains(openAPIMethods, key) {
				continue
			}
			var op openAPIOperation
			if err := n.Decode(&op); err != nil {
				t.Fatalf("paths[%s].%s: %v", path, key, err)
			}
			op.Parameters = append(op.Parameters, shared...)
			ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return ops
}

func loadOpenAPI(t *testing.T) *openAPIDocument {
	t.Helper()
	var d openAPIDocument
	if err := yaml.Unmarshal(OpenAPI, &d.root); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if err := d.root.Decode(&d); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	// Decoding into maps refuses a key defined twice (two schemas of one
	// name: tools would keep one of them silently).
	var whole map[string]any
	if err := yaml.Unmarshal(OpenAPI, &whole); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return &d
}

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIMatchesRoutes checks that openapi.yaml documents every route
// the Mount functions register and nothing else.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	app := fiber.New()
	MountAuth(app, Auth{})
	MountInventory(app, Inventory{})
	MountStore(app, Store{})
	MountPlayer(app, Player{})
	MountChallenges(app, Challenges{})
	MountBattlePass(app, BattlePass{})
	MountProgression(app, Progression{})
	MountMatches(app, Matches{})
	MountNotifications(app, Notifications{})
	MountParties(app, Parties{})
	MountMatchmaking(app, Matchmaking{})
	MountFriends(app, Friends{})
	MountSessions(app, Sessions{})

	routes := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead || r.Method == "USE" {
			continue // fiber adds HEAD for every GET; USE is middleware
		}
		routes[r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	if len(routes) == 0 {
		t.Fatal("the Mount functions registered no routes")
	}

	documented := loadOpenAPI(t).operations(t)
	var undocumented, unrouted []string
	for r := range routes {
		if _, ok := documented[r]; !ok {
			undocumented = append(undocumented, r)
		}
	}
	for op := range documented {
		if !routes[op] {
			unrouted = append(unrouted, op)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(unrouted)
	if len(undocumented) > 0 {
		t.Errorf("routes missing from api/openapi.yaml:\n\t%s", strings.Join(undocumented, "\n\t"))
	}
	if len(unrouted) > 0 {
		t.Errorf("operations in api/openapi.yaml with no route in the Mount functions:\n\t%s", strings.Join(unrouted, "\n\t"))
	}
}

var pathTemplate = regexp.MustCompile(`\{([^{}]+)\}`)

// TestOpenAPIDocument checks the document's own consistency: version,
// operation ids, success responses, path parameters and references.
func TestOpenAPIDocument(t *testing.T) {
	d := loadOpenAPI(t)
	if d.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", d.OpenAPI)
	}
	ops := d.operations(t)
	if len(ops) == 0 {
		t.Fatal("openapi.yaml has no operations")
	}

	ids := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(ops)) {
		op := ops[key]
		switch prev, dup := ids[op.OperationID]; {
		case op.OperationID == "":
			t.Errorf("%s: no operationId", key)
		case dup:
			t.Errorf("%s: operationId %q is also used by %s", key, op.OperationID, prev)
		default:
			ids[op.OperationID] = key
		}

		ok2xx := false
		for status := range op.Responses {
			if n, err := strconv.Atoi(status); (err == nil && n >= 200 && n < 300) || status == "2XX" {
				ok2xx = true
			}
		}
		if !ok2xx {
			t.Errorf("%s: no 2xx response", key)
		}

		for i, p := range op.Parameters {
			if p.Ref == "" {
				continue
			}
			if err := resolveRef(&d.root, p.Ref); err != nil {
				continue // reported with every other $ref below
			}
			n, _ := lookup(&d.root, refKeys(p.Ref)...)
			if err := n.Decode(&op.Parameters[i]); err != nil {
				t.Errorf("%s: parameter %s: %v", key, p.Ref, err)
			}
		}
		path := key[strings.IndexByte(key, ' ')+1:]
		for _, m := range pathTemplate.FindAllStringSubmatch(path, -1) {
			declared := slices.ContainsFunc(op.Parameters, func(p openAPIParameter) bool {
				return p.Name == m[1] && p.In == "path" && p.Required
			})
			if !declared {
				t.Errorf("%s: path parameter %q is not declared (in: path, required: true)", key, m[1])
			}
		}
	}

	for _, ref := range collectRefs(&d.root, nil) {
		if err := resolveRef(&d.root, ref.value); err != nil {
			t.Errorf("$ref %q (line %d): %v", ref.value, ref.line, err)
		}
	}
}

// TestOpenAPIErrorCodes checks that the Error schema lists every code the
// API can answer with.
func TestOpenAPIErrorCodes(t *testing.T) {
	d := loadOpenAPI(t)
	var errSchema struct {
		Properties struct {
			Error struct {
				Properties struct {
					Code struct {
						Enum []string `yaml:"enum"`
					} `yaml:"code"`
				} `yaml:"properties"`
			} `yaml:"error"`
		} `yaml:"properties"`
	}
	n, err := lookup(&d.root, "components", "schemas", "Error")
	if err != nil {
		t.Fatalf("components.schemas.Error: %v", err)
	}
	if err := n.Decode(&errSchema); err != nil {
		t.Fatalf("components.schemas.Error: %v", err)
	}
	listed := errSchema.Properties.Error.Properties.Code.Enum

	codes := []string{
		web.CodeBadRequest, web.CodeInvalidJSON, web.CodeUnknownField, web.CodeUnsupportedMedia,
		web.CodeBodyTooLarge, web.CodeUnauthorized, web.CodeForbidden, web.CodeNotFound,
		web.CodeMethodNotAllowed, web.CodeConflict, web.CodeRateLimited, web.CodeTimeout,
		web.CodeInternal, web.CodeUnavailable,
	}
	for _, m := range domainErrors {
		codes = append(codes, m.code)
	}
	codes = append(codes, handlerCodes...)
	for _, c := range codes {
		if !slices.Contains(listed, c) {
			t.Errorf("error code %q is not in components.schemas.Error code enum", c)
		}
	}
}

type refAt struct {
	value string
	line  int
}

// collectRefs returns the value of every "$ref" key under n.
func collectRefs(n *yaml.Node, out []refAt) []refAt {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := n.Content[i], n.Content[i+1]; k.Value == "$ref" && v.Kind == yaml.ScalarNode {
				out = append(out, refAt{v.Value, v.Line})
			}
		}
	}
	for _, c := range n.Content {
		out = collectRefs(c, out)
	}
	return out
}

// resolveRef checks that ref is a local JSON pointer to an entry of
// components.
func resolveRef(root *yaml.Node, ref string) error {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return fmt.Errorf("not a local reference")
	}
	parts := strings.Split(ptr, "/")
	if len(parts) != 3 || parts[0] != "components" {
		return fmt.Errorf("want #/components/<kind>/<name>")
	}
	_, err := lookup(root, refKeys(ref)...)
	return err
}

// refKeys splits a local JSON pointer into the keys it follows.
func refKeys(ref string) []string {
	parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
	for i, p := range parts {
		parts[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(p)
	}
	return parts
}

// lookup follows mapping keys from the document root.
func lookup(root *yaml.Node, keys ...string) (*yaml.Node, error) {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for i, key := range keys {
		if n.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s is not a mapping", strings.Join(keys[:i], "."))
		}
		var next *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == key {
				next = n.Content[j+1]
				break
			}
		}
		if next == nil {
			return nil, fmt.Errorf("%s does not exist", strings.Join(keys[:i+1], "."))
		}
		n = next
	}
	return n, nil
}
