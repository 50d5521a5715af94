package main

import (
	"slices"
	"strings"
	"testing"
)

func TestResolveType(t *testing.T) {
	tests := []struct {
		in   string
		want fieldType
		err  string
	}{
		{in: "string", want: fieldType{Kind: kString}},
		{in: "number", want: fieldType{Kind: kUint}},
		{in: "boolean", want: fieldType{Kind: kBool}},
		{in: "RecordParams", want: fieldType{Kind: kStruct, Struct: "RecordParams"}},
		{in: "Array<string>", want: fieldType{Kind: kString, List: true}},
		{in: "Array.<string>", want: fieldType{Kind: kString, List: true}},
		{in: "string[]", want: fieldType{Kind: kString, List: true}},
		{in: "Array<number|bigint>", want: fieldType{Kind: kUint, List: true}},
		{in: "Array.<TrtcUsage>", want: fieldType{Kind: kStruct, Struct: "TrtcUsage", List: true}},
		{in: "string|number", err: "unsupported union"},
		{in: "any", err: "unsupported type"},
		{in: "Array<Array<string>>", err: "unsupported type"},
	}
	for _, tt := range tests {
		got, err := resolveType(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("resolveType(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("resolveType(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		lines []string
		n     int
		want  string
	}{
		{[]string{"One.", "Two.", "Three."}, 2, "One. Two."},
		{[]string{"One. Two. Three."}, 1, "One."},
		{[]string{"Use e.g. a mixer, etc. for this.", "Next."}, 1, "Use e.g. a mixer, etc. for this."},
		{[]string{"Ends with etc.", "Next line."}, 1, "Ends with etc."},
		{[]string{"Version 1.0 is the default. More."}, 1, "Version 1.0 is the default."},
		{[]string{"Fonts:", "1. Tencent", "2. SourceHanSans"}, 1, "Fonts: 1. Tencent 2. SourceHanSans"},
		{[]string{"<p>HTML 文本。</p><p>第二句。</p><p>第三句。</p>"}, 2, "HTML 文本。 第二句。"},
		{[]string{"See [UserSig](https://example.com/a) and **Note** here."}, 1, "See UserSig and Note here."},
		{[]string{"Range: a<=64 bytes, b>1."}, 1, "Range: a<=64 bytes, b>1."},
		{nil, 2, ""},
		{[]string{strings.Repeat("word ", 100) + "end."}, 1, strings.TrimSpace(strings.Repeat("word ", 64)) + " …"},
	}
	for _, tt := range tests {
		if got := summarize(tt.lines, tt.n); got != tt.want {
			t.Errorf("summarize(%q, %d) = %q, want %q", tt.lines, tt.n, got, tt.want)
		}
	}
}

// tinySources is a miniature of the SDK files for buildModel tests.
var tinySources = sources{
	CNModels: `
/** Ping请求参数结构体 */
export interface PingRequest {
    /** 应用 ID */
    SdkAppId: number;
    Layout?: Layout;
    Offset?: number;
}
/** Ping返回参数结构体 */
export interface PingResponse {
    Items?: Array<Item>;
    RequestId?: string;
}
/** 布局 */
export interface Layout {
    Width: number;
    CnOnly?: string;
}
export interface Item {
    Value?: number;
}
export interface Unused {
    X?: string;
}
export interface LegacyRequest {
    RoomId: number;
}
export interface LegacyResponse {
    RequestId?: string;
}
export interface QuietRequest {
    RoomId?: number;
}
export interface QuietResponse {
    RequestId?: string;
}
export interface BareRequest {
    RoomId?: number;
}
export interface BareResponse {
    RequestId?: string;
}`,
	IntlModels: `
/**
 * Layout settings.
 * @class
 */
class Layout extends AbstractModel {
    constructor(){
        /**
         * The width.
         * @type {number || null}
         */
        this.Width = null;
        /**
         * Only the intl SDK has it.
         * @type {Array.<string> || null}
         */
        this.IntlOnly = null;
    }
}
/**
 * Block request.
 * @class
 */
class BlockRequest extends AbstractModel {
    constructor(){
        /**
         * The room.
         * @type {number || null}
         */
        this.RoomId = null;
    }
}
/**
 * Block response.
 * @class
 */
class BlockResponse extends AbstractModel {
    constructor(){
        /**
         * The request ID.
         * @type {string || null}
         */
        this.RequestId = null;
    }
}`,
	IntlClient: `
    /**
     * This API pings. It has a second sentence.
     */
    Ping(req, cb) {}
    /**
     * API description:.
     * This API blocks a user.
     */
    Block(req, cb) {}
    async Quiet(req, cb) {
        return this.request("Quiet", req, cb);
    }`,
	CNClient: `export declare class Client extends AbstractClient {
    Ping(req: PingRequest, cb?: (error: string, rep: PingResponse) => void): Promise<PingResponse>;
    Extra(req: ExtraRequest, cb?: (error: string, rep: ExtraResponse) => void): Promise<ExtraResponse>;
    Odd(req: OtherRequest): Promise<OtherResponse>;
    /**
     * 接口说明：启动旧接口。

第二段。
     */
    Legacy(req: LegacyRequest, cb?: (error: string, rep: LegacyResponse) => void): Promise<LegacyResponse>;
    /**
     * 安静的接口。
     */
    Quiet(req: QuietRequest, cb?: (error: string, rep: QuietResponse) => void): Promise<QuietResponse>;
    Bare(req: BareRequest, cb?: (error: string, rep: BareResponse) => void): Promise<BareResponse>;
}`,
	CNVersion:   "1",
	IntlVersion: "2",
}

func TestBuildModel(t *testing.T) {
	overrides := map[string]kind{"PingRequest.Offset": kInt, "Item.Value": kFloat}
	m, err := buildModel(tinySources, []string{"Ping", "Block", "Legacy"}, overrides)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"BlockRequest", "BlockResponse", "Item", "Layout", "LegacyRequest", "LegacyResponse", "PingRequest", "PingResponse"}; !slices.Equal(m.Names, want) {
		t.Errorf("Names = %v, want %v (Unused must be left out)", m.Names, want)
	}
	if got := m.Actions; len(got) != 3 || got[0].Name != "Block" || got[1].Name != "Legacy" || got[2].Name != "Ping" ||
		got[0].Doc != "This API blocks a user." || got[2].Doc != "This API pings." ||
		got[0].Note != "" || got[2].Note != "" ||
		got[2].Request != "PingRequest" || got[2].Response != "PingResponse" {
		t.Errorf("Actions = %+v", got)
	}
	// An action only the China SDK has: its client's doc, without the "接口说明：" lead-in.
	if got := m.Actions[1]; got.Doc != "启动旧接口。" || got.Note != "Only in the China SDK." {
		t.Errorf("Legacy = %+v, want the China SDK's doc and note", got)
	}
	if legacy := m.Structs["LegacyRequest"]; legacy.Note != "Only in the China SDK." || !legacy.Fields[0].Required {
		t.Errorf("LegacyRequest = %+v", legacy)
	}

	if !slices.Equal(m.OtherActions, []string{"Bare", "Extra", "Quiet"}) {
		t.Errorf("OtherActions = %v, want [Bare Extra Quiet]", m.OtherActions)
	}

	layout := m.Structs["Layout"]
	if !layout.InRequest || layout.InResponse || layout.Doc != "Layout settings." {
		t.Errorf("Layout = %+v", layout)
	}
	wantFields := []field{
		{Name: "Width", Type: fieldType{Kind: kUint}, Required: true, Doc: "The width."},
		{Name: "CnOnly", Type: fieldType{Kind: kString}, Note: "Only in the China SDK."},
		{Name: "IntlOnly", Type: fieldType{Kind: kString, List: true}, Doc: "Only the intl SDK has it.", Note: "Only in the intl SDK."},
	}
	if !slices.Equal(layout.Fields, wantFields) {
		t.Errorf("Layout.Fields = %+v, want %+v", layout.Fields, wantFields)
	}
	if f, _ := fieldByName(m.Structs["PingRequest"], "Offset"); f.Type.Kind != kInt {
		t.Errorf("PingRequest.Offset = %+v, want int", f)
	}
	if f, _ := fieldByName(m.Structs["PingRequest"], "SdkAppId"); f.Doc != "应用 ID" || !f.Required {
		t.Errorf("PingRequest.SdkAppId = %+v, want the China doc and required", f)
	}
	if item := m.Structs["Item"]; !item.InResponse || item.InRequest || item.Fields[0].Type.Kind != kFloat {
		t.Errorf("Item = %+v", item)
	}
	block := m.Structs["BlockRequest"]
	if block.Note != "Only in the intl SDK." || block.Fields[0].Required || !block.IsRequest {
		t.Errorf("BlockRequest = %+v, want intl-only with optional fields", block)
	}
}

func TestBuildModelErrors(t *testing.T) {
	conflict := tinySources
	conflict.IntlModels = strings.Replace(conflict.IntlModels, "@type {number || null}", "@type {string || null}", 1)
	tests := []struct {
		name      string
		src       sources
		actions   []string
		overrides map[string]kind
		want      string
	}{
		{"unknown action", tinySources, []string{"Nope"}, nil, "NopeRequest is in neither SDK"},
		{"unused override", tinySources, []string{"Ping"}, map[string]kind{"Unused.X": kInt}, "Unused.X matches no number field"},
		{"override of a string", tinySources, []string{"Ping"}, map[string]kind{"Layout.CnOnly": kInt}, "Layout.CnOnly: field is not a number"},
		{"types differ", conflict, []string{"Ping"}, nil, "Layout.Width: China SDK says number, intl SDK says string"},
		// The China SDK's doc is no fallback for an action the intl client has without one.
		{"undocumented in the intl client", tinySources, []string{"Quiet"}, nil, "action Quiet: no doc comment in the intl SDK client"},
		{"China-only without a doc", tinySources, []string{"Bare"}, nil, "action Bare: not in the intl SDK client, and no doc comment in the China SDK client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildModel(tt.src, tt.actions, tt.overrides)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("buildModel error = %v, want %q", err, tt.want)
			}
		})
	}
}
