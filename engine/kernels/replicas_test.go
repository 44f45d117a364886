package kernels

import "testing"

// TestReplicasNest: BLAS stays single-threaded until the last of several
// overlapping BeginReplicas is ended, then comes back to its setting.
func TestReplicasNest(t *testing.T) {
	if BLAS() != "OpenBLAS (cgo)" {
		t.Skip("the pure-Go BLAS has no thread setting")
	}
	before := SetBLASThreads(2)
	defer SetBLASThreads(before)
	BeginReplicas()
	BeginReplicas()
	EndReplicas()
	if got := SetBLASThreads(1); got != 1 {
		t.Fatalf("BLAS threads %d while one replica user remains", got)
	}
	EndReplicas()
	if got := SetBLASThreads(2); got != 2 {
		t.Fatalf("BLAS threads %d after the last EndReplicas, want 2", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("EndReplicas without BeginReplicas did not panic")
		}
	}()
	EndReplicas()
}
