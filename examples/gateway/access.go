package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mqttrmq/mqttrmq/gateway"
)

// accessFlags are the flags of presence events, tokens and permissions.
type accessFlags struct {
	statusTopic     *string
	statusBacklog   *int
	revocationTopic *string
	tokenAPI        *string
	expiryNotice    *time.Duration
	permissions     *string
}

func accessFlagsOn(fs *flag.FlagSet) *accessFlags {
	return &accessFlags{
		statusTopic:     fs.String("status-topic", "", "RocketMQ `topic` receiving a presence event (tag connect, disconnect or tcpclean, the hosted service's JSON body) for every client; it must exist"),
		statusBacklog:   fs.Int("status-backlog", gateway.DefaultStatusBacklog, "presence events kept waiting while RocketMQ is away; past them new ones are dropped and counted"),
		revocationTopic: fs.String("token-revocation-topic", "", "turns the Token mode on (Token|AccessKeyID|InstanceID logins, tokens signed with the -access-keys): the RocketMQ `topic` revocations reach every instance through; it must exist"),
		tokenAPI:        fs.String("token-api", "", "serve the token service (POST /token/apply, /token/revoke, /token/query) on `address`, such as :8080, over HTTPS with -tls-cert and -tls-key; needs -token-revocation-topic"),
		expiryNotice:    fs.Duration("token-expiry-notice", gateway.DefaultTokenExpiryNotice, "how long before a token expires its client is told on $SYS/tokenExpireNotice"),
		permissions:     fs.String("permissions", "", "`file` of topic permissions per AccessKey and Group ID, one rule a line: allow|deny publish|subscribe|all group:GID_x|key:ID|* FILTER"),
	}
}

// tokens reports whether the Token mode is asked for.
func (a *accessFlags) tokens() bool { return *a.revocationTopic != "" }

// apply checks the flags and sets what they say on o; secrets are the
// AccessKeys given, instance the -mqtt-instance.
func (a *accessFlags) apply(o *options, secrets map[string]string, instance string) error {
	o.cfg.StatusTopic = *a.statusTopic
	o.cfg.StatusBacklog = *a.statusBacklog
	if *a.statusBacklog <= 0 {
		return fmt.Errorf("-status-backlog %d: want a positive number", *a.statusBacklog)
	}
	if *a.tokenAPI != "" {
		if !a.tokens() {
			return errors.New("-token-api needs -token-revocation-topic: revoked tokens must reach every instance")
		}
		if _, _, err := net.SplitHostPort(*a.tokenAPI); err != nil {
			return fmt.Errorf("-token-api %q: want host:port, such as :8080: %w", *a.tokenAPI, err)
		}
		o.tokenAPI = *a.tokenAPI
	}
	if a.tokens() {
		if len(secrets) == 0 {
			return errors.New("-token-revocation-topic needs AccessKeys (-access-keys-file or -access-keys): they sign the tokens")
		}
		if *a.expiryNotice <= 0 {
			return fmt.Errorf("-token-expiry-notice %v: want a positive duration", *a.expiryNotice)
		}
		o.cfg.Tokens = &gateway.Tokens{Secrets: secrets, InstanceID: instance, RevocationTopic: *a.revocationTopic, ExpiryNotice: *a.expiryNotice}
	}
	if *a.permissions != "" {
		p, err := gateway.LoadPermissions(*a.permissions)
		if err != nil {
			return fmt.Errorf("-permissions: %w", err)
		}
		o.cfg.Permissions = p
	}
	return nil
}

// extraTopics are the topics besides the parent topics that a trial
// RocketMQ must hold.
func (o options) extraTopics() []string {
	var out []string
	if o.cfg.StatusTopic != "" {
		out = append(out, o.cfg.StatusTopic)
	}
	if o.cfg.Tokens != nil {
		out = append(out, o.cfg.Tokens.RevocationTopic)
	}
	return out
}

// serveTokenAPI serves the token service when -token-api asks for it,
// over HTTPS when the gateway has a certificate. It returns the server
// (nil when off) and its URL.
func serveTokenAPI(o options, g *gateway.Gateway, log *slog.Logger) (*http.Server, string, error) {
	if o.tokenAPI == "" {
		return nil, "off", nil
	}
	ln, err := net.Listen("tcp", o.tokenAPI)
	if err != nil {
		return nil, "", fmt.Errorf("-token-api: %w", err)
	}
	srv := &http.Server{Handler: g.TokenHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	scheme := "http"
	if o.cfg.TLS != nil {
		srv.TLSConfig = &tls.Config{Certificates: o.cfg.TLS.Certificates, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	go srv.Serve(ln)
	return srv, scheme + "://" + strings.Replace(ln.Addr().String(), "[::]", "127.0.0.1", 1), nil
}
