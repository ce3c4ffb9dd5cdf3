package users

// Hooks for the external tests (package users_test) in this directory.

// HashGateLoad returns how many calls are hashing and how many wait.
func HashGateLoad(m *Manager) (running, waiting int) {
	r := len(m.hashGate.run)
	return r, len(m.hashGate.admit) - r
}

// HashGateSize returns the hashing limit and queue length.
func HashGateSize(m *Manager) (limit, queue int) {
	return cap(m.hashGate.run), cap(m.hashGate.admit) - cap(m.hashGate.run)
}

// DummyHash returns the hash Register and Authenticate verify on paths
// without a real one.
func DummyHash(m *Manager) string { return m.dummyHash }
