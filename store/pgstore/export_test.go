package pgstore

// LimiterStatements returns l's sweep and decide statements and the hash
// that names key in them, for the tests that check their plans.
func LimiterStatements(l *Limiter, key string) (sweep, decide string, keyHash []byte) {
	return l.sweep, l.decide, l.keyHash(key)
}
