package kv_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
)

// FuzzKeyAsServerSees: key normalisation never panics; a key it accepts is rooted, has no
// empty, "." or ".." segment, is a fixed point, and its URL path decodes (as the
// server does: percent-decode, then clean) to exactly that key below /keys, with no
// query or fragment smuggled in. A key it refuses matches ErrInvalidKey.
func FuzzKeyAsServerSees(f *testing.F) {
	for _, s := range []string{
		"", "/", "a", "/a/b", "//a//b/", "..", "../x", "/a/../../b", ".", "a/./b", "%2e%2e", "%2F", "a%2Fb",
		"?", "a?b=c", "#", "a#b", "a;b", "%zz", "\x00", "a\nb", "✓", "\xff", "_hidden/x", "/_deimos/machines",
		"...", ".%2e", "a b", "+", "~", strings.Repeat("a/", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		clean, err := kv.CleanKey(key)
		if err != nil {
			if !errors.Is(err, kv.ErrInvalidKey) {
				t.Fatalf("CleanKey(%q): untyped error %v", key, err)
			}
			return
		}
		if !strings.HasPrefix(clean, "/") || !utf8.ValidString(clean) {
			t.Fatalf("CleanKey(%q) = %q: not rooted or not UTF-8", key, clean)
		}
		if clean != "/" {
			for _, seg := range strings.Split(clean[1:], "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("CleanKey(%q) = %q: segment %q", key, clean, seg)
				}
			}
		}
		again, err := kv.CleanKey(clean)
		if err != nil || again != clean {
			t.Fatalf("CleanKey(CleanKey(%q)) = %q, %v; want %q", key, again, err, clean)
		}
		p := kv.KeyPath(clean)
		u, err := url.Parse("http://node" + p)
		if err != nil {
			t.Fatalf("KeyPath(%q) = %q does not parse: %v", clean, p, err)
		}
		if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			t.Fatalf("KeyPath(%q) = %q smuggles a query or fragment", clean, p)
		}
		if u.EscapedPath() != p {
			t.Fatalf("KeyPath(%q) = %q is not in canonical escaped form (%q): the server would redirect", clean, p, u.EscapedPath())
		}
		if path.Clean(u.Path) != u.Path && clean != "/" {
			t.Fatalf("KeyPath(%q): decoded path %q is not clean, the server would resolve it", clean, u.Path)
		}
		// The server's key: the decoded path after /keys, cleaned from the root.
		server := path.Clean("/" + strings.TrimPrefix(u.Path, "/keys"))
		if u.Path != "/keys" && !strings.HasPrefix(u.Path, "/keys/") {
			t.Fatalf("KeyPath(%q) = %q leaves /keys", clean, p)
		}
		if server != clean {
			t.Fatalf("key %q: the server would address %q", clean, server)
		}
	})
}

// fuzzDoer records the request a KV sends and answers a fixed success.
type fuzzDoer struct {
	mu  sync.Mutex
	req *transport.Request
}

func (d *fuzzDoer) Do(_ context.Context, req *transport.Request, out any) (*transport.Response, error) {
	d.mu.Lock()
	cp := *req
	d.req = &cp
	d.mu.Unlock()
	body := `{"action":"set","node":{"key":"/k","value":"v","modifiedIndex":7,"createdIndex":7}}`
	if err := json.Unmarshal([]byte(body), out); err != nil {
		return nil, err
	}
	return &transport.Response{StatusCode: 200, Index: 7}, nil
}

func (d *fuzzDoer) take() *transport.Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.req
	d.req = nil
	return r
}

// FuzzOptions: random TTLs, indexes and compare values give either a typed error
// (and no request) or a request the server accepts: a ttl of whole seconds within
// [1, MaxTTL], a positive prevIndex, a non-empty prevValue, and parameters it reads.
func FuzzOptions(f *testing.F) {
	f.Add(int64(time.Second), uint64(0), "", false, uint8(0))
	f.Add(int64(1500*time.Millisecond), uint64(7), "old", true, uint8(1))
	f.Add(int64(-1), uint64(1<<63), "", true, uint8(2))
	f.Add(int64(0), uint64(1), "x", true, uint8(3))
	f.Add(int64(kv.MaxTTL)+1, uint64(0), "v", true, uint8(4))
	f.Add(int64(1<<63-1), uint64(1<<64-1), "a&b=c", true, uint8(5))
	f.Fuzz(func(t *testing.T, ttl int64, prevIndex uint64, prevValue string, withTTL bool, which uint8) {
		d := &fuzzDoer{}
		k := kv.New(d)
		ctx := context.Background()
		var err error
		var ttlOpt []kv.TTLOption
		if withTTL {
			ttlOpt = append(ttlOpt, kv.WithTTL(time.Duration(ttl)))
		}
		switch which % 6 {
		case 0:
			opts := []kv.SetOption{kv.WithPrevIndex(prevIndex), kv.WithPrevValue(prevValue)}
			for _, o := range ttlOpt {
				opts = append(opts, o)
			}
			_, err = k.Set(ctx, "/k", "v", opts...)
		case 1:
			opts := []kv.CompareAndSwapOption{kv.WithPrevIndex(prevIndex), kv.WithPrevValue(prevValue)}
			for _, o := range ttlOpt {
				opts = append(opts, o)
			}
			_, err = k.CompareAndSwap(ctx, "/k", "v", opts...)
		case 2:
			_, err = k.CompareAndDelete(ctx, "/k", kv.WithPrevIndex(prevIndex), kv.WithPrevValue(prevValue))
		case 3:
			_, err = k.Delete(ctx, "/k", kv.WithPrevIndex(prevIndex))
		case 4:
			var opts []kv.CreateOption
			for _, o := range ttlOpt {
				opts = append(opts, o)
			}
			_, err = k.Create(ctx, "/k", prevValue, opts...)
		case 5:
			var opts []kv.CompareAndSwapOption
			if prevIndex > 0 {
				opts = append(opts, kv.WithPrevIndex(prevIndex))
			}
			for _, o := range ttlOpt {
				opts = append(opts, o)
			}
			_, err = k.CompareAndSwap(ctx, "/k", "v", opts...)
		}
		req := d.take()
		if err != nil {
			if !errors.Is(err, kv.ErrInvalidTTL) && !errors.Is(err, kv.ErrInvalidOption) && !errors.Is(err, kv.ErrInvalidKey) {
				t.Fatalf("untyped error: %v", err)
			}
			if req != nil {
				t.Fatalf("a request was sent despite %v", err)
			}
			return
		}
		if req == nil {
			t.Fatal("no error and no request")
		}
		q := req.Params
		if v, ok := q["ttl"]; ok {
			n, perr := strconv.ParseInt(v[0], 10, 64)
			if perr != nil || n < 1 || time.Duration(n)*time.Second > kv.MaxTTL+time.Second {
				t.Fatalf("ttl=%q sent for %v", v[0], time.Duration(ttl))
			}
			if time.Duration(n)*time.Second < time.Duration(ttl) {
				t.Fatalf("ttl=%q is shorter than the %v asked for", v[0], time.Duration(ttl))
			}
		}
		if v, ok := q["prevIndex"]; ok {
			n, perr := strconv.ParseUint(v[0], 10, 64)
			if perr != nil || n == 0 || n != prevIndex {
				t.Fatalf("prevIndex=%q sent for %d", v[0], prevIndex)
			}
		}
		if v, ok := q["prevValue"]; ok && (v[0] == "" || v[0] != prevValue) {
			t.Fatalf("prevValue=%q sent for %q (the server rejects an empty one)", v[0], prevValue)
		}
		for name, vs := range q {
			if len(vs) != 1 {
				t.Fatalf("parameter %s sent %d times", name, len(vs))
			}
		}
	})
}
