package policy

import (
	"reflect"
	"testing"
)

var fuzzSeeds = []string{
	`{"version":"2.0","statement":[{"effect":"allow","action":["name/trtc:*"],"resource":["qcs::trtc::uin/12345678:sdkappid/1400000001"]},{"effect":"deny","action":["name/trtc:RemoveUser"],"resource":["qcs::trtc::uin/12345678:sdkappid/1400000001"]}]}`,
	`{"version":"2.0","statement":{"effect":"Allow","action":"trtc:Describe*","resource":"*","condition":{"ip_equal":{"qcs:ip":["10.0.0.0/8","::1"]},"date_less_than_if_exist":{"qcs:current_time":"2030-01-01 00:00:00"}}}}`,
	`{"version":"2.0","statement":[{"effect":"deny","action":"*","resource":"*","condition":{"for_all_value:string_like":{"k":["a*?",1,true]},"null_equal":{"qcs:ip":false},"numeric_greater_than":{"n":1e3}}}]}`,
	`{"version":"2.0","statement":[{"effect":"allow","action":"permid/trtc:x","resource":"qcs::trtc:::*","condition":{"binary_equal":{"b":"aGk="},"bool_equal":{"x":"TRUE"}}}]}`,
	`{"version":"2.0","statement":[]}`,
	`{"version":"2.0","principal":{},"statement":[]}`,
	`[1,2]`,
	``,
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		d, err := Parse(doc)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse returned %T, not *Error: %v", err, err)
			}
			return
		}
		out, err := Marshal(d)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := parse(out) // Marshal may lengthen a document past the limit
		if err != nil {
			t.Fatalf("re-Parse of %s: %v", out, err)
		}
		if !reflect.DeepEqual(exported(again), exported(d)) {
			t.Fatalf("round trip differs:\n%+v\n%+v", exported(d), exported(again))
		}
		out2, _ := Marshal(again)
		if string(out2) != string(out) {
			t.Fatalf("Marshal not stable:\n%s\n%s", out, out2)
		}
	})
}

func FuzzEvaluate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "RemoveUser", Resource("12345678", 1400000001), "10.1.2.3", "2029-01-01T00:00:00Z")
		f.Add([]byte(s), "DescribeRecordStatistic", "", "::1", "")
	}
	f.Fuzz(func(t *testing.T, doc []byte, action, resource, ip, now string) {
		d, err := Parse(doc)
		if err != nil {
			return
		}
		full, _ := Preset("QcloudTRTCFullAccess")
		policies := []Policy{{Name: "fuzz", ID: 1, Doc: d}, {Name: "full", ID: 2, Doc: full}}
		ctx := map[string][]string{"qcs:ip": {ip}, "k": {ip, action}, "n": {now}}
		if now != "" {
			ctx["qcs:current_time"] = []string{now}
		}
		req := Request{Service: "trtc", Action: action, Resource: resource, Context: ctx}
		first := Evaluate(policies, req)
		second := Evaluate(policies, req)
		if !reflect.DeepEqual(first, second) {
			t.Fatalf("Evaluate not deterministic: %+v vs %+v", first, second)
		}
		lowered := requestAction(&req)
		for _, p := range policies {
			for i := range p.Doc.Statements {
				st := p.Doc.Statements[i].compiled
				if st.deny && st.applies(lowered, &req) && first.Allowed {
					t.Fatalf("allowed although %s statement %d denies", p.Name, i)
				}
			}
		}
		if first.Allowed == first.ExplicitDeny && first.Allowed {
			t.Fatal("both allowed and explicitly denied")
		}
		for _, m := range first.Matches {
			if (m.Effect == EffectDeny) != first.ExplicitDeny {
				t.Fatalf("match %+v in decision %+v", m, first)
			}
		}
		if (first.Allowed || first.ExplicitDeny) != (len(first.Matches) > 0) {
			t.Fatalf("decision without matches: %+v", first)
		}
	})
}
