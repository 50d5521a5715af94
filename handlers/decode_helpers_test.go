package handlers

import (
	"encoding/json"
	"reflect"

	"github.com/trtc-emulator/trtc-emulator/wire"
)

// decodeParams decodes a parameter tree as the API does (checkParams, then assignParams
// into the request's generated type) and returns the request as JSON, for tests.
func decodeParams(structName string, params map[string]any) ([]byte, error) {
	return decodeParamsIn(wire.Structs, wire.Types, structName, params)
}

// decodeParamsIn is decodeParams over a service's schema and types (wire, camwire).
func decodeParamsIn(schema map[string]*wire.Struct, types map[string]reflect.Type, structName string, params map[string]any) ([]byte, error) {
	checked, err := checkParams(schema, structName, params)
	if err != nil {
		return nil, err
	}
	req := reflect.New(types[structName])
	if err := assignParams(req.Elem(), checked); err != nil {
		return nil, err
	}
	return json.Marshal(req.Interface())
}
