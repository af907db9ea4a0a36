// Command controlplane is the test harness's Kubernetes control plane in one binary, as
// hyperkube was: its first argument names the component, the rest are that component's
// own flags.
//
//	controlplane etcd -data-dir DIR -client-port N -peer-port N
//	controlplane kube-apiserver|kube-controller-manager|kube-scheduler|kubelet FLAGS...
//
// The four Kubernetes components are upstream's (k8s.io/kubernetes/cmd/<component>/app)
// from the published Go module; etcd is go.etcd.io/etcd/server/v3/embed (etcd.go). The
// kubelet runs only on the harness's optional real node (tests/harness/node.py).
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	_ "time/tzdata" // CronJob time zones, as upstream's mains

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // the JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // the version metric
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

var components = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "etcd" {
		os.Exit(runEtcd(os.Args[2:]))
	}
	if len(os.Args) < 2 || components[os.Args[1]] == nil {
		names := []string{"etcd"}
		for name := range components {
			names = append(names, name)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: %s COMPONENT [FLAGS...]; COMPONENT is one of %v\n", os.Args[0], names)
		os.Exit(2)
	}
	command := components[os.Args[1]]()
	command.SetArgs(os.Args[2:])
	os.Exit(cli.Run(command))
}
