package main

import (
	"fmt"
	"strings"
	"unicode"
)

// A sdkStruct is one model type as declared by one SDK: a TypeScript interface
// of the China SDK or a JS class of the intl SDK.
type sdkStruct struct {
	Name   string
	Doc    []string // doc comment lines, cleaned
	Fields []sdkField
}

// A sdkField is one property of a sdkStruct. Type is the SDK's own spelling
// with spaces removed: "number", "Array<string>" (TS), "Array.<string>" (JS).
type sdkField struct {
	Name     string
	Type     string
	Required bool // TS only: declared without "?"
	Doc      []string
}

func (s *sdkStruct) field(name string) (sdkField, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return sdkField{}, false
}

// parseTS reads the interfaces of a TypeScript declaration file such as
// trtc_models.d.ts. It understands exactly what the SDK generator emits:
// "export interface Name { Field?: Type; ... }" and "export type Name = null;",
// each preceded by a /** doc */.
func parseTS(src string) ([]*sdkStruct, error) {
	toks, err := lexTS(src)
	if err != nil {
		return nil, err
	}
	p := &tsParser{toks: toks}
	var out []*sdkStruct
	for !p.done() {
		doc := p.docs()
		if p.done() {
			break
		}
		s, err := p.iface()
		if err != nil {
			return nil, err
		}
		s.Doc = doc
		out = append(out, s)
	}
	return out, nil
}

type tsTokKind int

const (
	tsIdent tsTokKind = iota
	tsPunct
	tsDoc
	tsString
)

type tsTok struct {
	kind tsTokKind
	text string // identifier, punctuation, string literal or raw comment body
	line int
}

// lexTS splits TypeScript source into identifiers, one-character punctuation,
// string literals and doc comments. Other comments are dropped.
func lexTS(src string) ([]tsTok, error) {
	var toks []tsTok
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated comment", line)
			}
			body := src[i+2 : i+2+end]
			// "/**/" is an empty plain comment, not a doc comment.
			if strings.HasPrefix(body, "*") && body != "*" {
				toks = append(toks, tsTok{tsDoc, body[1:], line})
			}
			line += strings.Count(body, "\n")
			i += 2 + end + 2
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(src) && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) || src[j] != c {
				return nil, fmt.Errorf("line %d: unterminated string", line)
			}
			toks = append(toks, tsTok{tsString, src[i : j+1], line})
			i = j + 1
		case isIdentByte(c):
			j := i
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			toks = append(toks, tsTok{tsIdent, src[i:j], line})
			i = j
		case strings.IndexByte("{}<>?:;|[](),=.&", c) >= 0:
			toks = append(toks, tsTok{tsPunct, string(c), line})
			i++
		default:
			return nil, fmt.Errorf("line %d: unexpected character %q", line, c)
		}
	}
	return toks, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

type tsParser struct {
	toks []tsTok
	pos  int
}

func (p *tsParser) done() bool { return p.pos >= len(p.toks) }

func (p *tsParser) peek() tsTok {
	if p.done() {
		return tsTok{kind: tsPunct, text: "EOF"}
	}
	return p.toks[p.pos]
}

func (p *tsParser) next() tsTok {
	t := p.peek()
	p.pos++
	return t
}

// docs consumes consecutive doc comments and returns the last one, cleaned.
func (p *tsParser) docs() []string {
	var doc []string
	for !p.done() && p.peek().kind == tsDoc {
		doc = cleanComment(p.next().text)
	}
	return doc
}

func (p *tsParser) expect(kind tsTokKind, text string) (tsTok, error) {
	t := p.next()
	if t.kind != kind || (text != "" && t.text != text) {
		want := text
		if want == "" {
			want = "identifier"
		}
		return t, fmt.Errorf("line %d: want %s, got %q", t.line, want, t.text)
	}
	return t, nil
}

func (p *tsParser) iface() (*sdkStruct, error) {
	if _, err := p.expect(tsIdent, "export"); err != nil {
		return nil, err
	}
	if p.peek().text == "declare" {
		p.next()
	}
	if p.peek().text == "type" {
		return p.emptyType()
	}
	if _, err := p.expect(tsIdent, "interface"); err != nil {
		return nil, err
	}
	name, err := p.expect(tsIdent, "")
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tsPunct, "{"); err != nil {
		return nil, err
	}
	s := &sdkStruct{Name: name.text}
	for {
		doc := p.docs()
		if p.done() {
			return nil, fmt.Errorf("interface %s: missing }", s.Name)
		}
		if t := p.peek(); t.kind == tsPunct && t.text == "}" {
			p.next()
			return s, nil
		}
		f, err := p.field()
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w", s.Name, err)
		}
		f.Doc = doc
		s.Fields = append(s.Fields, f)
	}
}

// emptyType parses "type Name = null;", how the China SDK declares a
// request without parameters (cam's ListUsersRequest): a struct without fields.
func (p *tsParser) emptyType() (*sdkStruct, error) {
	p.next() // "type"
	name, err := p.expect(tsIdent, "")
	if err != nil {
		return nil, err
	}
	for _, want := range []tsTok{{tsPunct, "=", 0}, {tsIdent, "null", 0}, {tsPunct, ";", 0}} {
		if _, err := p.expect(want.kind, want.text); err != nil {
			return nil, fmt.Errorf("type %s: %w (only \"= null;\" is understood)", name.text, err)
		}
	}
	return &sdkStruct{Name: name.text}, nil
}

// field parses "Name?: Type;" (the ";" may be left out before "}").
func (p *tsParser) field() (sdkField, error) {
	name, err := p.expect(tsIdent, "")
	if err != nil {
		return sdkField{}, err
	}
	f := sdkField{Name: name.text, Required: true}
	if t := p.peek(); t.kind == tsPunct && t.text == "?" {
		p.next()
		f.Required = false
	}
	if _, err := p.expect(tsPunct, ":"); err != nil {
		return sdkField{}, err
	}
	var typ strings.Builder
	depth := 0
	for {
		t := p.peek()
		if p.done() {
			return sdkField{}, fmt.Errorf("field %s: unexpected end of input", f.Name)
		}
		if t.kind == tsDoc {
			return sdkField{}, fmt.Errorf("line %d: field %s: comment inside type", t.line, f.Name)
		}
		if depth == 0 && t.kind == tsPunct && (t.text == ";" || t.text == "}") {
			if t.text == ";" {
				p.next()
			}
			break
		}
		switch t.text {
		case "<", "(", "[", "{":
			depth++
		case ">", ")", "]", "}":
			depth--
		}
		typ.WriteString(t.text)
		p.next()
	}
	if typ.Len() == 0 {
		return sdkField{}, fmt.Errorf("line %d: field %s has no type", name.line, f.Name)
	}
	f.Type = typ.String()
	return f, nil
}

// cleanComment turns the body of a /** ... */ comment into trimmed lines:
// leading "*" decorations are removed and blank lines at either end dropped.
func cleanComment(body string) []string {
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimFunc(l, unicode.IsSpace)
		// Strip the " * " decoration, not Markdown such as "**Note**".
		if l == "*" || strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "*\t") {
			l = strings.TrimFunc(l[1:], unicode.IsSpace)
		}
		lines = append(lines, l)
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
