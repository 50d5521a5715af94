package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseInvalid(t *testing.T) {
	const ok = `"effect":"allow","action":"name/trtc:*","resource":"*"`
	tests := []struct {
		name, doc, code string
	}{
		{"not JSON", `{"version":"2.0",`, CodePolicyDocumentError},
		{"empty", ``, CodePolicyDocumentError},
		{"array", `[]`, CodePolicyDocumentError},
		{"trailing data", `{"version":"2.0","statement":[{` + ok + `}]} {}`, CodePolicyDocumentError},
		{"too long", `{"version":"2.0","statement":[{` + ok + `}]}` + strings.Repeat(" ", MaxDocumentLength), CodePolicyDocumentLengthOverLimit},
		{"unknown top-level key", `{"version":"2.0","statement":[{` + ok + `}],"id":"x"}`, CodePolicyDocumentError},
		{"upper-case element", `{"Version":"2.0","statement":[{` + ok + `}]}`, CodePolicyDocumentError},
		{"duplicate key", `{"version":"2.0","version":"2.0","statement":[{` + ok + `}]}`, CodePolicyDocumentError},
		{"unknown statement key", `{"version":"2.0","statement":[{` + ok + `,"sid":"1"}]}`, CodePolicyDocumentError},
		{"missing version", `{"statement":[{` + ok + `}]}`, CodeVersionError},
		{"bad version", `{"version":"1.0","statement":[{` + ok + `}]}`, CodeVersionError},
		{"numeric version", `{"version":2.0,"statement":[{` + ok + `}]}`, CodeVersionError},
		{"missing statement", `{"version":"2.0"}`, CodeStatementError},
		{"empty statement", `{"version":"2.0","statement":[]}`, CodeStatementError},
		{"statement string", `{"version":"2.0","statement":"allow"}`, CodeStatementError},
		{"statement element not object", `{"version":"2.0","statement":[1]}`, CodeStatementError},
		{"principal", `{"version":"2.0","principal":{"qcs":["qcs::cam::uin/1:uin/2"]},"statement":[{` + ok + `}]}`, CodePrincipalError},
		{"principal in statement", `{"version":"2.0","statement":[{` + ok + `,"principal":{"qcs":["qcs::cam::uin/1:uin/2"]}}]}`, CodePrincipalError},
		{"missing effect", `{"version":"2.0","statement":[{"action":"*","resource":"*"}]}`, CodeEffectError},
		{"bad effect", `{"version":"2.0","statement":[{"effect":"permit","action":"*","resource":"*"}]}`, CodeEffectError},
		{"effect not string", `{"version":"2.0","statement":[{"effect":true,"action":"*","resource":"*"}]}`, CodeEffectError},
		{"missing action", `{"version":"2.0","statement":[{"effect":"allow","resource":"*"}]}`, CodeActionError},
		{"empty action list", `{"version":"2.0","statement":[{"effect":"allow","action":[],"resource":"*"}]}`, CodeActionError},
		{"empty action", `{"version":"2.0","statement":[{"effect":"allow","action":"","resource":"*"}]}`, CodeActionError},
		{"action without service", `{"version":"2.0","statement":[{"effect":"allow","action":"DismissRoom","resource":"*"}]}`, CodeActionError},
		{"action empty name", `{"version":"2.0","statement":[{"effect":"allow","action":"name/trtc:","resource":"*"}]}`, CodeActionError},
		{"action empty service", `{"version":"2.0","statement":[{"effect":"allow","action":"name/:DismissRoom","resource":"*"}]}`, CodeActionError},
		{"action bad prefix", `{"version":"2.0","statement":[{"effect":"allow","action":"api/trtc:DismissRoom","resource":"*"}]}`, CodeActionError},
		{"action with space", `{"version":"2.0","statement":[{"effect":"allow","action":"name/trtc:Dismiss Room","resource":"*"}]}`, CodeActionError},
		{"action number", `{"version":"2.0","statement":[{"effect":"allow","action":[1],"resource":"*"}]}`, CodeActionError},
		{"missing resource", `{"version":"2.0","statement":[{"effect":"allow","action":"*"}]}`, CodeResourceError},
		{"empty resource list", `{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":[]}]}`, CodeResourceError},
		{"bad resource", `{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"trtc/1400000001"}]}`, CodeResourceError},
		{"resource five segments", `{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"qcs::trtc::sdkappid/1"}]}`, CodeResourceError},
		{"resource not qcs", `{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"arn::trtc::uin/1:sdkappid/1"}]}`, CodeResourceError},
		{"resource empty service", `{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"qcs::::uin/1:sdkappid/1"}]}`, CodeResourceError},
		{"unknown operator", `{"version":"2.0","statement":[{` + ok + `,"condition":{"ip_equals":{"qcs:ip":"1.2.3.4"}}}]}`, CodeConditionTypeError},
		{"unknown qualifier", `{"version":"2.0","statement":[{` + ok + `,"condition":{"for_some_value:ip_equal":{"qcs:ip":"1.2.3.4"}}}]}`, CodeConditionTypeError},
		{"null_equal_if_exist", `{"version":"2.0","statement":[{` + ok + `,"condition":{"null_equal_if_exist":{"k":true}}}]}`, CodeConditionTypeError},
		{"bad ip value", `{"version":"2.0","statement":[{` + ok + `,"condition":{"ip_equal":{"qcs:ip":"10.0.0.300"}}}]}`, CodeConditionError},
		{"bad cidr", `{"version":"2.0","statement":[{` + ok + `,"condition":{"ip_equal":{"qcs:ip":"10.0.0.0/33"}}}]}`, CodeConditionError},
		{"bad number", `{"version":"2.0","statement":[{` + ok + `,"condition":{"numeric_less_than":{"k":"ten"}}}]}`, CodeConditionError},
		{"NaN", `{"version":"2.0","statement":[{` + ok + `,"condition":{"numeric_less_than":{"k":"NaN"}}}]}`, CodeConditionError},
		{"bad date", `{"version":"2.0","statement":[{` + ok + `,"condition":{"date_less_than":{"k":"31/05/2022"}}}]}`, CodeConditionError},
		{"bad bool", `{"version":"2.0","statement":[{` + ok + `,"condition":{"bool_equal":{"k":"yes"}}}]}`, CodeConditionError},
		{"bad base64", `{"version":"2.0","statement":[{` + ok + `,"condition":{"binary_equal":{"k":"!!"}}}]}`, CodeConditionError},
		{"condition not object", `{"version":"2.0","statement":[{` + ok + `,"condition":["ip_equal"]}]}`, CodeConditionError},
		{"condition empty block", `{"version":"2.0","statement":[{` + ok + `,"condition":{"ip_equal":{}}}]}`, CodeConditionError},
		{"condition empty values", `{"version":"2.0","statement":[{` + ok + `,"condition":{"string_equal":{"k":[]}}}]}`, CodeConditionError},
		{"condition null value", `{"version":"2.0","statement":[{` + ok + `,"condition":{"string_equal":{"k":null}}}]}`, CodeConditionError},
		{"condition object value", `{"version":"2.0","statement":[{` + ok + `,"condition":{"string_equal":{"k":{"a":1}}}}]}`, CodeConditionError},
		{"condition empty key", `{"version":"2.0","statement":[{` + ok + `,"condition":{"string_equal":{"":"a"}}}]}`, CodeConditionError},
		{"condition duplicate key", `{"version":"2.0","statement":[{` + ok + `,"condition":{"string_equal":{"k":"a","k":"b"}}}]}`, CodeConditionError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.doc))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse = %+v, %v; want error %s", d, err, tc.code)
			}
			if perr.Code != tc.code {
				t.Errorf("code = %s (%s), want %s", perr.Code, perr.Message, tc.code)
			}
			if perr.Message == "" || !strings.HasPrefix(perr.Error(), tc.code+": ") {
				t.Errorf("Error() = %q", perr.Error())
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	d := mustParse(t, `  {"statement": {"effect": "Deny", "action": "trtc:RemoveUser", "resource": "qcs::trtc::uin/1:sdkappid/*",
	   "condition": {"for_any_value:string_equal_if_exist": {"qcs:resource_tag": ["a&b", 3, true]},
	                 "ip_equal": {"qcs:ip": "10.0.0.1", "qcs:other": ["::1", "fe80::/10"]}}},
	   "version": "2.0"}  `)
	want := &Document{Version: "2.0", Statements: []Statement{{
		Effect:    "deny",
		Actions:   []string{"trtc:RemoveUser"},
		Resources: []string{"qcs::trtc::uin/1:sdkappid/*"},
		Conditions: []Condition{
			{Operator: "string_equal", IfExist: true, Qualifier: ForAnyValue, Key: "qcs:resource_tag", Values: []string{"a&b", "3", "true"}},
			{Operator: "ip_equal", Key: "qcs:ip", Values: []string{"10.0.0.1"}},
			{Operator: "ip_equal", Key: "qcs:other", Values: []string{"::1", "fe80::/10"}},
		},
	}}}
	if !reflect.DeepEqual(exported(d), want) {
		t.Errorf("Parse = %+v\nwant    %+v", exported(d), want)
	}
	out, err := Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	const canonical = `{"version":"2.0","statement":[{"effect":"deny","action":["trtc:RemoveUser"],"resource":["qcs::trtc::uin/1:sdkappid/*"],` +
		`"condition":{"for_any_value:string_equal_if_exist":{"qcs:resource_tag":["a\u0026b","3","true"]},"ip_equal":{"qcs:ip":["10.0.0.1"],"qcs:other":["::1","fe80::/10"]}}}]}`
	if string(out) != canonical {
		t.Errorf("Marshal =\n%s\nwant\n%s", out, canonical)
	}
	again := mustParse(t, string(out))
	if !reflect.DeepEqual(exported(again), exported(d)) {
		t.Errorf("round trip changed the document: %+v", exported(again))
	}

	// The seed's own policy text has trailing commas in one rendering; the clean
	// version parses, and an empty condition object is no condition.
	d = mustParse(t, `{"version":"2.0","statement":[{"effect":"allow","action":["name/trtc:*"],"resource":["*"],"condition":{}}]}`)
	if len(d.Statements[0].Conditions) != 0 {
		t.Errorf("conditions = %+v", d.Statements[0].Conditions)
	}
	// Exactly the limit is accepted.
	doc := `{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"*"}]}`
	doc += strings.Repeat(" ", MaxDocumentLength-len(doc))
	if _, err := Parse([]byte(doc)); err != nil {
		t.Errorf("a document of exactly %d bytes: %v", MaxDocumentLength, err)
	}
}

func TestMarshalHandBuilt(t *testing.T) {
	d := &Document{Version: "2.0", Statements: []Statement{{
		Effect: "allow", Actions: []string{"*"}, Resources: []string{"*"},
		Conditions: []Condition{
			{Operator: "ip_equal", Key: "qcs:ip", Values: []string{"10.0.0.0/8"}},
			{Operator: "string_equal", Key: "a", Values: []string{"x"}},
			{Operator: "ip_equal", Key: "qcs:ip", Values: []string{"192.168.0.0/16"}},
		},
	}}}
	out, err := Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":"2.0","statement":[{"effect":"allow","action":["*"],"resource":["*"],"condition":{"ip_equal":{"qcs:ip":["10.0.0.0/8","192.168.0.0/16"]},"string_equal":{"a":["x"]}}}]}`
	if string(out) != want {
		t.Errorf("Marshal = %s", out)
	}
	if _, err := Marshal(nil); err == nil {
		t.Error("Marshal(nil) succeeded")
	}
}

// exported copies d without the compiled forms, for comparisons.
func exported(d *Document) *Document {
	if d == nil {
		return nil
	}
	out := &Document{Version: d.Version}
	for _, st := range d.Statements {
		st.compiled = nil
		out.Statements = append(out.Statements, st)
	}
	return out
}
