package policy

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// valueKind is how an operator reads values.
type valueKind uint8

const (
	kindString valueKind = iota
	kindStringFold
	kindLike
	kindNumeric
	kindDate
	kindBool
	kindIP
	kindBinary
	kindNull
)

// comparison is how a request value relates to a listed value.
type comparison uint8

const (
	cmpEq comparison = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type operatorSpec struct {
	kind   valueKind
	cmp    comparison
	negate bool
}

// operators are the CAM condition operators (CAM "Condition Keys and Condition
// Operators"). binary_equal compares the base64 text.
var operators = map[string]operatorSpec{
	"string_equal":                 {kindString, cmpEq, false},
	"string_not_equal":             {kindString, cmpEq, true},
	"string_equal_ignore_case":     {kindStringFold, cmpEq, false},
	"string_not_equal_ignore_case": {kindStringFold, cmpEq, true},
	"string_like":                  {kindLike, cmpEq, false},
	"string_not_like":              {kindLike, cmpEq, true},
	"numeric_equal":                {kindNumeric, cmpEq, false},
	"numeric_not_equal":            {kindNumeric, cmpEq, true},
	"numeric_less_than":            {kindNumeric, cmpLt, false},
	"numeric_less_than_equal":      {kindNumeric, cmpLe, false},
	"numeric_greater_than":         {kindNumeric, cmpGt, false},
	"numeric_greater_than_equal":   {kindNumeric, cmpGe, false},
	"date_equal":                   {kindDate, cmpEq, false},
	"date_not_equal":               {kindDate, cmpEq, true},
	"date_less_than":               {kindDate, cmpLt, false},
	"date_less_than_equal":         {kindDate, cmpLe, false},
	"date_greater_than":            {kindDate, cmpGt, false},
	"date_greater_than_equal":      {kindDate, cmpGe, false},
	"bool_equal":                   {kindBool, cmpEq, false},
	"ip_equal":                     {kindIP, cmpEq, false},
	"ip_not_equal":                 {kindIP, cmpEq, true},
	"binary_equal":                 {kindBinary, cmpEq, false},
	"null_equal":                   {kindNull, cmpEq, false},
}

// Operators lists the supported base operator names, sorted.
func Operators() []string {
	out := make([]string, 0, len(operators))
	for name := range operators {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// parseOperator splits "for_any_value:string_equal_if_exist".
func parseOperator(name string) (qualifier, op string, ifExist bool, err error) {
	op = name
	if q, rest, ok := strings.Cut(name, ":"); ok {
		if q != ForAnyValue && q != ForAllValue {
			return "", "", false, fmt.Errorf("unknown qualifier %q in %q", q, name)
		}
		qualifier, op = q, rest
	}
	if _, ok := operators[op]; !ok {
		base, found := strings.CutSuffix(op, "_if_exist")
		if _, known := operators[base]; !found || !known {
			return "", "", false, fmt.Errorf("unknown condition operator %q", name)
		}
		op, ifExist = base, true
	}
	if op == "null_equal" && (ifExist || qualifier != "") {
		return "", "", false, fmt.Errorf("null_equal takes neither _if_exist nor a qualifier: %q", name)
	}
	return qualifier, op, ifExist, nil
}

// compiledCondition holds a condition's values parsed for its operator.
type compiledCondition struct {
	operatorSpec
	ifExist   bool
	qualifier string
	key       string
	strs      []string
	likes     []pattern
	nums      []float64
	times     []time.Time
	bools     []bool
	prefixes  []netip.Prefix
}

func compileCondition(c Condition) (*compiledCondition, error) {
	spec, ok := operators[c.Operator]
	if !ok {
		return nil, fmt.Errorf("unknown condition operator %q", c.Operator)
	}
	if c.Qualifier != "" && c.Qualifier != ForAnyValue && c.Qualifier != ForAllValue {
		return nil, fmt.Errorf("unknown qualifier %q", c.Qualifier)
	}
	if c.Key == "" || len(c.Values) == 0 {
		return nil, errors.New("a condition needs a key and at least one value")
	}
	cc := &compiledCondition{operatorSpec: spec, ifExist: c.IfExist, qualifier: c.Qualifier, key: c.Key}
	for _, v := range c.Values {
		switch spec.kind {
		case kindString, kindStringFold:
			cc.strs = append(cc.strs, v)
		case kindBinary:
			if _, err := base64.StdEncoding.DecodeString(v); err != nil {
				return nil, fmt.Errorf("%q is not base64", v)
			}
			cc.strs = append(cc.strs, v)
		case kindLike:
			cc.likes = append(cc.likes, compilePattern(v, true))
		case kindNumeric:
			n, ok := parseNumber(v)
			if !ok {
				return nil, fmt.Errorf("%q is not a number", v)
			}
			cc.nums = append(cc.nums, n)
		case kindDate:
			t, ok := parseDate(v)
			if !ok {
				return nil, fmt.Errorf("%q is not a date (RFC 3339, \"2006-01-02 15:04:05\" UTC or Unix seconds)", v)
			}
			cc.times = append(cc.times, t)
		case kindBool, kindNull:
			b, ok := parseBool(v)
			if !ok {
				return nil, fmt.Errorf("%q is not true or false", v)
			}
			cc.bools = append(cc.bools, b)
		case kindIP:
			p, ok := parseIPValue(v)
			if !ok {
				return nil, fmt.Errorf("%q is not an IP address or CIDR block", v)
			}
			cc.prefixes = append(cc.prefixes, p)
		}
	}
	return cc, nil
}

// holds evaluates the condition against the request context.
func (c *compiledCondition) holds(ctx map[string][]string) bool {
	vals := ctx[c.key]
	if c.kind == kindNull {
		absent := len(vals) == 0
		for _, b := range c.bools {
			if b == absent {
				return true
			}
		}
		return false
	}
	if len(vals) == 0 {
		return c.ifExist
	}
	switch c.qualifier {
	case ForAllValue:
		for _, v := range vals {
			if !c.holdsFor(v) {
				return false
			}
		}
		return true
	case ForAnyValue:
		for _, v := range vals {
			if c.holdsFor(v) {
				return true
			}
		}
		return false
	}
	if c.negate { // no request value may match any listed value
		for _, v := range vals {
			if !c.holdsFor(v) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.holdsFor(v) {
			return true
		}
	}
	return false
}

// holdsFor applies the operator to one request value.
func (c *compiledCondition) holdsFor(v string) bool {
	matched, ok := c.matchAny(v)
	if !ok {
		return false
	}
	return matched != c.negate
}

// matchAny reports whether v matches any listed value; ok is false when v does not
// parse as the operator's type.
func (c *compiledCondition) matchAny(v string) (matched, ok bool) {
	switch c.kind {
	case kindString, kindBinary:
		for _, s := range c.strs {
			if v == s {
				return true, true
			}
		}
	case kindStringFold:
		for _, s := range c.strs {
			if strings.EqualFold(v, s) {
				return true, true
			}
		}
	case kindLike:
		for _, p := range c.likes {
			if p.match(v) {
				return true, true
			}
		}
	case kindNumeric:
		n, ok := parseNumber(v)
		if !ok {
			return false, false
		}
		for _, l := range c.nums {
			if compare(n, l, c.cmp) {
				return true, true
			}
		}
	case kindDate:
		t, ok := parseDate(v)
		if !ok {
			return false, false
		}
		for _, l := range c.times {
			if compareInt(t.Compare(l), c.cmp) {
				return true, true
			}
		}
	case kindBool:
		b, ok := parseBool(v)
		if !ok {
			return false, false
		}
		for _, l := range c.bools {
			if b == l {
				return true, true
			}
		}
	case kindIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false, false
		}
		a = a.WithZone("").Unmap()
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true, true
			}
		}
	}
	return false, true
}

func compare(a, b float64, c comparison) bool {
	switch c {
	case cmpEq:
		return a == b
	case cmpLt:
		return a < b
	case cmpLe:
		return a <= b
	case cmpGt:
		return a > b
	case cmpGe:
		return a >= b
	}
	return false
}

func compareInt(r int, c comparison) bool {
	switch c {
	case cmpEq:
		return r == 0
	case cmpLt:
		return r < 0
	case cmpLe:
		return r <= 0
	case cmpGt:
		return r > 0
	case cmpGe:
		return r >= 0
	}
	return false
}

func parseNumber(s string) (float64, bool) {
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, false
	}
	return n, true
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// dateLayouts are the date forms accepted besides Unix seconds. Those without a zone
// are UTC, as CAM says qcs:current_time is (its examples write "2022-05-31 00:00:00").
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

func parseDate(s string) (time.Time, bool) {
	if s != "" && len(s) <= 12 && allDigits(s) {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return time.Unix(sec, 0).UTC(), true
		}
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseIPValue reads a policy's IP value: a single address (v4 or v6) or a CIDR block;
// host bits of a block are ignored ("10.217.182.3/24" is 10.217.182.0/24).
func parseIPValue(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}
