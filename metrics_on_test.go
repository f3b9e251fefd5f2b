//go:build !nometrics

package vigil_test

// metricsBuilt says the admin endpoint serves /metrics (not -tags nometrics).
const metricsBuilt = true
