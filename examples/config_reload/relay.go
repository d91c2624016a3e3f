package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
)

// relay forwards TCP connections from a local address to one node. Cut
// closes the address and every connection through it, as if the node had
// gone down; Restore listens on the same address again.
type relay struct {
	target string // host:port of the node
	addr   string // our host:port

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newRelay(endpoint string) (*relay, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("relay: endpoint %q is not a URL", endpoint)
	}
	r := &relay{target: u.Host, conns: make(map[net.Conn]struct{})}
	if err := r.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return r, nil
}

// URL is the endpoint to give a client instead of the node's.
func (r *relay) URL() string { return "http://" + r.addr }

func (r *relay) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	r.mu.Lock()
	r.ln, r.addr = ln, ln.Addr().String()
	r.mu.Unlock()
	r.wg.Add(1)
	go r.accept(ln)
	return nil
}

func (r *relay) accept(ln net.Listener) {
	defer r.wg.Done()
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", r.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		r.track(in, out)
		r.wg.Add(2)
		go r.pipe(in, out)
		go r.pipe(out, in)
	}
}

func (r *relay) track(conns ...net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range conns {
		r.conns[c] = struct{}{}
	}
}

func (r *relay) pipe(dst, src net.Conn) {
	defer r.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}

// Cut stops accepting and closes every relayed connection.
func (r *relay) Cut() {
	r.mu.Lock()
	if r.ln != nil {
		_ = r.ln.Close()
		r.ln = nil
	}
	for c := range r.conns {
		_ = c.Close()
	}
	clear(r.conns)
	r.mu.Unlock()
	r.wg.Wait()
}

// Restore accepts connections on the same address again.
func (r *relay) Restore() error { return r.listen(r.addr) }

// Close cuts the relay for good.
func (r *relay) Close() { r.Cut() }
