package main

import (
	"fmt"
	"regexp"
	"strings"
)

// A jsDoc is a /** ... */ comment of a JS file and the code line after it.
type jsDoc struct {
	Lines []string // cleaned comment lines, "@tag" lines included
	Next  string   // the rest of the line after the comment, or the next non-blank line
	Line  int      // line of the comment start
}

// scanJSDocs finds every /** ... */ comment in src with the code that
// follows it. Comments end at the first "*/", as in JavaScript.
func scanJSDocs(src string) ([]jsDoc, error) {
	var docs []jsDoc
	line := 1
	for i := 0; i < len(src); {
		j := strings.Index(src[i:], "/**")
		if j < 0 {
			break
		}
		line += strings.Count(src[i:i+j], "\n")
		start := i + j + 3
		end := strings.Index(src[start:], "*/")
		if end < 0 {
			return nil, fmt.Errorf("line %d: unterminated comment", line)
		}
		body := src[start : start+end]
		rest := src[start+end+2:]
		next := ""
		for _, l := range strings.SplitN(rest, "\n", 50) {
			if next = strings.TrimSpace(l); next != "" {
				break
			}
		}
		docs = append(docs, jsDoc{Lines: cleanComment(body), Next: next, Line: line})
		line += strings.Count(body, "\n")
		i = start + end + 2
	}
	return docs, nil
}

// split returns the value of the first "<tag> value" line and the lines
// that are not "@" tags.
func (d jsDoc) split(tag string) (value string, text []string) {
	for _, l := range d.Lines {
		if strings.HasPrefix(l, "@") {
			if rest, ok := strings.CutPrefix(l, tag); ok && value == "" {
				value = strings.TrimSpace(rest)
			}
			continue
		}
		text = append(text, l)
	}
	return value, text
}

var (
	jsClassRe  = regexp.MustCompile(`^class\s+([A-Za-z_]\w*)\s+extends\s+AbstractModel\b`)
	jsFieldRe  = regexp.MustCompile(`^this\.([A-Za-z_]\w*)\s*=\s*null\s*;`)
	jsMethodRe = regexp.MustCompile(`^([A-Z]\w*)\s*\(\s*req\s*,\s*cb\s*\)\s*\{`)
	jsTypeRe   = regexp.MustCompile(`^\{\s*(.*?)\s*(\|\|\s*null\s*)?\}$`)
	// jsAnyMethodRe matches every action method of a JS client, documented or not.
	jsAnyMethodRe = regexp.MustCompile(`(?m)^\s*(?:async\s+)?([A-Z]\w*)\s*\(\s*req\s*,\s*cb\s*\)\s*\{`)
	// tsMethodRe matches an action declaration of a China SDK <service>_client.d.ts
	// (after the doc comment, leading space trimmed): "DismissRoom(req: DismissRoomRequest, …".
	tsMethodRe = regexp.MustCompile(`^([A-Z]\w*)\(req: ([A-Z]\w*)Request\b`)
)

// parseJSModels reads the model classes of the intl SDK's models.js:
// a documented "class X extends AbstractModel" followed by documented
// "this.Field = null;" lines whose comment carries "@type {T || null}".
func parseJSModels(src string) ([]*sdkStruct, error) {
	docs, err := scanJSDocs(src)
	if err != nil {
		return nil, err
	}
	var out []*sdkStruct
	var cur *sdkStruct
	for _, d := range docs {
		if m := jsClassRe.FindStringSubmatch(d.Next); m != nil {
			_, text := d.split("@class")
			cur = &sdkStruct{Name: m[1], Doc: text}
			out = append(out, cur)
			continue
		}
		m := jsFieldRe.FindStringSubmatch(d.Next)
		if m == nil {
			continue // file header, "@private" helpers
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: field %s outside a class", d.Line, m[1])
		}
		typ, text := d.split("@type")
		tm := jsTypeRe.FindStringSubmatch(typ)
		if tm == nil || tm[1] == "" {
			return nil, fmt.Errorf("line %d: %s.%s: no @type {T || null}", d.Line, cur.Name, m[1])
		}
		cur.Fields = append(cur.Fields, sdkField{
			Name: m[1],
			Type: strings.Join(strings.Fields(tm[1]), ""),
			Doc:  text,
		})
	}
	return out, nil
}

// parseJSClient reads the documented "Action(req, cb) {" methods of the intl
// SDK's trtc_client.js and returns the doc text of each action.
func parseJSClient(src string) (map[string][]string, error) {
	docs, err := scanJSDocs(src)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string)
	for _, d := range docs {
		if m := jsMethodRe.FindStringSubmatch(d.Next); m != nil {
			_, text := d.split("@")
			out[m[1]] = text
		}
	}
	return out, nil
}

// jsClientMethods lists the action methods of the intl SDK's <service>_client.js,
// with or without a doc comment.
func jsClientMethods(src string) map[string]bool {
	out := make(map[string]bool)
	for _, m := range jsAnyMethodRe.FindAllStringSubmatch(src, -1) {
		out[m[1]] = true
	}
	return out
}

// parseTSClient reads the documented action declarations of the China SDK's
// <service>_client.d.ts ("Action(req: ActionRequest, cb?: …): Promise<…>;") and
// returns the doc text of each action.
func parseTSClient(src string) (map[string][]string, error) {
	docs, err := scanJSDocs(src)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string)
	for _, d := range docs {
		if m := tsMethodRe.FindStringSubmatch(d.Next); m != nil && m[1] == m[2] {
			_, text := d.split("@")
			out[m[1]] = text
		}
	}
	return out, nil
}
