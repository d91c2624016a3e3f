package robustness

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// violation is one broken guarantee with the operations that show it.
type violation struct {
	Check    string
	Detail   string
	Evidence []string
	Artifact string // a file with more, e.g. porcupine's visualisation
}

func (v violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", v.Check, v.Detail)
	for _, e := range v.Evidence {
		b.WriteString("\n    ")
		b.WriteString(e)
	}
	if v.Artifact != "" {
		fmt.Fprintf(&b, "\n    visualisation: %s", v.Artifact)
	}
	return b.String()
}

// kvCheckStats are the figures of a key-value check.
type kvCheckStats struct {
	Ops, Checked, Unknown, NotApplied, Rejected, Keys int
}

// checkKV checks the key-value history: linearizability per key with porcupine, then
// the real-time order of the store indexes. artifacts is where visualisations go.
func checkKV(ops []kvOp, timeout time.Duration, artifacts string) (kvCheckStats, []violation) {
	var st kvCheckStats
	st.Ops = len(ops)
	byKey := map[string][]kvOp{}
	var end int64
	for _, o := range ops {
		byKey[o.Key] = append(byKey[o.Key], o)
		end = max(end, o.Return)
		switch o.Result {
		case resUnknown:
			st.Unknown++
		case resNotApplied:
			st.NotApplied++
		case resRejected:
			st.Rejected++
		}
	}
	end++
	st.Keys = len(byKey)
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var vs []violation
	for _, k := range keys {
		pops := porcupineOps(byKey[k], end)
		st.Checked += len(pops)
		res, info := porcupine.CheckOperationsVerbose(registerModel, pops, timeout)
		switch res {
		case porcupine.Ok:
			continue
		case porcupine.Unknown:
			vs = append(vs, violation{Check: "linearizability", Detail: fmt.Sprintf("key %s: porcupine timed out after %v (inconclusive)", k, timeout)})
			continue
		}
		v := violation{Check: "linearizability", Detail: fmt.Sprintf("key %s: history of %d operations is not linearizable", k, len(pops))}
		v.Evidence = stuckOps(byKey[k], pops, info)
		v.Artifact = visualize(info, artifacts, k)
		vs = append(vs, v)
	}
	vs = append(vs, checkIndexes(ops)...)
	return st, vs
}

// stuckOps is the minimal evidence of a failed check: the end of the longest partial
// linearization porcupine found, and the operations none of which could come next.
func stuckOps(ops []kvOp, pops []porcupine.Operation, info porcupine.LinearizationInfo) []string {
	byID := map[int]kvOp{}
	for _, o := range ops {
		byID[o.ID] = o
	}
	var longest []porcupine.Operation
	for _, part := range info.PartialLinearizationsOperations() {
		for _, lin := range part {
			if len(lin) > len(longest) {
				longest = lin
			}
		}
	}
	done := map[int]bool{}
	for _, p := range longest {
		done[p.Metadata.(int)] = true
	}
	var out []string
	tail := longest[max(0, len(longest)-4):]
	for _, p := range tail {
		out = append(out, "linearized: "+byID[p.Metadata.(int)].String())
	}
	// The candidates for the next step are the pending operations invoked before
	// the earliest return among them.
	first := int64(1<<63 - 1)
	for _, p := range pops {
		if !done[p.Metadata.(int)] {
			first = min(first, p.Return)
		}
	}
	for _, p := range pops {
		if !done[p.Metadata.(int)] && p.Call <= first {
			out = append(out, "cannot follow: "+byID[p.Metadata.(int)].String())
		}
	}
	return out
}

// visualize writes porcupine's HTML visualisation and returns its path ("" on error).
func visualize(info porcupine.LinearizationInfo, dir, key string) string {
	if dir == "" {
		dir = os.TempDir()
	}
	name := "porcupine-" + strings.NewReplacer("/", "_").Replace(strings.Trim(key, "/")) + "-" + time.Now().Format("150405.000") + ".html"
	path := filepath.Join(dir, name)
	if err := porcupine.VisualizePath(registerModel, info, path); err != nil {
		return ""
	}
	return path
}

// checkIndexes checks what the store indexes reported by the SDK must satisfy under
// linearizability: every successful write has its own index, which the SDK
// reports as Response.Index; a write that completed
// before another write was invoked has a smaller index; a read invoked after a write
// completed was applied at that write's index or later; and a read that returned a
// value reports the modifiedIndex of the write that stored it.
func checkIndexes(ops []kvOp) []violation {
	var writes []kvOp
	writeOf := map[string]kvOp{} // value -> successful write
	for _, o := range ops {
		if o.Kind != opGet && o.Result == resOK && o.Kind != opCAD && o.Kind != opDelete {
			writeOf[o.Value] = o
		}
		if o.Kind != opGet && o.Result == resOK {
			writes = append(writes, o)
		}
	}
	var vs []violation
	seen := map[uint64]kvOp{}
	for _, w := range writes {
		if w.Index == 0 {
			vs = append(vs, violation{Check: "indexes", Detail: "successful write without an index", Evidence: []string{w.String()}})
			continue
		}
		if w.SDKIndex != w.Index {
			vs = append(vs, violation{Check: "indexes", Detail: "Response.Index of a write is not its node's modifiedIndex", Evidence: []string{w.String(), fmt.Sprintf("Response.Index=%d", w.SDKIndex)}})
		}
		if prev, dup := seen[w.Index]; dup {
			vs = append(vs, violation{Check: "indexes", Detail: "two writes report the same index", Evidence: []string{prev.String(), w.String()}})
		}
		seen[w.Index] = w
	}
	// Writes by completion time with the running maximum of their indexes.
	sort.Slice(writes, func(i, j int) bool { return writes[i].Return < writes[j].Return })
	maxIdx := make([]uint64, len(writes))
	maxAt := make([]int, len(writes))
	for i, w := range writes {
		maxIdx[i], maxAt[i] = w.Index, i
		if i > 0 && maxIdx[i-1] > w.Index {
			maxIdx[i], maxAt[i] = maxIdx[i-1], maxAt[i-1]
		}
	}
	const limit = 5
	reported := 0
	for _, o := range ops {
		if o.Result != resOK || o.Index == 0 || reported >= limit {
			continue
		}
		// The writes that completed before o was invoked.
		n := sort.Search(len(writes), func(i int) bool { return writes[i].Return >= o.Call })
		if n == 0 {
			continue
		}
		before := writes[maxAt[n-1]]
		bad := o.Kind == opGet && o.Index < before.Index || o.Kind != opGet && o.Index <= before.Index
		if bad {
			reported++
			vs = append(vs, violation{Check: "indexes", Detail: "index goes back in real time", Evidence: []string{"completed first: " + before.String(), "invoked later: " + o.String()}})
		}
	}
	for _, o := range ops {
		if o.Kind != opGet || o.Result != resOK || !o.Found || reported >= limit {
			continue
		}
		if w, ok := writeOf[o.Got]; ok && w.Index != o.ModIndex {
			reported++
			vs = append(vs, violation{Check: "indexes", Detail: "read reports another modifiedIndex than the write of its value", Evidence: []string{w.String(), o.String()}})
		}
	}
	return vs
}
