package deimostest

import "net/http"

// Error codes the server produces over the client API (docs/protocol.md §7.2).
const (
	codeKeyNotFound      = 100
	codeTestFailed       = 101
	codeNotFile          = 102
	codeNotDir           = 104
	codeNodeExist        = 105
	codeRootReadOnly     = 107
	codeDirNotEmpty      = 108
	codeTTLNaN           = 202
	codeIndexNaN         = 203
	codeInvalidField     = 209
	codeInvalidForm      = 210
	codeEventIndexCleard = 401
)

var errorMessages = map[int]string{
	codeKeyNotFound:      "Key not found",
	codeTestFailed:       "Compare failed",
	codeNotFile:          "Not a file",
	codeNotDir:           "Not a directory",
	codeNodeExist:        "Key already exists",
	codeRootReadOnly:     "Root is read only",
	codeDirNotEmpty:      "Directory not empty",
	codeTTLNaN:           "The given TTL in POST form is not a number",
	codeIndexNaN:         "The given index in POST form is not a number",
	codeInvalidField:     "Invalid field",
	codeInvalidForm:      "Invalid POST form",
	codeEventIndexCleard: "The event in requested index is outdated and cleared",
}

// apiError is an error answered as JSON. Store and watch errors (stored=true) carry the
// current index and the trailing "Internal Server Error" line; validation errors do not.
type apiError struct {
	Code   int    `json:"errorCode"`
	Msg    string `json:"message"`
	Cause  string `json:"cause,omitempty"`
	Index  uint64 `json:"index"`
	stored bool
}

func (e *apiError) Error() string { return e.Msg + " (" + e.Cause + ")" }

// newStoreError builds an error raised after validation, at store index idx.
func newStoreError(code int, cause string, idx uint64) *apiError {
	return &apiError{Code: code, Msg: errorMessages[code], Cause: cause, Index: idx, stored: true}
}

// newValidationError builds a request validation error (index 0, no trailing line).
func newValidationError(code int, cause string) *apiError {
	return &apiError{Code: code, Msg: errorMessages[code], Cause: cause}
}

// httpStatus maps an error code to its HTTP status exactly as the server does.
func (e *apiError) httpStatus() int {
	switch {
	case e.Code == codeKeyNotFound:
		return http.StatusNotFound
	case e.Code == codeNotFile || e.Code == codeDirNotEmpty:
		return http.StatusForbidden
	case e.Code == codeTestFailed || e.Code == codeNodeExist:
		return http.StatusPreconditionFailed
	case e.Code >= 300 && e.Code < 400:
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}
