package transport

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// drainMax is how much of an unread body is consumed so the connection can be
// reused; a longer rest is cheaper to drop with the connection.
const drainMax = 4 << 10

// errorHeadMax is how much of an error body is kept for the snippet of a
// non-JSON error.
const errorHeadMax = 1 << 10

// handle decodes one answer into c.out and c.resp, or returns the
// classified error. It always closes the body, draining a short rest first
// so keep-alive connections are reused.
func (c *call) handle(resp *http.Response) error {
	defer closeBody(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		err := c.decodeError(resp)
		c.failure = err
		return err
	}
	ep := c.ep
	r := &c.resp
	*r = Response{
		StatusCode: resp.StatusCode,
		Index:      headerUint(resp.Header, "X-Deimos-Index"),
		RaftIndex:  headerUint(resp.Header, "X-Raft-Index"),
		RaftTerm:   headerUint(resp.Header, "X-Raft-Term"),
		Endpoint:   ep.URL(),
	}
	c.body = capReader{r: resp.Body, left: c.t.cfg.MaxResponseBytes}
	empty, err := decodeBody(&c.body, c.out)
	if err == nil && empty && c.out != nil && c.req.Class != LongPoll && !isRaw(c.out) {
		err = errEmptyBody
	}
	if err != nil {
		re := c.responseError(resp.StatusCode, err, "")
		if re.kind.retryableRead() {
			c.t.set.Failure(ep, re, false)
		}
		c.failure = re
		return re
	}
	c.t.set.Success(ep)
	if err := c.check(empty); err != nil {
		re := c.responseError(resp.StatusCode, err, "")
		re.kind = unusable
		c.failure = re
		return re
	}
	r.Empty = empty
	return nil
}

// check asks the request whether the decoded answer serves it (an empty
// long-poll answer always does: the server ended the poll).
func (c *call) check(empty bool) error {
	if c.req.Check == nil || empty {
		return nil
	}
	return c.req.Check(c.out)
}

var errEmptyBody = errors.New("empty body")

func isRaw(out any) bool {
	_, ok := out.(*[]byte)
	return ok
}

// decodeBody decodes the first JSON value of the body into out (or copies the
// raw body into a *[]byte); lr bounds how much is read. It reports an empty
// body (only whitespace) without error: the caller decides if that is allowed.
func decodeBody(lr *capReader, out any) (empty bool, err error) {
	if raw, ok := out.(*[]byte); ok {
		b, err := io.ReadAll(lr)
		if err != nil {
			return false, err
		}
		*raw = b
		return len(b) == 0, nil
	}
	dec := json.NewDecoder(lr)
	if out == nil {
		var discard struct{}
		out = &discard
	}
	if err := dec.Decode(out); err != nil {
		if err == io.EOF {
			return true, nil
		}
		if lr.over {
			return false, ErrResponseTooLarge
		}
		if err == io.ErrUnexpectedEOF {
			return false, errTruncated
		}
		return false, err
	}
	return false, nil
}

var errTruncated = errors.New("truncated JSON body")

// decodeError turns a non-2xx answer into an error: the server's JSON error
// when the body starts with one, else a ResponseError naming the status.
func (c *call) decodeError(resp *http.Response) error {
	ep := c.ep
	// A JSON error is decoded as it streams in, within the response limit:
	// its cause quotes the compared values, which can be megabytes (a failed
	// compare-and-swap of a large value). Only the head of the body is kept,
	// for the snippet of a body that is not a JSON error.
	head := headBuffer{max: errorHeadMax}
	var wire struct {
		ErrorCode int    `json:"errorCode"`
		Message   string `json:"message"`
		Cause     string `json:"cause"`
		Index     uint64 `json:"index"`
	}
	dec := json.NewDecoder(io.TeeReader(io.LimitReader(resp.Body, c.t.cfg.MaxResponseBytes), &head))
	decErr := dec.Decode(&wire)
	if decErr == nil && wire.ErrorCode != 0 {
		// The store answered: the endpoint works; the request was refused.
		c.t.set.Success(ep)
		return &Error{
			Code:     wire.ErrorCode,
			Message:  wire.Message,
			Cause:    wire.Cause,
			Index:    wire.Index,
			Op:       c.req.Op,
			Key:      c.req.Key,
			Endpoint: ep.URL(),
		}
	}
	// Read what the decoder left of a short body (a plain-text error page)
	// so the snippet shows it.
	_, readErr := io.Copy(&head, io.LimitReader(resp.Body, errorHeadMax))
	if readErr == nil && decErr != nil && !errors.Is(decErr, io.EOF) && !isSyntaxError(decErr) {
		readErr = decErr
	}
	re := c.responseError(resp.StatusCode, readErr, string(head.buf))
	if re.kind.retryableRead() {
		c.t.set.Failure(ep, re, false)
	}
	return re
}

// responseError builds a ResponseError for an answer with status whose
// body failed with err (nil: it was read whole, and is no JSON error). Its
// kind follows: a body over the limit; a body cut or malformed after a 2xx
// or 5xx status (the write behind it was or may have been applied) or after
// another status (refused, but the error is lost); a whole plain 5xx page
// (§13.3); any other whole non-JSON page, which every node would send alike.
func (c *call) responseError(status int, err error, body string) *ResponseError {
	re := &ResponseError{
		Op: c.req.Op, Key: c.req.Key, Endpoint: c.ep.URL(),
		StatusCode: status,
		Snippet:    clip(body),
		Kind:       ErrMalformedResponse,
		Err:        err,
	}
	switch {
	case errors.Is(err, ErrResponseTooLarge):
		re.Kind, re.Err, re.kind = ErrResponseTooLarge, nil, tooLarge
	case err != nil && (status < 300 || status >= 500):
		re.kind = broken
	case err != nil:
		re.kind = brokenRefusal
	case status >= 500:
		re.Kind, re.kind = ErrServerUnavailable, unavailable
	default:
		re.kind = rejected
	}
	return re
}

// capReader reads at most left bytes and then fails with ErrResponseTooLarge,
// so a huge body costs bounded memory.
type capReader struct {
	r    io.Reader
	left int64
	over bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Is there more? One byte tells.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.over = true
			return 0, ErrResponseTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// closeBody drains a short rest of body and closes it.
func closeBody(body io.ReadCloser) {
	buf := drainBufs.Get().(*[drainMax]byte)
	for n := 0; n < drainMax; {
		m, err := body.Read(buf[:drainMax-n])
		n += m
		if err != nil {
			break
		}
	}
	drainBufs.Put(buf)
	_ = body.Close()
}

var drainBufs = sync.Pool{New: func() any { return new([drainMax]byte) }}

func headerUint(h http.Header, key string) uint64 {
	v := h[key]
	if len(v) == 0 {
		return 0
	}
	n, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// headBuffer keeps the first max bytes written to it and drops the rest.
type headBuffer struct {
	buf []byte
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// isSyntaxError reports whether err says the body is not JSON (as opposed
// to the connection failing while it was read).
func isSyntaxError(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF)
}
