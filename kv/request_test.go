package kv_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
)

// These tests pin the request each operation sends, byte for byte where the
// protocol's quirks make it matter (docs/protocol.md §3, §4, §11).

func TestRequests_MatchTheProtocol(t *testing.T) {
	type call func(ctx context.Context, k *kv.KV) (*kv.Response, error)
	cases := []struct {
		name   string
		call   call
		method string
		path   string
		params url.Values
		class  transport.Class
	}{
		{"get", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) { return k.Get(ctx, "/a") }),
			"GET", "/keys/a", url.Values{}, transport.Safe},
		{"get recursive sorted", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.Get(ctx, "/d/", kv.WithRecursive(), kv.WithSorted())
		}), "GET", "/keys/d", url.Values{"recursive": {"true"}, "sorted": {"true"}}, transport.Safe},
		{"get root", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) { return k.Get(ctx, "/") }),
			"GET", "/keys", url.Values{}, transport.Safe},
		{"set", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) { return k.Set(ctx, "a b", "v") }),
			"PUT", "/keys/a%20b", url.Values{"value": {"v"}}, transport.Unsafe},
		{"set empty value with ttl rounded up", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.Set(ctx, "/a", "", kv.WithTTL(1500*time.Millisecond))
		}), "PUT", "/keys/a", url.Values{"value": {""}, "ttl": {"2"}}, transport.Unsafe},
		{"set dir", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.Set(ctx, "/d", "ignored", kv.WithDir())
		}),
			"PUT", "/keys/d", url.Values{"dir": {"true"}}, transport.Unsafe},
		{"set prevExist false", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.Set(ctx, "/a", "v", kv.WithPrevExist(false))
		}), "PUT", "/keys/a", url.Values{"value": {"v"}, "prevExists": {"false"}}, transport.Unsafe},
		{"set prevValue and prevIndex", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.Set(ctx, "/a", "v", kv.WithPrevValue("old;x"), kv.WithPrevIndex(9))
		}), "PUT", "/keys/a", url.Values{"value": {"v"}, "prevValue": {"old;x"}, "prevIndex": {"9"}}, transport.Unsafe},
		{"create", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.Create(ctx, "/a", "v", kv.WithTTL(time.Minute))
		}),
			"PUT", "/keys/a", url.Values{"value": {"v"}, "ttl": {"60"}, "prevExists": {"false"}}, transport.Unsafe},
		{"update resends value", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) { return k.Update(ctx, "/a", "") }),
			"PUT", "/keys/a", url.Values{"value": {""}, "prevExists": {"true"}}, transport.Unsafe},
		{"update with ttl", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.Update(ctx, "/a", "v", kv.WithTTL(5*time.Second))
		}),
			"PUT", "/keys/a", url.Values{"value": {"v"}, "ttl": {"5"}, "prevExists": {"true"}}, transport.Unsafe},
		{"cas", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.CompareAndSwap(ctx, "/a", "new", kv.WithPrevIndex(3), kv.WithTTL(time.Second))
		}), "PUT", "/keys/a", url.Values{"value": {"new"}, "prevIndex": {"3"}, "ttl": {"1"}}, transport.Unsafe},
		{"delete", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) { return k.Delete(ctx, "/a") }),
			"DELETE", "/keys/a", url.Values{}, transport.Unsafe},
		{"delete recursive", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.Delete(ctx, "/d", kv.WithRecursive())
		}),
			"DELETE", "/keys/d", url.Values{"recursive": {"true"}}, transport.Unsafe},
		{"delete dir", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) { return k.Delete(ctx, "/d", kv.WithDir()) }),
			"DELETE", "/keys/d", url.Values{"dir": {"true"}}, transport.Unsafe},
		{"delete with prevValue is a cad in the query", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.Delete(ctx, "/a", kv.WithPrevValue("v"))
		}), "DELETE", "/keys/a", url.Values{"prevValue": {"v"}}, transport.Unsafe},
		{"cad", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.CompareAndDelete(ctx, "/a", kv.WithPrevValue("v"), kv.WithPrevIndex(4))
		}), "DELETE", "/keys/a", url.Values{"prevValue": {"v"}, "prevIndex": {"4"}}, transport.Unsafe},
		{"create in order", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.CreateInOrder(ctx, "/q/", "job", kv.WithTTL(time.Hour))
		}), "POST", "/keys/q", url.Values{"value": {"job"}, "ttl": {"3600"}}, transport.Unsafe},
		{"create in order dir", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.CreateInOrder(ctx, "/q", "", kv.WithDir())
		}), "POST", "/keys/q", url.Values{"dir": {"true"}}, transport.Unsafe},
		{"mkdir", call(func(ctx context.Context, k *kv.KV) (*kv.Response, error) {
			return k.Mkdir(ctx, "/d", kv.WithTTL(time.Minute))
		}),
			"PUT", "/keys/d", url.Values{"dir": {"true"}, "prevExists": {"false"}, "ttl": {"60"}}, transport.Unsafe},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &recorder{}
			_, err := c.call(t.Context(), kv.New(d))
			require.NoError(t, err)
			require.Equal(t, 1, d.count())
			req := d.last()
			assert.Equal(t, c.method, req.Method)
			assert.Equal(t, c.path, req.Path)
			assert.Equal(t, c.params, req.Params)
			assert.Equal(t, c.class, req.Class)
			assert.NotEmpty(t, req.Op)
			assert.NotContains(t, req.Params, "prevExist")
			assert.NotContains(t, req.Params, "stream")
		})
	}
}

func TestInvalidInput_SendsNothing(t *testing.T) {
	cases := []struct {
		name string
		call func(ctx context.Context, k *kv.KV) error
		want error
	}{
		{"empty key", func(ctx context.Context, k *kv.KV) error { _, err := k.Get(ctx, ""); return err }, kv.ErrInvalidKey},
		{"dotdot", func(ctx context.Context, k *kv.KV) error { _, err := k.Set(ctx, "/a/../b", "v"); return err }, kv.ErrInvalidKey},
		{"control char", func(ctx context.Context, k *kv.KV) error { _, err := k.Delete(ctx, "/a\nb"); return err }, kv.ErrInvalidKey},
		{"reserved set", func(ctx context.Context, k *kv.KV) error {
			_, err := k.Set(ctx, "/_deimos/machines/x", "v")
			return err
		}, kv.ErrReservedKey},
		{"reserved delete", func(ctx context.Context, k *kv.KV) error {
			_, err := k.Delete(ctx, "/_deimos", kv.WithRecursive())
			return err
		}, kv.ErrReservedKey},
		{"reserved in order", func(ctx context.Context, k *kv.KV) error {
			_, err := k.CreateInOrder(ctx, "_deimos/machines", "v")
			return err
		}, kv.ErrReservedKey},
		{"ttl zero", func(ctx context.Context, k *kv.KV) error { _, err := k.Set(ctx, "/a", "v", kv.WithTTL(0)); return err }, kv.ErrInvalidTTL},
		{"ttl below a second", func(ctx context.Context, k *kv.KV) error {
			_, err := k.Create(ctx, "/a", "v", kv.WithTTL(999*time.Millisecond))
			return err
		}, kv.ErrInvalidTTL},
		{"ttl negative", func(ctx context.Context, k *kv.KV) error {
			_, err := k.Update(ctx, "/a", "v", kv.WithTTL(-time.Second))
			return err
		}, kv.ErrInvalidTTL},
		{"ttl huge", func(ctx context.Context, k *kv.KV) error {
			_, err := k.Mkdir(ctx, "/a", kv.WithTTL(kv.MaxTTL+time.Second))
			return err
		}, kv.ErrInvalidTTL},
		{"cas without condition", func(ctx context.Context, k *kv.KV) error { _, err := k.CompareAndSwap(ctx, "/a", "v"); return err }, kv.ErrInvalidOption},
		{"cas with ttl only", func(ctx context.Context, k *kv.KV) error {
			_, err := k.CompareAndSwap(ctx, "/a", "v", kv.WithTTL(time.Minute))
			return err
		}, kv.ErrInvalidOption},
		{"cad without condition", func(ctx context.Context, k *kv.KV) error { _, err := k.CompareAndDelete(ctx, "/a"); return err }, kv.ErrInvalidOption},
		{"cad prevValue too long for a query", func(ctx context.Context, k *kv.KV) error {
			_, err := k.CompareAndDelete(ctx, "/a", kv.WithPrevValue(strings.Repeat("v", kv.MaxDeletePrevValue+1)))
			return err
		}, kv.ErrInvalidOption},
		{"empty prevValue", func(ctx context.Context, k *kv.KV) error {
			_, err := k.CompareAndSwap(ctx, "/a", "v", kv.WithPrevValue(""))
			return err
		}, kv.ErrInvalidOption},
		{"prevIndex zero", func(ctx context.Context, k *kv.KV) error {
			_, err := k.CompareAndDelete(ctx, "/a", kv.WithPrevIndex(0))
			return err
		}, kv.ErrInvalidOption},
		{"prevExist with prevValue", func(ctx context.Context, k *kv.KV) error {
			_, err := k.Set(ctx, "/a", "v", kv.WithPrevExist(true), kv.WithPrevValue("x"))
			return err
		}, kv.ErrInvalidOption},
		{"dir with prevIndex", func(ctx context.Context, k *kv.KV) error {
			_, err := k.Set(ctx, "/a", "v", kv.WithDir(), kv.WithPrevIndex(2))
			return err
		}, kv.ErrInvalidOption},
		{"dir update", func(ctx context.Context, k *kv.KV) error {
			_, err := k.Set(ctx, "/a", "v", kv.WithDir(), kv.WithPrevExist(true))
			return err
		}, kv.ErrInvalidOption},
		{"recursive cad", func(ctx context.Context, k *kv.KV) error {
			_, err := k.Delete(ctx, "/a", kv.WithRecursive(), kv.WithPrevValue("x"))
			return err
		}, kv.ErrInvalidOption},
		{"sorted and numeric", func(ctx context.Context, k *kv.KV) error {
			_, err := k.List(ctx, "/q", kv.WithSorted(), kv.WithNumericOrder())
			return err
		}, kv.ErrInvalidOption},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &recorder{}
			err := c.call(t.Context(), kv.New(d))
			require.Error(t, err)
			assert.ErrorIs(t, err, c.want)
			assert.Zero(t, d.count(), "a request was sent")
		})
	}
}

func TestResponse_CarriesProtocolMetadata(t *testing.T) {
	d := &recorder{}
	resp, err := kv.New(d).Get(t.Context(), "/k")
	require.NoError(t, err)
	assert.Equal(t, uint64(7), resp.Index)
	assert.Equal(t, uint64(70), resp.RaftIndex)
	assert.Equal(t, uint64(2), resp.RaftTerm)
	assert.Equal(t, "v", resp.Node.Value)
}

func TestList_NumericOrderSortsByCreation(t *testing.T) {
	d := &recorder{body: `{"action":"get","node":{"key":"/q","dir":true,"nodes":[
		{"key":"/q/1000","value":"c","modifiedIndex":1000,"createdIndex":1000},
		{"key":"/q/999","value":"b","modifiedIndex":999,"createdIndex":999},
		{"key":"/q/7","value":"a","modifiedIndex":7,"createdIndex":7}],"modifiedIndex":7,"createdIndex":7}}`}
	resp, err := kv.New(d).List(t.Context(), "/q", kv.WithNumericOrder())
	require.NoError(t, err)
	var keys []string
	for _, n := range resp.Node.Nodes {
		keys = append(keys, n.Key)
	}
	assert.Equal(t, []string{"/q/7", "/q/999", "/q/1000"}, keys)
	assert.Empty(t, d.last().Params, "numeric order is sorted locally")
}

func TestList_OfAFileIsNotDir(t *testing.T) {
	d := &recorder{}
	_, err := kv.New(d).List(t.Context(), "/k")
	require.Error(t, err)
	var se *kv.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 104, se.Code)
}

// The server can answer a write with the X-Deimos-Index of a later write
// (docs/protocol.md §6.2): the write's index is its node's.
func TestResponse_WriteIndexIsTheNodes(t *testing.T) {
	d := &recorder{header: 12}
	k := kv.New(d)
	writes := map[string]func() (*kv.Response, error){
		"set":              func() (*kv.Response, error) { return k.Set(t.Context(), "/k", "v") },
		"create":           func() (*kv.Response, error) { return k.Create(t.Context(), "/k", "v") },
		"update":           func() (*kv.Response, error) { return k.Update(t.Context(), "/k", "v") },
		"compareAndSwap":   func() (*kv.Response, error) { return k.CompareAndSwap(t.Context(), "/k", "v", kv.WithPrevIndex(3)) },
		"delete":           func() (*kv.Response, error) { return k.Delete(t.Context(), "/k") },
		"compareAndDelete": func() (*kv.Response, error) { return k.CompareAndDelete(t.Context(), "/k", kv.WithPrevValue("v")) },
		"createInOrder":    func() (*kv.Response, error) { return k.CreateInOrder(t.Context(), "/q", "v") },
		"mkdir":            func() (*kv.Response, error) { return k.Mkdir(t.Context(), "/d") },
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			resp, err := write()
			require.NoError(t, err)
			assert.Equal(t, uint64(7), resp.Index, "the node's modifiedIndex")
			assert.Equal(t, uint64(12), resp.HeaderIndex, "the raw header stays reachable")
		})
	}
	resp, err := k.Get(t.Context(), "/k")
	require.NoError(t, err)
	assert.Equal(t, uint64(12), resp.Index, "a read keeps the header: the index it was applied at")
	assert.Equal(t, uint64(12), resp.HeaderIndex)
}
