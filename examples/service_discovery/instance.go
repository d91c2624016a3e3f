package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/discovery"
)

// instance is one running copy of the service: an HTTP server that answers
// with its ID, registered through a client of its own, as a separate
// process would be.
type instance struct {
	id     string
	server *http.Server
	client *deimos.Client
	reg    *discovery.Registration
	served atomic.Int64
	done   chan struct{} // closed when the server has stopped
}

func startInstance(ctx context.Context, endpoints []string, layout discovery.Layout, id string) (*instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	in := &instance{id: id, client: deimos.New(deimos.WithEndpoints(endpoints...)), done: make(chan struct{})}
	in.server = &http.Server{Handler: http.HandlerFunc(in.greet), ReadHeaderTimeout: time.Second}
	go func() {
		defer close(in.done)
		_ = in.server.Serve(ln)
	}()
	in.reg, err = discovery.Register(ctx, in.client, discovery.Instance{Service: service, ID: id, Addr: ln.Addr().String()},
		discovery.WithTTL(ttl), discovery.WithRegistrationLayout(layout))
	if err != nil {
		in.stop()
		return nil, err
	}
	go in.report()
	fmt.Printf("%s: registered at %s as %s\n", id, ln.Addr(), in.reg.Key())
	return in, nil
}

func (in *instance) greet(w http.ResponseWriter, _ *http.Request) {
	in.served.Add(1)
	_, _ = io.WriteString(w, in.id)
}

// report prints the registration's status changes after the first.
func (in *instance) report() {
	first := true
	for st := range in.reg.StatusChanges() {
		if !first && st.Kind != discovery.StatusStopped {
			fmt.Printf("%s: registration %v %v\n", in.id, st.Kind, st.Err)
		}
		first = false
	}
}

// crash stops the server at once and abandons the registration, as when the
// process is killed: nothing deregisters it.
func (in *instance) crash() {
	_ = in.server.Close()
	in.reg.Orphan()
	_ = in.client.Close()
}

// stop shuts the server down, letting calls in flight finish, and
// deregisters (a no-op after Deregister or a crash).
func (in *instance) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if in.reg != nil {
		_ = in.reg.Deregister(ctx)
	}
	_ = in.server.Shutdown(ctx)
	<-in.done
	_ = in.client.Close()
}

// greet calls the instance at addr and returns the ID it answers with.
func greet(ctx context.Context, addr string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(resp.Status)
	}
	return string(body), nil
}
