package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// kind mirrors wire.Kind. The generator does not import wire so
// that it still builds when the generated files there are stale or broken.
type kind int

const (
	kString kind = iota + 1
	kUint
	kInt
	kFloat
	kBool
	kStruct
)

var kindNames = map[kind]string{
	kString: "KindString",
	kUint:   "KindUint",
	kInt:    "KindInt",
	kFloat:  "KindFloat",
	kBool:   "KindBool",
	kStruct: "KindStruct",
}

var kindGoTypes = map[kind]string{
	kString: "string",
	kUint:   "uint64",
	kInt:    "int64",
	kFloat:  "float64",
	kBool:   "bool",
}

// A fieldType is the resolved type of a field: a scalar, a struct, or a list of either.
type fieldType struct {
	Kind   kind
	Struct string // when Kind == kStruct
	List   bool
}

type field struct {
	Name     string
	Type     fieldType
	Required bool
	Doc      string // English where the intl SDK has it, else the China SDK's text
	Note     string // "Only in the China SDK." and the like
}

type structDef struct {
	Name       string
	Doc        string
	Note       string // "Only in the intl SDK." and the like
	Action     string // set on requests and responses
	IsRequest  bool
	IsResponse bool
	Fields     []field
	InRequest  bool // reachable from a request
	InResponse bool // reachable from a response
}

type actionDef struct {
	Name, Request, Response, Doc string
	Note                         string // "Only in the China SDK." when the intl SDK lacks the action
}

// A model is everything the outputs are generated from.
type model struct {
	Structs map[string]*structDef
	Names   []string // keys of Structs, sorted
	Actions []actionDef
	// OtherActions are the actions the SDK clients define beyond Actions, sorted: the
	// emulator answers them UnsupportedOperation rather than InvalidAction.
	OtherActions []string
	CNVersion    string // tencentcloud-sdk-nodejs version
	IntlVersion  string // tencentcloud-sdk-nodejs-intl-en version
}

// sources are the SDK files the model is built from.
type sources struct {
	CNModels    string // trtc_models.d.ts
	IntlModels  string // models.js
	IntlClient  string // trtc_client.js: the docs of the actions
	CNClient    string // trtc_client.d.ts: the other actions, and the docs of those the intl SDK lacks
	CNVersion   string
	IntlVersion string
}

// reservedNames are the hand-written identifiers of package wire and the
// variables of every schema_gen.go.
var reservedNames = []string{"Kind", "Field", "Struct", "Action", "Structs", "Actions", "OtherActions", "Types"}

var exportedIdent = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*$`)

func buildModel(src sources, actions []string, overrides map[string]kind) (*model, error) {
	cnList, err := parseTS(src.CNModels)
	if err != nil {
		return nil, fmt.Errorf("China SDK models: %w", err)
	}
	intlList, err := parseJSModels(src.IntlModels)
	if err != nil {
		return nil, fmt.Errorf("intl SDK models: %w", err)
	}
	actionDocs, err := parseJSClient(src.IntlClient)
	if err != nil {
		return nil, fmt.Errorf("intl SDK client: %w", err)
	}
	intlMethods := jsClientMethods(src.IntlClient)
	cnDocs, err := parseTSClient(src.CNClient)
	if err != nil {
		return nil, fmt.Errorf("China SDK client: %w", err)
	}
	cn, intl := index(cnList), index(intlList)

	m := &model{Structs: map[string]*structDef{}, CNVersion: src.CNVersion, IntlVersion: src.IntlVersion}
	used := map[string]bool{}
	// Walk from the requests, then from the responses, so that every struct
	// knows on which side of the API it appears.
	for _, side := range []string{"Request", "Response"} {
		var queue []string
		for _, a := range actions {
			queue = append(queue, a+side)
		}
		for len(queue) > 0 {
			name := queue[0]
			queue = queue[1:]
			s := m.Structs[name]
			if s == nil {
				if s, err = mergeStruct(name, cn[name], intl[name], overrides, used); err != nil {
					return nil, err
				}
				m.Structs[name] = s
			}
			seen := s.InRequest
			if side == "Response" {
				seen = s.InResponse
			}
			if seen {
				continue
			}
			s.InRequest = s.InRequest || side == "Request"
			s.InResponse = s.InResponse || side == "Response"
			for _, f := range s.Fields {
				if f.Type.Kind == kStruct {
					queue = append(queue, f.Type.Struct)
				}
			}
		}
	}
	for key := range overrides {
		if !used[key] {
			return nil, fmt.Errorf("numeric override %s matches no number field of the generated structs", key)
		}
	}

	for _, a := range actions {
		doc, note, err := actionDoc(a, actionDocs, intlMethods, cnDocs)
		if err != nil {
			return nil, err
		}
		req, resp := m.Structs[a+"Request"], m.Structs[a+"Response"]
		req.Action, req.IsRequest = a, true
		resp.Action, resp.IsResponse = a, true
		if _, ok := fieldByName(resp, "RequestId"); !ok {
			return nil, fmt.Errorf("%s has no RequestId", resp.Name)
		}
		m.Actions = append(m.Actions, actionDef{Name: a, Request: req.Name, Response: resp.Name, Doc: doc, Note: note})
	}
	slices.SortFunc(m.Actions, func(a, b actionDef) int { return strings.Compare(a.Name, b.Name) })
	m.OtherActions = otherActions(src.CNClient, actionDocs, actions)
	if len(m.OtherActions) == 0 {
		return nil, fmt.Errorf("China SDK client: no action methods found")
	}
	for name, s := range m.Structs {
		if slices.Contains(reservedNames, name) || strings.HasPrefix(name, "Kind") {
			return nil, fmt.Errorf("struct %s collides with a hand-written name of package wire", name)
		}
		if s.IsRequest && s.InResponse || s.IsResponse && s.InRequest {
			return nil, fmt.Errorf("struct %s is used both as a top-level and a nested struct", name)
		}
		m.Names = append(m.Names, name)
	}
	slices.Sort(m.Names)
	return m, nil
}

// actionDoc is the summary of action a: from the intl SDK client, which must document
// every action it has; only an action the intl client lacks altogether (the legacy MCU
// actions) takes the China SDK client's doc, in Chinese, noted as such.
func actionDoc(a string, intlDocs map[string][]string, intlMethods map[string]bool, cnDocs map[string][]string) (doc, note string, err error) {
	if _, documented := intlDocs[a]; documented || intlMethods[a] {
		if doc = actionSummary(intlDocs[a]); doc == "" {
			return "", "", fmt.Errorf("action %s: no doc comment in the intl SDK client", a)
		}
		return doc, "", nil
	}
	if doc = actionSummary(cnDocs[a]); doc == "" {
		return "", "", fmt.Errorf("action %s: not in the intl SDK client, and no doc comment in the China SDK client", a)
	}
	return doc, "Only in the China SDK.", nil
}

// clientMethod matches an action method of trtc_client.d.ts:
// "    DismissRoom(req: DismissRoomRequest, cb?: …".
var clientMethod = regexp.MustCompile(`(?m)^\s+([A-Z]\w*)\(req: ([A-Z]\w*)Request\b`)

// otherActions lists the actions of both SDK clients that are not in served, sorted.
func otherActions(cnClient string, intlDocs map[string][]string, served []string) []string {
	set := map[string]bool{}
	for _, m := range clientMethod.FindAllStringSubmatch(cnClient, -1) {
		if m[1] == m[2] {
			set[m[1]] = true
		}
	}
	for name := range intlDocs {
		set[name] = true
	}
	for _, a := range served {
		delete(set, a)
	}
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func index(list []*sdkStruct) map[string]*sdkStruct {
	out := make(map[string]*sdkStruct, len(list))
	for _, s := range list {
		out[s.Name] = s
	}
	return out
}

func fieldByName(s *structDef, name string) (field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return field{}, false
}

// mergeStruct combines the China (cn) and intl declarations of one struct:
// the union of their fields, in China order followed by intl-only fields.
// Required flags come from the China SDK only; docs prefer the intl (English) text.
func mergeStruct(name string, cn, intl *sdkStruct, overrides map[string]kind, used map[string]bool) (*structDef, error) {
	if cn == nil && intl == nil {
		return nil, fmt.Errorf("struct %s is in neither SDK", name)
	}
	if !exportedIdent.MatchString(name) {
		return nil, fmt.Errorf("struct name %q is not an exported Go identifier", name)
	}
	s := &structDef{Name: name}
	var names []string
	switch {
	case cn == nil:
		s.Doc, s.Note = summarize(intl.Doc, 2), "Only in the intl SDK."
	case intl == nil:
		s.Doc, s.Note = summarize(cn.Doc, 2), "Only in the China SDK."
	default:
		s.Doc = summarize(intl.Doc, 2)
		if s.Doc == "" {
			s.Doc = summarize(cn.Doc, 2)
		}
	}
	for _, decl := range []*sdkStruct{cn, intl} {
		if decl == nil {
			continue
		}
		for _, f := range decl.Fields {
			if !slices.Contains(names, f.Name) {
				names = append(names, f.Name)
			}
		}
	}
	for _, fname := range names {
		if !exportedIdent.MatchString(fname) {
			return nil, fmt.Errorf("%s: field name %q is not an exported Go identifier", name, fname)
		}
		var cf, jf sdkField
		inCN, inIntl := false, false
		if cn != nil {
			cf, inCN = cn.field(fname)
		}
		if intl != nil {
			jf, inIntl = intl.field(fname)
		}
		f := field{Name: fname, Required: inCN && cf.Required}
		var err error
		if inCN {
			f.Type, err = resolveType(cf.Type)
		} else {
			f.Type, err = resolveType(jf.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", name, fname, err)
		}
		if inCN && inIntl {
			jt, err := resolveType(jf.Type)
			if err != nil {
				return nil, fmt.Errorf("%s.%s (intl): %w", name, fname, err)
			}
			if jt != f.Type {
				return nil, fmt.Errorf("%s.%s: China SDK says %s, intl SDK says %s", name, fname, cf.Type, jf.Type)
			}
		}
		key := name + "." + fname
		if k, ok := overrides[key]; ok {
			if f.Type.Kind != kUint {
				return nil, fmt.Errorf("numeric override %s: field is not a number", key)
			}
			f.Type.Kind = k
			used[key] = true
		}
		if inIntl {
			f.Doc = summarize(jf.Doc, 2)
		}
		if f.Doc == "" && inCN {
			f.Doc = summarize(cf.Doc, 2)
		}
		if cn != nil && intl != nil {
			switch {
			case !inIntl:
				f.Note = "Only in the China SDK."
			case !inCN:
				f.Note = "Only in the intl SDK."
			}
		}
		s.Fields = append(s.Fields, f)
	}
	return s, nil
}

// resolveType maps an SDK type spelling to a fieldType. Numbers resolve to
// kUint; the override table changes the exceptions.
func resolveType(t string) (fieldType, error) {
	var ft fieldType
	inner := t
	for _, open := range []string{"Array<", "Array.<"} {
		if rest, ok := strings.CutPrefix(t, open); ok && strings.HasSuffix(rest, ">") {
			inner, ft.List = strings.TrimSuffix(rest, ">"), true
		}
	}
	if rest, ok := strings.CutSuffix(t, "[]"); ok {
		inner, ft.List = rest, true
	}
	alts := strings.Split(inner, "|")
	// "number | bigint" is how the China SDK spells a 64-bit integer.
	if len(alts) == 2 && slices.Contains(alts, "number") && slices.Contains(alts, "bigint") {
		alts = []string{"number"}
	}
	if len(alts) != 1 {
		return ft, fmt.Errorf("unsupported union type %q", t)
	}
	switch name := alts[0]; {
	case name == "string":
		ft.Kind = kString
	case name == "number":
		ft.Kind = kUint
	case name == "boolean":
		ft.Kind = kBool
	case exportedIdent.MatchString(name) && name != "Array":
		ft.Kind, ft.Struct = kStruct, name
	default:
		return ft, fmt.Errorf("unsupported type %q", t)
	}
	return ft, nil
}

// joinNote appends a note such as "Required." to a doc text.
func joinNote(doc, note string) string {
	if doc == "" || note == "" {
		return doc + note
	}
	return doc + " " + note
}

var (
	htmlTagRe  = regexp.MustCompile(`</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>`)
	mdLinkRe   = regexp.MustCompile(`\[([^\]]*)\]\([^)\s]*\)`)
	sentenceRe = regexp.MustCompile(`[.!?](\s|$)|[。！？]`)
	numberEnd  = regexp.MustCompile(`(?:^|\s)(\d{1,2})$`)
	headingRe  = regexp.MustCompile(`^(\*\*[^*]+\*\*|.*:\.?)$`)
)

// maxDoc caps a summary; longer first sentences are cut at a word.
const maxDoc = 320

// summarize reduces SDK doc lines to at most n sentences on one line:
// HTML tags, Markdown emphasis and link targets are removed, whitespace
// collapsed. A second sentence is added only while the summary stays short.
func summarize(lines []string, n int) string {
	text := strings.Join(lines, "\n")
	text = htmlTagRe.ReplaceAllString(text, "\n")
	text = mdLinkRe.ReplaceAllString(text, "$1")
	text = strings.ReplaceAll(text, "**", "")
	var out string
	for i, sentence := range splitSentences(text) {
		sentence = strings.Join(strings.Fields(sentence), " ")
		if i == n || i > 0 && len(out)+1+len(sentence) > maxDoc {
			break
		}
		out = strings.TrimSpace(out + " " + sentence)
	}
	if len(out) > maxDoc {
		cut := strings.LastIndexByte(out[:maxDoc], ' ')
		if cut < maxDoc/2 {
			cut = maxDoc
			for cut > 0 && out[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
				cut--
			}
		}
		out = out[:cut] + " …"
	}
	return out
}

// splitSentences splits text after ".", "!" or "?" followed by a space, and
// after "。", "！" and "？". A dot at the end of a line always ends a
// sentence; elsewhere "e.g." and list markers such as "1." do not.
func splitSentences(text string) []string {
	var out []string
	start := 0
	for _, loc := range sentenceRe.FindAllStringIndex(text, -1) {
		if loc[0] < start {
			continue
		}
		lineEnd := loc[1] == len(text) || text[loc[1]-1] == '\n'
		if !lineEnd && text[loc[0]] == '.' && (abbreviation(text[:loc[0]+1]) || listMarker(text, loc[0])) {
			continue
		}
		if s := strings.TrimSpace(text[start:loc[1]]); s != "" {
			out = append(out, s)
		}
		start = loc[1]
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// abbreviation reports whether s ends in a dot that does not end a sentence.
func abbreviation(s string) bool {
	for _, a := range []string{"e.g.", "i.e.", "etc.", "vs.", "No."} {
		if strings.HasSuffix(s, a) {
			return true
		}
	}
	return false
}

// listMarker reports whether the dot at text[dot] follows a number N that
// is one of a numbered list: "N-1." comes before it or "N+1." after it.
func listMarker(text string, dot int) bool {
	m := numberEnd.FindStringSubmatch(text[:dot])
	if m == nil {
		return false
	}
	n, _ := strconv.Atoi(m[1])
	before := text[:dot-len(m[1])]
	after := text[dot+1:]
	return n > 0 && hasMarker(before, n-1) || hasMarker(after, n+1)
}

func hasMarker(s string, n int) bool {
	return regexp.MustCompile(`(?:^|\s)` + strconv.Itoa(n) + `\.\s`).MatchString(s)
}

// cnHeadingRe is the China SDK's "API description:" lead-in of an action's doc.
var cnHeadingRe = regexp.MustCompile(`^接口说明\s*[:：]\s*`)

// actionSummary is the first sentence of an action's doc, after headings
// such as "API description:" or "**API Description**" (and the China SDK's
// "接口说明：" before the text).
func actionSummary(lines []string) string {
	for len(lines) > 0 && (lines[0] == "" || headingRe.MatchString(lines[0])) {
		lines = lines[1:]
	}
	if len(lines) > 0 {
		lines = append([]string{cnHeadingRe.ReplaceAllString(lines[0], "")}, lines[1:]...)
	}
	return summarize(lines, 1)
}
