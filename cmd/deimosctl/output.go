package main

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	deimos "github.com/marsevilspirit/deimos-client"
)

// printer writes results in the format of -o.
type printer struct {
	w    io.Writer
	json bool
}

func (a *app) printer() *printer {
	return &printer{w: a.proc.stdout, json: a.flags.output == "json"}
}

// object writes v as one line of JSON.
func (p *printer) object(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table returns a writer aligning tab-separated columns; Flush it.
func (p *printer) table() *tabwriter.Writer {
	return tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
}

// jsonNode is the stable JSON form of a node (see the root help).
type jsonNode struct {
	Key           string      `json:"key"`
	Value         *string     `json:"value,omitempty"`
	Dir           bool        `json:"dir,omitempty"`
	TTL           int64       `json:"ttl,omitempty"`
	Expiration    *time.Time  `json:"expiration,omitempty"`
	CreatedIndex  uint64      `json:"createdIndex"`
	ModifiedIndex uint64      `json:"modifiedIndex"`
	Nodes         []*jsonNode `json:"nodes,omitempty"`
}

// jsonResult is the stable JSON form of a read, a write or a watch event.
type jsonResult struct {
	Action   string    `json:"action"`
	Index    uint64    `json:"index"`
	Node     *jsonNode `json:"node"`
	PrevNode *jsonNode `json:"prevNode,omitempty"`
}

// resultOf converts an answer; index is the store index to report.
func resultOf(action string, index uint64, node, prev *deimos.Node) jsonResult {
	r := jsonResult{Action: action, Index: index, Node: nodeOf(node, isDeletion(action))}
	if prev != nil {
		r.PrevNode = nodeOf(prev, false)
	}
	return r
}

// writeResult is the JSON of a write: its index is the written node's
// modifiedIndex (the header of a write may already name a later index).
func writeResult(resp *deimos.Response) jsonResult {
	var idx uint64
	if resp.Node != nil {
		idx = resp.Node.ModifiedIndex
	}
	return resultOf(resp.Action, idx, resp.Node, resp.PrevNode)
}

func nodeOf(n *deimos.Node, deleted bool) *jsonNode {
	if n == nil {
		return nil
	}
	j := &jsonNode{
		Key: n.Key, Dir: n.Dir, TTL: n.TTL, Expiration: n.Expiration,
		CreatedIndex: n.CreatedIndex, ModifiedIndex: n.ModifiedIndex,
	}
	if !n.Dir && !deleted {
		v := n.Value
		j.Value = &v
	}
	for _, c := range n.Nodes {
		j.Nodes = append(j.Nodes, nodeOf(c, false))
	}
	return j
}

// isDeletion reports the actions whose node carries no value.
func isDeletion(action string) bool {
	switch action {
	case deimos.ActionDelete, deimos.ActionCompareAndDelete, deimos.ActionExpire:
		return true
	}
	return false
}

// displayKey shows directories with a trailing slash.
func displayKey(n *deimos.Node) string {
	if n.Dir && n.Key != "/" {
		return n.Key + "/"
	}
	return n.Key
}

// displayValue prints a value as is when that is unambiguous in a table,
// and quoted (Go syntax) when it is empty, has blanks at its ends, or holds
// control characters that would break the columns.
func displayValue(v string) string {
	if v == "" || strings.TrimSpace(v) != v || strings.ContainsFunc(v, unicode.IsControl) {
		return strconv.Quote(v)
	}
	return v
}

// displayTTL prints the time left of an expiring key, "-" for a permanent
// one.
func displayTTL(n *deimos.Node) string {
	if n.Expiration == nil {
		return "-"
	}
	return shortDuration(time.Duration(n.TTL) * time.Second)
}

// shortDuration drops the zero units Duration.String keeps: "1h" for
// 1h0m0s, "5m" for 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// nodeCell is a node's value column: empty for directories.
func nodeCell(n *deimos.Node, deleted bool) string {
	if n == nil || n.Dir || deleted {
		return ""
	}
	return displayValue(n.Value)
}
