package kv

import "encoding/json"

// Codec turns typed values into the strings the server stores and back.
// Values must be valid UTF-8 to round-trip; binary data needs an encoding
// such as base64.
type Codec[T any] interface {
	Encode(v T) (string, error)
	Decode(s string) (T, error)
}

// JSONCodec stores values as JSON. It is the default codec of Typed.
type JSONCodec[T any] struct{}

// Encode returns the JSON form of v.
func (JSONCodec[T]) Encode(v T) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Decode parses s as JSON into a T.
func (JSONCodec[T]) Decode(s string) (T, error) {
	var v T
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

// StringCodec stores strings as they are.
type StringCodec struct{}

// Encode returns v unchanged.
func (StringCodec) Encode(v string) (string, error) { return v, nil }

// Decode returns s unchanged.
func (StringCodec) Decode(s string) (string, error) { return s, nil }
