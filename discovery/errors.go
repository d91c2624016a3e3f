package discovery

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Sentinel errors of the package, matched with errors.Is.
var (
	// ErrInvalidInstance: an instance or service name a Layout cannot store:
	// an empty or malformed key segment, an empty address, a negative
	// weight. Errors about key segments also match kv.ErrInvalidKey. The
	// error is an *InstanceError.
	ErrInvalidInstance = errors.New("discovery: invalid instance")
	// ErrDecode: a stored key or value is not an instance of the layout. The
	// error is a *DecodeError; resolvers skip such keys (and log them).
	ErrDecode = errors.New("discovery: cannot decode instance")
	// ErrNoInstances: a balancer has nothing it may pick: the service has no
	// instance, or every instance is draining or ejected.
	ErrNoInstances = errors.New("discovery: no instance available")
	// ErrNoHashKey: a consistent-hash pick without WithHashKey on its context.
	ErrNoHashKey = errors.New("discovery: no hash key in the context")
	// ErrInvalidOption: an option value that cannot work. It also matches
	// kv.ErrInvalidOption (deimos.ErrInvalidOption).
	ErrInvalidOption = fmt.Errorf("discovery: %w", kv.ErrInvalidOption)
	// ErrDuplicateInstance: another registrar holds the instance's key (the
	// key exists with a value that is not this registration's). Register
	// fails with it, and Status.Err of StatusConflict matches it; errors
	// matching it also match concurrency.ErrKeyTaken and kv.ErrNodeExist.
	ErrDuplicateInstance = errors.New("discovery: instance registered by another owner")
	// ErrNotRegistered: Update or Drain of a registration whose key is not
	// in place now (being created again, see StatusRetrying and
	// StatusConflict) or that has stopped.
	ErrNotRegistered = errors.New("discovery: instance not registered")
)

// InstanceError says which field of an instance (or which service or
// namespace name) cannot be stored, and why. It matches ErrInvalidInstance,
// and kv.ErrInvalidKey when the field is part of a key.
type InstanceError struct {
	// Field is the offending field: "Service", "ID", "Addr", "Weight",
	// "State", or "namespace" for a layout's base path.
	Field string
	// Value is the rejected value, clipped to a readable length.
	Value string
	// Reason says what is wrong with it.
	Reason string
	// Err is the underlying key error (matching kv.ErrInvalidKey), if any.
	Err error
}

// Error says which field is invalid and why.
func (e *InstanceError) Error() string {
	var b strings.Builder
	b.WriteString("discovery: invalid instance: ")
	b.WriteString(e.Field)
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", clip(e.Value))
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns ErrInvalidInstance and the underlying key error.
func (e *InstanceError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidInstance, e.Err}
	}
	return []error{ErrInvalidInstance}
}

// DecodeError says why a stored key or value is not an instance.
type DecodeError struct {
	// Key is the stored key.
	Key string
	// Reason says what is wrong.
	Reason string
	// Err is the underlying parse error, if any.
	Err error
}

// Error names the key and what is wrong with it.
func (e *DecodeError) Error() string {
	msg := fmt.Sprintf("discovery: cannot decode instance %q: %s", clip(e.Key), e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrDecode and the underlying parse error.
func (e *DecodeError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrDecode, e.Err}
	}
	return []error{ErrDecode}
}

// clip bounds what an error quotes of a value of any size.
func clip(s string) string {
	const max = 128
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
