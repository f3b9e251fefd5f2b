package vigil

// What the external tests (package vigil_test) see of the insides.

// TrimBurst and TrimEvery are the trimmer's burst size and sampling
// interval.
const (
	TrimBurst = trimBurst
	TrimEvery = trimEvery
)

// Trims returns how many times s's trimmer has handed memory back (0
// before Start).
func Trims(s *Server) int64 {
	s.mu.Lock()
	t := s.trim
	s.mu.Unlock()
	if t == nil {
		return 0
	}
	return t.trims.Load()
}
