// Command config_reload shows a service that follows its configuration live
// with package config: it loads its settings, reloads them when an operator
// changes them, refuses a value that does not decode or validate (keeping
// the good one), and rides out an outage of the node it talks to, catching
// up afterwards. It checks each step and exits with status 1 if anything is
// not as expected.
//
//	go run ./examples/config_reload
//
// It uses DEIMOS_ENDPOINTS (comma-separated http URLs) when set, otherwise a
// 3-node cluster started in-process. The service reaches the cluster through
// a local TCP relay to the first node, which the program cuts to stand for
// that node going down.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/config"
	"github.com/marsevilspirit/deimos-client/examples/internal/example"
	"github.com/marsevilspirit/deimos-client/kv"
)

func main() {
	example.Main(60*time.Second, "the service reloaded, refused bad values and rode out an outage", run)
}

// Settings is the service's configuration, stored as JSON.
type Settings struct {
	Greeting string `json:"greeting"`
	MaxConns int    `json:"maxConns"`
}

func validate(s Settings) error {
	if s.MaxConns < 1 || s.MaxConns > 10000 {
		return fmt.Errorf("maxConns %d is outside 1..10000", s.MaxConns)
	}
	return nil
}

func run(ctx context.Context, endpoints []string) error {
	admin, err := deimos.Connect(ctx, deimos.WithEndpoints(endpoints...))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer admin.Close()
	relay, err := newRelay(endpoints[0])
	if err != nil {
		return err
	}
	defer relay.Close()

	key := example.Key("config-reload") + "/service"
	op := operator{client: admin, key: key}
	if err := op.write(ctx, `{"greeting":"hello","maxConns":100}`); err != nil {
		return err
	}

	svc, err := startService(ctx, relay.URL(), key)
	if err != nil {
		return err
	}
	defer svc.stop()
	steps := []struct {
		name string
		run  func(context.Context, operator, *service) error
	}{
		{"load", checkLoaded},
		{"reload", checkReload},
		{"reject a value that does not decode", checkRejects(`{"greeting":"oops",`, kv.ErrDecode)},
		{"reject a value that does not validate", checkRejects(`{"greeting":"oops","maxConns":0}`, config.ErrValidation)},
		{"ride out an outage", func(ctx context.Context, op operator, svc *service) error {
			return checkOutage(ctx, op, svc, relay)
		}},
	}
	for _, s := range steps {
		if err := s.run(ctx, op, svc); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// operator changes the configuration, as a person with deimosctl would.
type operator struct {
	client *deimos.Client
	key    string
}

func (o operator) write(ctx context.Context, value string) error {
	_, err := o.client.Set(ctx, o.key, value)
	if err == nil {
		fmt.Printf("operator: %s = %s\n", o.key, value)
	}
	return err
}

// service is the program being configured: it serves with the current
// settings and reloads when they change.
type service struct {
	client   *deimos.Client
	cfg      *config.Value[Settings]
	reloaded chan Settings
}

func startService(ctx context.Context, endpoint, key string) (*service, error) {
	client := deimos.New(deimos.WithEndpoints(endpoint), deimos.WithRequestTimeout(500*time.Millisecond))
	cfg, err := config.Watch(ctx, client, key,
		config.WithDefault(Settings{Greeting: "hi", MaxConns: 10}),
		config.WithValidate(validate),
		config.WithProbeInterval[Settings](250*time.Millisecond),
		config.WithOnInvalid[Settings](func(e *config.InvalidValueError) {
			fmt.Printf("service: refused the value at index %d, keeping the last good one: %v\n", e.Index, e.Err)
		}))
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	svc := &service{client: client, cfg: cfg, reloaded: make(chan Settings, 16)}
	cfg.OnChange(func(old, new Settings) {
		fmt.Printf("service: reloaded: %+v -> %+v\n", old, new)
		svc.reloaded <- new
	})
	return svc, nil
}

func (s *service) stop() {
	s.cfg.Close()
	_ = s.client.Close()
}

// greet is the service's work: it reads the settings afresh each time.
func (s *service) greet() string { return s.cfg.Load().Greeting }

func checkLoaded(_ context.Context, _ operator, svc *service) error {
	got := svc.cfg.Load()
	fmt.Printf("service: started with %+v\n", got)
	return example.Check(got == Settings{Greeting: "hello", MaxConns: 100}, "started with %+v", got)
}

func checkReload(ctx context.Context, op operator, svc *service) error {
	if err := op.write(ctx, `{"greeting":"bonjour","maxConns":200}`); err != nil {
		return err
	}
	got, err := nextReload(ctx, svc)
	if err != nil {
		return err
	}
	return example.Check(got.Greeting == "bonjour" && svc.greet() == "bonjour", "reloaded to %+v", got)
}

// checkRejects writes a bad value and checks that the service keeps serving
// the good one and says why.
func checkRejects(bad string, cause error) func(context.Context, operator, *service) error {
	return func(ctx context.Context, op operator, svc *service) error {
		before := svc.cfg.Load()
		if err := op.write(ctx, bad); err != nil {
			return err
		}
		var ive *config.InvalidValueError
		if err := waitUntil(ctx, func() bool { return errors.As(svc.cfg.Err(), &ive) && errors.Is(ive, cause) }); err != nil {
			return fmt.Errorf("no rejection reported (err: %v): %w", svc.cfg.Err(), err)
		}
		return example.Check(svc.cfg.Load() == before, "serving %+v, want the last good %+v", svc.cfg.Load(), before)
	}
}

func checkOutage(ctx context.Context, op operator, svc *service, relay *relay) error {
	relay.Cut()
	fmt.Println("outage: the service's node is unreachable")
	if err := waitUntil(ctx, svc.cfg.Stale); err != nil {
		return fmt.Errorf("never stale: %w", err)
	}
	fmt.Printf("service: stale, still serving %q\n", svc.greet())
	if err := op.write(ctx, `{"greeting":"hola","maxConns":300}`); err != nil {
		return err
	}
	if svc.greet() != "bonjour" {
		return fmt.Errorf("serving %q during the outage, want the last known value", svc.greet())
	}
	if err := relay.Restore(); err != nil {
		return err
	}
	fmt.Println("outage over")
	if err := waitUntil(ctx, func() bool { return !svc.cfg.Stale() }); err != nil {
		return fmt.Errorf("still stale: %v: %w", svc.cfg.Err(), err)
	}
	got, err := nextReload(ctx, svc)
	if err != nil {
		return err
	}
	return example.Check(got.Greeting == "hola" && svc.greet() == "hola", "caught up to %+v", got)
}

// nextReload returns the settings of the next reload, skipping none.
func nextReload(ctx context.Context, svc *service) (Settings, error) {
	select {
	case s := <-svc.reloaded:
		return s, nil
	case <-ctx.Done():
		return Settings{}, fmt.Errorf("no reload: %w", ctx.Err())
	}
}

// waitUntil polls cond until it holds or ctx ends.
func waitUntil(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
