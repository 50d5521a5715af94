package tcerr

// Common API 3.0 error codes (all products) and the TRTC codes the emulator uses.
// Constructors below keep messages consistent; see ../shared/research/api-protocol.md §1.6, §5.
const (
	CodeInvalidAuthorization  = "AuthFailure.InvalidAuthorization"
	CodeSecretIdNotFound      = "AuthFailure.SecretIdNotFound"
	CodeSignatureExpire       = "AuthFailure.SignatureExpire"
	CodeSignatureFailure      = "AuthFailure.SignatureFailure"
	CodeInternalError         = "InternalError"
	CodeInvalidAction         = "InvalidAction"
	CodeInvalidParameter      = "InvalidParameter"
	CodeInvalidParameterValue = "InvalidParameterValue"
	CodeMissingParameter      = "MissingParameter"
	CodeNoSuchVersion         = "NoSuchVersion"
	CodeRequestLimitExceeded  = "RequestLimitExceeded"
	CodeRequestSizeLimit      = "RequestSizeLimitExceeded"
	CodeUnknownParameter      = "UnknownParameter"
	CodeUnsupportedOperation  = "UnsupportedOperation"
	CodeUnsupportedProtocol   = "UnsupportedProtocol"
	CodeResourceNotFound      = "ResourceNotFound"

	CodeRoomNotExist         = "FailedOperation.RoomNotExist"
	CodeSdkAppIdNotExist     = "FailedOperation.SdkAppIdNotExist"
	CodeInvalidSdkAppId      = "InvalidParameter.SdkAppId"
	CodeInvalidRoomId        = "InvalidParameter.RoomId"
	CodeInvalidParamRoomId   = "InvalidParameterValue.RoomId"
	CodeInvalidPageSize      = "InvalidParameter.PageSize"
	CodeInvalidPageNumber    = "InvalidParameter.PageNumber"
	CodeInvalidStartTs       = "InvalidParameter.StartTs"
	CodeInvalidEndTs         = "InvalidParameter.EndTs"
	CodeStartTimeExpire      = "InvalidParameter.StartTimeExpire"
	CodeQueryScaleOversize   = "InvalidParameter.QueryScaleOversize"
	CodeUnauthorizedSdkAppId = "UnauthorizedOperation.SdkAppId"
)

func InvalidAuthorization(reason string) *Error {
	return New(CodeInvalidAuthorization, "The Authorization header is malformed: %s.", reason)
}

// SecretIdNotFound names the SecretId masked (MaskSecretId): an error message may be
// logged or shown where the key's owner would not want its id.
func SecretIdNotFound(id string) *Error {
	return New(CodeSecretIdNotFound, "The SecretId %q is not found, please ensure that your SecretId is correct.", MaskSecretId(id))
}

// MaskSecretId keeps the first and last 4 characters of a SecretId, as Tencent's console
// shows keys: AKIDtrtcEmulatorDefaultSecretId00000 → AKID****0000. Ids of 12 characters
// or fewer are masked entirely.
func MaskSecretId(id string) string {
	if len(id) <= 12 {
		return "****"
	}
	return id[:4] + "****" + id[len(id)-4:]
}

func SignatureExpire(ts, now int64) *Error {
	return New(CodeSignatureExpire, "Signature expired, the request timestamp %d differs from the server time %d by more than 300 seconds.", ts, now)
}

func SignatureFailure() *Error {
	return New(CodeSignatureFailure, "The provided credentials could not be validated. Please check your signature is correct.")
}

func InternalError(reason string) *Error {
	return New(CodeInternalError, "An internal error has occurred: %s.", reason)
}

func InvalidAction(action, version string) *Error {
	return New(CodeInvalidAction, "The action %q is not found for version %s.", action, version)
}

func UnsupportedOperation(action string) *Error {
	return New(CodeUnsupportedOperation, "The action %s is not supported by trtc-emulator yet.", action)
}

func MissingParameter(name string) *Error {
	return New(CodeMissingParameter, "The request is missing a required parameter `%s`.", name)
}

func UnknownParameter(name string) *Error {
	return New(CodeUnknownParameter, "The parameter `%s` is not recognized.", name)
}

func InvalidParameter(name, reason string) *Error {
	return New(CodeInvalidParameter, "The value of parameter `%s` is invalid: %s.", name, reason)
}

func InvalidParameterValue(name, reason string) *Error {
	return New(CodeInvalidParameterValue, "The value of parameter `%s` is invalid: %s.", name, reason)
}

func RequestLimitExceeded(action string, perSecond float64) *Error {
	return New(CodeRequestLimitExceeded, "Your request rate of %s exceeds the limit of %g requests per second.", action, perSecond)
}

func RequestSizeLimitExceeded(size, limit int64) *Error {
	return New(CodeRequestSizeLimit, "The request size %d bytes exceeds the limit of %d bytes.", size, limit)
}

func RoomNotExist(sdkAppId uint64, roomId string) *Error {
	return New(CodeRoomNotExist, "The room %s does not exist in application %d.", roomId, sdkAppId)
}
