package policy

import (
	"fmt"
	"strings"
	"testing"
)

// benchPolicies builds n statements over a few policies: allows and denies on other
// applications and actions, with wildcards and an IP condition, and the one statement
// that grants the request last.
func benchPolicies(b *testing.B, n int) []Policy {
	var sts []string
	for i := 0; len(sts) < n-1; i++ {
		app := fmt.Sprintf("qcs::trtc::uin/12345678:sdkappid/14000%05d", 100+i)
		switch i % 4 {
		case 0:
			sts = append(sts, fmt.Sprintf(`{"effect":"allow","action":["name/trtc:Describe*","name/trtc:Get*"],"resource":["%s"]}`, app))
		case 1:
			sts = append(sts, fmt.Sprintf(`{"effect":"deny","action":["name/trtc:RemoveUser","name/trtc:Dismiss*"],"resource":["%s","qcs::trtc::uin/87654321:sdkappid/*"]}`, app))
		case 2:
			sts = append(sts, fmt.Sprintf(`{"effect":"allow","action":"name/trtc:*Cloud*","resource":"qcs::trtc::uin/12345678:sdkappid/*%d","condition":{"ip_equal":{"qcs:ip":["10.0.0.0/8","192.168.%d.0/24"]}}}`, i, i%256))
		case 3:
			sts = append(sts, `{"effect":"deny","action":"name/cvm:*","resource":"*"}`)
		}
	}
	sts = append(sts, `{"effect":"allow","action":["name/trtc:DismissRoom","name/trtc:Describe*"],"resource":"qcs::trtc::uin/12345678:sdkappid/*","condition":{"ip_equal_if_exist":{"qcs:ip":"10.0.0.0/8"}}}`)
	// Ten statements per policy, as attached policies usually are small.
	var policies []Policy
	for start := 0; start < len(sts); start += 10 {
		end := min(start+10, len(sts))
		doc := `{"version":"2.0","statement":[` + strings.Join(sts[start:end], ",") + `]}`
		policies = append(policies, Policy{Name: fmt.Sprintf("p%d", start/10), ID: uint64(start/10 + 1), Doc: mustParse(b, doc)})
	}
	return policies
}

func BenchmarkEvaluate(b *testing.B) {
	req := Request{Service: "trtc", Action: "DescribeRoomInfo", Resource: Resource("12345678", 1400000001),
		Context: map[string][]string{"qcs:ip": {"10.1.2.3"}, "qcs:current_time": {"2026-01-01T00:00:00Z"}}}
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("statements=%d", n), func(b *testing.B) {
			policies := benchPolicies(b, n)
			if d := Evaluate(policies, req); !d.Allowed {
				b.Fatalf("benchmark request denied: %+v", d)
			}
			b.ReportAllocs()
			for b.Loop() {
				Evaluate(policies, req)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	doc := []byte(fuzzSeeds[1])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}
