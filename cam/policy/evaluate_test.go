package policy

import (
	"reflect"
	"testing"
)

const uin = "12345678"

var (
	app0 = Resource(uin, 1400000000)
	app1 = Resource(uin, 1400000001)
	app2 = Resource(uin, 1400000002)
)

func mustParse(t testing.TB, doc string) *Document {
	t.Helper()
	d, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return d
}

// fact is one line of the policy's behaviour, read like the seed's examples.
type fact struct {
	action, resource string
	allowed          bool
	explicitDeny     bool
}

func checkFacts(t *testing.T, policies []Policy, facts []fact) {
	t.Helper()
	for _, f := range facts {
		d := Evaluate(policies, Request{Service: "trtc", Action: f.action, Resource: f.resource})
		if d.Allowed != f.allowed || d.ExplicitDeny != f.explicitDeny {
			t.Errorf("%s on %q: got allowed=%v explicitDeny=%v, want %v/%v (matches %+v)",
				f.action, f.resource, d.Allowed, d.ExplicitDeny, f.allowed, f.explicitDeny, d.Matches)
		}
	}
}

// seed: Access Management, "Using the policy generator": allow all on 1400000001 except RemoveUser.
func TestSeedAllowAllButDenyRemoveUser(t *testing.T) {
	doc := mustParse(t, `{
	  "version": "2.0",
	  "statement": [
	    {"effect": "allow", "action": ["name/trtc:*"], "resource": ["qcs::trtc::uin/12345678:sdkappid/1400000001"]},
	    {"effect": "deny", "action": ["name/trtc:RemoveUser"], "resource": ["qcs::trtc::uin/12345678:sdkappid/1400000001"]}
	  ]}`)
	policies := []Policy{{Name: "only-1400000001", ID: 7, Doc: doc}}
	checkFacts(t, policies, []fact{
		{"RemoveUser", app1, false, true},
		{"DismissRoom", app1, true, false},
		{"DescribeRoomInfo", app1, true, false},
		{"RemoveUserByStrRoomId", app1, true, false}, // a different action, not a prefix match
		{"DismissRoom", app2, false, false},
		{"RemoveUser", app2, false, false},
	})
	d := Evaluate(policies, Request{Service: "trtc", Action: "RemoveUser", Resource: app1})
	want := []Match{{Policy: "only-1400000001", PolicyID: 7, Statement: 1, Effect: EffectDeny}}
	if !reflect.DeepEqual(d.Matches, want) {
		t.Errorf("deny matches = %+v, want %+v", d.Matches, want)
	}
	d = Evaluate(policies, Request{Service: "trtc", Action: "DismissRoom", Resource: app1})
	want = []Match{{Policy: "only-1400000001", PolicyID: 7, Statement: 0, Effect: EffectAllow}}
	if !reflect.DeepEqual(d.Matches, want) {
		t.Errorf("allow matches = %+v, want %+v", d.Matches, want)
	}
	if d := Evaluate(policies, Request{Service: "trtc", Action: "DismissRoom", Resource: app2}); d.Matches != nil {
		t.Errorf("implicit deny has matches %+v", d.Matches)
	}
}

// seed: Access Management, "Using the policy syntax": two applications listed.
func TestSeedTwoApplications(t *testing.T) {
	doc := mustParse(t, `{
	  "version": "2.0",
	  "statement": [
	    {"effect": "allow", "action": ["name/trtc:*"],
	     "resource": ["qcs::trtc::uin/12345678:sdkappid/1400000001", "qcs::trtc::uin/12345678:sdkappid/1400000002"]},
	    {"effect": "deny", "action": ["name/trtc:RemoveUser"], "resource": ["qcs::trtc::uin/12345678:sdkappid/1400000001"]}
	  ]}`)
	policies := []Policy{{Name: "two-apps", Doc: doc}}
	checkFacts(t, policies, []fact{
		{"DismissRoom", app1, true, false},
		{"DismissRoom", app2, true, false},
		{"RemoveUser", app2, true, false},
		{"RemoveUser", app1, false, true},
		{"DismissRoom", app0, false, false},
		{"DismissRoom", Resource("87654321", 1400000001), false, false}, // another account's app
	})
}

func TestSeedResourceForms(t *testing.T) {
	all := mustParse(t, `{"version":"2.0","statement":[{"effect":"allow","action":["name/trtc:DescribeAppStatList","name/trtc:DescribeTrtcAppAndAccountInfo"],"resource":["qcs::trtc::uin/12345678:sdkappid/*"]}]}`)
	policies := []Policy{{Name: "all-apps", Doc: all}}
	checkFacts(t, policies, []fact{
		{"DescribeAppStatList", app0, true, false},
		{"DescribeTrtcAppAndAccountInfo", app2, true, false},
		{"DescribeSdkAppInfo", app2, false, false},
		{"DescribeAppStatList", Resource("87654321", 1400000001), false, false},
	})
}

func TestPresets(t *testing.T) {
	ps := Presets()
	if len(ps) != 2 || ps[0].Name != "QcloudTRTCFullAccess" || ps[1].Name != "QcloudTRTCReadOnlyAccess" {
		t.Fatalf("Presets() = %+v", ps)
	}
	for _, p := range ps {
		if p.PresetAlias == "" || p.Description == "" || p.Doc == nil {
			t.Errorf("preset %s lacks alias, description or document", p.Name)
		}
		if d, err := Parse([]byte(p.Document)); err != nil || !reflect.DeepEqual(d, p.Doc) {
			t.Errorf("preset %s: Document and Doc disagree (%v)", p.Name, err)
		}
	}
	full, ok := Preset("QcloudTRTCFullAccess")
	if !ok {
		t.Fatal("no QcloudTRTCFullAccess")
	}
	ro, ok := Preset("QcloudTRTCReadOnlyAccess")
	if !ok {
		t.Fatal("no QcloudTRTCReadOnlyAccess")
	}
	if _, ok := Preset("QcloudTRTCNothing"); ok {
		t.Error("Preset found a policy that does not exist")
	}

	fullP := []Policy{{Name: "QcloudTRTCFullAccess", Doc: full}}
	for _, a := range []string{"DismissRoom", "RemoveUser", "CreateCloudRecording", "DescribeRoomInfo", "StartMCUMixTranscode", "ModifyAppInfo"} {
		checkFacts(t, fullP, []fact{{a, app1, true, false}, {a, app2, true, false}})
	}
	checkFacts(t, fullP, []fact{{"DescribeDetailEvent", "", true, false}, {"CreateTrtcApp", "", true, false}})
	if d := Evaluate(fullP, Request{Service: "cvm", Action: "RunInstances", Resource: "qcs::cvm:ap-guangzhou:uin/12345678:instance/*"}); d.Allowed {
		t.Error("QcloudTRTCFullAccess allows a CVM action")
	}

	roP := []Policy{{Name: "QcloudTRTCReadOnlyAccess", Doc: ro}}
	checkFacts(t, roP, []fact{
		{"DescribeRoomInfo", app1, true, false},
		{"DescribeCloudRecording", app1, true, false},
		{"DescribeCallDetailInfo", app2, true, false},
		{"DescribeRecordStatistic", "", true, false},
		{"GetUserList", "", true, false},
		{"HardDescribeMixConf", "", true, false},
		{"DismissRoom", app1, false, false},
		{"CreateCloudRecording", app1, false, false},
		{"RemoveUser", app1, false, false},
		{"ModifyMixConf", "", false, false},
		{"CreateTrtcApp", "", false, false},
	})
}

func TestResourceLevel(t *testing.T) {
	for _, a := range []string{"DescribeDetailEvent", "DescribeRecordStatistic", "DescribeTrtcInteractiveTime", "DescribeTrtcMcuTranscodeTime",
		"DescribeTrtcStatistic", "DescribeDurationPackages", "GetUserList", "GetUserInfo", "GetCommState", "GetElasticSearchData",
		"CreateTrtcApp", "HardDescribeMixConf", "ModifyMixConf", "RemindBalance", "getuserlist"} {
		if ResourceLevel(a) {
			t.Errorf("ResourceLevel(%s) = true", a)
		}
	}
	for _, a := range []string{"DismissRoom", "RemoveUser", "DescribeRoomInfo", "CreateCloudRecording", "DescribeAppStatList", "StartMCUMixTranscode"} {
		if !ResourceLevel(a) {
			t.Errorf("ResourceLevel(%s) = false", a)
		}
	}
	if got := Resource("100000000001", 1400000001); got != "qcs::trtc::uin/100000000001:sdkappid/1400000001" {
		t.Errorf("Resource = %q", got)
	}
}

// Actions without resource-level authorization are granted only by resource "*".
func TestNonResourceLevelOnlyMatchesStar(t *testing.T) {
	perApp := mustParse(t, `{"version":"2.0","statement":[{"effect":"allow","action":"name/trtc:*","resource":"qcs::trtc::uin/12345678:sdkappid/*"}]}`)
	globAll := mustParse(t, `{"version":"2.0","statement":[{"effect":"allow","action":"name/trtc:*","resource":"qcs::trtc:::*"}]}`)
	star := mustParse(t, `{"version":"2.0","statement":[{"effect":"allow","action":"name/trtc:DescribeRecordStatistic","resource":["qcs::trtc::uin/12345678:sdkappid/1","*"]}]}`)
	denyStar := mustParse(t, `{"version":"2.0","statement":[{"effect":"deny","action":"name/trtc:DescribeRecordStatistic","resource":"*"}]}`)
	denyApp := mustParse(t, `{"version":"2.0","statement":[{"effect":"deny","action":"name/trtc:*","resource":"qcs::trtc::uin/12345678:sdkappid/*"}]}`)

	checkFacts(t, []Policy{{Doc: perApp}}, []fact{{"DescribeRecordStatistic", "", false, false}, {"DismissRoom", app1, true, false}})
	checkFacts(t, []Policy{{Doc: globAll}}, []fact{{"DescribeRecordStatistic", "", false, false}})
	checkFacts(t, []Policy{{Doc: star}}, []fact{{"DescribeRecordStatistic", "", true, false}, {"DescribeRecordStatistic", app1, true, false}})
	checkFacts(t, []Policy{{Doc: star}, {Doc: denyStar}}, []fact{{"DescribeRecordStatistic", "", false, true}})
	// A per-application deny does not reach an action without resource-level authorization.
	checkFacts(t, []Policy{{Doc: star}, {Doc: denyApp}}, []fact{{"DescribeRecordStatistic", "", true, false}})
}

func TestWildcardsAndCase(t *testing.T) {
	doc := mustParse(t, `{"version":"2.0","statement":[
	  {"effect":"Allow","action":["name/trtc:Describe*","trtc:*Cloud*"],"resource":"qcs::trtc::uin/12345678:sdkappid/14*1"},
	  {"effect":"DENY","action":"NAME/TRTC:deleteCLOUDrecording","resource":"*"}]}`)
	if doc.Statements[0].Effect != EffectAllow || doc.Statements[1].Effect != EffectDeny {
		t.Errorf("effects not lower-cased: %q %q", doc.Statements[0].Effect, doc.Statements[1].Effect)
	}
	if doc.Statements[1].Actions[0] != "NAME/TRTC:deleteCLOUDrecording" {
		t.Errorf("actions are not kept as written: %q", doc.Statements[1].Actions[0])
	}
	p := []Policy{{Doc: doc}}
	checkFacts(t, p, []fact{
		{"DescribeRoomInfo", app1, true, false},
		{"describeroominfo", app1, true, false},
		{"DESCRIBEROOMINFO", app1, true, false},
		{"CreateCloudRecording", app1, true, false},
		{"DeleteCloudRecording", app1, false, true},
		{"deletecloudrecording", app1, false, true},
		{"DescribeRoomInfo", app2, false, false},                                          // 1400000002 does not end in 1
		{"DescribeRoomInfo", app0, false, false},                                          // nor 1400000000
		{"DismissRoom", app1, false, false},                                               // not Describe*, not *Cloud*
		{"DescribeRoomInfo", "", false, false},                                            // no "*" resource
		{"DescribeRoomInfo", "qcs::trtc::UIN/12345678:SDKAPPID/1400000001", false, false}, // resources are case-sensitive
	})
	if d := Evaluate(p, Request{Service: "TRTC", Action: "DescribeRoomInfo", Resource: app1}); !d.Allowed {
		t.Error("service name should compare case-insensitively")
	}
	if d := Evaluate(p, Request{Service: "live", Action: "DescribeRoomInfo", Resource: app1}); d.Allowed {
		t.Error("another service matched name/trtc:Describe*")
	}

	everything := mustParse(t, `{"version":"2.0","statement":[{"effect":"allow","action":"*","resource":"*"}]}`)
	checkFacts(t, []Policy{{Doc: everything}}, []fact{{"Anything", app1, true, false}, {"Anything", "", true, false}})

	featureSet := mustParse(t, `{"version":"2.0","statement":[{"effect":"allow","action":"permid/trtc:ReadOnly","resource":"*"}]}`)
	checkFacts(t, []Policy{{Doc: featureSet}}, []fact{{"DescribeRoomInfo", app1, false, false}})
}

func TestMatchesOrderAcrossPolicies(t *testing.T) {
	a := mustParse(t, `{"version":"2.0","statement":[{"effect":"allow","action":"trtc:*","resource":"*"},{"effect":"deny","action":"trtc:Remove*","resource":"*"}]}`)
	b := mustParse(t, `{"version":"2.0","statement":[{"effect":"deny","action":"trtc:RemoveUser","resource":"*"},{"effect":"allow","action":"*","resource":"*"}]}`)
	policies := []Policy{{Name: "a", ID: 1, Doc: a}, {Name: "nil"}, {Name: "b", ID: 2, Doc: b}}
	d := Evaluate(policies, Request{Service: "trtc", Action: "RemoveUser", Resource: app1})
	want := Decision{ExplicitDeny: true, Matches: []Match{{"a", 1, 1, EffectDeny}, {"b", 2, 0, EffectDeny}}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got %+v, want %+v", d, want)
	}
	d = Evaluate(policies, Request{Service: "trtc", Action: "DismissRoom", Resource: app1})
	want = Decision{Allowed: true, Matches: []Match{{"a", 1, 0, EffectAllow}, {"b", 2, 1, EffectAllow}}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got %+v, want %+v", d, want)
	}
	if d := Evaluate(nil, Request{Service: "trtc", Action: "DismissRoom", Resource: app1}); d.Allowed || d.ExplicitDeny {
		t.Errorf("no policies: %+v", d)
	}
}

// A Document built by hand (not parsed) still evaluates; invalid statements never apply.
func TestHandBuiltDocument(t *testing.T) {
	doc := &Document{Version: "2.0", Statements: []Statement{
		{Effect: "allow", Actions: []string{"name/trtc:*"}, Resources: []string{app1}},
		{Effect: "maybe", Actions: []string{"*"}, Resources: []string{"*"}},
		{Effect: "deny", Actions: []string{"no-colon"}, Resources: []string{"*"}},
	}}
	checkFacts(t, []Policy{{Doc: doc}}, []fact{{"DismissRoom", app1, true, false}, {"DismissRoom", app2, false, false}})
}
