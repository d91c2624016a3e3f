package concurrency

// Freeze stops the session's loop from doing anything (no refresh, no
// watchdog), as if the process were paused, without touching its state.
func Freeze(s *Session) { s.frozen.Store(true); s.poke() }
