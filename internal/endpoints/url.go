package endpoints

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrInvalidEndpoint is matched by every error about a malformed endpoint URL.
var ErrInvalidEndpoint = errors.New("endpoints: invalid endpoint URL")

// Normalize validates an endpoint URL and returns its canonical form
// "scheme://host[:port]": lower-case scheme and host, no trailing slash. Only
// http and https are accepted, the host is required, and path, query, fragment
// and user information are refused because the client builds every request
// path itself.
func Normalize(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidEndpoint)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidEndpoint, clip(raw), err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("%w: %q: scheme must be http or https", ErrInvalidEndpoint, clip(raw))
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("%w: %q: host is required", ErrInvalidEndpoint, clip(raw))
	}
	if u.User != nil {
		return "", fmt.Errorf("%w: %q: user information is not supported", ErrInvalidEndpoint, clip(raw))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%w: %q: must not have a path, query or fragment", ErrInvalidEndpoint, clip(raw))
	}
	if p := u.Port(); p != "" {
		for _, c := range p {
			if c < '0' || c > '9' {
				return "", fmt.Errorf("%w: %q: bad port", ErrInvalidEndpoint, clip(raw))
			}
		}
	}
	return scheme + "://" + strings.ToLower(u.Host), nil
}

// clip bounds user or server text quoted in error messages.
func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
