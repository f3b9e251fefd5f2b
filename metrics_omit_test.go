//go:build nometrics

package vigil_test

// metricsBuilt says the admin endpoint serves /metrics: not with -tags
// nometrics, where it answers 404.
const metricsBuilt = false
