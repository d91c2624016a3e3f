package main

import (
	"fmt"
	"io"
	"path"

	deimos "github.com/marsevilspirit/deimos-client"
)

// tree prints n and the children the answer holds, like tree(1):
//
//	/app/
//	├── config/
//	│   └── db = postgres://db
//	└── name = shop
func (p *printer) tree(n *deimos.Node) error {
	if n == nil {
		return nil
	}
	fmt.Fprintln(p.w, treeLabel(n, displayKey(n)))
	return writeChildren(p.w, n.Nodes, "")
}

func writeChildren(w io.Writer, nodes []*deimos.Node, indent string) error {
	for i, c := range nodes {
		branch, next := "├── ", "│   "
		if i == len(nodes)-1 {
			branch, next = "└── ", "    "
		}
		name := path.Base(c.Key)
		if c.Dir {
			name += "/"
		}
		if _, err := fmt.Fprintln(w, indent+branch+treeLabel(c, name)); err != nil {
			return err
		}
		if err := writeChildren(w, c.Nodes, indent+next); err != nil {
			return err
		}
	}
	return nil
}

// treeLabel is one line of the tree: the name, a file's value, and the TTL
// of an expiring node.
func treeLabel(n *deimos.Node, name string) string {
	s := name
	if !n.Dir {
		s += " = " + displayValue(n.Value)
	}
	if n.Expiration != nil {
		s += " (ttl " + displayTTL(n) + ")"
	}
	return s
}
