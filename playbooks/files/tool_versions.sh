#!/bin/sh
# Prints name=version for git, Docker, its Compose plugin, Go, kubectl, helm and each Go program
# named in the arguments (its module version, from the binary's build information); a tool
# that is not installed is left out. Reads only. Run by onboarding.yml for the fleet report.
PATH="$HOME/.local/bin:/usr/local/bin:/opt/homebrew/bin:${GOPATH:-$HOME/go}/bin:$PATH"
export PATH

say() { [ -n "$2" ] && printf '%s=%s\n' "$1" "$2"; }

command -v git >/dev/null 2>&1 && say git "$(git --version 2>/dev/null | sed 's/^git version //')"
if command -v docker >/dev/null 2>&1; then
    say docker "$(docker version --format '{{.Client.Version}}' 2>/dev/null)"
    say compose "$(docker compose version --short 2>/dev/null)"
fi
command -v go >/dev/null 2>&1 && say go "$(go env GOVERSION 2>/dev/null | sed 's/^go//')"
command -v kubectl >/dev/null 2>&1 \
    && say kubectl "$(kubectl version --client 2>/dev/null | sed -n 's/^Client Version: v*//p')"
command -v helm >/dev/null 2>&1 && say helm "$(helm version --short 2>/dev/null | sed 's/^v//; s/+.*//')"
for tool in "$@"; do
    binary=$(command -v "$tool" 2>/dev/null) || continue
    command -v go >/dev/null 2>&1 || continue
    say "$tool" "$(go version -m "$binary" 2>/dev/null | awk '$1 == "mod" { print $3; exit }')"
done
exit 0
