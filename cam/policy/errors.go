package policy

import "fmt"

// CAM error codes for refused policy documents (CamErrorCode, see
// research/api-protocol.md §6).
const (
	CodePolicyDocumentError           = "InvalidParameter.PolicyDocumentError"
	CodePolicyDocumentLengthOverLimit = "InvalidParameter.PolicyDocumentLengthOverLimit"
	CodeVersionError                  = "InvalidParameter.VersionError"
	CodeStatementError                = "InvalidParameter.StatementError"
	CodeEffectError                   = "InvalidParameter.EffectError"
	CodeActionError                   = "InvalidParameter.ActionError"
	CodeResourceError                 = "InvalidParameter.ResourceError"
	CodeConditionError                = "InvalidParameter.ConditionError"
	CodeConditionTypeError            = "InvalidParameter.ConditionTypeError"
	CodePrincipalError                = "InvalidParameter.PrincipalError"
)

// MaxDocumentLength is the largest policy document CAM accepts, in bytes.
const MaxDocumentLength = 6144

// Error is a refusal of a document, with the CAM error code naming the problem.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func refuse(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
