package deimostest

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
)

// maxFormBytes is the largest form body the server parses (net/http's 10 MiB).
const maxFormBytes = 10 << 20

var errFormTooLarge = errors.New("http: POST too large")

// params are the validated request parameters (docs/protocol.md §3).
type params struct {
	value        string
	hasTTL       bool
	ttl          uint64
	dir          bool
	recursive    bool
	sorted       bool
	wait         bool
	stream       bool
	prevValue    string
	hasPrevValue bool
	prevIndex    uint64
	waitIndex    uint64
	hasPrevExist bool
	prevExists   bool
}

// readForm merges the form body (PUT and POST with the form content type only) and the
// query, body values first, as net/http's ParseForm does. The first error wins.
func readForm(r *http.Request) (url.Values, error) {
	form := url.Values{}
	var firstErr error
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		firstErr = readBodyForm(r, form)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if firstErr == nil {
		firstErr = err
	}
	for k, vs := range q {
		form[k] = append(form[k], vs...)
	}
	return form, firstErr
}

func readBodyForm(r *http.Request, form url.Values) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" || r.Body == nil {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return err
	}
	if mt != "application/x-www-form-urlencoded" {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	if err != nil {
		return err
	}
	if len(b) > maxFormBytes {
		return errFormTooLarge
	}
	vs, err := url.ParseQuery(string(b))
	for k, v := range vs {
		form[k] = v
	}
	return err
}

// parseParams validates form in the server's order; the first failing check wins.
func parseParams(method string, form url.Values) (*params, *apiError) {
	p := &params{value: form.Get("value")}
	var err *apiError
	steps := []func() *apiError{
		func() *apiError { p.prevIndex, err = indexParam(form, "prevIndex"); return err },
		func() *apiError { p.waitIndex, err = indexParam(form, "waitIndex"); return err },
		func() *apiError { p.recursive, err = boolParam(form, "recursive"); return err },
		func() *apiError { p.sorted, err = boolParam(form, "sorted"); return err },
		func() *apiError { p.wait, err = boolParam(form, "wait"); return err },
		func() *apiError { p.dir, err = boolParam(form, "dir"); return err },
		func() *apiError { p.stream, err = boolParam(form, "stream"); return err },
		func() *apiError { return waitOnlyGet(method, p.wait) },
		func() *apiError { return p.parsePrevValue(form) },
		func() *apiError { return p.parseTTL(form) },
		func() *apiError { return p.parsePrevExists(form) },
	}
	for _, step := range steps {
		if e := step(); e != nil {
			return nil, e
		}
	}
	return p, nil
}

func indexParam(form url.Values, name string) (uint64, *apiError) {
	if _, ok := form[name]; !ok {
		return 0, nil
	}
	n, err := strconv.ParseUint(form.Get(name), 10, 64)
	if err != nil {
		return 0, newValidationError(codeIndexNaN, `invalid value for "`+name+`"`)
	}
	return n, nil
}

func boolParam(form url.Values, name string) (bool, *apiError) {
	if _, ok := form[name]; !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(form.Get(name))
	if err != nil {
		return false, newValidationError(codeInvalidField, `invalid value for "`+name+`"`)
	}
	return b, nil
}

func waitOnlyGet(method string, wait bool) *apiError {
	if wait && method != http.MethodGet {
		return newValidationError(codeInvalidField, `"wait" can only be used with GET requests`)
	}
	return nil
}

func (p *params) parsePrevValue(form url.Values) *apiError {
	if _, ok := form["prevValue"]; !ok {
		return nil
	}
	p.prevValue, p.hasPrevValue = form.Get("prevValue"), true
	if p.prevValue == "" {
		return newValidationError(codeInvalidField, `"prevValue" cannot be empty`)
	}
	return nil
}

func (p *params) parseTTL(form url.Values) *apiError {
	s := form.Get("ttl")
	if s == "" {
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return newValidationError(codeTTLNaN, `invalid value for "ttl"`)
	}
	p.ttl, p.hasTTL = n, true
	return nil
}

func (p *params) parsePrevExists(form url.Values) *apiError {
	if _, ok := form["prevExists"]; !ok {
		return nil
	}
	b, err := strconv.ParseBool(form.Get("prevExists"))
	if err != nil {
		return newValidationError(codeInvalidField, "invalid value for prevExists")
	}
	p.prevExists, p.hasPrevExist = b, true
	return nil
}
