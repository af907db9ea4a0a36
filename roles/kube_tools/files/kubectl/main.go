// Command kubectl is Kubernetes' kubectl (k8s.io/kubectl/pkg/cmd) built from its published
// Go module by the kube_tools role's go method: `go install` cannot build k8s.io/kubernetes'
// own cmd/kubectl, as that module's go.mod replaces its staging modules with directories.
package main

import (
	"os"

	_ "k8s.io/client-go/plugin/pkg/client/auth" // the exec, OIDC and cloud auth plugins
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	logs.GlogSetter(cmd.GetLogVerbosity(os.Args)) //nolint:errcheck // as upstream's main
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
}
