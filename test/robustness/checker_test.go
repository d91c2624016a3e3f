package robustness

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/kv"
)

// The checkers must be able to fail: these histories are built by hand to break (or
// keep) each guarantee.

func op(id, client int, kind opKind, call, ret int64, r result) kvOp {
	return kvOp{ID: id, Client: client, Kind: kind, Key: "/k", Call: call, Return: ret, Result: r}
}

func set(id, client int, v string, call, ret int64, r result, idx uint64) kvOp {
	o := op(id, client, opSet, call, ret, r)
	o.Value, o.Index, o.SDKIndex = v, idx, idx
	return o
}

func get(id, client int, v string, call, ret int64, idx, mod uint64) kvOp {
	o := op(id, client, opGet, call, ret, resOK)
	o.Found, o.Got, o.Index, o.ModIndex = v != "", v, idx, mod
	return o
}

func TestCheckKVFindsStaleRead(t *testing.T) {
	dir := t.TempDir()
	ops := []kvOp{
		set(0, 0, "a", 0, 10, resOK, 1),
		set(1, 0, "b", 20, 30, resOK, 2),
		get(2, 1, "a", 40, 50, 2, 1), // "b" was acknowledged before this read began
	}
	_, vs := checkKV(ops, 0, dir)
	require.NotEmpty(t, vs)
	assert.Equal(t, "linearizability", vs[0].Check)
	assert.Contains(t, strings.Join(vs[0].Evidence, "\n"), `get /k`)
	require.NotEmpty(t, vs[0].Artifact, "a visualisation is written")
	_, err := os.Stat(vs[0].Artifact)
	require.NoError(t, err)
}

func TestCheckKVUnknownMayOrMayNotHappen(t *testing.T) {
	applied := []kvOp{
		set(0, 0, "a", 0, 10, resOK, 1),
		set(1, 1, "b", 20, 30, resUnknown, 0),
		get(2, 2, "b", 100, 110, 2, 2), // the unknown write happened
	}
	_, vs := checkKV(applied, 0, t.TempDir())
	assert.Empty(t, vs)

	notApplied := []kvOp{
		set(0, 0, "a", 0, 10, resOK, 1),
		set(1, 1, "b", 20, 30, resUnknown, 0),
		get(2, 2, "a", 100, 110, 1, 1), // it did not (yet)
	}
	_, vs = checkKV(notApplied, 0, t.TempDir())
	assert.Empty(t, vs)
}

func TestCheckKVNotAppliedMustNotShowUp(t *testing.T) {
	ops := []kvOp{
		set(0, 0, "a", 0, 10, resOK, 1),
		set(1, 1, "b", 20, 30, resNotApplied, 0), // the SDK said it never reached a server
		get(2, 2, "b", 100, 110, 2, 2),
	}
	_, vs := checkKV(ops, 0, t.TempDir())
	require.NotEmpty(t, vs)
	assert.Equal(t, "linearizability", vs[0].Check)
}

func TestCheckKVConditionalWrites(t *testing.T) {
	create := op(1, 1, opCreate, 20, 30, resFailed)
	create.Value, create.Code = "x", 105
	cas := op(2, 1, opCAS, 40, 50, resOK)
	cas.Prev, cas.Value, cas.Index, cas.SDKIndex = "a", "c", 2, 2
	cad := op(3, 0, opCAD, 60, 70, resFailed)
	cad.Prev, cad.Code = "a", 101
	ok := []kvOp{set(0, 0, "a", 0, 10, resOK, 1), create, cas, cad, get(4, 2, "c", 80, 90, 2, 2)}
	_, vs := checkKV(ok, 0, t.TempDir())
	assert.Empty(t, vs)

	// A compare-and-delete that claims success against a value that was replaced.
	bad := append([]kvOp(nil), ok[:3]...)
	cad2 := op(3, 0, opCAD, 60, 70, resOK)
	cad2.Prev, cad2.Index, cad2.SDKIndex = "a", 3, 3
	bad = append(bad, cad2)
	_, vs = checkKV(bad, 0, t.TempDir())
	require.NotEmpty(t, vs)
	assert.Equal(t, "linearizability", vs[0].Check)
}

func TestCheckIndexesFindsBackwardIndex(t *testing.T) {
	ops := []kvOp{
		set(0, 0, "a", 0, 10, resOK, 5),
		set(1, 1, "b", 20, 30, resOK, 4), // invoked after index 5 was acknowledged
	}
	ops[1].Key = "/other"
	vs := checkIndexes(ops)
	require.Len(t, vs, 1)
	assert.Equal(t, "indexes", vs[0].Check)

	reads := []kvOp{set(0, 0, "a", 0, 10, resOK, 5), get(1, 1, "a", 20, 30, 4, 5)}
	require.Len(t, checkIndexes(reads), 1, "a read applied before an acknowledged write")

	mod := []kvOp{set(0, 0, "a", 0, 10, resOK, 5), get(1, 1, "a", 20, 30, 6, 7)}
	require.Len(t, checkIndexes(mod), 1, "a read reporting another modifiedIndex for the value")

	dup := []kvOp{set(0, 0, "a", 0, 10, resOK, 5), set(1, 1, "b", 5, 15, resOK, 5)}
	assert.NotEmpty(t, checkIndexes(dup), "two writes with one index")

	header := []kvOp{set(0, 0, "a", 0, 10, resOK, 5)}
	header[0].SDKIndex = 9 // the SDK passed on a later X-Deimos-Index
	require.Len(t, checkIndexes(header), 1, "a write whose Response.Index is not its node's")
}

func TestCheckWatches(t *testing.T) {
	truth := []wEvent{
		{Index: 3, Action: "set", Key: "/p/a", Value: "1", Created: 3},
		{Index: 4, Action: "set", Key: "/p/b", Value: "2", Created: 4},
		{Index: 6, Action: "delete", Key: "/p/a", Created: 3, HasPrev: true, PrevValue: "1", PrevMod: 3},
	}
	ops := []kvOp{{Kind: opSet, Key: "/p/b", Value: "2", Result: resOK, Index: 4}}
	good := segment{Start: 2, Last: 6, Events: truth}
	st, vs := checkWatches([]segment{good}, truth, true, 0, ops)
	assert.Empty(t, vs)
	assert.Equal(t, 3, st.Compared)

	cases := map[string]segment{
		"missing":   {Start: 2, Last: 6, Events: []wEvent{truth[0], truth[2]}},
		"duplicate": {Start: 2, Last: 6, Events: []wEvent{truth[0], truth[1], truth[1], truth[2]}},
		"reordered": {Start: 2, Last: 6, Events: []wEvent{truth[1], truth[0], truth[2]}},
		"changed":   {Start: 2, Last: 6, Events: []wEvent{truth[0], {Index: 4, Action: "set", Key: "/p/b", Value: "X", Created: 4}, truth[2]}},
		"error":     {Start: 2, Last: 3, Events: truth[:1], Err: errors.New("boom")},
	}
	for name, sg := range cases {
		_, vs := checkWatches([]segment{sg}, truth, true, 0, ops)
		assert.NotEmpty(t, vs, name)
	}
	// A log that starts late (a real cluster's 1000-event history) is compared
	// from where it starts.
	st, vs = checkWatches([]segment{good}, truth[1:], true, 3, ops)
	assert.Empty(t, vs)
	assert.Equal(t, 2, st.Compared)
	_, vs = checkWatches([]segment{cases["changed"]}, truth[1:], true, 3, ops)
	assert.NotEmpty(t, vs)
	// Without the server's log, an acknowledged write missing from a stream is still found.
	_, vs = checkWatches([]segment{cases["missing"]}, nil, false, 0, ops)
	assert.NotEmpty(t, vs)
	// A stream that ended because its events left the server's history is not a violation.
	cleared := segment{Start: 2, Last: 3, Events: truth[:1], Err: fmt.Errorf("watch: %w", kv.ErrEventIndexCleared)}
	_, vs = checkWatches([]segment{cleared}, truth, true, 0, ops)
	assert.Empty(t, vs)
}

func TestClassify(t *testing.T) {
	cases := []struct {
		kind opKind
		err  error
		want result
		code int
	}{
		{opSet, nil, resOK, 0},
		{opCreate, fmt.Errorf("x: %w", kv.ErrNodeExist), resFailed, 105},
		{opCAS, fmt.Errorf("x: %w", kv.ErrTestFailed), resFailed, 101},
		{opDelete, fmt.Errorf("x: %w", kv.ErrKeyNotFound), resFailed, 100},
		{opSet, fmt.Errorf("x: %w", kv.ErrUnknownOutcome), resUnknown, 0},
		{opSet, fmt.Errorf("x: %w", kv.ErrClusterUnavailable), resNotApplied, 0},
		{opSet, errors.New("something else"), resUnknown, 0},
		{opGet, fmt.Errorf("x: %w", kv.ErrKeyNotFound), resOK, 0},
		{opGet, fmt.Errorf("x: %w", kv.ErrClusterUnavailable), resRejected, 0},
	}
	for _, c := range cases {
		o := kvOp{Kind: c.kind}
		classify(&o, &kv.Response{}, c.err)
		assert.Equal(t, c.want, o.Result, "%s %v", c.kind, c.err)
		assert.Equal(t, c.code, o.Code, "%s %v", c.kind, c.err)
	}
}

func TestCheckLocks(t *testing.T) {
	good := []section{
		{Locker: 0, Token: 10, Enter: 0, Exit: 10, Owned: true, Accepted: true},
		{Locker: 1, Token: 12, Enter: 20, Exit: 30, Owned: true, Accepted: true},
		{Locker: 2, Token: 11, Enter: 25, Exit: 40, Owned: false, Accepted: false}, // knew it had lost
	}
	assert.Empty(t, checkLocks(good))

	overlap := []section{
		{Locker: 0, Token: 10, Enter: 0, Exit: 30, Owned: true, Accepted: true},
		{Locker: 1, Token: 12, Enter: 20, Exit: 40, Owned: true, Accepted: true},
	}
	assert.NotEmpty(t, checkLocks(overlap))

	backwards := []section{
		{Locker: 0, Token: 12, Enter: 0, Exit: 10, Owned: true, Accepted: true},
		{Locker: 1, Token: 11, Enter: 20, Exit: 30, Owned: true, Accepted: false},
	}
	assert.NotEmpty(t, checkLocks(backwards))

	dup := []section{
		{Locker: 0, Token: 12, Enter: 0, Exit: 10, Owned: true, Accepted: true},
		{Locker: 1, Token: 12, Enter: 20, Exit: 30, Owned: false},
	}
	assert.NotEmpty(t, checkLocks(dup))
}

func TestCheckCapacity(t *testing.T) {
	good := []hold{
		{Holder: 0, Key: "/s/1", Enter: 0, Exit: 10, Held: true},
		{Holder: 1, Key: "/s/2", Enter: 5, Exit: 20, Held: true},
		{Holder: 2, Key: "/s/3", Enter: 10, Exit: 30, Held: true},  // enters as holder 0 leaves
		{Holder: 3, Key: "/s/4", Enter: 12, Exit: 18, Held: false}, // knew its session was lost
	}
	assert.Empty(t, checkCapacity("semaphore", good, 2))

	three := []hold{
		{Holder: 0, Key: "/s/1", Enter: 0, Exit: 30, Held: true},
		{Holder: 1, Key: "/s/2", Enter: 5, Exit: 20, Held: true},
		{Holder: 2, Key: "/s/3", Enter: 15, Exit: 40, Held: true},
	}
	vs := checkCapacity("semaphore", three, 2)
	require.Len(t, vs, 1)
	assert.Equal(t, "semaphore", vs[0].Check)
	assert.Len(t, vs[0].Evidence, 3, "the evidence names every holder open at that instant")
	assert.Empty(t, checkCapacity("semaphore", three, 3))

	leaders := []hold{
		{Holder: 0, Key: "/e/1", Enter: 0, Exit: 30, Held: true},
		{Holder: 1, Key: "/e/2", Enter: 29, Exit: 40, Held: true},
	}
	assert.NotEmpty(t, checkCapacity("election", leaders, 1))
	leaders[0].Held = false // the first leader found out it had lost
	assert.Empty(t, checkCapacity("election", leaders, 1))
}

func leadership(at int64, index uint64, key string, created uint64, owner, value string) change {
	return change{At: at, L: concurrency.Leadership{Index: index,
		Leader: &concurrency.Entry{Key: key, CreatedIndex: created, Owner: owner, Value: value}}}
}

func TestCheckObserver(t *testing.T) {
	long := int64(2 * time.Second)
	terms := []term{
		{hold: hold{Holder: 0, Key: "/e/10", Enter: 0, Exit: long, Held: true}, Values: []string{"a", "a-p"}, Normal: true},
		{hold: hold{Holder: 1, Key: "/e/12", Enter: long + 1, Exit: long + 100, Held: true}, Values: []string{"b", "b-p"}, Normal: true},
		{hold: hold{Holder: 2, Key: "/e/14", Enter: long + 200, Exit: 2 * long, Held: true}, Values: []string{"c", "c-p"}, Normal: true},
	}
	good := []change{
		{At: 0, L: concurrency.Leadership{Index: 5}},
		leadership(1, 10, "/e/10", 10, "candidate-0", "a"),
		leadership(2, 11, "/e/10", 10, "candidate-0", "a-p"),
		// The short term of /e/12 was missed: allowed.
		leadership(long+300, 15, "/e/14", 14, "candidate-2", "c"),
		{At: 2*long + 10, L: concurrency.Leadership{Index: 20}},
	}
	required, vs := checkObserver(good, terms, 0, 3*long)
	assert.Empty(t, vs)
	assert.Equal(t, 2, required)

	// Each bad history breaks one promise of Observe, named by the violation it gives.
	cases := map[string][]change{
		"was never reported": {
			leadership(1, 10, "/e/10", 10, "candidate-0", "a"),
			{At: 2*long + 10, L: concurrency.Leadership{Index: 20}},
		},
		"states out of index order": {
			leadership(1, 10, "/e/10", 10, "candidate-0", "a"),
			leadership(long+300, 15, "/e/14", 14, "candidate-2", "c"),
			leadership(long+301, 14, "/e/14", 14, "candidate-2", "c-p"),
		},
		"a replaced leader came back": {
			leadership(1, 10, "/e/10", 10, "candidate-0", "a"),
			leadership(long+300, 15, "/e/14", 14, "candidate-2", "c"),
			leadership(long+301, 16, "/e/10", 10, "candidate-0", "a-p"),
		},
		"creation indexes did not increase": {
			leadership(1, 10, "/e/10", 10, "candidate-0", "a"),
			leadership(2, 11, "/e/9", 9, "x", "x"),
			leadership(long+300, 15, "/e/14", 14, "candidate-2", "c"),
		},
		"a value its candidate never set": {
			leadership(1, 10, "/e/10", 10, "candidate-0", "b"),
			leadership(long+300, 15, "/e/14", 14, "candidate-2", "c"),
		},
		"another candidate's owner": {
			leadership(1, 10, "/e/10", 10, "candidate-1", "a"),
			leadership(long+300, 15, "/e/14", 14, "candidate-2", "c"),
		},
	}
	for name, changes := range cases {
		_, vs := checkObserver(changes, terms, 0, 3*long)
		var details []string
		for _, v := range vs {
			assert.Equal(t, "election-observer", v.Check, name)
			details = append(details, v.Detail)
		}
		assert.Contains(t, strings.Join(details, "\n"), name)
	}

	// A long term outside the observed window, or not ended by a resignation, is not
	// required.
	skipped := []change{leadership(long+300, 15, "/e/14", 14, "candidate-2", "c")}
	required, vs = checkObserver(skipped, terms, 1, 3*long)
	assert.Empty(t, vs)
	assert.Equal(t, 1, required)
	orphaned := append([]term(nil), terms...)
	orphaned[0].Normal, orphaned[0].Orphaned = false, true
	_, vs = checkObserver(skipped, orphaned, 0, 3*long)
	assert.Empty(t, vs)
}
