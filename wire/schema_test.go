package wire

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestTypesMatchSchema keeps the generated Go types and the schema table in
// step: every struct has exactly the schema's fields, in order, with the Go
// type and JSON tag the schema implies.
func TestTypesMatchSchema(t *testing.T) {
	if len(Types) != len(Structs) {
		t.Errorf("%d types, %d structs", len(Types), len(Structs))
	}
	for name, s := range Structs {
		typ, ok := Types[name]
		if !ok {
			t.Errorf("%s: no Go type", name)
			continue
		}
		if s.Name != name || typ.Name() != name {
			t.Errorf("%s: schema name %q, Go type %s", name, s.Name, typ)
		}
		if typ.NumField() != len(s.Fields) {
			t.Errorf("%s: Go type has %d fields, schema %d", name, typ.NumField(), len(s.Fields))
			continue
		}
		for i, f := range s.Fields {
			sf := typ.Field(i)
			want, err := goType(f)
			if err != nil {
				t.Errorf("%s.%s: %v", name, f.Name, err)
				continue
			}
			if sf.Name != f.Name || sf.Type != want {
				t.Errorf("%s field %d: Go %s %s, schema %s %s", name, i, sf.Name, sf.Type, f.Name, want)
			}
			wantTag := f.Name + ",omitempty"
			if f.List {
				wantTag = f.Name // nil encodes null, empty encodes []
			}
			if tag := sf.Tag.Get("json"); tag != wantTag {
				t.Errorf("%s.%s: json tag %q, want %q", name, f.Name, tag, wantTag)
			}
		}
	}
}

func goType(f Field) (reflect.Type, error) {
	var elem reflect.Type
	switch f.Kind {
	case KindString:
		elem = reflect.TypeFor[string]()
	case KindUint:
		elem = reflect.TypeFor[uint64]()
	case KindInt:
		elem = reflect.TypeFor[int64]()
	case KindFloat:
		elem = reflect.TypeFor[float64]()
	case KindBool:
		elem = reflect.TypeFor[bool]()
	case KindStruct:
		elem = Types[f.Struct]
		if elem == nil {
			return nil, fmt.Errorf("unknown struct %q", f.Struct)
		}
	default:
		return nil, fmt.Errorf("unknown kind %s", f.Kind)
	}
	if f.List {
		return reflect.SliceOf(elem), nil
	}
	return reflect.PointerTo(elem), nil
}

func TestActions(t *testing.T) {
	if !slices.IsSortedFunc(Actions, func(a, b Action) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("Actions are not sorted by name")
	}
	for _, a := range Actions {
		req, resp := Structs[a.Request], Structs[a.Response]
		if req == nil || resp == nil {
			t.Errorf("%s: missing struct %s or %s", a.Name, a.Request, a.Response)
			continue
		}
		if f, ok := resp.Field("RequestId"); !ok || f.Kind != KindString || f.List {
			t.Errorf("%s has no RequestId string", a.Response)
		}
		r, ok := reflect.New(Types[a.Response]).Interface().(interface{ SetRequestId(string) })
		if !ok {
			t.Errorf("%s has no SetRequestId", a.Response)
			continue
		}
		r.SetRequestId("req-1")
		if got := reflect.ValueOf(r).Elem().FieldByName("RequestId").Elem().String(); got != "req-1" {
			t.Errorf("%s.SetRequestId stored %q", a.Response, got)
		}
		if a.Doc == "" {
			t.Errorf("%s has no doc", a.Name)
		}
	}
}

func TestStructField(t *testing.T) {
	s := Structs["DismissRoomRequest"]
	f, ok := s.Field("RoomId")
	if !ok || f != (Field{Name: "RoomId", Kind: KindUint, Required: true}) {
		t.Errorf("DismissRoomRequest.RoomId = %+v, %v", f, ok)
	}
	if _, ok := s.Field("roomid"); ok {
		t.Error("Field matched a name in the wrong case")
	}
}

// TestAbsentVersusEmpty checks the encoding rules that keep "absent" and
// "empty" apart (UpdatePublishCdnStream: absent = unchanged, [] = reset).
func TestAbsentVersusEmpty(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{&DescribeRecordingUsageResponse{}, `{"UsageKey":null,"UsageList":null}`},
		{&DescribeRecordingUsageResponse{UsageKey: []string{}, UsageList: []TrtcUsage{{UsageValue: []float64{1.5}}}},
			`{"UsageKey":[],"UsageList":[{"UsageValue":[1.5]}]}`},
		{&RoomState{IsFinished: new(false)}, `{"IsFinished":false}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%T) = %s, %v; want %s", tt.v, b, err, tt.want)
		}
	}
	var req UpdatePublishCdnStreamRequest
	if err := json.Unmarshal([]byte(`{"PublishCdnParams":[]}`), &req); err != nil {
		t.Fatal(err)
	}
	if req.PublishCdnParams == nil || len(req.PublishCdnParams) != 0 || req.FeedBackRoomParams != nil {
		t.Errorf("decoded %+v: want PublishCdnParams empty, FeedBackRoomParams nil", req)
	}
}

func TestKindString(t *testing.T) {
	if KindUint.String() != "uint" || Kind(0).String() != "Kind(0)" || Kind(42).String() != "Kind(42)" {
		t.Errorf("Kind.String: %s %s %s", KindUint, Kind(0), Kind(42))
	}
}
