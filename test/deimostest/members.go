package deimostest

import (
	"encoding/json"
	"hash/fnv"
	"path"
	"sort"
	"strconv"
)

// machinesDir holds the member records, as on the real server.
const machinesDir = "/_deimos/machines"

// memberRecord is the JSON the server stores for a member under /_deimos/machines/<hex id>.
type memberRecord struct {
	ID         uint64
	Name       string
	PeerURLs   []string
	ClientURLs []string
	IsLearner  bool
}

func memberID(url string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(url))
	return h.Sum64()
}

func (n *Node) recordKey() string {
	return path.Join(machinesDir, strconv.FormatUint(n.memberID, 16))
}

func (n *Node) recordValue() string {
	b, _ := json.Marshal(memberRecord{ID: n.memberID, Name: n.name, PeerURLs: []string{},
		ClientURLs: []string{n.url}})
	return string(b)
}

// register writes n's member record (create) without going through quorum.
func (c *Cluster) register(n *Node) {
	_, _ = c.store.set(&writeReq{key: n.recordKey(), value: n.recordValue()}, true)
}

// publish writes n's member record again (a set), as a member does when it starts.
func (c *Cluster) publish(n *Node) {
	if c.members {
		_, _ = c.store.set(&writeReq{key: n.recordKey(), value: n.recordValue()}, false)
	}
}

// seedMembers writes the boot-time member records: creates at 1..n, publishes at the last
// n indexes up to the start index, when the start index leaves room for both.
func (c *Cluster) seedMembers() {
	start, n := c.cfg.startIndex, uint64(len(c.nodes))
	if start < 2*n {
		c.store.setIndex(start)
		return
	}
	c.members = true
	for _, node := range c.nodes {
		c.register(node)
	}
	c.store.setIndex(start - n)
	for _, node := range c.nodes {
		c.publish(node)
	}
}

// machines lists the client URLs of every node (stopped ones too) and of every well-formed
// member record written under /_deimos/machines, sorted and without duplicates.
func (c *Cluster) machines() []string {
	seen := map[string]bool{}
	for _, n := range c.Nodes() {
		seen[n.URL()] = true
	}
	for _, v := range c.store.childValues(machinesDir) {
		var m memberRecord
		if json.Unmarshal([]byte(v), &m) == nil {
			for _, u := range m.ClientURLs {
				seen[u] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for u := range seen {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// childValues returns the values of the files directly under dir.
func (s *store) childValues(dir string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.lookup(dir)
	if err != nil || !e.dir {
		return nil
	}
	var out []string
	for _, c := range e.children {
		if !c.dir {
			out = append(out, c.value)
		}
	}
	return out
}

// setIndex moves the store index forward (boot only).
func (s *store) setIndex(i uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i > s.index {
		s.index = i
	}
}
