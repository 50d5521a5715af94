package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseJSModels(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []*sdkStruct
	}{{
		name: "class with scalar, array and nested fields",
		src: `/*
 * Copyright header.
 */
const AbstractModel = require("../../common/abstract_model");

/**
 * SetUserBlocked request structure.
 * @class
 */
class SetUserBlockedRequest extends  AbstractModel {
    constructor(){
        super();

        /**
         * The application ID.
         * @type {number || null}
         */
        this.SdkAppId = null;

        /**
         * The user IDs.
         * @type {Array.<string> || null}
         */
        this.UserIds = null;

        /**
         * Nested settings.
Second line without decoration.
         * @type {McuLayout || null}
         */
        this.Layout = null;

        /**
         * A list of structs.
         * @type {Array.<TrtcUsage> || null}
         */
        this.UsageList = null;

    }

    /**
     * @private
     */
    deserialize(params) {
        if (!params) {
            return;
        }
        this.SdkAppId = 'SdkAppId' in params ? params.SdkAppId : null;
    }
}`,
		want: []*sdkStruct{{
			Name: "SetUserBlockedRequest",
			Doc:  []string{"SetUserBlocked request structure."},
			Fields: []sdkField{
				{Name: "SdkAppId", Type: "number", Doc: []string{"The application ID."}},
				{Name: "UserIds", Type: "Array.<string>", Doc: []string{"The user IDs."}},
				{Name: "Layout", Type: "McuLayout", Doc: []string{"Nested settings.", "Second line without decoration."}},
				{Name: "UsageList", Type: "Array.<TrtcUsage>", Doc: []string{"A list of structs."}},
			},
		}},
	}, {
		name: "comment edge cases",
		src: `/** One-line class doc. @class */ class A extends AbstractModel {
    constructor(){
        /** Inline doc with a '/*' inside.
         * @type {string || null} */ this.Inline = null;
        /**
         * Trailing stars
         * @type {boolean || null}
         **/
        this.Stars = null;
        this.Undocumented = null;
    }
}
/**
 * B
 * @class
 */
class B extends AbstractModel {
}`,
		want: []*sdkStruct{
			{Name: "A", Doc: []string{"One-line class doc. @class"}, Fields: []sdkField{
				{Name: "Inline", Type: "string", Doc: []string{"Inline doc with a '/*' inside."}},
				{Name: "Stars", Type: "boolean", Doc: []string{"Trailing stars"}},
			}},
			{Name: "B", Doc: []string{"B"}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseJSModels(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseJSModels:\n got %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestParseJSModelsErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unterminated comment", "/** never ends", "unterminated comment"},
		{"field outside a class", "/** x\n * @type {string || null} */\nthis.X = null;", "field X outside a class"},
		{"field without type", "/** A\n * @class */\nclass A extends AbstractModel {\n/** doc */\nthis.X = null;", "A.X: no @type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseJSModels(tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseJSModels error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseJSClient(t *testing.T) {
	src := `class TrtcClient extends AbstractClient {

    constructor(credential, region, profile) {
        super("trtc.tencentcloudapi.com", "2019-07-22", credential, region, profile);
    }

    /**
     * **API Description**

This API starts a task.
     * @param {StartPublishCdnStreamRequest} req
     * @param {function(string, StartPublishCdnStreamResponse):void} cb
     * @public
     */
    StartPublishCdnStream(req, cb) {
        let resp = new StartPublishCdnStreamResponse();
        this.request("StartPublishCdnStream", req, resp, cb);
    }

    /**
     * This API is used to remove a user from a room.
     * @param {RemoveUserRequest} req
     */
    RemoveUser(req, cb) {
    }
}`
	got, err := parseJSClient(src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"StartPublishCdnStream": {"**API Description**", "", "This API starts a task."},
		"RemoveUser":            {"This API is used to remove a user from a room."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseJSClient = %q, want %q", got, want)
	}
	if s := actionSummary(got["StartPublishCdnStream"]); s != "This API starts a task." {
		t.Errorf("actionSummary = %q", s)
	}
}

func TestParseTSClient(t *testing.T) {
	src := `export declare class Client extends AbstractClient {
    constructor(clientConfig: ClientConfig);
    /**
     * 接口说明：结束云端混流
     */
    StopMCUMixTranscode(req: StopMCUMixTranscodeRequest, cb?: (error: string, rep: StopMCUMixTranscodeResponse) => void): Promise<StopMCUMixTranscodeResponse>;
    /**
     * 启动。

第二段。
     */
    StartThing(req: StartThingRequest, cb?: (error: string, rep: StartThingResponse) => void): Promise<StartThingResponse>;
    /**
     * A helper, not an action.
     */
    Odd(req: OtherRequest): Promise<OtherResponse>;
    Undocumented(req: UndocumentedRequest, cb?: (error: string, rep: UndocumentedResponse) => void): Promise<UndocumentedResponse>;
}`
	got, err := parseTSClient(src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"StopMCUMixTranscode": {"接口说明：结束云端混流"},
		"StartThing":          {"启动。", "", "第二段。"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseTSClient = %q, want %q", got, want)
	}
	if s := actionSummary(got["StopMCUMixTranscode"]); s != "结束云端混流" {
		t.Errorf("actionSummary = %q", s)
	}
}

func TestJSClientMethods(t *testing.T) {
	src := `class C extends AbstractClient {
    /** Documented. */
    DismissRoom(req, cb) {
        this.request("DismissRoom", req, resp, cb);
    }
    async Quiet(req, cb) {
        return this.request("Quiet", req, cb);
    }
    helper(req, cb) {}
}`
	if got, want := jsClientMethods(src), map[string]bool{"DismissRoom": true, "Quiet": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("jsClientMethods = %v, want %v", got, want)
	}
}
