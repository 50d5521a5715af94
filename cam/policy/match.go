package policy

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// pattern is a precompiled glob: '*' matches any run of characters and, in condition
// patterns (string_like), '?' matches one character.
type pattern struct {
	kind patternKind
	text string // the pattern, or its literal part for patternExact / patternPrefix
	any1 bool   // '?' is a wildcard
}

type patternKind uint8

const (
	patternExact  patternKind = iota // no wildcard
	patternAll                       // "*"
	patternPrefix                    // "abc*"
	patternGlob                      // anything else
	patternNever                     // matches nothing (feature-set actions)
)

func compilePattern(p string, any1 bool) pattern {
	wild := "*"
	if any1 {
		wild = "*?"
	}
	i := strings.IndexAny(p, wild)
	switch {
	case i < 0:
		return pattern{kind: patternExact, text: p}
	case p == "*":
		return pattern{kind: patternAll}
	case i == len(p)-1 && p[i] == '*':
		return pattern{kind: patternPrefix, text: p[:i]}
	}
	return pattern{kind: patternGlob, text: p, any1: any1}
}

func (p pattern) match(s string) bool {
	switch p.kind {
	case patternExact:
		return s == p.text
	case patternAll:
		return true
	case patternPrefix:
		return strings.HasPrefix(s, p.text)
	case patternGlob:
		return globMatch(p.text, s, p.any1)
	}
	return false
}

// globMatch is the classic backtracking wildcard match: linear in practice, O(len(p)·len(s))
// at worst, no allocation, no recursion.
func globMatch(p, s string, any1 bool) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch c := p[pi]; {
			case c == '*':
				star, mark = pi, si
				pi++
				continue
			case any1 && c == '?':
				_, n := utf8.DecodeRuneInString(s[si:])
				pi++
				si += n
				continue
			case c == s[si]:
				pi++
				si++
				continue
			}
		}
		if star < 0 {
			return false
		}
		// Let the last star swallow one more character and retry after it.
		n := 1
		if any1 {
			_, n = utf8.DecodeRuneInString(s[mark:])
		}
		mark += n
		pi, si = star+1, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// compileAction validates an action as written and returns its pattern over
// "<service>:<action>" in lower case.
func compileAction(a string) (pattern, error) {
	if a == "*" {
		return pattern{kind: patternAll}, nil
	}
	body := a
	if i := strings.IndexByte(a, '/'); i >= 0 {
		prefix := strings.ToLower(a[:i])
		body = a[i+1:]
		switch prefix {
		case "name":
		case "permid", "actionname":
			// A feature set: a named group of APIs this emulator does not know.
			if err := validServiceAction(body); err != nil {
				return pattern{}, err
			}
			return pattern{kind: patternNever}, nil
		default:
			return pattern{}, errors.New(`want "name/<service>:<action>", "<service>:<action>" or "*"`)
		}
	}
	if err := validServiceAction(body); err != nil {
		return pattern{}, err
	}
	return compilePattern(strings.ToLower(body), false), nil
}

func validServiceAction(body string) error {
	svc, api, ok := strings.Cut(body, ":")
	if !ok {
		return errors.New(`want "name/<service>:<action>", "<service>:<action>" or "*"`)
	}
	if svc == "" || !allIn(svc, "-_*") {
		return errors.New("the service name must be letters, digits, '-', '_' or '*'")
	}
	if api == "" || !allIn(api, "-_.*") {
		return errors.New("the action name must be letters, digits, '-', '_', '.' or '*'")
	}
	return nil
}

// allIn reports whether s holds only ASCII letters, digits and the extra bytes.
func allIn(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte(extra, c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validResource checks the six-segment form qcs:<project>:<service>:<region>:<account>:<resource>
// (the resource segment may itself hold ':'), or "*".
func validResource(r string) error {
	if r == "*" {
		return nil
	}
	seg := strings.SplitN(r, ":", 6)
	switch {
	case len(seg) < 6:
		return errors.New(`want "qcs:<project>:<service>:<region>:<account>:<resource>" or "*"`)
	case seg[0] != "qcs":
		return errors.New(`a resource starts with "qcs:"`)
	case seg[2] == "":
		return errors.New("the service segment is empty")
	case seg[5] == "":
		return errors.New("the resource segment is empty")
	}
	for i := 0; i < len(r); i++ {
		if r[i] < 0x20 || r[i] == 0x7f {
			return errors.New("control characters are not allowed")
		}
	}
	return nil
}
