package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The files a certificate directory (--metrics-cert-dir) must hold: the
// names cert-manager and kubernetes.io/tls Secrets use.
const (
	metricsCertName = "tls.crt"
	metricsKeyName  = "tls.key"
)

// The metrics endpoint serves HTTPS and answers only a client whose bearer
// token the API server authenticates (a TokenReview) and whose user may get
// the non-resource URL /metrics (a SubjectAccessReview), such as a
// Prometheus bound to the ClusterRole mhst-operator-metrics-reader. The
// operator asks the API server for both reviews:
//
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// onLoopback says whether addr (host:port) listens on the loopback
// interface only: an empty host or 0.0.0.0 listens on every interface.
func onLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// metricsServerOptions configures the metrics endpoint from the flags:
// HTTPS with authentication and authorization unless --metrics-secure=false
// (plain HTTP, for a process on a developer's machine that binds to
// localhost). The certificate is the one in --metrics-cert-dir, reloaded
// when it changes (cert-manager renews it in place), or else a self-signed
// one generated at start.
func metricsServerOptions(f flags) (metricsserver.Options, error) {
	opts := metricsserver.Options{BindAddress: f.metricsAddr}
	if !f.metricsSecure {
		if f.metricsCertDir != "" {
			return opts, errors.New("--metrics-cert-dir needs --metrics-secure: a certificate is only used for HTTPS")
		}
		if f.metricsAddr != "0" && !onLoopback(f.metricsAddr) {
			return opts, fmt.Errorf("--metrics-secure=false serves the metrics to anyone who can connect, so it needs an address on localhost, such as 127.0.0.1:8080, not %q", f.metricsAddr)
		}
		return opts, nil
	}
	opts.SecureServing = true
	opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	if !f.metricsHTTP2 {
		// HTTP/2 stays off unless asked for: its stream handling has had
		// denial-of-service flaws (CVE-2023-44487, CVE-2023-39325), and a
		// scrape gains nothing from it.
		opts.TLSOpts = append(opts.TLSOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	if f.metricsCertDir != "" {
		// controller-runtime falls back to a self-signed certificate when
		// the files are missing; a directory that was asked for and is
		// empty is a mistake (a Secret not mounted), so say so instead.
		for _, name := range []string{metricsCertName, metricsKeyName} {
			path := filepath.Join(f.metricsCertDir, name)
			if _, err := os.Stat(path); err != nil {
				return opts, fmt.Errorf("--metrics-cert-dir %s: %w; mount a Secret with %s and %s there (cert-manager writes both), or leave the flag out to serve a self-signed certificate",
					f.metricsCertDir, err, metricsCertName, metricsKeyName)
			}
		}
		opts.CertDir = f.metricsCertDir
		opts.CertName = metricsCertName
		opts.KeyName = metricsKeyName
	}
	return opts, nil
}
