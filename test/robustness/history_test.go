package robustness

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// opKind names a key-value operation of the traffic.
type opKind string

const (
	opGet    opKind = "get"
	opSet    opKind = "set"
	opCreate opKind = "create"
	opCAS    opKind = "cas"
	opCAD    opKind = "cad"
	opDelete opKind = "delete"
)

// result is what a recorded operation is known to have done.
type result int

const (
	// resOK: the server answered success.
	resOK result = iota
	// resFailed: the server answered an error that proves the operation was not
	// applied (key not found, compare failed, key exists); it is checked too.
	resFailed
	// resUnknown: the operation may or may not have been applied (ErrUnknownOutcome, a
	// timeout after sending, any error the SDK does not classify as "not applied").
	resUnknown
	// resNotApplied: the SDK says the request never reached a server
	// (ErrClusterUnavailable without ErrUnknownOutcome); checked as "did not happen".
	resNotApplied
	// resRejected: a read that failed, or a write the server refused for a reason
	// the model does not cover; it has no effect and is left out of the check.
	resRejected
)

func (r result) String() string {
	switch r {
	case resOK:
		return "ok"
	case resFailed:
		return "failed"
	case resUnknown:
		return "unknown"
	case resNotApplied:
		return "not-applied"
	default:
		return "rejected"
	}
}

// kvOp is one recorded key-value operation.
type kvOp struct {
	ID     int
	Client int
	Kind   opKind
	Key    string
	Value  string // written value (set, create, cas)
	Prev   string // compared value (cas, cad)
	Call   int64  // invocation, ns since the run started
	Return int64  // completion, ns since the run started
	Result result
	Code   int    // server error code when Result is resFailed
	Found  bool   // get: the key existed
	Got    string // get: the value read
	// Index is the index of a successful answer: for a write its node's
	// modifiedIndex (a write's X-Deimos-Index can name a later write,
	// docs/protocol.md §6.4), for a read the store index it was applied at.
	// ModIndex is the modifiedIndex of the node a get returned. SDKIndex is what
	// the SDK reported as Response.Index, which must equal Index.
	Index    uint64
	ModIndex uint64
	SDKIndex uint64
	Err      string // the error, clipped
}

func (o kvOp) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d c%d %s %s", o.ID, o.Client, o.Kind, o.Key)
	switch o.Kind {
	case opSet, opCreate:
		fmt.Fprintf(&b, " =%q", o.Value)
	case opCAS:
		fmt.Fprintf(&b, " %q->%q", o.Prev, o.Value)
	case opCAD:
		fmt.Fprintf(&b, " prev=%q", o.Prev)
	}
	fmt.Fprintf(&b, " [%s..%s] %s", time.Duration(o.Call), time.Duration(o.Return), o.Result)
	switch {
	case o.Kind == opGet && o.Result == resOK && o.Found:
		fmt.Fprintf(&b, " got=%q@%d", o.Got, o.ModIndex)
	case o.Kind == opGet && o.Result == resOK:
		b.WriteString(" not-found")
	case o.Result == resFailed:
		fmt.Fprintf(&b, " code=%d", o.Code)
	}
	if o.Index > 0 {
		fmt.Fprintf(&b, " index=%d", o.Index)
	}
	if o.Err != "" && o.Result != resFailed {
		fmt.Fprintf(&b, " err=%s", o.Err)
	}
	return b.String()
}

// classify fills the outcome fields of op from the answer of the SDK.
func classify(op *kvOp, resp *kv.Response, err error) {
	if err == nil {
		op.Result = resOK
		if resp != nil {
			op.Index, op.SDKIndex = resp.Index, resp.Index
			switch {
			case op.Kind == opGet && resp.Node != nil:
				op.Found, op.Got, op.ModIndex = true, resp.Node.Value, resp.Node.ModifiedIndex
			case op.Kind != opGet && resp.Node != nil:
				op.Index = resp.Node.ModifiedIndex
			}
		}
		return
	}
	op.Err = clipString(err.Error(), 300)
	var se *kv.Error
	switch {
	case op.Kind == opGet && errors.Is(err, kv.ErrKeyNotFound):
		op.Result, op.Found = resOK, false
		if errors.As(err, &se) {
			op.Index = se.Index
		}
		op.Err = ""
	case op.Kind == opGet:
		op.Result = resRejected
	case errors.As(err, &se):
		switch se.Code {
		case 100, 101, 105:
			op.Result, op.Code = resFailed, se.Code
		default:
			op.Result, op.Code = resRejected, se.Code
		}
	case errors.Is(err, kv.ErrUnknownOutcome):
		op.Result = resUnknown
	case errors.Is(err, kv.ErrClusterUnavailable):
		op.Result = resNotApplied
	default:
		op.Result = resUnknown
	}
}

func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "...(clipped)"
}

// recorder collects the operations of every client.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []kvOp
}

func newRecorder() *recorder { return &recorder{start: time.Now()} }

func (r *recorder) now() int64 { return int64(time.Since(r.start)) }

func (r *recorder) add(op kvOp) {
	r.mu.Lock()
	op.ID = len(r.ops)
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

// history returns the recorded operations ordered by invocation.
func (r *recorder) history() []kvOp {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]kvOp(nil), r.ops...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Call < out[j].Call })
	return out
}
