package robustness

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// register is the state of one key: whether it exists and its value. Values written by
// the traffic are unique, so a value names the write that produced it.
type register struct {
	exists bool
	value  string
}

// regInput and regOutput are what porcupine sees of a kvOp.
type regInput struct {
	kind  opKind
	value string
	prev  string
}

type regOutput struct {
	unknown bool // the operation may or may not have taken effect
	code    int  // 0 success, else 100 key not found, 101 compare failed, 105 key exists
	found   bool // get
	value   string
}

// registerModel is a single-key register with get, set, create, compare-and-swap,
// compare-and-delete and delete, as the Deimos store implements them for plain files.
// An operation with an unknown outcome is given a return time at the end of the
// history and matches any state: linearized there it may take effect (if its
// condition holds) or not, which porcupine explores as "may or may not have happened".
var registerModel = porcupine.Model{
	Init: func() interface{} { return register{} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		s, in, out := state.(register), input.(regInput), output.(regOutput)
		if out.unknown {
			// Applying is always a possibility; porcupine may also place the
			// operation after every other one, which means "never applied".
			if next, ok := apply(s, in); ok {
				return true, next
			}
			return true, s
		}
		switch in.kind {
		case opGet:
			if out.found {
				return s.exists && s.value == out.value, s
			}
			return !s.exists, s
		}
		next, applies := apply(s, in)
		if out.code == 0 {
			return applies, next
		}
		return !applies && failure(s, in) == out.code, s
	},
	Equal: func(a, b interface{}) bool { return a.(register) == b.(register) },
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(regInput), output.(regOutput)
		var op string
		switch in.kind {
		case opGet:
			op = "get()"
		case opSet, opCreate:
			op = fmt.Sprintf("%s(%q)", in.kind, in.value)
		case opCAS:
			op = fmt.Sprintf("cas(%q->%q)", in.prev, in.value)
		case opCAD:
			op = fmt.Sprintf("cad(%q)", in.prev)
		default:
			op = string(in.kind) + "()"
		}
		switch {
		case out.unknown:
			return op + " -> unknown"
		case in.kind == opGet && out.found:
			return fmt.Sprintf("%s -> %q", op, out.value)
		case in.kind == opGet:
			return op + " -> not found"
		case out.code != 0:
			return fmt.Sprintf("%s -> error %d", op, out.code)
		}
		return op + " -> ok"
	},
	DescribeState: func(state interface{}) string {
		s := state.(register)
		if !s.exists {
			return "<absent>"
		}
		return fmt.Sprintf("%q", s.value)
	},
}

// apply returns the state after in succeeds, and whether its condition holds in s.
func apply(s register, in regInput) (register, bool) {
	switch in.kind {
	case opSet:
		return register{exists: true, value: in.value}, true
	case opCreate:
		return register{exists: true, value: in.value}, !s.exists
	case opCAS:
		return register{exists: true, value: in.value}, s.exists && s.value == in.prev
	case opCAD:
		return register{}, s.exists && s.value == in.prev
	case opDelete:
		return register{}, s.exists
	}
	return s, true // get
}

// failure is the error code the server answers when in's condition does not hold in s.
func failure(s register, in regInput) int {
	switch in.kind {
	case opCreate:
		return 105
	case opCAS, opCAD:
		if !s.exists {
			return 100
		}
		return 101
	case opDelete:
		return 100
	}
	return 0
}

// porcupineOps turns the checkable operations of one key into porcupine operations.
// Unknown outcomes return at end (after every other operation); operations that were
// not applied or were rejected are left out.
func porcupineOps(ops []kvOp, end int64) []porcupine.Operation {
	var out []porcupine.Operation
	for _, o := range ops {
		in := regInput{kind: o.Kind, value: o.Value, prev: o.Prev}
		var res regOutput
		ret := o.Return
		switch o.Result {
		case resOK:
			res = regOutput{found: o.Found, value: o.Got}
		case resFailed:
			res = regOutput{code: o.Code}
		case resUnknown:
			if o.Kind == opGet {
				continue
			}
			res, ret = regOutput{unknown: true}, end
		default:
			continue
		}
		out = append(out, porcupine.Operation{
			ClientId: o.Client, Input: in, Output: res, Call: o.Call, Return: ret, Metadata: o.ID,
		})
	}
	return out
}
