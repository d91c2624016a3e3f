package main

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// flagDuration is a duration flag that also takes whole seconds ("30" is
// 30s, as etcdctl's --ttl) and remembers whether it was given, so that
// --ttl 0 reaches the SDK and is refused there instead of meaning "no TTL".
type flagDuration struct {
	d   time.Duration
	set bool
}

func (f *flagDuration) String() string {
	if !f.set {
		return ""
	}
	return f.d.String()
}

func (f *flagDuration) Set(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		const maxSeconds = math.MaxInt64 / int64(time.Second)
		if n > maxSeconds || n < -maxSeconds {
			return fmt.Errorf("%s seconds is out of range", s)
		}
		f.d, f.set = time.Duration(n)*time.Second, true
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 30s or 5m, or whole seconds")
	}
	f.d, f.set = d, true
	return nil
}

func (f *flagDuration) Type() string { return "duration" }
