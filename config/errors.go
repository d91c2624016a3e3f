package config

import (
	"errors"
	"fmt"
)

// ErrValidation is matched by the InvalidValueError of a value the validator
// of WithValidate refused. A value the codec could not decode matches
// kv.ErrDecode instead.
var ErrValidation = errors.New("config: value failed validation")

// errPanicked marks a codec or validator that panicked; the panic is
// recovered and the value treated as invalid.
var errPanicked = errors.New("panicked")

// InvalidValueError reports a stored value that was rejected; the Value
// keeps serving its last good value.
type InvalidValueError struct {
	// Key is the layer that failed to decode, or, when the merged value
	// failed validation, the layer changed last.
	Key string
	// Index is the modifiedIndex of that key's rejected value.
	Index uint64
	// Err is the cause: it matches kv.ErrDecode or ErrValidation.
	Err error
}

// Error names the key and index and says that the last good value is kept.
func (e *InvalidValueError) Error() string {
	return fmt.Sprintf("config: rejected %s at index %d, keeping the last good value: %v", e.Key, e.Index, e.Err)
}

// Unwrap returns the cause.
func (e *InvalidValueError) Unwrap() error { return e.Err }
