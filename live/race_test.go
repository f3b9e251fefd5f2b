//go:build race

package live

// raced: the race detector is on; it grows every goroutine and allocation,
// so memory is measured but not judged.
const raced = true
