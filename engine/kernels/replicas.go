package kernels

import "sync"

// While model replicas run side by side, one per core, each BLAS call
// should use one thread: more would only oversubscribe the cores. (The
// elementwise kernels keep splitting their work: measured, that balances
// the replicas better — the base config's train step took 1000 ms instead
// of 870 ms with them single-threaded too.) BeginReplicas sets BLAS to one
// thread until every BeginReplicas has been matched by EndReplicas;
// concurrent users (a training job and a generation in the window) nest
// correctly, unlike saving and restoring the setting around each use.
var (
	replicaMu    sync.Mutex
	replicaUsers int
	replicaBLAS  int
)

// BeginReplicas makes BLAS calls single-threaded.
func BeginReplicas() {
	replicaMu.Lock()
	defer replicaMu.Unlock()
	if replicaUsers == 0 {
		replicaBLAS = SetBLASThreads(1)
	}
	replicaUsers++
}

// EndReplicas undoes one BeginReplicas.
func EndReplicas() {
	replicaMu.Lock()
	defer replicaMu.Unlock()
	if replicaUsers == 0 {
		panic("kernels: EndReplicas without BeginReplicas")
	}
	replicaUsers--
	if replicaUsers == 0 {
		SetBLASThreads(replicaBLAS)
	}
}
