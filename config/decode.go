package config

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Overlay is implemented by codecs that can decode a layer onto a value
// already holding the layers below it, as json.Unmarshal does onto a
// struct. Such codecs merge layers field by field; kv.JSONCodec is treated
// as one.
type Overlay[T any] interface {
	kv.Codec[T]
	// DecodeOnto decodes s into *v, changing only what s holds.
	DecodeOnto(s string, v *T) error
}

// layer is one key as the Value last read it.
type layer struct {
	key     string
	exists  bool // the cache holds a node for the key
	present bool // exists, is a file, and has not expired
	dir     bool // a directory stands where the value should be
	value   string
	index   uint64 // modifiedIndex
	seenAt  uint64 // the index the key's cache reflected when it was read
}

// sameContent reports whether two readings of the layers hold the same
// bytes, whatever their indexes: a rewrite with the same value or a TTL
// refresh is no change.
func sameContent(a, b []layer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].present != b[i].present || a[i].dir != b[i].dir || a[i].value != b[i].value {
			return false
		}
	}
	return true
}

// decoder turns the present layers into one value.
type decoder[T any] struct {
	codec    kv.Codec[T]
	onto     func(s string, v *T) error // nil: the highest layer replaces the rest
	def      T
	defBase  string // the default in the codec's form, the base of merging
	validate func(T) error
}

func newDecoder[T any](s *settings[T]) *decoder[T] {
	d := &decoder[T]{codec: s.codec, def: s.def, validate: s.validate}
	switch c := s.codec.(type) {
	case kv.JSONCodec[T]:
		d.onto = func(s string, v *T) error { return json.Unmarshal([]byte(s), v) }
	case Overlay[T]:
		d.onto = c.DecodeOnto
	}
	if d.onto != nil {
		// Decoding the default's encoded form gives every computation a
		// fresh copy, so layers never write into the caller's maps.
		if base, err := d.encode(s.def); err == nil {
			d.defBase = base
		}
	}
	return d
}

// value decodes and validates the layers. With no layer present it returns
// the default, unvalidated.
func (d *decoder[T]) value(layers []layer) (T, *InvalidValueError) {
	var newest *layer
	for i := range layers {
		l := &layers[i]
		if l.dir {
			return d.def, &InvalidValueError{Key: l.key, Index: l.index, Err: fmt.Errorf("%w: a directory stands at %s", kv.ErrDecode, l.key)}
		}
		if l.present && (newest == nil || l.index > newest.index) {
			newest = l
		}
	}
	if newest == nil {
		return d.def, nil
	}
	v, bad := d.merge(layers)
	if bad != nil {
		return v, bad
	}
	if d.validate != nil {
		if err := guard(func() error { return d.validate(v) }); err != nil {
			return v, &InvalidValueError{Key: newest.key, Index: newest.index, Err: fmt.Errorf("%w: %w", ErrValidation, err)}
		}
	}
	return v, nil
}

// merge decodes every present layer, onto the default and each other when
// the codec can, otherwise keeping the highest.
func (d *decoder[T]) merge(layers []layer) (T, *InvalidValueError) {
	var out T
	if d.onto != nil && d.defBase != "" {
		if err := guard(func() error { return d.onto(d.defBase, &out) }); err != nil {
			var zero T // a codec that cannot read its own output: merge onto nothing
			out = zero
		}
	}
	for _, l := range layers {
		if !l.present {
			continue
		}
		var err error
		if d.onto != nil {
			err = guard(func() error { return d.onto(l.value, &out) })
		} else {
			err = guard(func() (e error) { out, e = d.codec.Decode(l.value); return e })
		}
		if err != nil {
			return out, &InvalidValueError{Key: l.key, Index: l.index, Err: fmt.Errorf("%w at %s: %w", kv.ErrDecode, l.key, err)}
		}
	}
	return out, nil
}

// encode returns v in the codec's form.
func (d *decoder[T]) encode(v T) (s string, err error) {
	err = guard(func() (e error) { s, e = d.codec.Encode(v); return e })
	return s, err
}

// print is the encoded form of a value, by which changes are judged.
type print struct {
	enc string
	ok  bool // the codec could encode the value
}

func (d *decoder[T]) print(v T) print {
	enc, err := d.encode(v)
	return print{enc: enc, ok: err == nil}
}

// same reports whether a and b are the same value: equal encodings, or, for
// values the codec cannot encode, deep equality.
func same[T any](a, b T, pa, pb print) bool {
	if pa.ok && pb.ok {
		return pa.enc == pb.enc
	}
	return reflect.DeepEqual(a, b)
}

// guard runs fn, turning a panic into an error: a codec or validator that
// panics on odd input must not stop the Value.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanicked, r)
		}
	}()
	return fn()
}
