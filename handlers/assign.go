package handlers

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// assignParams stores a checked parameter tree (checkParams) in dst, a generated request
// struct: what encoding the tree as JSON and decoding it into dst would do, without the
// round trip. The tree's shape follows the schema the types were generated from, so a
// mismatch is an internal error.
func assignParams(dst reflect.Value, tree map[string]any) error {
	fields := jsonFields(dst.Type())
	for name, v := range tree {
		i, ok := fields[name]
		if !ok {
			return tcerr.InternalError("no field " + name + " in " + dst.Type().Name())
		}
		if err := assignValue(dst.Field(i), v); err != nil {
			return err
		}
	}
	return nil
}

func assignValue(dst reflect.Value, v any) error {
	switch dst.Kind() {
	case reflect.Pointer:
		p := reflect.New(dst.Type().Elem())
		if err := assignValue(p.Elem(), v); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.Slice:
		items, ok := v.([]any)
		if !ok {
			break
		}
		list := reflect.MakeSlice(dst.Type(), len(items), len(items))
		for i, item := range items {
			if err := assignValue(list.Index(i), item); err != nil {
				return err
			}
		}
		dst.Set(list)
		return nil
	case reflect.Struct:
		if obj, ok := v.(map[string]any); ok {
			return assignParams(dst, obj)
		}
	case reflect.String:
		if s, ok := v.(string); ok {
			dst.SetString(s)
			return nil
		}
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			dst.SetBool(b)
			return nil
		}
	case reflect.Uint64:
		if n, ok := v.(json.Number); ok {
			if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
				dst.SetUint(u)
				return nil
			}
		}
	case reflect.Int64:
		if n, ok := v.(json.Number); ok {
			if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				dst.SetInt(i)
				return nil
			}
		}
	case reflect.Float64:
		if n, ok := v.(json.Number); ok {
			if f, err := strconv.ParseFloat(string(n), 64); err == nil {
				dst.SetFloat(f)
				return nil
			}
		}
	}
	return tcerr.InternalError("a checked " + jsonTypeName(v) + " does not fit " + dst.Type().String())
}

// jsonFieldsCache maps each generated struct type to its fields' indexes by JSON name.
var jsonFieldsCache sync.Map

func jsonFields(t reflect.Type) map[string]int {
	if m, ok := jsonFieldsCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if name != "-" && f.IsExported() {
			m[name] = i
		}
	}
	jsonFieldsCache.Store(t, m)
	return m
}
