package policy

import "strings"

// Request is one authorization question.
type Request struct {
	Service string // "trtc"
	Action  string // "DismissRoom"
	// Resource is the resource acted on, "qcs::trtc::uin/100000000001:sdkappid/1400000001",
	// or "" when the action does not support resource-level authorization.
	Resource string
	// Context holds the condition keys: "qcs:ip" (caller IP), "qcs:current_time"
	// (RFC 3339), … A key that is absent or has no values has no value.
	Context map[string][]string
}

// Policy is a policy attached to the caller.
type Policy struct {
	Name string
	ID   uint64
	Doc  *Document
}

// Match names a statement that decided.
type Match struct {
	Policy    string
	PolicyID  uint64
	Statement int // index in Document.Statements
	Effect    string
}

// Decision is the answer to a Request.
type Decision struct {
	Allowed      bool
	ExplicitDeny bool
	// Matches are the statements that decided: every applying deny when denied
	// explicitly, every applying allow when allowed, none on an implicit deny. They come
	// in policy order, then statement order.
	Matches []Match
}

// compiledStatement is a statement ready to evaluate.
type compiledStatement struct {
	deny        bool
	actions     []pattern // over lower-case "<service>:<action>"
	resources   []pattern
	anyResource bool // resources include exactly "*"
	conditions  []*compiledCondition
}

func compileStatement(st *Statement) (*compiledStatement, error) {
	c := &compiledStatement{}
	switch strings.ToLower(st.Effect) {
	case EffectAllow:
	case EffectDeny:
		c.deny = true
	default:
		return nil, refuse(CodeEffectError, "effect %q", st.Effect)
	}
	for _, a := range st.Actions {
		p, err := compileAction(a)
		if err != nil {
			return nil, refuse(CodeActionError, "action %q: %v", a, err)
		}
		c.actions = append(c.actions, p)
	}
	for _, r := range st.Resources {
		if err := validResource(r); err != nil {
			return nil, refuse(CodeResourceError, "resource %q: %v", r, err)
		}
		if r == "*" {
			c.anyResource = true
		}
		c.resources = append(c.resources, compilePattern(r, false))
	}
	for _, cond := range st.Conditions {
		cc, err := compileCondition(cond)
		if err != nil {
			return nil, refuse(CodeConditionError, "condition %s: %v", cond.Name(), err)
		}
		c.conditions = append(c.conditions, cc)
	}
	return c, nil
}

// applies reports whether the statement covers the request; action is the request's
// lower-case "<service>:<action>".
func (c *compiledStatement) applies(action string, req *Request) bool {
	ok := false
	for _, p := range c.actions {
		if p.match(action) {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	if req.Resource == "" {
		// seed: Access Management, "APIs Not Supporting Resource-Level Authorization":
		// such actions are granted only by statements whose resource is "*".
		if !c.anyResource {
			return false
		}
	} else {
		ok = false
		for _, p := range c.resources {
			if p.match(req.Resource) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, cond := range c.conditions {
		if !cond.holds(req.Context) {
			return false
		}
	}
	return true
}

// statementFor returns the compiled form of st, compiling a hand-built statement on
// the fly; ok is false for a statement that is not valid (it then never applies).
func statementFor(st *Statement) (c *compiledStatement, ok bool) {
	if st.compiled != nil {
		return st.compiled, true
	}
	c, err := compileStatement(st)
	return c, err == nil
}

// requestAction is the request's action in the form action patterns are compiled to.
func requestAction(req *Request) string {
	return strings.ToLower(req.Service + ":" + req.Action)
}

// Evaluate decides a request against the caller's attached policies: any applying deny
// statement denies (explicit deny beats allow); otherwise any applying allow allows;
// otherwise the request is denied implicitly. A statement applies when one of its
// actions and one of its resources match and all its conditions hold.
func Evaluate(policies []Policy, req Request) Decision {
	action := requestAction(&req)
	var allows, denies []Match
	for _, p := range policies {
		if p.Doc == nil {
			continue
		}
		for i := range p.Doc.Statements {
			c, ok := statementFor(&p.Doc.Statements[i])
			if !ok || !c.applies(action, &req) {
				continue
			}
			m := Match{Policy: p.Name, PolicyID: p.ID, Statement: i, Effect: EffectAllow}
			if c.deny {
				m.Effect = EffectDeny
				denies = append(denies, m)
			} else if len(denies) == 0 {
				allows = append(allows, m)
			}
		}
	}
	switch {
	case len(denies) > 0:
		return Decision{ExplicitDeny: true, Matches: denies}
	case len(allows) > 0:
		return Decision{Allowed: true, Matches: allows}
	}
	return Decision{}
}
