// Command pause holds a pod's sandbox (its namespaces) on the harness's real node until it
// is told to stop: the sandbox image containerd's CRI plugin runs first in every pod. No
// pause image can be pulled on this machine, so the harness builds this one.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
