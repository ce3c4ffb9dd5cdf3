package users

import "time"

// Hooks for the external tests (package users_test) in this directory.

// HashGateLoad returns how many calls are hashing and how many wait.
func HashGateLoad(m *Manager) (running, waiting int) { return m.hashGate.load() }

// HashGateSize returns the hashing limit and queue length.
func HashGateSize(m *Manager) (limit, queue int) { return m.hashGate.limit, m.hashGate.queue }

// HashGateBudget returns the hashing wait budget and the current estimate
// of one hash's duration.
func HashGateBudget(m *Manager) (budget, perHash time.Duration) {
	return m.hashGate.budget, time.Duration(m.hashGate.avg.Load())
}

// DummyHash returns the hash Register and Authenticate verify on paths
// without a real one.
func DummyHash(m *Manager) string { return m.dummyHash }

// SetHashEstimate sets the hashing gate's estimate of one hash's duration.
func SetHashEstimate(m *Manager, d time.Duration) { m.hashGate.avg.Store(int64(d)) }

// Defaults are the option structs' defaults, as New starts from them.
type Defaults struct {
	Delivery Delivery
	Health   HealthThresholds
}

// DefaultsForTest returns the defaults New starts from.
func DefaultsForTest() Defaults {
	c := defaultConfig()
	return Defaults{Delivery: c.delivery, Health: c.health}
}

// PolicyProbeLimit is how long a password policy may take on a probe
// before the probe compares it with its linear reference.
const PolicyProbeLimit = policyProbeLimit
