package policy

import (
	"fmt"
	"testing"
)

// condDoc is an allow-everything policy guarded by one condition block.
func condDoc(t *testing.T, condition string) []Policy {
	t.Helper()
	doc := mustParse(t, fmt.Sprintf(`{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"*","condition":%s}]}`, condition))
	return []Policy{{Name: "cond", Doc: doc}}
}

func allowedWith(p []Policy, ctx map[string][]string) bool {
	return Evaluate(p, Request{Service: "trtc", Action: "DismissRoom", Resource: app1, Context: ctx}).Allowed
}

func TestConditionOperators(t *testing.T) {
	const k = "k"
	tests := []struct {
		condition string
		value     []string // request values of key k; nil = absent
		want      bool
	}{
		{`{"string_equal":{"k":"abc"}}`, []string{"abc"}, true},
		{`{"string_equal":{"k":"abc"}}`, []string{"ABC"}, false},
		{`{"string_equal":{"k":["x","abc"]}}`, []string{"abc"}, true},
		{`{"string_equal":{"k":"abc"}}`, nil, false},
		{`{"string_not_equal":{"k":"abc"}}`, []string{"abd"}, true},
		{`{"string_not_equal":{"k":"abc"}}`, []string{"abc"}, false},
		{`{"string_not_equal":{"k":["abc","xyz"]}}`, []string{"xyz"}, false}, // must differ from all
		{`{"string_not_equal":{"k":["abc","xyz"]}}`, []string{"q"}, true},
		{`{"string_not_equal":{"k":"abc"}}`, nil, false},
		{`{"string_equal_ignore_case":{"k":"AbC"}}`, []string{"aBc"}, true},
		{`{"string_equal_ignore_case":{"k":"AbC"}}`, []string{"abd"}, false},
		{`{"string_not_equal_ignore_case":{"k":"AbC"}}`, []string{"abc"}, false},
		{`{"string_not_equal_ignore_case":{"k":"AbC"}}`, []string{"abd"}, true},
		{`{"string_like":{"k":"room-*-?"}}`, []string{"room-42-a"}, true},
		{`{"string_like":{"k":"room-*-?"}}`, []string{"room-42-ab"}, false},
		{`{"string_like":{"k":"room-*-?"}}`, []string{"Room-42-a"}, false},
		{`{"string_like":{"k":"?é*"}}`, []string{"xé"}, true},
		{`{"string_not_like":{"k":"dev-*"}}`, []string{"prod-1"}, true},
		{`{"string_not_like":{"k":"dev-*"}}`, []string{"dev-1"}, false},
		{`{"numeric_equal":{"k":10}}`, []string{"10.0"}, true},
		{`{"numeric_equal":{"k":"10"}}`, []string{"11"}, false},
		{`{"numeric_equal":{"k":10}}`, []string{"ten"}, false},
		{`{"numeric_not_equal":{"k":[10,11]}}`, []string{"12"}, true},
		{`{"numeric_not_equal":{"k":[10,11]}}`, []string{"11"}, false},
		{`{"numeric_not_equal":{"k":10}}`, []string{"ten"}, false}, // unparsable never holds
		{`{"numeric_less_than":{"k":10}}`, []string{"9.5"}, true},
		{`{"numeric_less_than":{"k":10}}`, []string{"10"}, false},
		{`{"numeric_less_than_equal":{"k":10}}`, []string{"10"}, true},
		{`{"numeric_less_than_equal":{"k":10}}`, []string{"10.01"}, false},
		{`{"numeric_greater_than":{"k":-1}}`, []string{"0"}, true},
		{`{"numeric_greater_than":{"k":-1}}`, []string{"-1"}, false},
		{`{"numeric_greater_than_equal":{"k":1e3}}`, []string{"1000"}, true},
		{`{"numeric_greater_than_equal":{"k":1e3}}`, []string{"999"}, false},
		{`{"date_equal":{"k":"2024-05-31T00:00:00Z"}}`, []string{"2024-05-31T08:00:00+08:00"}, true},
		{`{"date_equal":{"k":"2024-05-31 00:00:00"}}`, []string{"2024-05-31T00:00:01Z"}, false},
		{`{"date_equal":{"k":1717113600}}`, []string{"2024-05-31T00:00:00Z"}, true},
		{`{"date_not_equal":{"k":"2024-05-31"}}`, []string{"2024-05-31T00:00:00Z"}, false},
		{`{"date_not_equal":{"k":"2024-05-31"}}`, []string{"2024-06-01T00:00:00Z"}, true},
		{`{"date_less_than":{"k":"2024-05-31 00:00:00"}}`, []string{"2024-05-30T23:59:59Z"}, true},
		{`{"date_less_than":{"k":"2024-05-31 00:00:00"}}`, []string{"2024-05-31T00:00:00Z"}, false},
		{`{"date_less_than":{"k":"2024-05-31 00:00:00"}}`, []string{"yesterday"}, false},
		{`{"date_less_than_equal":{"k":"2024-05-31T00:00:00Z"}}`, []string{"2024-05-31T00:00:00Z"}, true},
		{`{"date_less_than_equal":{"k":"2024-05-31T00:00:00Z"}}`, []string{"2024-05-31T00:00:00.5Z"}, false},
		{`{"date_greater_than":{"k":"2024-05-31T00:00:00Z"}}`, []string{"1717113601"}, true},
		{`{"date_greater_than":{"k":"2024-05-31T00:00:00Z"}}`, []string{"1717113600"}, false},
		{`{"date_greater_than_equal":{"k":"2024-05-31T00:00:00Z"}}`, []string{"2024-05-31T00:00:00Z"}, true},
		{`{"date_greater_than_equal":{"k":"2024-05-31T00:00:00Z"}}`, []string{"2024-05-30T00:00:00Z"}, false},
		{`{"bool_equal":{"k":true}}`, []string{"true"}, true},
		{`{"bool_equal":{"k":"true"}}`, []string{"false"}, false},
		{`{"bool_equal":{"k":false}}`, []string{"FALSE"}, true},
		{`{"bool_equal":{"k":false}}`, []string{"no"}, false},
		{`{"ip_equal":{"k":"10.217.182.3/24"}}`, []string{"10.217.182.200"}, true},
		{`{"ip_equal":{"k":"10.217.182.3/24"}}`, []string{"10.217.183.1"}, false},
		{`{"ip_equal":{"k":["192.168.1.1","10.0.0.0/8"]}}`, []string{"192.168.1.1"}, true},
		{`{"ip_equal":{"k":"192.168.1.1"}}`, []string{"192.168.1.2"}, false},
		{`{"ip_equal":{"k":"192.168.1.1"}}`, []string{"::ffff:192.168.1.1"}, true},
		{`{"ip_equal":{"k":"2001:db8::/32"}}`, []string{"2001:db8:1::5"}, true},
		{`{"ip_equal":{"k":"2001:db8::/32"}}`, []string{"2001:db9::5"}, false},
		{`{"ip_equal":{"k":"2001:db8::1"}}`, []string{"2001:db8::1"}, true},
		{`{"ip_equal":{"k":"10.0.0.0/8"}}`, []string{"not-an-ip"}, false},
		{`{"ip_not_equal":{"k":["10.0.0.0/8","192.168.0.0/16"]}}`, []string{"172.16.0.1"}, true},
		{`{"ip_not_equal":{"k":["10.0.0.0/8","192.168.0.0/16"]}}`, []string{"192.168.3.4"}, false},
		{`{"ip_not_equal":{"k":"10.0.0.0/8"}}`, []string{"not-an-ip"}, false},
		{`{"binary_equal":{"k":"aGVsbG8="}}`, []string{"aGVsbG8="}, true},
		{`{"binary_equal":{"k":"aGVsbG8="}}`, []string{"aGVsbG9="}, false},
		{`{"null_equal":{"k":true}}`, nil, true},
		{`{"null_equal":{"k":true}}`, []string{"x"}, false},
		{`{"null_equal":{"k":false}}`, []string{"x"}, true},
		{`{"null_equal":{"k":false}}`, nil, false},
		{`{"null_equal":{"k":false}}`, []string{}, false}, // no values = absent

		// _if_exist: true when the key is absent, the operator otherwise.
		{`{"string_equal_if_exist":{"k":"abc"}}`, nil, true},
		{`{"string_equal_if_exist":{"k":"abc"}}`, []string{"abc"}, true},
		{`{"string_equal_if_exist":{"k":"abc"}}`, []string{"abd"}, false},
		{`{"ip_not_equal_if_exist":{"k":"10.0.0.0/8"}}`, nil, true},
		{`{"ip_not_equal_if_exist":{"k":"10.0.0.0/8"}}`, []string{"10.1.1.1"}, false},
		{`{"numeric_less_than_if_exist":{"k":5}}`, []string{"4"}, true},

		// Qualifiers over a multi-valued key.
		{`{"for_any_value:string_equal":{"k":["a","b"]}}`, []string{"z", "b"}, true},
		{`{"for_any_value:string_equal":{"k":["a","b"]}}`, []string{"z", "y"}, false},
		{`{"for_all_value:string_equal":{"k":["a","b"]}}`, []string{"a", "b"}, true},
		{`{"for_all_value:string_equal":{"k":["a","b"]}}`, []string{"a", "z"}, false},
		{`{"for_all_value:string_equal":{"k":["a","b"]}}`, nil, false},
		{`{"for_all_value:string_equal_if_exist":{"k":["a","b"]}}`, nil, true},
		{`{"for_any_value:string_not_equal":{"k":"a"}}`, []string{"a", "z"}, true},
		{`{"for_all_value:string_not_equal":{"k":"a"}}`, []string{"a", "z"}, false},
		{`{"for_all_value:ip_equal":{"k":"10.0.0.0/8"}}`, []string{"10.1.1.1", "10.2.2.2"}, true},
		{`{"for_all_value:ip_equal":{"k":"10.0.0.0/8"}}`, []string{"10.1.1.1", "11.2.2.2"}, false},
		// Without a qualifier: positive operators need one request value, negated ones all.
		{`{"string_equal":{"k":"a"}}`, []string{"z", "a"}, true},
		{`{"string_not_equal":{"k":"a"}}`, []string{"z", "a"}, false},
		{`{"string_not_equal":{"k":"a"}}`, []string{"z", "y"}, true},
	}
	for _, tc := range tests {
		p := condDoc(t, tc.condition)
		var ctx map[string][]string
		if tc.value != nil {
			ctx = map[string][]string{k: tc.value}
		}
		if got := allowedWith(p, ctx); got != tc.want {
			t.Errorf("%s with %s=%q: allowed=%v, want %v", tc.condition, k, tc.value, got, tc.want)
		}
	}
	// Every supported operator is exercised above.
	seen := map[string]bool{}
	for _, tc := range tests {
		doc := mustParse(t, `{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"*","condition":`+tc.condition+`}]}`)
		for _, c := range doc.Statements[0].Conditions {
			seen[c.Operator] = true
		}
	}
	for _, op := range Operators() {
		if !seen[op] {
			t.Errorf("operator %s has no test", op)
		}
	}
}

// Keys and operators in one statement are AND'ed; this is the CAM doc's example of a
// source IP and a date.
func TestConditionBlocksAreANDed(t *testing.T) {
	p := condDoc(t, `{
	  "ip_equal": {"qcs:ip": ["10.217.182.3/24", "111.21.33.72/24"]},
	  "date_less_than": {"qcs:current_time": "2022-05-31 00:00:00"},
	  "string_equal": {"a": "1", "b": "2"}}`)
	ok := map[string][]string{
		"qcs:ip":           {"111.21.33.1"},
		"qcs:current_time": {"2022-05-30T12:00:00Z"},
		"a":                {"1"}, "b": {"2"},
	}
	if !allowedWith(p, ok) {
		t.Fatal("all conditions hold but the request was denied")
	}
	for _, key := range []string{"qcs:ip", "qcs:current_time", "a", "b"} {
		bad := map[string][]string{}
		for k, v := range ok {
			bad[k] = v
		}
		bad[key] = []string{"2099-01-01T00:00:00Z"}
		if allowedWith(p, bad) {
			t.Errorf("%s fails but the request was allowed", key)
		}
		delete(bad, key)
		if allowedWith(p, bad) {
			t.Errorf("%s absent but the request was allowed", key)
		}
	}
}

// A deny guarded by a condition only denies when the condition holds (api-protocol §6.1).
func TestConditionalDeny(t *testing.T) {
	doc := mustParse(t, `{"version":"2.0","statement":[
	  {"effect":"allow","action":"name/trtc:*","resource":"*"},
	  {"effect":"deny","action":"name/trtc:RemoveUser","resource":"*","condition":{"ip_not_equal":{"qcs:ip":"10.0.0.0/8"}}}]}`)
	p := []Policy{{Doc: doc}}
	req := func(ip string) Decision {
		return Evaluate(p, Request{Service: "trtc", Action: "RemoveUser", Resource: app1, Context: map[string][]string{"qcs:ip": {ip}}})
	}
	if d := req("10.1.2.3"); !d.Allowed {
		t.Errorf("from inside 10/8: %+v", d)
	}
	if d := req("8.8.8.8"); d.Allowed || !d.ExplicitDeny {
		t.Errorf("from outside 10/8: %+v", d)
	}
}
