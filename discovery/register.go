package discovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/watch"
)

// Register writes inst under its service's directory and keeps it there
// until Deregister: a TTL key at Layout.Key(inst) holding Layout.Encode(inst),
// owned by a concurrency.Session of its own and refreshed by
// compare-and-swap on that value every third of the TTL (with jitter).
//
// It returns once the first write is acknowledged; ctx bounds only that
// write, which is retried while no node answers or its outcome is unknown
// (a create cannot apply twice, and a create that did apply is found holding
// this registration's value and adopted). A key that exists with another
// value fails with an error matching ErrDuplicateInstance, and is left
// alone; one that the server reports expired but has not reaped yet (a
// crashed predecessor's) is removed first, by compare-and-delete on its
// index. Invalid input fails with ErrInvalidInstance, or with
// ErrInvalidOption and kv.ErrInvalidTTL for a TTL that would flap (see
// WithTTL); nothing is sent then.
//
// After that the registration never gives up: a key lost during an outage
// longer than the TTL is created again (only where it is absent, never over
// another registrar's key) as soon as the cluster answers, within one
// heartbeat, and every change is reported by Status and StatusChanges.
//
// In the default layout each registration writes a random token into its
// value, so two registrations of one ID never take each other's key for
// their own. A process restarted within the TTL of its previous run's key
// gets ErrDuplicateInstance until that key expires; retry, or register under
// an ID unique to the run. The Phobos layout writes exactly Phobos's value,
// with no token: a registration that finds its very value in place takes it
// over, as a restarted server should (its ID is its listening address, which
// two live servers cannot share).
func Register(ctx context.Context, client watch.Client, inst Instance, opts ...RegisterOption) (*Registration, error) {
	cfg := defaultRegisterConfig()
	for _, o := range opts {
		o.applyRegister(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	ttl, err := cfg.checkTTL()
	if err != nil {
		return nil, err
	}
	key, dir, value, token, err := placeOf(cfg.layout, inst)
	if err != nil {
		return nil, err
	}
	if read, err := cfg.layout.Decode(key, value); err == nil {
		inst = read // as resolvers will see it (a Phobos Addr taken from the ID, say)
	} else {
		inst = cloneInstance(inst)
	}
	s, err := concurrency.NewSession(client, concurrency.WithTTL(ttl))
	if err != nil {
		return nil, err
	}
	claim, err := claimKey(ctx, s, client.KV(), key, value)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	r := newRegistration(cfg, client.KV(), s, claim, inst, dir, token)
	go r.follow()
	return r, nil
}

// placeOf returns where and how inst is written, with a fresh token.
func placeOf(l Layout, inst Instance) (key, dir, value, token string, err error) {
	if key, err = l.Key(inst); err != nil {
		return "", "", "", "", err
	}
	if dir, err = l.Dir(inst.Service); err != nil {
		return "", "", "", "", err
	}
	token = newRegistrationToken()
	if value, err = encodeFor(l, inst, token); err != nil {
		return "", "", "", "", err
	}
	return key, dir, value, token, nil
}

// registrationEncoder is a Layout that can write the token of the
// registration into the value (the JSON layout does).
type registrationEncoder interface {
	encodeRegistration(inst Instance, token string) (string, error)
}

// encodeFor encodes inst as the registration with token writes it.
func encodeFor(l Layout, inst Instance, token string) (string, error) {
	if e, ok := l.(registrationEncoder); ok {
		return e.encodeRegistration(inst, token)
	}
	return l.Encode(inst)
}

func newRegistrationToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics on failure)
	return hex.EncodeToString(b[:])
}

// claimKey creates the key with the session, re-created whenever it is lost.
// A key the server already reports expired is evicted once and tried again.
func claimKey(ctx context.Context, s *concurrency.Session, k *kv.KV, key, value string) (*concurrency.Claim, error) {
	for evicted := false; ; evicted = true {
		c, err := s.Claim(ctx, key, value, concurrency.WithRecreate(), concurrency.WithAdopt())
		switch {
		case err == nil:
			return c, nil
		case !errors.Is(err, concurrency.ErrKeyTaken):
			return nil, fmt.Errorf("discovery: registering %s: %w", key, err)
		case evicted || !evictExpired(ctx, k, key):
			return nil, fmt.Errorf("%w: %s: %w", ErrDuplicateInstance, key, err)
		}
	}
}

// evictExpired removes key if the server reports it expired (it reaps
// seconds late, and until then a create fails), by compare-and-delete on
// its modifiedIndex so a key refreshed meanwhile stays. It reports whether
// the key is gone.
func evictExpired(ctx context.Context, k *kv.KV, key string) bool {
	g, err := k.Get(ctx, key)
	if errors.Is(err, kv.ErrKeyNotFound) {
		return true
	}
	if err != nil || g.Node.Dir || g.Node.Expiration == nil || g.Node.TTL > 0 {
		return false
	}
	_, err = k.CompareAndDelete(ctx, key, kv.WithPrevIndex(g.Node.ModifiedIndex))
	return err == nil || errors.Is(err, kv.ErrKeyNotFound)
}

func cloneInstance(i Instance) Instance {
	i.Metadata = maps.Clone(i.Metadata)
	return i
}
