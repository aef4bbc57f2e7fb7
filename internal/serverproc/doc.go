// Package serverproc runs servers as processes of their own, for
// benchmarks, and reads what they cost from the kernel: resident memory
// (VmRSS in /proc/PID/status) and CPU time (utime + stime in
// /proc/PID/stat), of the server process alone, so that the load client
// and other servers in the same run are not counted. For Go servers it
// also counts goroutines, from the stack dump a Go program writes when it
// receives SIGQUIT, which needs no hook in the server's code.
//
// It builds Go servers with the go command of the toolchain that runs the
// benchmarks, and finds Mosquitto among the system's packages. Memory and
// CPU figures come from Linux's /proc; elsewhere those functions return
// ErrUnsupported.
package serverproc
