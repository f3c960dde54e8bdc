package liveops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// pretty lays a JSON document out for reading and editing: keys in order,
// one to a line, with lists of plain values and small objects kept on one
// line (the XP per level of a hundred levels is one line, a reward line
// {"item_id": ..., "quantity": ...} another). Text that is not JSON is
// returned as it is.
func pretty(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(body)
	}
	var b strings.Builder
	layout(&b, v, "")
	return b.String()
}

// inlineWidth is how long an object may be to stay on one line.
const inlineWidth = 72

func layout(b *strings.Builder, v any, indent string) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			b.WriteString("{}")
			return
		}
		if s, ok := inline(v); ok {
			b.WriteString(s)
			return
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{\n")
		for i, k := range keys {
			b.WriteString(indent + "  " + scalar(k) + ": ")
			layout(b, v[k], indent+"  ")
			if i < len(keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case []any:
		if s, ok := inline(v); ok {
			b.WriteString(s)
			return
		}
		b.WriteString("[\n")
		for i, e := range v {
			b.WriteString(indent + "  ")
			layout(b, e, indent+"  ")
			if i < len(v)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	default:
		b.WriteString(scalar(v))
	}
}

// inline writes v on one line when it is a list of plain values, or an
// object (or list of them) of plain values short enough.
func inline(v any) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k, e := range v {
			if isComposite(e) {
				return "", false
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = scalar(k) + ": " + scalar(v[k])
		}
		s := "{" + strings.Join(parts, ", ") + "}"
		return s, len(s) <= inlineWidth
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			if isComposite(e) {
				return "", false
			}
			parts[i] = scalar(e)
		}
		return "[" + strings.Join(parts, ", ") + "]", true
	}
	return scalar(v), true
}

func isComposite(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// scalar writes a plain JSON value; numbers keep their text.
func scalar(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// syntaxProblem says where text stops being JSON, or "" when it is JSON.
func syntaxProblem(text string) string {
	var v any
	dec := json.NewDecoder(strings.NewReader(text))
	err := dec.Decode(&v)
	if err == nil {
		end := int(dec.InputOffset())
		rest := strings.TrimLeft(text[end:], " \t\r\n")
		if rest == "" {
			return ""
		}
		line, col := position(text, len(text)-len(rest))
		return fmt.Sprintf("There is more after the document at line %d, column %d: remove it.", line, col)
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		line, col := position(text, int(se.Offset)-1) // Offset is just past the bad byte
		return fmt.Sprintf("Not valid JSON at line %d, column %d: %s.", line, col, strings.TrimPrefix(se.Error(), "json: "))
	case strings.TrimSpace(text) == "":
		return "Write the document as JSON, {} at the least."
	default:
		return "Not valid JSON: the document ends too early (a closing } or ] or a quote is missing)."
	}
}

// position is the 1-based line and column of byte offset in text.
func position(text string, offset int) (line, col int) {
	offset = min(max(offset, 0), len(text))
	before := text[:offset]
	line = strings.Count(before, "\n") + 1
	col = offset - strings.LastIndexByte(before, '\n')
	return line, col
}

// segment is one step of a field path: a key or an array index.
type segment struct {
	key   string
	index int // -1 for a key
}

// parsePath reads a field path as the domain names fields:
// tiers[3].premium.items[0], bounds.kills.
func parsePath(path string) ([]segment, bool) {
	var out []segment
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(path[1:end])
			if err != nil || n < 0 {
				return nil, false
			}
			out = append(out, segment{index: n})
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			out = append(out, segment{key: path[:end], index: -1})
			path = path[end:]
		}
	}
	return out, true
}

// lineOf returns the line of body on which the value at path starts, or of
// the deepest part of path the body has (a missing field points at the
// object that lacks it). It returns 0 when path is not a field path or the
// body is not JSON.
func lineOf(body, path string) int {
	want, ok := parsePath(path)
	if !ok || len(want) == 0 {
		return 0
	}
	type level struct {
		array   bool
		index   int
		key     string
		wantKey bool
	}
	var stack []level
	// prefix reports whether the value about to be read sits on path.
	prefix := func() bool {
		if len(stack) > len(want) {
			return false
		}
		for i, l := range stack {
			s := want[i]
			if l.array != (s.index >= 0) || (l.array && l.index != s.index) || (!l.array && l.key != s.key) {
				return false
			}
		}
		return true
	}
	done := func() { // a value ended: the next is a key, or the next element
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].wantKey = true
			}
		}
	}
	dec := json.NewDecoder(strings.NewReader(body))
	best, bestDepth := 0, -1
	for {
		tok, err := dec.Token()
		if err != nil {
			return best
		}
		off := int(dec.InputOffset())
		d, isDelim := tok.(json.Delim)
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].wantKey {
			if isDelim && d == '}' {
				stack = stack[:n-1]
				done()
				continue
			}
			key, _ := tok.(string)
			stack[n-1].key, stack[n-1].wantKey = key, false
			continue
		}
		if isDelim && d == ']' {
			stack = stack[:len(stack)-1]
			done()
			continue
		}
		if len(stack) > bestDepth && prefix() {
			best, bestDepth = strings.Count(body[:off], "\n")+1, len(stack)
			if bestDepth == len(want) {
				return best
			}
		}
		switch {
		case isDelim && d == '{':
			stack = append(stack, level{wantKey: true})
		case isDelim && d == '[':
			stack = append(stack, level{array: true})
		default:
			done()
		}
	}
}
