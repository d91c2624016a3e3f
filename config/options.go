package config

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Defaults of the options.
const (
	// DefaultInitialTimeout is how long Watch waits for the first listing
	// before it returns a stale Value holding the default.
	DefaultInitialTimeout = 5 * time.Second
	// DefaultProbeInterval is how often a Value checks that the cluster
	// answers reads, so an outage shows as Stale.
	DefaultProbeInterval = 5 * time.Second
)

// Option configures a Value of type T. T is inferred from WithDefault,
// WithValidate and WithCodec; the options whose arguments do not mention T
// name it: config.WithLogger[Settings](logger).
type Option[T any] func(*settings[T])

type settings[T any] struct {
	codec          kv.Codec[T]
	def            T
	validate       func(T) error
	layers         []string
	logger         *slog.Logger
	requireInitial bool
	initialTimeout time.Duration
	probeInterval  time.Duration
	watchDir       string
	onInvalid      func(*InvalidValueError)
	err            error // the first invalid option
}

func defaultSettings[T any]() settings[T] {
	return settings[T]{
		codec:          kv.JSONCodec[T]{},
		initialTimeout: DefaultInitialTimeout,
		probeInterval:  DefaultProbeInterval,
	}
}

func (s *settings[T]) fail(format string, args ...any) {
	if s.err == nil {
		s.err = errors.Join(kv.ErrInvalidOption, fmt.Errorf("config: "+format, args...))
	}
}

// WithCodec decodes the stored strings with c instead of kv.JSONCodec. A
// codec that also implements Overlay[T] supports merging layers field by
// field; any other codec makes the highest present layer replace the rest.
func WithCodec[T any](c kv.Codec[T]) Option[T] {
	return func(s *settings[T]) {
		if c == nil {
			s.fail("nil codec")
			return
		}
		s.codec = c
	}
}

// WithDefault sets the value served while no key exists (and before the
// first listing). With the JSON codec it is also the base every stored layer
// is decoded onto, so fields a stored value leaves out keep their default.
// The default is trusted: it is not passed to the validator.
func WithDefault[T any](v T) Option[T] {
	return func(s *settings[T]) { s.def = v }
}

// WithValidate rejects decoded values for which fn returns an error: the
// Value keeps serving its last good value and reports an InvalidValueError.
// fn sees the merged value of all layers.
func WithValidate[T any](fn func(T) error) Option[T] {
	return func(s *settings[T]) {
		if fn == nil {
			s.fail("nil validator")
			return
		}
		s.validate = fn
	}
}

// WithLayers adds keys layered over the key given to Watch, in order: a later
// key takes precedence over an earlier one. With the JSON codec, the default
// and then every present layer are decoded into the same value, as
// json.Unmarshal does onto an existing value: a layer overrides only the
// fields it holds, struct fields merge recursively, a map gains or replaces
// the entries a layer lists, arrays and scalars are replaced, and null
// clears. With another codec the highest present layer wins as a whole.
// Every present layer must decode.
func WithLayers[T any](keys ...string) Option[T] {
	return func(s *settings[T]) { s.layers = append(s.layers, keys...) }
}

// WithLogger logs rejected values and staleness changes (WARN), changes of
// the value (INFO) and recovered callback panics (ERROR) to l. Without it the
// Value logs nothing.
func WithLogger[T any](l *slog.Logger) Option[T] {
	return func(s *settings[T]) { s.logger = l }
}

// WithRequireInitial makes Watch fail when it cannot read the keys within
// the initial timeout, or when the stored value is invalid, instead of
// returning a stale Value that serves the default and fills in later.
func WithRequireInitial[T any]() Option[T] {
	return func(s *settings[T]) { s.requireInitial = true }
}

// WithInitialTimeout sets how long Watch waits for the first listing
// (default DefaultInitialTimeout).
func WithInitialTimeout[T any](d time.Duration) Option[T] {
	return func(s *settings[T]) {
		if d <= 0 {
			s.fail("initial timeout %v must be positive", d)
			return
		}
		s.initialTimeout = d
	}
}

// WithProbeInterval sets how often the Value reads its keys to find out
// whether the cluster answers (default DefaultProbeInterval). A probe that
// gets no answer within one interval makes the Value stale; zero turns
// probing off, leaving Stale to report only the failures of the watch itself.
// Each probe is one read per key, and a read costs the cluster a log entry.
func WithProbeInterval[T any](d time.Duration) Option[T] {
	return func(s *settings[T]) {
		if d < 0 {
			s.fail("probe interval %v must not be negative", d)
			return
		}
		s.probeInterval = d
	}
}

// WithWatchDir makes the Value follow dir, which must be "/" or an ancestor
// of every key, instead of the directories it chooses (see the package
// documentation). It trades crash safety for fewer sibling events: a real
// server crashes when a directory above dir is deleted while dir is watched.
func WithWatchDir[T any](dir string) Option[T] {
	return func(s *settings[T]) {
		clean, err := kv.CleanKey(dir)
		if err != nil {
			s.fail("watch directory: %w", err)
			return
		}
		s.watchDir = clean
	}
}

// WithOnInvalid calls fn for every stored value the Value rejects, on the
// goroutine that runs the OnChange callbacks.
func WithOnInvalid[T any](fn func(*InvalidValueError)) Option[T] {
	return func(s *settings[T]) { s.onInvalid = fn }
}
