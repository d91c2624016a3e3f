package kv

import (
	"strconv"
	"strings"
	"time"
)

// String formats the node for logs and %v, e.g.
// {Key:/a Value:"x" TTL:5 Expiration:2026-01-02T03:04:05Z ModifiedIndex:7 CreatedIndex:7},
// listing children recursively. Long values are clipped.
func (n *Node) String() string {
	if n == nil {
		return "<nil>"
	}
	var b strings.Builder
	n.format(&b)
	return b.String()
}

func (n *Node) format(b *strings.Builder) {
	b.WriteString("{Key:")
	b.WriteString(n.Key)
	if n.Dir {
		b.WriteString(" Dir:true")
	} else {
		const maxValue = 256
		v := n.Value
		if len(v) > maxValue {
			v = v[:maxValue] + "..."
		}
		b.WriteString(" Value:")
		b.WriteString(strconv.Quote(v))
	}
	if n.TTL != 0 {
		b.WriteString(" TTL:")
		b.WriteString(strconv.FormatInt(n.TTL, 10))
	}
	if n.Expiration != nil {
		b.WriteString(" Expiration:")
		b.WriteString(n.Expiration.Format(time.RFC3339Nano))
	}
	b.WriteString(" ModifiedIndex:")
	b.WriteString(strconv.FormatUint(n.ModifiedIndex, 10))
	b.WriteString(" CreatedIndex:")
	b.WriteString(strconv.FormatUint(n.CreatedIndex, 10))
	if len(n.Nodes) > 0 {
		b.WriteString(" Nodes:[")
		for i, c := range n.Nodes {
			if i > 0 {
				b.WriteByte(' ')
			}
			c.format(b)
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
}
