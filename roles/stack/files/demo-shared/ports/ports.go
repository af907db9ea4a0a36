// Package ports reads a service's ports from its <PREFIX>_ variables, as the platform's
// shared library (go-shared) names them: <PREFIX>_HTTP_PORT (HTTP) and <PREFIX>_PORT
// (gRPC) for a service with gRPC, <PREFIX>_PORT (HTTP) alone for one without.
package ports

import (
	"fmt"
	"strconv"
	"strings"
)

// Lookup is os.LookupEnv's shape.
type Lookup func(string) (string, bool)

// EnvPrefix is the prefix of a service's variables: auth-service -> AUTH_SERVICE.
func EnvPrefix(service string) string {
	return strings.ToUpper(strings.ReplaceAll(service, "-", "_"))
}

// Of returns the HTTP port (defaultHTTP when unset) and the gRPC port (0: none) of service.
// The error names the variable and its bad value.
func Of(service string, lookup Lookup, defaultHTTP int) (httpPort, grpcPort int, err error) {
	prefix := EnvPrefix(service)
	httpKey, grpcKey := prefix+"_PORT", ""
	if v, ok := lookup(prefix + "_HTTP_PORT"); ok && v != "" {
		httpKey, grpcKey = prefix+"_HTTP_PORT", prefix+"_PORT"
	}
	if httpPort, err = read(lookup, httpKey, defaultHTTP); err != nil {
		return 0, 0, err
	}
	if grpcKey != "" {
		if grpcPort, err = read(lookup, grpcKey, 0); err != nil {
			return 0, 0, err
		}
	}
	return httpPort, grpcPort, nil
}

func read(lookup Lookup, key string, def int) (int, error) {
	raw, ok := lookup(key)
	if !ok || raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port: use a number from 1 to 65535", key, raw)
	}
	return n, nil
}
