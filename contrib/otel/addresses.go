package otel

import (
	"net"
	"net/url"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
)

// address is an endpoint URL's attributes, parsed once.
type address struct {
	address, port, scheme attribute.KeyValue
	set                   attribute.Set // address and port, for the health gauge
}

// addresses caches the attributes of every endpoint URL seen, and whether
// each endpoint is healthy, for the health gauge.
type addresses struct {
	parsed sync.Map // URL -> *address; read on every attempt

	mu      sync.Mutex
	healthy map[string]bool // the endpoints of the client, by URL
}

func newAddresses() *addresses {
	return &addresses{healthy: make(map[string]bool)}
}

func (a *addresses) of(endpoint string) *address {
	if p, ok := a.parsed.Load(endpoint); ok {
		return p.(*address)
	}
	p, _ := a.parsed.LoadOrStore(endpoint, parseAddress(endpoint))
	return p.(*address)
}

// parseAddress splits "http://host:port" into server.address, server.port
// and url.scheme; a missing port is the scheme's default.
func parseAddress(endpoint string) *address {
	host, scheme, port := endpoint, "", 0
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		scheme, host = u.Scheme, u.Host
		if h, p, err := net.SplitHostPort(u.Host); err == nil {
			host = h
			port, _ = strconv.Atoi(p)
		} else if scheme == "https" {
			port = 443
		} else {
			port = 80
		}
	}
	p := &address{
		address: semconv.ServerAddressKey.String(host),
		port:    semconv.ServerPortKey.Int(port),
		scheme:  semconv.URLSchemeKey.String(scheme),
	}
	p.set = attribute.NewSet(p.address, p.port)
	return p
}

// setHealthy records an endpoint's health; known says it stays listed.
func (a *addresses) setHealthy(endpoint string, healthy bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, known := a.healthy[endpoint]; known {
		a.healthy[endpoint] = healthy
	}
}

// membership adds and removes endpoints; new ones are healthy.
func (a *addresses) membership(added, removed []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, u := range added {
		if _, known := a.healthy[u]; !known {
			a.healthy[u] = true
		}
	}
	for _, u := range removed {
		delete(a.healthy, u)
	}
}

// health calls f with each endpoint and 1 when it is healthy, 0 when not.
func (a *addresses) health(f func(addr *address, value int64)) {
	a.mu.Lock()
	type point struct {
		url     string
		healthy bool
	}
	points := make([]point, 0, len(a.healthy))
	for u, h := range a.healthy {
		points = append(points, point{u, h})
	}
	a.mu.Unlock()
	for _, p := range points {
		v := int64(0)
		if p.healthy {
			v = 1
		}
		f(a.of(p.url), v)
	}
}
