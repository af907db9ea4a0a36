// Command healthprobe is the container health check of the local service images: it asks
// a service from outside its binary, so that no service needs a health flag of ours.
//
//	healthprobe -http http://127.0.0.1:8081/ready                 # exit 0 on a 2xx answer
//	healthprobe -http http://127.0.0.1:8081/ready -grpc 127.0.0.1:50051
//	                                                              # and grpc.health.v1 SERVING
//
// It exits 0 when every check given passes, 1 with one line on stderr naming what failed,
// and 2 when it is called wrongly. The images have no curl and no grpc-health-probe; this
// program is both, in one static binary of the standard library and grpc-go's health client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// bodyExcerpt is how much of a failing HTTP answer the message quotes.
const bodyExcerpt = 200

func main() {
	flags := flag.NewFlagSet("healthprobe", flag.ContinueOnError)
	httpURL := flags.String("http", "", "URL to GET; passes on a 2xx answer")
	grpcTarget := flags.String("grpc", "", "host:port to ask grpc.health.v1 Check; passes on SERVING")
	grpcService := flags.String("grpc-service", "", "service name in the gRPC health request (\"\": the whole server)")
	timeout := flags.Duration("timeout", 3*time.Second, "time allowed for each check")
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *httpURL == "" && *grpcTarget == "" || flags.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "healthprobe: give -http URL and/or -grpc host:port (and nothing else)")
		os.Exit(2)
	}

	var failures []string
	if *httpURL != "" {
		if err := checkHTTP(*httpURL, *timeout); err != nil {
			failures = append(failures, err.Error())
		}
	}
	if *grpcTarget != "" {
		if err := checkGRPC(*grpcTarget, *grpcService, *timeout); err != nil {
			failures = append(failures, err.Error())
		}
	}
	if len(failures) > 0 {
		fmt.Fprintln(os.Stderr, "healthprobe: "+strings.Join(failures, "; "))
		os.Exit(1)
	}
}

// checkHTTP passes when GET url answers 2xx; otherwise it says the status and the start of
// the body (a service's readiness answer names the dependency that is down).
func checkHTTP(url string, timeout time.Duration) error {
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, bodyExcerpt))
	excerpt := strings.Join(strings.Fields(string(body)), " ")
	return fmt.Errorf("GET %s answered %s: %q", url, resp.Status, excerpt)
}

// checkGRPC passes when grpc.health.v1 Check on target answers SERVING.
func checkGRPC(target, service string, timeout time.Duration) error {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("gRPC health of %s: %w", target, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	switch {
	case status.Code(err) == codes.Unimplemented:
		return fmt.Errorf("gRPC health of %s: the server does not register grpc.health.v1 "+
			"(set grpc_health: false in its catalog entry)", target)
	case err != nil:
		return fmt.Errorf("gRPC health of %s: %s", target, status.Convert(err).Message())
	case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
		return fmt.Errorf("gRPC health of %s answered %s", target, resp.GetStatus())
	}
	return nil
}
