//go:build !nometrics

package vigil

// metricsBuilt says the admin endpoint serves /metrics (not -tags nometrics).
const metricsBuilt = true
