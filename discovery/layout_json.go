package discovery

import (
	"encoding/json"
	"fmt"
	"strings"
)

// DefaultNamespace is the namespace of DefaultLayout.
const DefaultNamespace = "deimos"

// jsonVersion is the version the JSON layout writes. A reader decodes every
// version from 1 up: later versions may only add fields, so readers keep
// working through a rolling upgrade of the writers. A change that old readers
// would misread needs a new namespace.
const jsonVersion = 1

// DefaultLayout is JSONLayout(DefaultNamespace): instances at
// /deimos/services/<service>/<id>.
func DefaultLayout() Layout { return JSONLayout(DefaultNamespace) }

// JSONLayout stores each instance at /<namespace>/services/<service>/<id>
// with a versioned JSON value:
//
//	{"v":1,"addr":"10.0.0.7:8080","version":"1.4.2","weight":10,"metadata":{"zone":"a"},"state":"draining"}
//
// Only v and addr are always present; state is omitted for StateUp. The
// service name and ID come from the key, never from the value. The
// namespace may have several segments ("prod/eu"); it is validated by Dir,
// Key and Decode.
//
// A value written by Register also holds "reg", a random token of that
// registration, which readers ignore: it tells two registrations of one ID
// apart, so that neither ever takes the other's key for its own.
func JSONLayout(namespace string) Layout { return jsonLayout{namespace: namespace} }

type jsonLayout struct{ namespace string }

// jsonValue is the stored value of the JSON layout.
type jsonValue struct {
	V        int               `json:"v"`
	Addr     string            `json:"addr"`
	Version  string            `json:"version,omitempty"`
	Weight   int               `json:"weight,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	State    State             `json:"state,omitempty"`
	Reg      string            `json:"reg,omitempty"`
}

func (l jsonLayout) root() (string, error) {
	base, err := cleanBase("namespace", l.namespace)
	if err != nil {
		return "", err
	}
	return base + "/services", nil
}

// Dir implements Layout.
func (l jsonLayout) Dir(service string) (string, error) {
	root, err := l.root()
	if err != nil {
		return "", err
	}
	if err := checkSegment("Service", service); err != nil {
		return "", err
	}
	return root + "/" + service, nil
}

// Key implements Layout.
func (l jsonLayout) Key(inst Instance) (string, error) {
	dir, err := l.Dir(inst.Service)
	if err != nil {
		return "", err
	}
	if err := checkSegment("ID", inst.ID); err != nil {
		return "", err
	}
	return dir + "/" + inst.ID, nil
}

// Encode implements Layout.
func (l jsonLayout) Encode(inst Instance) (string, error) { return l.encodeRegistration(inst, "") }

// encodeRegistration encodes inst with the token of the registration that
// writes it (see registrationEncoder).
func (l jsonLayout) encodeRegistration(inst Instance, token string) (string, error) {
	if err := inst.checkValue(); err != nil {
		return "", err
	}
	b, err := json.Marshal(jsonValue{
		V:        jsonVersion,
		Addr:     inst.Addr,
		Version:  inst.Version,
		Weight:   inst.Weight,
		Metadata: inst.Metadata,
		State:    inst.State,
		Reg:      token,
	})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidInstance, err)
	}
	return string(b), nil
}

// Decode implements Layout.
func (l jsonLayout) Decode(key, value string) (Instance, error) {
	root, err := l.root()
	if err != nil {
		return Instance{}, err
	}
	rest, ok := splitUnder(root, key)
	service, id, two := strings.Cut(rest, "/")
	if !ok || !two || strings.Contains(id, "/") || service == "" || id == "" {
		return Instance{}, &DecodeError{Key: key, Reason: "not " + root + "/<service>/<id>"}
	}
	var v jsonValue
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		return Instance{}, &DecodeError{Key: key, Reason: "value is not the layout's JSON", Err: err}
	}
	switch {
	case v.V < 1:
		return Instance{}, &DecodeError{Key: key, Reason: fmt.Sprintf("missing or bad version %d", v.V)}
	case v.Addr == "":
		return Instance{}, &DecodeError{Key: key, Reason: "no addr"}
	case v.Weight < 0:
		return Instance{}, &DecodeError{Key: key, Reason: fmt.Sprintf("negative weight %d", v.Weight)}
	}
	return Instance{
		Service:  service,
		ID:       id,
		Addr:     v.Addr,
		Version:  v.Version,
		Weight:   v.Weight,
		Metadata: v.Metadata,
		State:    v.State,
	}, nil
}

// String names the layout for logs.
func (l jsonLayout) String() string { return fmt.Sprintf("json(%s)", l.namespace) }
