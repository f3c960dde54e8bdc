package audit

import "testing"

// HashRecord exposes the chain hash to tests that forge a consistent row.
var HashRecord = hashRecord

// SetVerifyBatch makes Verify read n rows per query until t ends.
func SetVerifyBatch(t *testing.T, n int) {
	old := verifyBatch
	verifyBatch = n
	t.Cleanup(func() { verifyBatch = old })
}
