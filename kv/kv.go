package kv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/marsevilspirit/deimos-client/internal/transport"
)

// Doer carries one request description to the cluster. It is the method of
// the SDK's own transport, whose request type is internal: programs do not
// implement it, they get a *KV from deimos.Client.KV (or use a *deimos.Client
// wherever a package asks for one). The SDK's tests plug fakes in through it.
type Doer interface {
	Do(ctx context.Context, req *transport.Request, out any) (*transport.Response, error)
}

// KV runs typed key-space operations over a Doer. It holds no state besides
// the Doer and is safe for concurrent use.
type KV struct {
	doer Doer
}

// New returns a KV that sends its requests through doer.
func New(doer Doer) *KV { return &KV{doer: doer} }

// Doer returns the Doer the KV sends through, so packages built on kv (watch,
// concurrency) reach the same transport without importing the facade.
func (k *KV) Doer() Doer { return k.doer }

// Get reads a key. For a directory the node lists its children (one level,
// or the subtree with WithRecursive), in random order unless WithSorted.
func (k *KV) Get(ctx context.Context, key string, opts ...GetOption) (*Response, error) {
	const op = "get"
	clean, err := CleanKey(key)
	if err != nil {
		return nil, err
	}
	var p params
	for _, o := range opts {
		o.applyGet(&p)
	}
	if p.err != nil {
		return nil, optionError(op, clean, p.err)
	}
	var q url.Values
	if p.recursive || p.sorted {
		q = make(url.Values, 2)
		setBool(q, "recursive", p.recursive)
		setBool(q, "sorted", p.sorted)
	}
	return k.do(ctx, op, http.MethodGet, clean, q, transport.Safe)
}

// Set writes value at key, creating or replacing it. With WithPrevExist,
// WithPrevValue or WithPrevIndex it becomes a create, update or
// compare-and-swap, like the dedicated methods. A replaced key gets a new
// CreatedIndex and only the TTL of this call.
func (k *KV) Set(ctx context.Context, key, value string, opts ...SetOption) (*Response, error) {
	clean, err := cleanWriteKey(key)
	if err != nil {
		return nil, err
	}
	var p params
	for _, o := range opts {
		o.applySet(&p)
	}
	return k.put(ctx, setOp(&p), clean, value, &p)
}

// Create writes value at key only if the key does not exist; otherwise it
// fails with ErrNodeExist. It is safe to retry after ErrUnknownOutcome: a
// second attempt cannot overwrite a value (but may report ErrNodeExist for
// the first attempt's write).
func (k *KV) Create(ctx context.Context, key, value string, opts ...CreateOption) (*Response, error) {
	clean, err := cleanWriteKey(key)
	if err != nil {
		return nil, err
	}
	p := params{prevExist: false, hasPrevExist: true}
	for _, o := range opts {
		o.applyCreate(&p)
	}
	return k.put(ctx, "create", clean, value, &p)
}

// Update replaces the value of an existing key (ErrKeyNotFound otherwise).
// The value and the TTL are both replaced: without WithTTL the key becomes
// permanent, so pass the TTL again to refresh it.
func (k *KV) Update(ctx context.Context, key, value string, opts ...UpdateOption) (*Response, error) {
	clean, err := cleanWriteKey(key)
	if err != nil {
		return nil, err
	}
	p := params{prevExist: true, hasPrevExist: true}
	for _, o := range opts {
		o.applyUpdate(&p)
	}
	return k.put(ctx, "update", clean, value, &p)
}

// CompareAndSwap replaces the value of key only if its current value
// (WithPrevValue) and/or ModifiedIndex (WithPrevIndex) match; at least one is
// required. A mismatch fails with ErrTestFailed. Like Update, it replaces the
// TTL: without WithTTL the key becomes permanent.
func (k *KV) CompareAndSwap(ctx context.Context, key, value string, opts ...CompareAndSwapOption) (*Response, error) {
	const op = "compareAndSwap"
	clean, err := cleanWriteKey(key)
	if err != nil {
		return nil, err
	}
	var p params
	for _, o := range opts {
		o.applyCompareAndSwap(&p)
	}
	if p.err == nil && !p.conditional() {
		p.fail(fmt.Errorf("%w: WithPrevValue or WithPrevIndex is required", ErrInvalidOption))
	}
	return k.put(ctx, op, clean, value, &p)
}

// Delete removes a key. A directory needs WithDir (empty directories) or
// WithRecursive (any directory). With WithPrevValue or WithPrevIndex it is a
// compare-and-delete.
func (k *KV) Delete(ctx context.Context, key string, opts ...DeleteOption) (*Response, error) {
	clean, err := cleanWriteKey(key)
	if err != nil {
		return nil, err
	}
	var p params
	for _, o := range opts {
		o.applyDelete(&p)
	}
	op := "delete"
	if p.conditional() {
		op = "compareAndDelete"
	}
	return k.del(ctx, op, clean, &p)
}

// CompareAndDelete removes a key only if its current value (WithPrevValue)
// and/or ModifiedIndex (WithPrevIndex) match; at least one is required.
func (k *KV) CompareAndDelete(ctx context.Context, key string, opts ...CompareAndDeleteOption) (*Response, error) {
	const op = "compareAndDelete"
	clean, err := cleanWriteKey(key)
	if err != nil {
		return nil, err
	}
	var p params
	for _, o := range opts {
		o.applyCompareAndDelete(&p)
	}
	if p.err == nil && !p.conditional() {
		p.fail(fmt.Errorf("%w: WithPrevValue or WithPrevIndex is required", ErrInvalidOption))
	}
	return k.del(ctx, op, clean, &p)
}

// CreateInOrder creates a new child of dir whose name is the store index of
// the write, so children sort in creation order numerically (see
// WithNumericOrder). The parent is created when missing. The new key is
// Response.Node.Key.
func (k *KV) CreateInOrder(ctx context.Context, dir, value string, opts ...CreateInOrderOption) (*Response, error) {
	const op = "createInOrder"
	clean, err := cleanWriteKey(dir)
	if err != nil {
		return nil, err
	}
	var p params
	for _, o := range opts {
		o.applyCreateInOrder(&p)
	}
	if p.err != nil {
		return nil, optionError(op, clean, p.err)
	}
	return k.do(ctx, op, http.MethodPost, clean, writeValues(value, &p), transport.Unsafe)
}

// Mkdir creates an empty directory, failing with ErrNodeExist when the key
// exists (a plain set would silently turn an existing file into a directory).
func (k *KV) Mkdir(ctx context.Context, key string, opts ...MkdirOption) (*Response, error) {
	clean, err := cleanWriteKey(key)
	if err != nil {
		return nil, err
	}
	p := params{dir: true, hasPrevExist: true}
	for _, o := range opts {
		o.applyMkdir(&p)
	}
	return k.put(ctx, "mkdir", clean, "", &p)
}

// setOp names the operation a Set with these options performs on the server.
func setOp(p *params) string {
	switch {
	case p.hasPrevExist && p.prevExist:
		return "update"
	case p.hasPrevExist:
		return "create"
	case p.conditional():
		return "compareAndSwap"
	}
	return "set"
}

// put validates option combinations the server would silently reinterpret,
// then sends a PUT with a form body.
func (k *KV) put(ctx context.Context, op, clean, value string, p *params) (*Response, error) {
	if p.err == nil {
		switch {
		case p.hasPrevExist && p.conditional():
			p.fail(fmt.Errorf("%w: prevExist cannot be combined with prevValue or prevIndex (the server ignores them)", ErrInvalidOption))
		case p.dir && p.conditional():
			p.fail(fmt.Errorf("%w: dir cannot be combined with prevValue or prevIndex", ErrInvalidOption))
		case p.dir && p.hasPrevExist && p.prevExist:
			p.fail(fmt.Errorf("%w: dir cannot be combined with an update", ErrInvalidOption))
		}
	}
	if p.err != nil {
		return nil, optionError(op, clean, p.err)
	}
	return k.do(ctx, op, http.MethodPut, clean, writeValues(value, p), transport.Unsafe)
}

// MaxDeletePrevValue is the longest prevValue a compare-and-delete accepts.
// A DELETE carries its parameters in the query string (the server ignores a
// DELETE body), escaping can triple their size, and the server refuses
// request lines above about 1 MiB (HTTP 431).
const MaxDeletePrevValue = 256 << 10

// del sends a DELETE with every parameter in the query string (the server
// ignores a DELETE body, which would turn a conditional delete into an
// unconditional one).
func (k *KV) del(ctx context.Context, op, clean string, p *params) (*Response, error) {
	switch {
	case p.err != nil:
	case p.conditional() && (p.dir || p.recursive):
		p.fail(fmt.Errorf("%w: dir and recursive cannot be combined with prevValue or prevIndex (the server ignores them)", ErrInvalidOption))
	case p.hasPrevValue && len(p.prevValue) > MaxDeletePrevValue:
		p.fail(fmt.Errorf("%w: a prevValue of %d bytes does not fit in a DELETE's query string (at most %d; the server refuses request lines above about 1 MiB): compare on WithPrevIndex instead",
			ErrInvalidOption, len(p.prevValue), MaxDeletePrevValue))
	}
	if p.err != nil {
		return nil, optionError(op, clean, p.err)
	}
	var q url.Values
	if p.dir || p.recursive || p.conditional() {
		q = make(url.Values, 2)
		setBool(q, "dir", p.dir)
		setBool(q, "recursive", p.recursive)
		addConditions(q, p)
	}
	return k.do(ctx, op, http.MethodDelete, clean, q, transport.Unsafe)
}

// writeValues builds the form of a PUT or POST. The value is always sent, so
// an update never blanks a key by omission; a directory write sends no value.
func writeValues(value string, p *params) url.Values {
	q := make(url.Values, 3)
	if p.dir {
		q["dir"] = []string{"true"}
	} else {
		q["value"] = []string{value}
	}
	if p.ttl > 0 {
		q["ttl"] = []string{ttlSeconds(p.ttl)}
	}
	if p.hasPrevExist {
		q["prevExists"] = []string{strconv.FormatBool(p.prevExist)}
	}
	addConditions(q, p)
	return q
}

func addConditions(q url.Values, p *params) {
	if p.hasPrevValue {
		q["prevValue"] = []string{p.prevValue}
	}
	if p.prevIndex > 0 {
		q["prevIndex"] = []string{strconv.FormatUint(p.prevIndex, 10)}
	}
}

func setBool(q url.Values, name string, v bool) {
	if v {
		q[name] = trueValue
	}
}

// trueValue is the value of every boolean parameter, shared by all requests
// (the transport only reads parameters).
var trueValue = []string{"true"}

// do sends one request and turns the answer into a Response.
func (k *KV) do(ctx context.Context, op, method, clean string, q url.Values, class transport.Class) (*Response, error) {
	resp, _, err := k.send(ctx, op, method, clean, q, class)
	return resp, err
}

// send is do that also reports the endpoint that answered. A long poll the
// server ended without an event gives a nil Response and a nil error.
func (k *KV) send(ctx context.Context, op, method, clean string, q url.Values, class transport.Class) (*Response, string, error) {
	return k.exchange(ctx, &transport.Request{
		Op:     op,
		Method: method,
		Key:    clean,
		Path:   KeyPath(clean),
		Params: q,
		Class:  class,
	})
}

// exchange sends req, which describes a key-space request, and turns the
// answer into a Response.
func (k *KV) exchange(ctx context.Context, req *transport.Request) (*Response, string, error) {
	req.Check = requireNode
	method := req.Method
	resp := new(Response)
	meta, err := k.doer.Do(ctx, req, resp)
	if err != nil {
		return nil, "", err
	}
	if meta.Empty {
		return nil, meta.Endpoint, nil // the server ended the poll without an event
	}
	resp.HeaderIndex, resp.RaftIndex, resp.RaftTerm = meta.Index, meta.RaftIndex, meta.RaftTerm
	resp.Index = answerIndex(resp, method)
	return resp, meta.Endpoint, nil
}

// errNoNode is why an answer without a node does not serve an operation.
var errNoNode = errors.New("no node in the answer")

// requireNode is the transport's check of every key-space answer: a 2xx
// without a node is malformed, and for a write (which a 2xx says was
// applied) an unknown outcome; the transport decides which.
func requireNode(out any) error {
	if r, ok := out.(*Response); ok && r.Node == nil {
		return errNoNode
	}
	return nil
}

// answerIndex is the index a Response stands for: the header for reads, the
// node's own index for writes (docs/protocol.md §6.4: a write's X-Deimos-Index
// can name a later write).
func answerIndex(resp *Response, method string) uint64 {
	if method != http.MethodGet {
		return resp.Node.ModifiedIndex
	}
	return resp.HeaderIndex
}

func optionError(op, key string, err error) error {
	return fmt.Errorf("kv: %s %s: %w", op, key, err)
}
