//go:build !unix

package mqttload

import "errors"

var errUnsupported = errors.New("mqttload: not supported on this system")

func setReceiveBuffer(uintptr, int) error { return errUnsupported }

// RaiseFileLimit raises the process's limit on open files; only Unix
// systems have one to raise.
func RaiseFileLimit() (uint64, error) { return 0, errUnsupported }
