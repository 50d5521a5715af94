package policy

import (
	"strconv"
	"strings"
)

// PresetPolicy is a preset (system) policy every account can attach.
type PresetPolicy struct {
	Name        string // "QcloudTRTCFullAccess"
	PresetAlias string // what GetPolicy returns as PresetAlias
	Description string
	Document    string // the policy document as CAM returns it
	Doc         *Document
}

// presets are the TRTC preset policies (seed: Access Management, "Preset Policies").
//
// The read-only preset grants the patterns "name/trtc:Describe*" and "name/trtc:Get*"
// plus the one read API outside them, HardDescribeMixConf (queries relayed push
// status). Of the seed's action tables that is: DescribeAbnormalEvent,
// DescribeCallDetail, DescribeHistoryScale, DescribeRoomInformation,
// DescribeUserInformation, DescribeAppStatList, DescribeSdkAppInfo, DescribeWatermark,
// DescribeSecret, DescribeTrtcAppAndAccountInfo, DescribeSig, DescribeSpearConf,
// DescribeDetailEvent, DescribeRecordStatistic, DescribeTrtcInteractiveTime,
// DescribeTrtcMcuTranscodeTime, DescribeTrtcStatistic, DescribeDurationPackages,
// GetUserList, GetUserInfo, GetCommState, GetElasticSearchData, HardDescribeMixConf,
// and every current Describe* server API (DescribeRoomInfo, DescribeCloudRecording, …).
// Resource "*" so that it also covers the actions without resource-level authorization.
var presets = []struct{ name, alias, description, document string }{
	{
		name:        "QcloudTRTCFullAccess",
		alias:       "TRTC full access",
		description: "Read and write access to Tencent Real-Time Communication (TRTC): all TRTC APIs on all applications.",
		document:    `{"version":"2.0","statement":[{"effect":"allow","action":["name/trtc:*"],"resource":["*"]}]}`,
	},
	{
		name:        "QcloudTRTCReadOnlyAccess",
		alias:       "TRTC read-only access",
		description: "Read-only access to Tencent Real-Time Communication (TRTC): the Describe and Get APIs on all applications.",
		document:    `{"version":"2.0","statement":[{"effect":"allow","action":["name/trtc:Describe*","name/trtc:Get*","name/trtc:HardDescribeMixConf"],"resource":["*"]}]}`,
	},
}

// Presets returns the TRTC preset policies, freshly parsed (the caller may keep them).
func Presets() []PresetPolicy {
	out := make([]PresetPolicy, 0, len(presets))
	for _, p := range presets {
		doc, err := Parse([]byte(p.document))
		if err != nil {
			panic("policy: preset " + p.name + " does not parse: " + err.Error())
		}
		out = append(out, PresetPolicy{Name: p.name, PresetAlias: p.alias, Description: p.description, Document: p.document, Doc: doc})
	}
	return out
}

// Preset returns the document of the preset policy with this name.
func Preset(name string) (*Document, bool) {
	for _, p := range Presets() {
		if p.Name == name {
			return p.Doc, true
		}
	}
	return nil, false
}

// notResourceLevel are the TRTC actions without resource-level authorization (seed:
// Access Management, "APIs Not Supporting Resource-Level Authorization"), lower case.
var notResourceLevel = map[string]bool{
	// Server APIs.
	"describedetailevent":          true,
	"describerecordstatistic":      true,
	"describetrtcinteractivetime":  true,
	"describetrtcmcutranscodetime": true,
	// Console APIs.
	"describetrtcstatistic":    true,
	"describedurationpackages": true,
	"getuserlist":              true,
	"getuserinfo":              true,
	"getcommstate":             true,
	"getelasticsearchdata":     true,
	"createtrtcapp":            true,
	"harddescribemixconf":      true,
	"modifymixconf":            true,
	"remindbalance":            true,
}

// ResourceLevel reports whether a TRTC action supports resource-level authorization.
// For those that do not, the Request's Resource is "" and only statements with
// resource "*" grant them. Action names compare case-insensitively.
func ResourceLevel(action string) bool {
	return !notResourceLevel[strings.ToLower(action)]
}

// Resource names a TRTC application: "qcs::trtc::uin/<ownerUin>:sdkappid/<sdkAppId>".
func Resource(ownerUin string, sdkAppId uint64) string {
	return "qcs::trtc::uin/" + ownerUin + ":sdkappid/" + strconv.FormatUint(sdkAppId, 10)
}
