// Package apierror defines the errors of the Deimos client: the server's JSON
// errors (Error, with one sentinel per error code), the client's own
// verdicts (ClusterError, UnknownOutcomeError) and the sentinels for bad
// input. Every package of the SDK returns these same values: kv, watch,
// concurrency and the deimos facade re-export the sentinels, so
// errors.Is(err, deimos.ErrInvalidTTL) and errors.Is(err, kv.ErrInvalidTTL)
// are the same test, whichever call was given the bad TTL.
//
//	_, err := client.Set(ctx, "/a", "1", deimos.WithPrevValue("0"))
//	var se *apierror.Error
//	switch {
//	case errors.Is(err, apierror.ErrTestFailed): // the compare failed
//	case errors.Is(err, apierror.ErrUnknownOutcome): // maybe applied: re-read
//	case errors.As(err, &se): // any other server error: se.Code, se.Cause...
//	}
//
// Messages name what was asked once, e.g.
// `deimos: set /a on http://127.0.0.1:4001: Compare failed ([0 != 1]) [101]`,
// and quote at most about 200 bytes of any key or server text.
package apierror
