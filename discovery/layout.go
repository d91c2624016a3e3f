package discovery

import (
	"strings"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Layout is where instances live in the key space and how they are written:
// the single place that encodes and decodes them, shared by resolvers and
// registrations. Two layouts ship: DefaultLayout (versioned JSON under
// /<namespace>/services/<service>/<id>) and PhobosLayout (what the Phobos RPC
// framework writes). A Layout must be safe for concurrent use.
type Layout interface {
	// Dir returns the directory holding the instances of service. Resolvers
	// watch it recursively (never single instance keys, docs/protocol.md
	// §12.7).
	Dir(service string) (string, error)
	// Key returns the key of inst.
	Key(inst Instance) (string, error)
	// Encode returns the value stored at inst's key.
	Encode(inst Instance) (string, error)
	// Decode turns a stored key and value back into an instance; it fails
	// with a *DecodeError for keys and values the layout did not write.
	Decode(key, value string) (Instance, error)
}

// checkSegment validates one key segment named field: it must be non-empty,
// contain no '/', not start with '_' (the server hides such keys from
// listings and recursive watches, docs/protocol.md §8.3), and be a key
// segment kv accepts unchanged.
func checkSegment(field, v string) error {
	switch {
	case v == "":
		return &InstanceError{Field: field, Reason: "must not be empty"}
	case strings.Contains(v, "/"):
		return &InstanceError{Field: field, Value: v, Reason: "must be one key segment (no '/')", Err: kv.ErrInvalidKey}
	}
	return checkPath(field, v)
}

// checkPath validates a relative key path of one or more segments: each
// segment as checkSegment says, no empty segment.
func checkPath(field, v string) error {
	if v == "" {
		return &InstanceError{Field: field, Reason: "must not be empty"}
	}
	clean, err := kv.CleanKey("/" + v)
	if err != nil {
		return &InstanceError{Field: field, Value: v, Reason: "not a valid key", Err: err}
	}
	if clean != "/"+v {
		return &InstanceError{Field: field, Value: v, Reason: "empty key segment", Err: kv.ErrInvalidKey}
	}
	for seg := range strings.SplitSeq(v, "/") {
		if strings.HasPrefix(seg, "_") {
			return &InstanceError{Field: field, Value: v,
				Reason: "a segment starting with '_' is hidden from listings and watches", Err: kv.ErrInvalidKey}
		}
	}
	return nil
}

// cleanBase validates a layout's base directory ("deimos", "/mrpc_example")
// and returns it rooted and cleaned.
func cleanBase(field, base string) (string, error) {
	trimmed := strings.Trim(base, "/")
	if err := checkPath(field, trimmed); err != nil {
		return "", err
	}
	// No segment starts with '_', so the base is never the server's reserved
	// /_deimos either.
	return "/" + trimmed, nil
}

// splitUnder returns the segments of key below dir ("/a/b" under "/a" is
// "b"), or false when key is not strictly below dir.
func splitUnder(dir, key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, dir+"/")
	return rest, ok && rest != ""
}
