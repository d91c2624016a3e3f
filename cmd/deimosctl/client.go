package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	deimos "github.com/marsevilspirit/deimos-client"
)

// Defaults of the global flags.
const (
	defaultTimeout = 5 * time.Second
	// attemptTimeout bounds one request to one node, so that a hung node
	// leaves time to fail over within the command's timeout (the SDK's own
	// default, well under the server's 10 s).
	attemptTimeout = 3 * time.Second
	// envEndpoints names the variable that replaces the default endpoint.
	envEndpoints = "DEIMOS_ENDPOINTS"
)

// globalFlags are the flags every command shares.
type globalFlags struct {
	endpoints string
	cacert    string
	cert      string
	key       string
	insecure  bool
	timeout   time.Duration
	output    string
	noSync    bool
}

func (g *globalFlags) register(root *cobra.Command, getenv func(string) string) {
	def := deimos.DefaultEndpoint
	if env := strings.TrimSpace(getenv(envEndpoints)); env != "" {
		def = env
	}
	f := root.PersistentFlags()
	f.StringVar(&g.endpoints, "endpoints", def, "comma-separated client URLs of cluster nodes (default: $"+envEndpoints+", else "+deimos.DefaultEndpoint+")")
	f.StringVar(&g.cacert, "cacert", "", "PEM file of the CAs that sign the servers' certificates")
	f.StringVar(&g.cert, "cert", "", "PEM file of the client certificate (with --key)")
	f.StringVar(&g.key, "key", "", "PEM file of the client certificate's private key (with --cert)")
	f.BoolVar(&g.insecure, "insecure-skip-verify", false, "accept any server certificate (testing only)")
	f.DurationVar(&g.timeout, "timeout", defaultTimeout, "time limit of a command (0: none); watch, lock and elect use it to reach the cluster and for each request")
	f.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	f.BoolVar(&g.noSync, "no-sync", false, "use only --endpoints; do not learn the other members from /machines")
}

// validate checks what the flag parser cannot.
func (g *globalFlags) validate() error {
	if g.output != "table" && g.output != "json" {
		return fmt.Errorf("--output %q: want table or json", g.output)
	}
	if g.timeout < 0 {
		return fmt.Errorf("--timeout %v must not be negative", g.timeout)
	}
	if (g.cert == "") != (g.key == "") {
		return errors.New("--cert and --key go together")
	}
	if len(g.endpointList()) == 0 {
		return errors.New("--endpoints: no endpoint given")
	}
	return nil
}

func (g *globalFlags) endpointList() []string {
	var out []string
	for _, e := range strings.Split(g.endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// clientOptions turns the global flags into SDK options for endpoints.
func (g *globalFlags) clientOptions(endpoints []string) ([]deimos.Option, error) {
	opts := []deimos.Option{
		deimos.WithEndpoints(endpoints...),
		deimos.WithUserAgent("deimosctl"),
		deimos.WithRequestTimeout(g.attemptTimeout()),
	}
	cfg, err := g.tlsConfig()
	if err != nil {
		return nil, usageError{err}
	}
	if cfg != nil {
		opts = append(opts, deimos.WithTLSConfig(cfg))
	}
	return opts, nil
}

// attemptTimeout is the per-request bound: the SDK's default, shortened to
// fit a shorter --timeout.
func (g *globalFlags) attemptTimeout() time.Duration {
	if g.timeout > 0 && g.timeout < attemptTimeout {
		return g.timeout
	}
	return attemptTimeout
}

// tlsConfig builds the TLS configuration of the TLS flags, nil without any.
func (g *globalFlags) tlsConfig() (*tls.Config, error) {
	if g.cacert == "" && g.cert == "" && !g.insecure {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: g.insecure} //nolint:gosec // opt-in flag
	if g.cacert != "" {
		pem, err := os.ReadFile(g.cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate found", g.cacert)
		}
		cfg.RootCAs = pool
	}
	if g.cert != "" {
		pair, err := tls.LoadX509KeyPair(g.cert, g.key)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// connect returns a client of the cluster. Unless --no-sync it first asks
// the cluster for its members, which also proves that it answers.
func (a *app) connect(ctx context.Context) (*deimos.Client, error) {
	opts, err := a.flags.clientOptions(a.flags.endpointList())
	if err != nil {
		return nil, err
	}
	if a.flags.noSync {
		return deimos.New(opts...), nil
	}
	return deimos.Connect(ctx, opts...)
}

// commandContext bounds a one-shot command by --timeout.
func (a *app) commandContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.flags.timeout == 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.flags.timeout)
}

// connectContext bounds reaching the cluster for the long-running commands
// (watch, lock, elect), and each of their final requests (unlock, resign).
func (a *app) connectContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return a.commandContext(ctx)
}
