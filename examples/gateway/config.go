package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/mqttrmq/mqttrmq/gateway"
)

// The configuration file. Every flag can also be set in one TOML file,
// given with -config: a key per flag, named as the flag without its dash,
// at the top level (no tables), so that the file, the flags and -h say the
// same thing:
//
//	# /etc/mqttrmq/gateway.toml
//	namesrv = ["10.0.0.5:9876", "10.0.0.6:9876"]
//	topics = ["vehicles", "chat"]
//	listen = ":1883"
//	access-keys-file = "/run/secrets/access-keys"
//	metrics = ":9100"
//	drain-grace = "30s"
//	server-reference = "mqtt-2.example.com:1883"
//
// A flag given on the command line wins over the file. Lists are TOML
// arrays (or the flag's comma-separated string), durations strings such as
// "10s", numbers and booleans TOML's own. A key that names no flag, a
// table, or a value the flag refuses stops the command before anything
// starts, with the file, the line and the key; so does a value the
// command's checks refuse later (-max-payload 0, say), with the line it
// came from.
//
// Secrets stay out of the file and off the command line: AccessKeys come
// from -access-keys-file or from the environment variable named by
// -access-keys-env, RocketMQ's ACL secret from -rocketmq-secret-key-file
// or -rocketmq-secret-key-env. -print-config prints the effective
// configuration in this format, where each value came from, secrets
// masked, and exits.
//
// The parser is github.com/pelletier/go-toml/v2: TOML because its
// types (strings, integers, booleans, arrays) are those of the flags and
// its syntax has nothing an operator can get wrong by indentation, and
// this parser because it is maintained, implements TOML 1.0 completely,
// reports errors with their line and column, and exposes its document
// tree (package unstable), from which each key's line is read.

// operatorOptions are the command's settings for running in production:
// the configuration file, logs, drain, health and RocketMQ's credentials.
type operatorOptions struct {
	configFile  string
	printConfig bool

	logLevel, logEvents, logFormat string
	logRate                        int

	drainGrace, drainTimeout time.Duration
	serverReference          string
	serverMoved              bool

	rocketmqAccessKey, rocketmqSecretFile, rocketmqSecretEnv string
	accessKeysEnv                                            string

	fs      *flag.FlagSet
	origins map[string]string // flag name → where its value came from: "FILE line N"
}

// secretFlags are masked by -print-config.
var secretFlags = []string{"access-keys"}

// define adds the operator's flags.
func (p *operatorOptions) define(fs *flag.FlagSet) {
	p.fs = fs
	fs.StringVar(&p.configFile, "config", "", "TOML `file` of settings: a key per flag (without its dash); flags given on the command line win")
	fs.BoolVar(&p.printConfig, "print-config", false, "print the effective configuration (secrets masked, each value's origin) as a configuration file, and exit")
	fs.StringVar(&p.logLevel, "log-level", "info", "lowest `level` logged: debug, info, warn or error (-v is -log-level debug)")
	fs.StringVar(&p.logEvents, "log-events", "info", "`level` of the one line per connection event and refusal (client ID, remote address, reason code)")
	fs.StringVar(&p.logFormat, "log-format", "text", "log `format`: text (key=value) or json")
	fs.IntVar(&p.logRate, "log-rate", gateway.DefaultLogRate, "lines of one kind logged per second at most, so that a client in a loop cannot flood the log; -1 for no limit")
	fs.DurationVar(&p.drainGrace, "drain-grace", gateway.DefaultDrainGrace, "on SIGTERM, how long MQTT 3.1.1 clients, which cannot be told, take to be closed, one by one")
	fs.DurationVar(&p.drainTimeout, "drain-timeout", time.Minute, "on SIGTERM, how long the whole drain may take before what is left is closed")
	fs.StringVar(&p.serverReference, "server-reference", "", "on SIGTERM, send MQTT 5 clients to this `server` (DISCONNECT 0x9C with a server reference), e.g. mqtt-2.example.com:1883")
	fs.BoolVar(&p.serverMoved, "server-moved", false, "with -server-reference, say the server moved for good (0x9D) rather than use another server (0x9C)")
	fs.StringVar(&p.rocketmqAccessKey, "rocketmq-access-key", "", "AccessKey `ID` for an ACL-enabled RocketMQ; its secret from -rocketmq-secret-key-file or -rocketmq-secret-key-env")
	fs.StringVar(&p.rocketmqSecretFile, "rocketmq-secret-key-file", "", "`file` holding RocketMQ's ACL secret key")
	fs.StringVar(&p.rocketmqSecretEnv, "rocketmq-secret-key-env", "", "environment `variable` holding RocketMQ's ACL secret key")
	fs.StringVar(&p.accessKeysEnv, "access-keys-env", "", "environment `variable` holding the AccessKeys for -auth signature, id:secret[,id:secret...]")
}

// load reads the configuration file, if one was given, into the flags the
// command line did not set, then takes -access-keys from the environment
// when -access-keys-env says so.
func (p *operatorOptions) load() error {
	onCommandLine := map[string]bool{}
	p.fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	if p.configFile != "" {
		if err := p.loadFile(p.configFile, onCommandLine); err != nil {
			return err
		}
	}
	if p.accessKeysEnv != "" {
		v, ok := os.LookupEnv(p.accessKeysEnv)
		if !ok || v == "" {
			return p.located(fmt.Errorf("-access-keys-env %s: the environment has no %s", p.accessKeysEnv, p.accessKeysEnv))
		}
		if p.isSet("access-keys") {
			return errors.New("give -access-keys or -access-keys-env, not both")
		}
		if err := p.fs.Set("access-keys", v); err != nil {
			return err
		}
		p.setOrigin("access-keys", "$"+p.accessKeysEnv)
	}
	return nil
}

func (p *operatorOptions) isSet(name string) bool {
	set := false
	p.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func (p *operatorOptions) setOrigin(name, origin string) {
	if p.origins == nil {
		p.origins = map[string]string{}
	}
	p.origins[name] = origin
}

// loadFile sets the flags from a configuration file.
func (p *operatorOptions) loadFile(path string, skip map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-config: %w", err)
	}
	return p.loadBytes(path, data, skip)
}

// loadBytes sets the flags from a configuration file's contents.
func (p *operatorOptions) loadBytes(path string, data []byte, skip map[string]bool) error {
	var values map[string]any
	if err := toml.Unmarshal(data, &values); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			return fmt.Errorf("-config %s line %d: %v", path, row, de)
		}
		return fmt.Errorf("-config %s: %w", path, err)
	}
	lines, err := keyLines(data)
	if err != nil {
		return fmt.Errorf("-config %s: %w", path, err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return lines[a] - lines[b] })
	for _, k := range keys {
		at := fmt.Sprintf("%s line %d", path, lines[k])
		f := p.fs.Lookup(k)
		if f == nil || k == "config" || k == "print-config" {
			msg := fmt.Sprintf("-config %s: unknown key %q", at, k)
			if s := p.closest(k); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return errors.New(msg)
		}
		v, err := flagValue(values[k])
		if err != nil {
			return fmt.Errorf("-config %s: key %q: %w", at, k, err)
		}
		if skip[k] {
			continue // the command line wins
		}
		if err := p.fs.Set(k, v); err != nil {
			want := ""
			if kind, _ := flag.UnquoteUsage(f); kind != "" {
				want = " (want " + kind + ")"
			}
			return fmt.Errorf("-config %s: key %q: invalid value %q%s: %w", at, k, v, want, err)
		}
		p.setOrigin(k, at)
	}
	return nil
}

// keyLines returns the line of every top-level key of a TOML document,
// and refuses tables and dotted keys, which name no flag.
func keyLines(data []byte) (map[string]int, error) {
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			line := p.Shape(e.Raw).Start.Line
			var parts []string
			for it := e.Key(); it.Next(); {
				parts = append(parts, string(it.Node().Data))
			}
			if len(parts) != 1 {
				return nil, fmt.Errorf("line %d: dotted key %q: every key is a flag name, at the top level", line, strings.Join(parts, "."))
			}
			lines[parts[0]] = line
		case unstable.Table, unstable.ArrayTable:
			line := 0
			if it := e.Key(); it.Next() {
				line = p.Shape(it.Node().Raw).Start.Line
			}
			return nil, fmt.Errorf("line %d: a table: every key is a flag name, at the top level", line)
		}
	}
	if err := p.Error(); err != nil {
		return nil, err // toml.Unmarshal, which names the line, took it
	}
	return lines, nil
}

// flagValue is a TOML value as the flag's string: arrays comma-joined.
func flagValue(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			s, err := flagValue(e)
			if err != nil {
				return "", err
			}
			if _, isList := e.([]any); isList || strings.Contains(s, ",") {
				return "", fmt.Errorf("array element %q: want a plain value without ','", s)
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("a %T is no flag's value: want a string, an integer, a boolean or an array of them", v)
}

// closest returns the flag name nearest to a misspelt key, or "".
func (p *operatorOptions) closest(key string) string {
	best, bestD := "", 3 // at most two edits away
	p.fs.VisitAll(func(f *flag.Flag) {
		if d := editDistance(key, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// located adds to an error about a flag the line its value came from,
// when it came from the configuration file: the command's checks name
// the flag ("-max-payload 0: ..."), the operator wants the line.
func (p *operatorOptions) located(err error) error {
	if err == nil || len(p.origins) == 0 {
		return err
	}
	msg, name := err.Error(), ""
	for n := range p.origins {
		if strings.HasPrefix(msg, "-"+n) && len(n) > len(name) {
			rest := msg[1+len(n):]
			if rest == "" || rest[0] == ' ' || rest[0] == ':' || rest[0] == ',' {
				name = n
			}
		}
	}
	if name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", p.origins[name], err)
}

// apply checks the operator's settings and puts them in cfg.
func (p *operatorOptions) apply(cfg *gateway.Config) error {
	for _, l := range []struct{ flag, v string }{{"-log-level", p.logLevel}, {"-log-events", p.logEvents}} {
		if _, err := parseLevel(l.v); err != nil {
			return fmt.Errorf("%s %q: %w", l.flag, l.v, err)
		}
	}
	events, _ := parseLevel(p.logEvents)
	cfg.EventLogLevel = events
	if p.logFormat != "text" && p.logFormat != "json" {
		return fmt.Errorf("-log-format %q: want text or json", p.logFormat)
	}
	if p.logRate < -1 || p.logRate == 0 {
		return fmt.Errorf("-log-rate %d: want lines per second, or -1 for no limit", p.logRate)
	}
	cfg.LogRate = p.logRate
	if p.drainGrace < 0 || p.drainTimeout <= 0 {
		return fmt.Errorf("-drain-grace %v, -drain-timeout %v: want durations, the timeout positive", p.drainGrace, p.drainTimeout)
	}
	cfg.DrainGrace = p.drainGrace
	if p.drainGrace == 0 {
		cfg.DrainGrace = time.Nanosecond // no grace, rather than the default
	}
	if p.serverMoved && p.serverReference == "" {
		return errors.New("-server-moved needs -server-reference")
	}
	if strings.ContainsFunc(p.serverReference, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("-server-reference %q: no control characters", p.serverReference)
	}
	cfg.ServerReference, cfg.ServerMoved = p.serverReference, p.serverMoved

	secret, err := p.rocketmqSecret()
	if err != nil {
		return err
	}
	switch {
	case p.rocketmqAccessKey == "" && secret != "":
		return errors.New("-rocketmq-secret-key-file and -rocketmq-secret-key-env need -rocketmq-access-key")
	case p.rocketmqAccessKey != "" && secret == "":
		return errors.New("-rocketmq-access-key needs its secret: -rocketmq-secret-key-file or -rocketmq-secret-key-env")
	case p.rocketmqAccessKey != "":
		cfg.Credentials = primitive.Credentials{AccessKey: p.rocketmqAccessKey, SecretKey: secret}
	}
	return nil
}

// rocketmqSecret reads RocketMQ's ACL secret from its file or variable.
func (p *operatorOptions) rocketmqSecret() (string, error) {
	switch {
	case p.rocketmqSecretFile != "" && p.rocketmqSecretEnv != "":
		return "", errors.New("give -rocketmq-secret-key-file or -rocketmq-secret-key-env, not both")
	case p.rocketmqSecretFile != "":
		b, err := os.ReadFile(p.rocketmqSecretFile)
		if err != nil {
			return "", fmt.Errorf("-rocketmq-secret-key-file: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("-rocketmq-secret-key-file %s is empty", p.rocketmqSecretFile)
		}
		return s, nil
	case p.rocketmqSecretEnv != "":
		s := os.Getenv(p.rocketmqSecretEnv)
		if s == "" {
			return "", fmt.Errorf("-rocketmq-secret-key-env %s: the environment has no %s", p.rocketmqSecretEnv, p.rocketmqSecretEnv)
		}
		return s, nil
	}
	return "", nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, errors.New("want debug, info, warn or error")
	}
	return l, nil
}

// logger makes the command's logger.
func (p *operatorOptions) logger(w io.Writer, verbose bool) *slog.Logger {
	level, _ := parseLevel(p.logLevel)
	if verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if p.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// writeConfig prints every flag's effective value as a configuration
// file, with where it came from; secrets are masked.
func (p *operatorOptions) writeConfig(w io.Writer) {
	fmt.Fprintln(w, "# The effective configuration; secrets masked.")
	p.fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" || f.Name == "print-config" || f.Name == "h" {
			return
		}
		origin := "default"
		switch {
		case p.origins[f.Name] != "":
			origin = p.origins[f.Name]
		case p.isSet(f.Name):
			origin = "command line"
		}
		value := f.Value.String()
		if slices.Contains(secretFlags, f.Name) && value != "" {
			value = "****"
		}
		fmt.Fprintf(w, "%s = %s  # %s\n", f.Name, tomlValue(f, value), origin)
	})
}

// tomlValue writes a flag's value as TOML: booleans and integers bare,
// everything else a string.
func tomlValue(f *flag.Flag, v string) string {
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case bool, int, int64, uint, uint64:
			return v
		}
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
