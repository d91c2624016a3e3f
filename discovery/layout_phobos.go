package discovery

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Metadata fields the Phobos layout maps to Instance fields. Everything else
// (group, tps, latitude, ...) stays in Instance.Metadata.
const (
	// PhobosWeightField holds Instance.Weight, as Phobos's weighted
	// selector reads it.
	PhobosWeightField = "weight"
	// PhobosStateField marks a draining instance with the value
	// PhobosInactive, the rpcx convention Phobos's selectors follow.
	PhobosStateField = "state"
	// PhobosInactive is the value of PhobosStateField for StateDraining.
	PhobosInactive = "inactive"
	// PhobosVersionField holds Instance.Version (Phobos itself has none).
	PhobosVersionField = "version"
)

// PhobosLayout stores instances the way the Phobos RPC framework's registry
// plugins do, so a Phobos server and a Deimos client (or the reverse) share
// one registry:
//
//   - key: <base>/<service>/<network@address>, e.g.
//     /mrpc_example/HelloWorld/tcp@localhost:30000;
//   - value: the metadata as a URL query string, e.g. weight=10&group=a.
//
// Instance.ID is the Phobos service address "network@address" and Addr its
// address part ("localhost:30000"); Key and Encode reject an instance whose
// Addr is not the address part of its ID. Weight is the "weight" field,
// Version the "version" field, and StateDraining is "state=inactive"; other
// fields are Metadata. Encode writes the fields sorted by name
// (url.Values.Encode), as Phobos's refresh loop rewrites them; Decode reads
// any order and keeps the first value of a repeated field. A weight that is
// not a number decodes as the default weight, as Phobos's selector treats it.
func PhobosLayout(base string) Layout { return phobosLayout{base: base} }

type phobosLayout struct{ base string }

func (l phobosLayout) Dir(service string) (string, error) {
	base, err := cleanBase("namespace", l.base)
	if err != nil {
		return "", err
	}
	if err := checkSegment("Service", service); err != nil {
		return "", err
	}
	return base + "/" + service, nil
}

func (l phobosLayout) Key(inst Instance) (string, error) {
	dir, err := l.Dir(inst.Service)
	if err != nil {
		return "", err
	}
	if err := checkPhobosID(inst); err != nil {
		return "", err
	}
	return dir + "/" + inst.ID, nil
}

// checkPhobosID validates "network@address": the address may contain '/'
// (unix@/run/app.sock), which makes the key several segments deep.
func checkPhobosID(inst Instance) error {
	if err := checkPath("ID", inst.ID); err != nil {
		return err
	}
	network, addr, ok := strings.Cut(inst.ID, "@")
	if !ok || network == "" || addr == "" {
		return &InstanceError{Field: "ID", Value: inst.ID, Reason: `must be a Phobos address "network@address"`}
	}
	if inst.Addr != "" && inst.Addr != addr {
		return &InstanceError{Field: "Addr", Value: inst.Addr, Reason: "must be the address part of ID " + inst.ID}
	}
	return nil
}

func (l phobosLayout) Encode(inst Instance) (string, error) {
	if inst.Addr == "" {
		if _, addr, ok := strings.Cut(inst.ID, "@"); ok {
			inst.Addr = addr
		}
	}
	if err := inst.checkValue(); err != nil {
		return "", err
	}
	if inst.ID != "" {
		if err := checkPhobosID(inst); err != nil {
			return "", err
		}
	}
	q := make(url.Values, len(inst.Metadata)+3)
	for k, v := range inst.Metadata {
		q.Set(k, v)
	}
	for _, k := range []string{PhobosWeightField, PhobosStateField, PhobosVersionField} {
		q.Del(k)
	}
	if inst.Weight > 0 {
		q.Set(PhobosWeightField, strconv.Itoa(inst.Weight))
	}
	if inst.Version != "" {
		q.Set(PhobosVersionField, inst.Version)
	}
	if inst.State == StateDraining {
		q.Set(PhobosStateField, PhobosInactive)
	}
	return q.Encode(), nil
}

func (l phobosLayout) Decode(key, value string) (Instance, error) {
	base, err := cleanBase("namespace", l.base)
	if err != nil {
		return Instance{}, err
	}
	rest, ok := splitUnder(base, key)
	service, id, two := strings.Cut(rest, "/")
	_, addr, hasAt := strings.Cut(id, "@")
	if !ok || !two || service == "" || !hasAt || addr == "" {
		return Instance{}, &DecodeError{Key: key, Reason: "not " + base + "/<service>/<network@address>"}
	}
	q, err := url.ParseQuery(value)
	if err != nil {
		return Instance{}, &DecodeError{Key: key, Reason: "value is not a URL query string", Err: err}
	}
	inst := Instance{Service: service, ID: id, Addr: addr}
	inst.Metadata = phobosMetadata(q, &inst)
	return inst, nil
}

// phobosMetadata moves the fields with an Instance counterpart into inst and
// returns the rest, first value of each.
func phobosMetadata(q url.Values, inst *Instance) map[string]string {
	var md map[string]string
	for k, vs := range q {
		v := vs[0]
		switch k {
		case PhobosWeightField:
			if w, err := strconv.Atoi(v); err == nil && w > 0 {
				inst.Weight = w
				continue
			}
		case PhobosVersionField:
			inst.Version = v
			continue
		case PhobosStateField:
			switch v {
			case PhobosInactive:
				inst.State = StateDraining
				continue
			case "active", "":
				continue
			}
		}
		if md == nil {
			md = make(map[string]string, len(q))
		}
		md[k] = v
	}
	return md
}

// String names the layout for logs.
func (l phobosLayout) String() string { return fmt.Sprintf("phobos(%s)", l.base) }
