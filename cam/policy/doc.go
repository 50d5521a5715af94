// Package policy owns the CAM policy language as TRTC uses it: parsing and validating
// policy documents (version "2.0", statements of effect, action, resource and
// condition), rendering them back to canonical JSON, evaluating attached policies
// against one authorization question (explicit deny beats allow, otherwise implicit
// deny), and the TRTC preset policies and resource names.
//
// It is pure: standard library only, no HTTP, no database, no clock (the caller puts
// qcs:current_time into Request.Context). It must not import other packages of the
// emulator; cam and handlers import it.
//
// Semantics chosen where the CAM documentation is silent or loose:
//   - Element names ("version", "statement", "effect", …) are lower case only, as the
//     CAM element reference says; anything else is an unknown key. Effect values are
//     accepted in any case ("Allow") and stored lower-cased.
//   - "statement" may be an array or a single object; Marshal always writes an array.
//   - "principal" is refused with InvalidParameter.PrincipalError: CAM allows it only in
//     role trust policies and COS bucket policies, never in user policies.
//   - Several values of one key are OR'ed. For the negated operators (string_not_equal,
//     string_not_equal_ignore_case, string_not_like, numeric_not_equal, date_not_equal,
//     ip_not_equal) the negation applies after the OR: the request value must differ
//     from every listed value. Read literally ("matches any value") a two-value
//     not_equal would always hold; this reading is the one AWS and Huawei document.
//   - A condition on a key absent from the request is false, unless the operator has
//     the _if_exist suffix (then true) or is null_equal.
//   - Without a qualifier, a multi-valued request key holds for positive operators when
//     any request value matches, and for negated ones when no request value matches;
//     for_any_value / for_all_value apply the operator to each request value and need
//     one / all of them to hold. A request value that does not parse for the operator
//     (an IP that is not an IP) never satisfies it, negated or not.
//   - Actions match case-insensitively; resources and condition values are
//     case-sensitive (except the *_ignore_case operators). "trtc:X" ≡ "name/trtc:X".
//     Feature-set actions ("permid/…", "actionName/…") are accepted but match nothing.
package policy
