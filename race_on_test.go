//go:build race

package vigil_test

// raceEnabled is set when the tests run under the race detector, which
// slows the server several times over.
const raceEnabled = true
