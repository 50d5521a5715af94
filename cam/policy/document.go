package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// Document is a parsed, validated policy. Treat a parsed Document as read-only: Parse
// precompiles its patterns, and edits to the exported fields of a parsed statement are
// not seen by Evaluate (Marshal, edit and Parse again instead).
type Document struct {
	Version    string
	Statements []Statement
}

// Statement is one element of "statement".
type Statement struct {
	Effect     string   // "allow" or "deny"
	Actions    []string // as written: "name/trtc:DismissRoom", "trtc:Describe*", "*"
	Resources  []string // "qcs::trtc::uin/<uin>:sdkappid/<id>", ".../sdkappid/*", "*"
	Conditions []Condition

	compiled *compiledStatement // set by Parse
}

// Condition is one operator applied to one condition key.
type Condition struct {
	Operator  string // base operator, e.g. "ip_equal"
	IfExist   bool   // written with the _if_exist suffix
	Qualifier string // "", "for_all_value" or "for_any_value"
	Key       string // e.g. "qcs:ip"
	Values    []string
}

// Effects.
const (
	EffectAllow = "allow"
	EffectDeny  = "deny"
)

// Qualifiers.
const (
	ForAnyValue = "for_any_value"
	ForAllValue = "for_all_value"
)

// Name is the operator as written in a document: "for_any_value:string_equal_if_exist".
func (c Condition) Name() string {
	n := c.Operator
	if c.IfExist {
		n += "_if_exist"
	}
	if c.Qualifier != "" {
		n = c.Qualifier + ":" + n
	}
	return n
}

// Parse decodes and validates a policy document.
func Parse(doc []byte) (*Document, error) {
	if len(doc) > MaxDocumentLength {
		return nil, refuse(CodePolicyDocumentLengthOverLimit, "the policy document is %d bytes, more than %d", len(doc), MaxDocumentLength)
	}
	return parse(doc)
}

func parse(doc []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, refuse(CodePolicyDocumentError, "the policy document is not JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, refuse(CodePolicyDocumentError, "the policy document has data after its JSON object")
	}
	members, ok := objectMembers(raw)
	if !ok {
		return nil, refuse(CodePolicyDocumentError, "the policy document must be a JSON object")
	}
	if err := duplicateKey(members, "policy document"); err != nil {
		return nil, err
	}
	d := &Document{}
	var haveVersion, haveStatement bool
	for _, m := range members {
		switch m.key {
		case "version":
			var v string
			if kindOf(m.val) != '"' || json.Unmarshal(m.val, &v) != nil || v != "2.0" {
				return nil, refuse(CodeVersionError, `"version" must be "2.0", not %s`, clip(m.val))
			}
			d.Version, haveVersion = v, true
		case "statement":
			sts, err := parseStatements(m.val)
			if err != nil {
				return nil, err
			}
			d.Statements, haveStatement = sts, true
		case "principal":
			return nil, refuse(CodePrincipalError, `"principal" is allowed only in role trust policies and bucket policies, not in this policy`)
		default:
			return nil, refuse(CodePolicyDocumentError, "unknown element %q in the policy document", m.key)
		}
	}
	if !haveVersion {
		return nil, refuse(CodeVersionError, `"version" is missing; it must be "2.0"`)
	}
	if !haveStatement {
		return nil, refuse(CodeStatementError, `"statement" is missing`)
	}
	return d, nil
}

func parseStatements(raw json.RawMessage) ([]Statement, error) {
	var items []json.RawMessage
	switch kindOf(raw) {
	case '[':
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, refuse(CodeStatementError, `"statement" is malformed: %v`, err)
		}
	case '{':
		items = []json.RawMessage{raw}
	default:
		return nil, refuse(CodeStatementError, `"statement" must be an array of statements, not %s`, clip(raw))
	}
	if len(items) == 0 {
		return nil, refuse(CodeStatementError, `"statement" is empty`)
	}
	sts := make([]Statement, len(items))
	for i, item := range items {
		st, err := parseStatement(i, item)
		if err != nil {
			return nil, err
		}
		sts[i] = st
	}
	return sts, nil
}

func parseStatement(i int, raw json.RawMessage) (Statement, error) {
	var st Statement
	members, ok := objectMembers(raw)
	if !ok {
		return st, refuse(CodeStatementError, "statement[%d] must be an object, not %s", i, clip(raw))
	}
	if err := duplicateKey(members, "statement"); err != nil {
		return st, err
	}
	var haveEffect, haveAction, haveResource bool
	for _, m := range members {
		var err error
		switch m.key {
		case "effect":
			var e string
			if kindOf(m.val) != '"' || json.Unmarshal(m.val, &e) != nil {
				return st, refuse(CodeEffectError, `statement[%d].effect must be "allow" or "deny", not %s`, i, clip(m.val))
			}
			e = strings.ToLower(e)
			if e != EffectAllow && e != EffectDeny {
				return st, refuse(CodeEffectError, `statement[%d].effect must be "allow" or "deny", not %q`, i, e)
			}
			st.Effect, haveEffect = e, true
		case "action":
			st.Actions, err = stringList(m.val, CodeActionError, i, "action")
			if err == nil {
				for j, a := range st.Actions {
					if _, err = compileAction(a); err != nil {
						err = refuse(CodeActionError, "statement[%d].action[%d] %q: %v", i, j, a, err)
						break
					}
				}
			}
			haveAction = true
		case "resource":
			st.Resources, err = stringList(m.val, CodeResourceError, i, "resource")
			if err == nil {
				for j, r := range st.Resources {
					if err = validResource(r); err != nil {
						err = refuse(CodeResourceError, "statement[%d].resource[%d] %q: %v", i, j, r, err)
						break
					}
				}
			}
			haveResource = true
		case "condition":
			st.Conditions, err = parseConditions(i, m.val)
		case "principal":
			err = refuse(CodePrincipalError, `statement[%d]: "principal" is allowed only in role trust policies and bucket policies, not in this policy`, i)
		default:
			err = refuse(CodePolicyDocumentError, "unknown element %q in statement[%d]", m.key, i)
		}
		if err != nil {
			return st, err
		}
	}
	switch {
	case !haveEffect:
		return st, refuse(CodeEffectError, "statement[%d] has no effect", i)
	case !haveAction:
		return st, refuse(CodeActionError, "statement[%d] has no action", i)
	case !haveResource:
		return st, refuse(CodeResourceError, "statement[%d] has no resource", i)
	}
	c, err := compileStatement(&st)
	if err != nil {
		// Unreachable: every part was validated above.
		return st, refuse(CodePolicyDocumentError, "statement[%d]: %v", i, err)
	}
	st.compiled = c
	return st, nil
}

// stringList reads a string or a non-empty array of strings.
func stringList(raw json.RawMessage, code string, i int, elem string) ([]string, error) {
	switch kindOf(raw) {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, refuse(code, "statement[%d].%s is malformed: %v", i, elem, err)
		}
		return []string{s}, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, refuse(code, "statement[%d].%s is malformed: %v", i, elem, err)
		}
		if len(items) == 0 {
			return nil, refuse(code, "statement[%d].%s is empty", i, elem)
		}
		out := make([]string, len(items))
		for j, item := range items {
			if kindOf(item) != '"' || json.Unmarshal(item, &out[j]) != nil {
				return nil, refuse(code, "statement[%d].%s[%d] must be a string, not %s", i, elem, j, clip(item))
			}
		}
		return out, nil
	}
	return nil, refuse(code, "statement[%d].%s must be a string or an array of strings, not %s", i, elem, clip(raw))
}

func parseConditions(i int, raw json.RawMessage) ([]Condition, error) {
	blocks, ok := objectMembers(raw)
	if !ok {
		return nil, refuse(CodeConditionError, "statement[%d].condition must be an object, not %s", i, clip(raw))
	}
	if err := duplicateKey(blocks, "condition"); err != nil {
		return nil, refuse(CodeConditionError, "statement[%d]: %s", i, err.(*Error).Message)
	}
	var out []Condition
	for _, b := range blocks {
		qual, op, ifExist, err := parseOperator(b.key)
		if err != nil {
			return nil, refuse(CodeConditionTypeError, "statement[%d].condition: %v", i, err)
		}
		keys, ok := objectMembers(b.val)
		if !ok || len(keys) == 0 {
			return nil, refuse(CodeConditionError, "statement[%d].condition.%s must be a non-empty object of condition keys, not %s", i, b.key, clip(b.val))
		}
		if err := duplicateKey(keys, "condition."+b.key); err != nil {
			return nil, refuse(CodeConditionError, "statement[%d]: %s", i, err.(*Error).Message)
		}
		for _, k := range keys {
			if k.key == "" {
				return nil, refuse(CodeConditionError, "statement[%d].condition.%s has an empty condition key", i, b.key)
			}
			vals, err := conditionValues(k.val)
			if err != nil {
				return nil, refuse(CodeConditionError, "statement[%d].condition.%s.%s: %v", i, b.key, k.key, err)
			}
			c := Condition{Operator: op, IfExist: ifExist, Qualifier: qual, Key: k.key, Values: vals}
			if _, err := compileCondition(c); err != nil {
				return nil, refuse(CodeConditionError, "statement[%d].condition.%s.%s: %v", i, b.key, k.key, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// conditionValues reads a scalar or a non-empty array of scalars as strings.
func conditionValues(raw json.RawMessage) ([]string, error) {
	var items []json.RawMessage
	if kindOf(raw) == '[' {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return nil, errors.New("no values")
		}
	} else {
		items = []json.RawMessage{raw}
	}
	out := make([]string, len(items))
	for j, item := range items {
		switch kindOf(item) {
		case '"':
			if err := json.Unmarshal(item, &out[j]); err != nil {
				return nil, err
			}
		case 't', 'f', '0': // JSON literals true/false and numbers, kept as written
			out[j] = string(bytes.TrimSpace(item))
		default:
			return nil, errors.New("values must be strings, numbers or booleans, not " + clip(item))
		}
	}
	return out, nil
}

type member struct {
	key string
	val json.RawMessage
}

// objectMembers lists an object's members in written order; ok is false if raw is not
// an object. raw must be valid JSON.
func objectMembers(raw json.RawMessage) ([]member, bool) {
	if kindOf(raw) != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, ok := tok.(string)
		if !ok {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, member{key, v})
	}
	return out, true
}

func duplicateKey(ms []member, where string) error {
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if seen[m.key] {
			return refuse(CodePolicyDocumentError, "%q appears twice in the %s", m.key, where)
		}
		seen[m.key] = true
	}
	return nil
}

// kindOf classifies a JSON value by its first byte: '"', '[', '{', 't', 'f', 'n', or
// '0' for numbers.
func kindOf(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; c {
	case '"', '[', '{', 't', 'f', 'n':
		return c
	}
	return '0'
}

// clip shows a JSON value in a message, shortened.
func clip(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// Marshal renders d as canonical JSON: lower-case element names, actions, resources
// and condition values always as arrays, conditions grouped by operator in order of
// first appearance. Parse(Marshal(d)) gives back d.
func Marshal(d *Document) ([]byte, error) {
	if d == nil {
		return nil, errors.New("policy: Marshal of a nil Document")
	}
	var b bytes.Buffer
	b.WriteString(`{"version":`)
	writeJSON(&b, d.Version)
	b.WriteString(`,"statement":[`)
	for i, st := range d.Statements {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"effect":`)
		writeJSON(&b, st.Effect)
		b.WriteString(`,"action":`)
		writeJSON(&b, nonNil(st.Actions))
		b.WriteString(`,"resource":`)
		writeJSON(&b, nonNil(st.Resources))
		if len(st.Conditions) > 0 {
			b.WriteString(`,"condition":{`)
			for gi, g := range groupConditions(st.Conditions) {
				if gi > 0 {
					b.WriteByte(',')
				}
				writeJSON(&b, g.name)
				b.WriteString(":{")
				for ki, k := range g.keys {
					if ki > 0 {
						b.WriteByte(',')
					}
					writeJSON(&b, k)
					b.WriteByte(':')
					writeJSON(&b, nonNil(g.values[ki]))
				}
				b.WriteByte('}')
			}
			b.WriteByte('}')
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

type conditionGroup struct {
	name   string
	keys   []string
	values [][]string
}

func groupConditions(cs []Condition) []conditionGroup {
	var groups []conditionGroup
	for _, c := range cs {
		name := c.Name()
		gi := -1
		for i := range groups {
			if groups[i].name == name {
				gi = i
				break
			}
		}
		if gi < 0 {
			groups = append(groups, conditionGroup{name: name})
			gi = len(groups) - 1
		}
		g := &groups[gi]
		ki := -1
		for i, k := range g.keys {
			if k == c.Key {
				ki = i
				break
			}
		}
		if ki < 0 {
			g.keys = append(g.keys, c.Key)
			g.values = append(g.values, append([]string(nil), c.Values...))
		} else {
			g.values[ki] = append(g.values[ki], c.Values...)
		}
	}
	return groups
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(b *bytes.Buffer, v any) {
	out, _ := json.Marshal(v) // strings and string slices cannot fail
	b.Write(out)
}
