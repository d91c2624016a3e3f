package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/marsevilspirit/deimos-client/kv"
)

// A real node panics when a directory is deleted, or expires, while a watch
// exists on a key strictly inside it, even one whose client has left
// (docs/protocol.md §12.7). So a Value never watches its keys: it follows a
// directory that nothing above can take away. By default that is the key's
// top-level directory ("/config" for "/config/app/db"; a top-level key is
// followed itself), since "/" cannot be deleted. The server hides keys below
// a segment starting with '_' from the recursive listings and watches of an
// ancestor (§8.3), so a hidden segment forces the directory down to it.

// keyDirs groups the keys by the directory that follows them, in the order
// the directories first appear. With dir set, every key is followed there.
func keyDirs(keys []string, dir string) ([]string, map[string][]string, error) {
	var order []string
	groups := make(map[string][]string)
	for _, k := range keys {
		d := dir
		if d == "" {
			d = followDir(k)
		} else if err := checkFollowable(d, k); err != nil {
			return nil, nil, err
		}
		if _, ok := groups[d]; !ok {
			order = append(order, d)
		}
		groups[d] = append(groups[d], k)
	}
	return order, groups, nil
}

// followDir returns the crash-safe directory that follows key: its top-level
// directory, or its deepest hidden segment when it has one below the top.
func followDir(key string) string {
	segs := strings.Split(key[1:], "/")
	end := 1
	for i := 1; i < len(segs); i++ {
		if strings.HasPrefix(segs[i], "_") {
			end = i + 1
		}
	}
	return "/" + strings.Join(segs[:end], "/")
}

// checkFollowable reports whether a recursive cache of dir sees key.
func checkFollowable(dir, key string) error {
	rel, ok := below(dir, key)
	switch {
	case !ok:
		return errors.Join(kv.ErrInvalidOption, fmt.Errorf("config: watch directory %s does not hold %s", dir, key))
	case strings.Contains(rel, "/_"):
		return errors.Join(kv.ErrInvalidOption, fmt.Errorf("config: %s has a hidden segment below watch directory %s, which the server does not report", key, dir))
	}
	return nil
}

// below returns key relative to dir, starting with "/" (empty for dir
// itself), and whether key is dir or lies under it.
func below(dir, key string) (string, bool) {
	switch {
	case key == dir:
		return "", true
	case dir == "/":
		return key, true
	case strings.HasPrefix(key, dir+"/"):
		return key[len(dir):], true
	}
	return "", false
}

// cleanKeys validates the key and the layers: each must be a clean key other
// than "/", and no key may repeat.
func cleanKeys(key string, layers []string) ([]string, error) {
	all := append([]string{key}, layers...)
	out := make([]string, 0, len(all))
	seen := make(map[string]bool, len(all))
	for _, k := range all {
		clean, err := kv.CleanKey(k)
		if err != nil {
			return nil, err
		}
		if clean == "/" {
			return nil, errors.Join(kv.ErrInvalidKey, errors.New("config: the root is a directory, not a value"))
		}
		if seen[clean] {
			return nil, errors.Join(kv.ErrInvalidOption, fmt.Errorf("config: key %s given twice", clean))
		}
		seen[clean] = true
		out = append(out, clean)
	}
	return out, nil
}
