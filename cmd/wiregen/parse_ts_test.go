package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseTS(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []*sdkStruct
	}{{
		name: "required and optional",
		src: `/**
 * DismissRoom请求参数结构体
 */
export interface DismissRoomRequest {
    /**
     * TRTC的SDKAppId。
     */
    SdkAppId: number;
    /**
     * 房间号。
     */
    RoomId?: number;
}`,
		want: []*sdkStruct{{
			Name: "DismissRoomRequest",
			Doc:  []string{"DismissRoom请求参数结构体"},
			Fields: []sdkField{
				{Name: "SdkAppId", Type: "number", Required: true, Doc: []string{"TRTC的SDKAppId。"}},
				{Name: "RoomId", Type: "number", Doc: []string{"房间号。"}},
			},
		}},
	}, {
		name: "arrays nested types and unions",
		src: `export interface A {
    List?: Array<string>;
    Nested: B;
    Items?: Array<B>;
    Big?: Array<number | bigint>;
    Old?: string[];
}
export interface B {
}`,
		want: []*sdkStruct{
			{Name: "A", Fields: []sdkField{
				{Name: "List", Type: "Array<string>"},
				{Name: "Nested", Type: "B", Required: true},
				{Name: "Items", Type: "Array<B>"},
				{Name: "Big", Type: "Array<number|bigint>"},
				{Name: "Old", Type: "string[]"},
			}},
			{Name: "B"},
		},
	}, {
		name: "comment edge cases",
		src: `/** file header, not a struct doc */
/* a plain comment */
// a line comment
/**
 * first line
 *
 *   indented line without decoration: a-z, '*', "/*"
 **Note**: markdown is kept
 **/
export interface C {
    /** one-line doc */ Inline?: string;
    /**
     * ends on the text line */
    Tight?: boolean;
    Undocumented?: number
}`,
		want: []*sdkStruct{{
			Name: "C",
			Doc:  []string{"first line", "", `indented line without decoration: a-z, '*', "/*"`, "**Note**: markdown is kept"},
			Fields: []sdkField{
				{Name: "Inline", Type: "string", Doc: []string{"one-line doc"}},
				{Name: "Tight", Type: "boolean", Doc: []string{"ends on the text line"}},
				{Name: "Undocumented", Type: "number"},
			},
		}},
	}, {
		name: "request without parameters",
		src: `/**
 * ListUsers请求参数结构体
 */
export type ListUsersRequest = null;
export declare type B = null;`,
		want: []*sdkStruct{
			{Name: "ListUsersRequest", Doc: []string{"ListUsers请求参数结构体"}},
			{Name: "B"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTS(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseTS:\n got %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestParseTSErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unterminated comment", "/** never ends", "unterminated comment"},
		{"type alias other than null", "export type A = string;", `type A: line 1: want null, got "string"`},
		{"neither interface nor type", "export class A {}", `want interface, got "class"`},
		{"missing colon", "export interface A { B string; }", `want :, got "string"`},
		{"missing brace", "export interface A { B: string;", "interface A: missing }"},
		{"stray character", "export interface A { B: string; } #", "unexpected character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTS(tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseTS error = %v, want %q", err, tt.want)
			}
		})
	}
}

func dump(list []*sdkStruct) string {
	var b strings.Builder
	for _, s := range list {
		fmt.Fprintf(&b, "\n%+v", *s)
	}
	return b.String()
}
