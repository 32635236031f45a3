// The two Argo CD programs the GitOps e2e tier runs, argocd-application-controller and
// argocd-repo-server, chosen by the name the binary is started under (a link to it), as Argo CD's
// own multi-call binary does. Built by hack/ensure-gitops.sh against a pinned Argo CD release;
// leaving out the API server, the CLI, Dex, notifications and the ApplicationSet controller keeps
// the build to a few minutes on two cores.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

func main() {
	// klog (client-go's logger) writes through Argo CD's logger, with its level and format.
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
	var command *cobra.Command
	switch name := filepath.Base(os.Args[0]); name {
	case "argocd-application-controller":
		command = appcontroller.NewCommand()
	case "argocd-repo-server":
		command = reposerver.NewCommand()
	default:
		fmt.Fprintf(os.Stderr, "%s: start this binary as argocd-application-controller or argocd-repo-server\n", name)
		os.Exit(2)
	}
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
