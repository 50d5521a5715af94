package camwire

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/wire"
)

// TestTypesMatchSchema keeps the generated Go types and the schema table in
// step, as wire's test of the same name does for TRTC.
func TestTypesMatchSchema(t *testing.T) {
	if len(Types) != len(Structs) {
		t.Errorf("%d types, %d structs", len(Types), len(Structs))
	}
	scalars := map[wire.Kind]reflect.Type{
		wire.KindString: reflect.TypeFor[string](),
		wire.KindUint:   reflect.TypeFor[uint64](),
		wire.KindInt:    reflect.TypeFor[int64](),
		wire.KindFloat:  reflect.TypeFor[float64](),
		wire.KindBool:   reflect.TypeFor[bool](),
	}
	for name, s := range Structs {
		typ := Types[name]
		if typ == nil || s.Name != name || typ.Name() != name {
			t.Errorf("%s: schema name %q, Go type %v", name, s.Name, typ)
			continue
		}
		if typ.NumField() != len(s.Fields) {
			t.Errorf("%s: Go type has %d fields, schema %d", name, typ.NumField(), len(s.Fields))
			continue
		}
		for i, f := range s.Fields {
			elem := scalars[f.Kind]
			if f.Kind == wire.KindStruct {
				elem = Types[f.Struct]
			}
			if elem == nil {
				t.Errorf("%s.%s: kind %s, struct %q", name, f.Name, f.Kind, f.Struct)
				continue
			}
			want, wantTag := reflect.PointerTo(elem), f.Name+",omitempty"
			if f.List {
				want, wantTag = reflect.SliceOf(elem), f.Name
			}
			sf := typ.Field(i)
			if sf.Name != f.Name || sf.Type != want || sf.Tag.Get("json") != wantTag {
				t.Errorf("%s field %d: Go %s %s %q, schema %s %s %q", name, i, sf.Name, sf.Type, sf.Tag.Get("json"), f.Name, want, wantTag)
			}
		}
	}
}

func TestActions(t *testing.T) {
	// The CAM actions the emulator serves (api-protocol.md §6).
	want := []string{
		"AddUser", "AttachUserPolicy", "CreateAccessKey", "CreatePolicy", "DeleteAccessKey",
		"DeletePolicy", "DeleteUser", "DetachUserPolicy", "GetPolicy", "GetUser", "GetUserAppId",
		"ListAccessKeys", "ListAttachedUserPolicies", "ListPolicies", "ListUsers", "UpdateAccessKey",
		"UpdateUser",
	}
	var got []string
	for _, a := range Actions {
		got = append(got, a.Name)
		if a.Request != a.Name+"Request" || a.Response != a.Name+"Response" || a.Doc == "" {
			t.Errorf("%+v", a)
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
	}
	if !slices.Equal(got, want) {
		t.Errorf("Actions = %v\nwant %v", got, want)
	}
	for _, name := range OtherActions {
		if slices.Contains(want, name) {
			t.Errorf("%s is both served and in OtherActions", name)
		}
	}
	if !slices.IsSorted(OtherActions) || !slices.Contains(OtherActions, "ListAttachedUserAllPolicies") {
		t.Errorf("OtherActions = %v", OtherActions)
	}
	for _, a := range wire.Actions {
		if slices.Contains(want, a.Name) {
			t.Errorf("%s is an action of both TRTC and CAM", a.Name)
		}
	}
}

func TestFields(t *testing.T) {
	tests := []struct {
		field string
		want  wire.Field
	}{
		{"CreatePolicyRequest.PolicyName", wire.Field{Name: "PolicyName", Kind: wire.KindString, Required: true}},
		{"CreatePolicyRequest.PolicyDocument", wire.Field{Name: "PolicyDocument", Kind: wire.KindString, Required: true}},
		{"CreatePolicyRequest.Description", wire.Field{Name: "Description", Kind: wire.KindString}},
		{"AddUserResponse.Uin", wire.Field{Name: "Uin", Kind: wire.KindUint}},
		{"AddUserResponse.SecretId", wire.Field{Name: "SecretId", Kind: wire.KindString}},
		{"AddUserResponse.SecretKey", wire.Field{Name: "SecretKey", Kind: wire.KindString}},
		{"DeletePolicyRequest.PolicyId", wire.Field{Name: "PolicyId", Kind: wire.KindUint, List: true, Required: true}},
		{"ListUsersResponse.Data", wire.Field{Name: "Data", Kind: wire.KindStruct, List: true, Struct: "SubAccountInfo"}},
	}
	for _, tt := range tests {
		sname, fname, _ := strings.Cut(tt.field, ".")
		f, ok := Structs[sname].Field(fname)
		if !ok || f != tt.want {
			t.Errorf("%s = %+v (found %v), want %+v", tt.field, f, ok, tt.want)
		}
	}
	if n := len(Structs["ListUsersRequest"].Fields); n != 0 {
		t.Errorf("ListUsersRequest has %d fields, want none", n)
	}
}

func TestEncode(t *testing.T) {
	uin, id := uint64(100000000001), "AKIDexample"
	b, err := json.Marshal(&AddUserResponse{Uin: &uin, SecretId: &id})
	if err != nil || string(b) != `{"Uin":100000000001,"SecretId":"AKIDexample"}` {
		t.Errorf("Marshal(AddUserResponse) = %s, %v", b, err)
	}
	var req CreatePolicyRequest
	if err := json.Unmarshal([]byte(`{"PolicyName":"p","PolicyDocument":"{\"version\":\"2.0\"}"}`), &req); err != nil {
		t.Fatal(err)
	}
	if *req.PolicyName != "p" || *req.PolicyDocument != `{"version":"2.0"}` || req.Description != nil {
		t.Errorf("decoded %+v", req)
	}
}
