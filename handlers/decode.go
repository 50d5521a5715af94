package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

// maxParamDepth bounds the nesting of flattened form keys (A.B.0.C…).
const maxParamDepth = 16

// parseJSONParams reads a JSON request body as an object, keeping numbers exact.
func parseJSONParams(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, tcerr.New(tcerr.CodeInvalidParameter, "The request body is not valid JSON: %s.", jsonErrorText(err))
	}
	if dec.More() {
		return nil, tcerr.New(tcerr.CodeInvalidParameter, "The request body has data after its JSON object.")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, tcerr.New(tcerr.CodeInvalidParameter, "The request body must be a JSON object.")
	}
	return obj, nil
}

func jsonErrorText(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	return err.Error()
}

// formValue marks a leaf that came from a query string or form body, where every value
// is text and the schema says how to read it.
type formValue string

// parseFormParams turns flattened parameters (A.B=1, X.0=a, X.1=b) into a tree; the
// common parameters of the legacy signature are dropped.
func parseFormParams(values url.Values, drop []string) (map[string]any, error) {
	skip := map[string]bool{}
	for _, k := range drop {
		skip[k] = true
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		if !skip[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	root := map[string]any{}
	for _, key := range keys {
		parts := strings.Split(key, ".")
		if len(parts) > maxParamDepth {
			return nil, tcerr.InvalidParameter(key, "it is nested too deeply")
		}
		node := root
		for i, p := range parts {
			if p == "" {
				return nil, tcerr.InvalidParameter(key, "the name has an empty segment")
			}
			if i == len(parts)-1 {
				if _, exists := node[p]; exists {
					return nil, tcerr.InvalidParameter(key, "it is given both as a value and as a structure")
				}
				node[p] = formValue(values.Get(key))
				break
			}
			child, exists := node[p]
			if !exists {
				m := map[string]any{}
				node[p] = m
				node = m
				continue
			}
			m, ok := child.(map[string]any)
			if !ok {
				return nil, tcerr.InvalidParameter(strings.Join(parts[:i+1], "."), "it is given both as a value and as a structure")
			}
			node = m
		}
	}
	return root, nil
}

// checkParams checks a parameter tree against a request schema: unknown names give
// UnknownParameter, wrong types InvalidParameter and missing required fields
// MissingParameter, each naming the field's path. It returns the tree with every value in
// its schema kind (numbers as canonical json.Number), which assignParams stores in the
// generated request type.
func checkParams(schema map[string]*wire.Struct, structName string, params map[string]any) (map[string]any, error) {
	return normalizeStruct(schema, structName, "", params)
}

func normalizeStruct(schema map[string]*wire.Struct, structName, path string, obj map[string]any) (map[string]any, error) {
	s, ok := schema[structName]
	if !ok {
		return nil, tcerr.InternalError("no schema for " + structName)
	}
	out := make(map[string]any, len(obj))
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, ok := s.Field(name)
		if !ok {
			return nil, tcerr.UnknownParameter(path + name)
		}
		raw := obj[name]
		if raw == nil {
			continue // JSON null is the same as absent
		}
		v, err := normalizeField(schema, f, path+name, raw)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	for _, f := range s.Fields {
		if _, present := out[f.Name]; f.Required && !present {
			return nil, tcerr.MissingParameter(path + f.Name)
		}
	}
	return out, nil
}

func normalizeField(schema map[string]*wire.Struct, f wire.Field, path string, raw any) (any, error) {
	if !f.List {
		return normalizeValue(schema, f, path, raw)
	}
	var items []any
	switch v := raw.(type) {
	case []any:
		items = v
	case map[string]any: // flattened X.0, X.1 …
		items = make([]any, len(v))
		for k, item := range v {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(v) || strconv.Itoa(i) != k {
				return nil, tcerr.InvalidParameter(path+"."+k, "list elements must be numbered 0, 1, 2 … without gaps")
			}
			items[i] = item
		}
	default:
		return nil, tcerr.InvalidParameter(path, "it must be an array whose elements are "+kindName(f))
	}
	out := make([]any, len(items))
	for i, item := range items {
		p := path + "." + strconv.Itoa(i)
		if item == nil {
			return nil, tcerr.InvalidParameter(p, "a list element must not be null")
		}
		v, err := normalizeValue(schema, f, p, item)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func normalizeValue(schema map[string]*wire.Struct, f wire.Field, path string, raw any) (any, error) {
	if f.Kind == wire.KindStruct {
		obj, ok := raw.(map[string]any)
		if !ok {
			return nil, tcerr.InvalidParameter(path, "it must be an object ("+f.Struct+")")
		}
		return normalizeStruct(schema, f.Struct, path+".", obj)
	}
	text, fromForm := raw.(formValue)
	switch f.Kind {
	case wire.KindString:
		if fromForm {
			return string(text), nil
		}
		if s, ok := raw.(string); ok {
			return s, nil
		}
	case wire.KindBool:
		if fromForm {
			if b, err := strconv.ParseBool(string(text)); err == nil {
				return b, nil
			}
			break
		}
		if b, ok := raw.(bool); ok {
			return b, nil
		}
	case wire.KindUint, wire.KindInt, wire.KindFloat:
		var num string
		if fromForm {
			num = string(text)
		} else if n, ok := raw.(json.Number); ok {
			num = n.String()
		} else {
			break
		}
		n, err := canonicalNumber(f.Kind, num)
		if err != nil {
			return nil, tcerr.InvalidParameter(path, err.Error())
		}
		return n, nil
	}
	return nil, tcerr.InvalidParameter(path, "it must be "+kindName(f)+", got "+jsonTypeName(raw))
}

// canonicalNumber checks a number against its kind and returns it as valid JSON.
func canonicalNumber(kind wire.Kind, num string) (json.Number, error) {
	switch kind {
	case wire.KindUint:
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%q is not an unsigned 64-bit integer", num)
		}
		return json.Number(strconv.FormatUint(n, 10)), nil
	case wire.KindInt:
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%q is not a 64-bit integer", num)
		}
		return json.Number(strconv.FormatInt(n, 10)), nil
	default:
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return "", fmt.Errorf("%q is not a number", num)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
}

func kindName(f wire.Field) string {
	switch f.Kind {
	case wire.KindString:
		return "a string"
	case wire.KindUint:
		return "an unsigned integer"
	case wire.KindInt:
		return "an integer"
	case wire.KindFloat:
		return "a number"
	case wire.KindBool:
		return "a boolean"
	case wire.KindStruct:
		return "an object (" + f.Struct + ")"
	}
	return "a value"
}

func jsonTypeName(v any) string {
	switch v.(type) {
	case string, formValue:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
