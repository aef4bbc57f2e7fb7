package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// Tokens configures the hosted service's Token mode (SPEC §9): apps and
// web pages log in with username Token|AccessKeyID|InstanceID and tokens
// for a password (mqttrmq.TokenCredentials), which an application server
// got from the gateway's token service (TokenHandler) with the AccessKey.
type Tokens struct {
	// Secrets maps each AccessKey ID to its secret: it signs the token
	// service's requests, and the tokens issued for it.
	Secrets map[string]string

	// InstanceID, when set, must be the username's instance ID, and that
	// of every token that names one.
	InstanceID string

	// RevocationTopic is the RocketMQ topic revocations travel on, to
	// every instance. It must exist, and be neither a parent topic nor
	// the status topic. Required.
	RevocationTopic string

	// ExpiryNotice is how long before a token expires its holder is told
	// on $SYS/tokenExpireNotice. Default DefaultTokenExpiryNotice.
	ExpiryNotice time.Duration

	// RevocationRefresh is how long a revocation may go unannounced
	// before an instance announces it again, so that RocketMQ still holds
	// it for an instance started later: well under the broker's message
	// retention (fileReservedTime, 72 hours by default). Default
	// DefaultRevocationRefresh.
	RevocationRefresh time.Duration
}

// Defaults of Tokens.
const (
	DefaultTokenExpiryNotice = 5 * time.Minute
	DefaultRevocationRefresh = 24 * time.Hour
)

// The system topics of the Token mode. A client publishes to the first
// and receives the others without subscribing.
const (
	TopicUploadToken        = "$SYS/uploadToken"
	TopicTokenExpireNotice  = "$SYS/tokenExpireNotice"
	TopicTokenInvalidNotice = "$SYS/tokenInvalidNotice"
)

// checkTokens validates Tokens, and gives the gateway its own copy with
// the defaults filled in.
func (c *Config) checkTokens() error {
	if c.Tokens == nil {
		return nil
	}
	t := *c.Tokens
	if len(t.Secrets) == 0 {
		return fmt.Errorf("%w: Tokens.Secrets is empty", ErrConfig)
	}
	secrets := make(map[string]string, len(t.Secrets))
	for id, s := range t.Secrets {
		if id == "" || s == "" || strings.Contains(id, "|") {
			return fmt.Errorf("%w: Tokens.Secrets: AccessKey ID %q must be non-empty and free of '|', with a non-empty secret", ErrConfig, id)
		}
		secrets[id] = s
	}
	t.Secrets = secrets
	if strings.Contains(t.InstanceID, "|") {
		return fmt.Errorf("%w: Tokens.InstanceID %q holds '|'", ErrConfig, t.InstanceID)
	}
	if t.RevocationTopic == "" {
		return fmt.Errorf("%w: Tokens.RevocationTopic is required: revocations reach the other instances through it", ErrConfig)
	}
	if err := mqttrmq.ValidateParentTopic(t.RevocationTopic); err != nil {
		return fmt.Errorf("%w: Tokens.RevocationTopic: %w", ErrConfig, err)
	}
	if _, err := mqttrmq.NamespaceTopic(c.Namespace, t.RevocationTopic); c.Namespace != "" && err != nil {
		return fmt.Errorf("%w: Tokens.RevocationTopic in Namespace: %w", ErrConfig, err)
	}
	if slices.Contains(c.ParentTopics, t.RevocationTopic) || t.RevocationTopic == c.StatusTopic {
		return fmt.Errorf("%w: Tokens.RevocationTopic %q is a parent topic or the status topic", ErrConfig, t.RevocationTopic)
	}
	if t.ExpiryNotice == 0 {
		t.ExpiryNotice = DefaultTokenExpiryNotice
	}
	if t.RevocationRefresh == 0 {
		t.RevocationRefresh = DefaultRevocationRefresh
	}
	if t.ExpiryNotice < 0 || t.RevocationRefresh < 0 {
		return fmt.Errorf("%w: Tokens.ExpiryNotice and Tokens.RevocationRefresh cannot be negative", ErrConfig)
	}
	c.Tokens = &t
	return nil
}

// A token is self-describing and signed, so that every instance holding
// the AccessKey's secret verifies it alone, without a shared database:
//
//	mt1.{payload}.{mac}
//
// payload is the Base64url (unpadded) of the claims' JSON, and mac the
// Base64url of HMAC-SHA256(key, "mt1." + payload), key being
// HMAC-SHA256(AccessKeySecret, tokenKeyLabel): a key of its own, so that
// nothing signed for the Signature mode (HMAC-SHA1 of a client ID) can pass
// for a token. A token holds no '|', the password's separator.
const (
	tokenPrefix   = "mt1."
	tokenKeyLabel = "mqttrmq token signing key v1"
	// maxTokenLen bounds a token, well within an MQTT password.
	maxTokenLen = 16 << 10
)

// tokenClaims is what a token says.
type tokenClaims struct {
	AccessKey string   `json:"ak"`
	ID        string   `json:"id"`  // random, names the token in revocations
	Resources []string `json:"res"` // topics and filters it covers
	Actions   string   `json:"act"` // mqttrmq.TokenRead, TokenWrite, TokenReadWrite
	Expire    int64    `json:"exp"` // ms since the epoch
	Issued    int64    `json:"iat"`
	Instance  string   `json:"ins,omitempty"`
}

func (c *tokenClaims) expired(now time.Time) bool { return now.UnixMilli() >= c.Expire }

// tokenAuthority issues and checks tokens, and keeps the revocations.
type tokenAuthority struct {
	cfg   Tokens
	topic string            // the revocation topic's RocketMQ name, in Config.Namespace
	keys  map[string][]byte // AccessKey ID → token signing key
	ready atomic.Bool       // revocations loaded from RocketMQ: logins may be checked

	mu      sync.Mutex
	revoked map[string]*revocation             // token ID → revocation, until the token expires
	holders map[string]map[*heldToken]struct{} // token ID → where connected clients hold it

	stop chan struct{}
	done sync.WaitGroup
}

func newTokenAuthority(cfg Tokens, namespace string) *tokenAuthority {
	a := &tokenAuthority{cfg: cfg, topic: inNamespace(namespace, cfg.RevocationTopic), keys: map[string][]byte{}, revoked: map[string]*revocation{}, holders: map[string]map[*heldToken]struct{}{}, stop: make(chan struct{})}
	for id, secret := range cfg.Secrets {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(tokenKeyLabel))
		a.keys[id] = m.Sum(nil)
	}
	return a
}

func (a *tokenAuthority) mac(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// issue signs a token for an application already checked.
func (a *tokenAuthority) issue(accessKey string, app mqttrmq.TokenApplication, now time.Time) (string, tokenClaims, error) {
	key, ok := a.keys[accessKey]
	if !ok {
		return "", tokenClaims{}, fmt.Errorf("unknown AccessKey ID %q", accessKey)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", tokenClaims{}, err
	}
	res := slices.Clone(app.Resources)
	slices.Sort(res)
	c := tokenClaims{
		AccessKey: accessKey, ID: base64.RawURLEncoding.EncodeToString(id[:]), Resources: res,
		Actions: app.Actions, Expire: app.ExpireTime.UnixMilli(), Issued: now.UnixMilli(), Instance: app.InstanceID,
	}
	js, err := json.Marshal(c)
	if err != nil {
		return "", tokenClaims{}, err
	}
	signed := tokenPrefix + base64.RawURLEncoding.EncodeToString(js)
	tok := signed + "." + base64.RawURLEncoding.EncodeToString(a.mac(key, signed))
	if len(tok) > maxTokenLen {
		return "", tokenClaims{}, fmt.Errorf("the token would be %d bytes, over the %d-byte limit: fewer or shorter resources", len(tok), maxTokenLen)
	}
	return tok, c, nil
}

// check verifies a token presented under an AccessKey ID at the time now,
// and returns its claims and 0, or the check code saying why it does not
// work (claims are returned for an expired or revoked token, not for a
// forged one).
func (a *tokenAuthority) check(accessKey, tok string, now time.Time) (tokenClaims, int) {
	key, ok := a.keys[accessKey]
	if !ok || len(tok) > maxTokenLen || !strings.HasPrefix(tok, tokenPrefix) {
		return tokenClaims{}, mqttrmq.TokenForged
	}
	dot := strings.LastIndexByte(tok, '.')
	if dot < len(tokenPrefix) {
		return tokenClaims{}, mqttrmq.TokenForged
	}
	signed := tok[:dot]
	mac, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil || !hmac.Equal(mac, a.mac(key, signed)) {
		return tokenClaims{}, mqttrmq.TokenForged
	}
	js, err := base64.RawURLEncoding.DecodeString(signed[len(tokenPrefix):])
	var c tokenClaims
	if err != nil || json.Unmarshal(js, &c) != nil || c.AccessKey != accessKey || c.ID == "" {
		return tokenClaims{}, mqttrmq.TokenForged // signed, so only a bug makes this
	}
	if c.expired(now) {
		return c, mqttrmq.TokenExpired
	}
	if a.isRevoked(c.ID) {
		return c, mqttrmq.TokenRevoked
	}
	return c, 0
}

// checkCodeText names a check code for logs and answers.
func checkCodeText(code int) string {
	switch code {
	case mqttrmq.TokenForged:
		return "forged"
	case mqttrmq.TokenExpired:
		return "expired"
	case mqttrmq.TokenRevoked:
		return "revoked"
	case mqttrmq.TokenResourceMismatch:
		return "does not cover the topic"
	case mqttrmq.TokenActionMismatch:
		return "does not grant the action"
	}
	return "valid"
}

// tokenError is why a token does not work.
type tokenError struct {
	code int
	typ  string // the token's type in the password
}

func (e *tokenError) Error() string {
	return fmt.Sprintf("%s token %s (check code %d)", e.typ, checkCodeText(e.code), e.code)
}

// heldToken is a token a client holds, in the place its type gives it.
type heldToken struct {
	login  *tokenLogin
	typ    string // "R", "W" or "RW"
	claims tokenClaims
	levels [][]string  // the resources, split into levels
	notice *time.Timer // $SYS/tokenExpireNotice
	expiry *time.Timer // $SYS/tokenInvalidNotice, then disconnect
}

// typeAllows reports whether a password's token type is for an action,
// mqttrmq.TokenRead or TokenWrite.
func typeAllows(typ, action string) bool { return typ == "RW" || typ == action }

// tokenLogin is the tokens of one Token-mode connection.
type tokenLogin struct {
	a          *tokenAuthority
	accessKey  string
	instanceID string
	client     *broker.Client
	g          *Gateway

	mu   sync.Mutex
	held []*heldToken // at most one per type
	live bool         // connected, tokens registered and timed
	gone bool         // invalidated or disconnected: no more notices

	// What is told the client on $SYS topics is told in the order it
	// happened, by one goroutine at a time (see inOrder).
	omu     sync.Mutex
	pending []func()
	telling bool
}

// inOrder runs f after what was given before it, on a goroutine, never on
// the caller's: the callers include the broker's hooks, which hold locks
// that delivering and disconnecting take. Notices of two uploads reach
// the client in the order of the uploads.
func (l *tokenLogin) inOrder(f func()) {
	l.omu.Lock()
	l.pending = append(l.pending, f)
	if l.telling {
		l.omu.Unlock()
		return
	}
	l.telling = true
	l.omu.Unlock()
	go func() {
		for {
			l.omu.Lock()
			if len(l.pending) == 0 {
				l.telling, l.pending = false, nil
				l.omu.Unlock()
				return
			}
			f := l.pending[0]
			l.pending[0] = nil
			l.pending = l.pending[1:]
			l.omu.Unlock()
			f()
		}
	}()
}

// accept checks one token for a type of the password and returns it held,
// or why not.
func (a *tokenAuthority) accept(accessKey, instanceID, typ, tok string, now time.Time) (*heldToken, error) {
	c, code := a.check(accessKey, tok, now)
	if code != 0 {
		return nil, &tokenError{code, typ}
	}
	if c.Instance != "" && c.Instance != instanceID {
		return nil, fmt.Errorf("%s token is for instance %q, not %q", typ, c.Instance, instanceID)
	}
	for _, action := range []string{mqttrmq.TokenRead, mqttrmq.TokenWrite} {
		if typeAllows(typ, action) && !mqttrmq.TokenActionsAllow(c.Actions, action) {
			return nil, &tokenError{mqttrmq.TokenActionMismatch, typ}
		}
	}
	h := &heldToken{typ: typ, claims: c}
	for _, r := range c.Resources {
		h.levels = append(h.levels, strings.Split(r, "/"))
	}
	return h, nil
}

// coversTopic reports whether a resource matches a topic published to.
func (h *heldToken) coversTopic(topic string) bool {
	for _, l := range h.levels {
		if matchLevels(l, topic) {
			return true
		}
	}
	return false
}

// coversFilter reports whether a resource covers every topic a filter
// subscribed to can match.
func (h *heldToken) coversFilter(filter string) bool {
	levels := strings.Split(filter, "/")
	for _, l := range h.levels {
		if levelsCover(l, levels) {
			return true
		}
	}
	return false
}

// login checks a Token-mode CONNECT: the username's instance, its
// AccessKey, and every token of the password.
func (a *tokenAuthority) login(u mqttrmq.Username, password []byte) (*tokenLogin, broker.ReasonCode, error) {
	if !a.ready.Load() {
		// The revocations are still being read: come back in a moment.
		return nil, broker.ServerUnavailable, fmt.Errorf("%w: revocations not loaded yet", ErrAuth)
	}
	if a.cfg.InstanceID != "" && u.InstanceID != a.cfg.InstanceID {
		return nil, broker.BadUsernameOrPassword, fmt.Errorf("%w: instance %q is not %q", ErrAuth, u.InstanceID, a.cfg.InstanceID)
	}
	if _, ok := a.keys[u.AccessKeyID]; !ok {
		return nil, broker.BadUsernameOrPassword, fmt.Errorf("%w: unknown AccessKey ID %q", ErrAuth, u.AccessKeyID)
	}
	tokens, err := mqttrmq.ParseTokenPassword(string(password))
	if err != nil {
		return nil, broker.BadUsernameOrPassword, fmt.Errorf("%w: %w", ErrAuth, err)
	}
	l := &tokenLogin{a: a, accessKey: u.AccessKeyID, instanceID: u.InstanceID}
	now := time.Now()
	for _, t := range tokens {
		h, err := a.accept(u.AccessKeyID, u.InstanceID, t.Type, t.Value, now)
		if err != nil {
			return nil, broker.BadUsernameOrPassword, fmt.Errorf("%w: %w", ErrAuth, err)
		}
		h.login = l
		l.held = append(l.held, h)
	}
	return l, broker.Success, nil
}

// connected registers the login's tokens, so that a revocation finds
// them, and arms their expiry.
func (l *tokenLogin) connected(g *Gateway, c *broker.Client) {
	l.mu.Lock()
	l.g, l.client, l.live = g, c, true
	held := slices.Clone(l.held)
	l.mu.Unlock()
	for _, h := range held {
		l.a.register(h)
		l.arm(h)
	}
	// A revocation may have come between the CONNECT's check and now.
	for _, h := range held {
		if l.a.isRevoked(h.claims.ID) {
			l.invalidate(h, mqttrmq.TokenRevoked)
		}
	}
}

// disconnected forgets the login's tokens.
func (l *tokenLogin) disconnected() {
	l.mu.Lock()
	l.live, l.gone = false, true
	held := l.held
	l.mu.Unlock()
	for _, h := range held {
		l.disarm(h)
		l.a.unregister(h)
	}
}

// arm times a held token's notices; the notice is sent at once when the
// token expires sooner than the notice period.
func (l *tokenLogin) arm(h *heldToken) {
	left := time.Until(time.UnixMilli(h.claims.Expire))
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.live {
		return
	}
	notice := max(left-l.a.cfg.ExpiryNotice, 0)
	h.notice = time.AfterFunc(notice, func() { l.expiryNotice(h) })
	h.expiry = time.AfterFunc(max(left, 0), func() { l.invalidate(h, mqttrmq.TokenExpired) })
}

func (l *tokenLogin) disarm(h *heldToken) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range []*time.Timer{h.notice, h.expiry} {
		if t != nil {
			t.Stop()
		}
	}
}

// holds reports whether h is still one of the login's tokens.
func (l *tokenLogin) holds(h *heldToken) bool {
	return !l.gone && slices.Contains(l.held, h)
}

// expiryNotice tells the client its token expires soon.
func (l *tokenLogin) expiryNotice(h *heldToken) {
	l.mu.Lock()
	ok := l.live && l.holds(h)
	l.mu.Unlock()
	if !ok || l.client.IsClosed() {
		return
	}
	l.g.access.expiryNotices.Add(1)
	body := fmt.Sprintf(`{"expireTime":%d,"type":%q}`, h.claims.Expire, h.typ)
	l.inOrder(func() {
		l.g.broker.PublishTo(l.client.ID(), &broker.Message{Topic: TopicTokenExpireNotice, Payload: []byte(body)})
	})
}

// invalidate tells the client its token stopped working, on
// $SYS/tokenInvalidNotice, and disconnects it. It does so once per
// connection, and never for a token the client no longer holds.
func (l *tokenLogin) invalidate(h *heldToken, code int) {
	l.mu.Lock()
	ok := l.live && l.holds(h)
	if ok {
		l.live, l.gone = false, true
	}
	l.mu.Unlock()
	if !ok || l.client.IsClosed() {
		return
	}
	g, c := l.g, l.client
	g.access.tokensInvalidated.Add(1)
	g.log.Info("token no longer valid: client disconnected", "client", c.ID(), "type", h.typ, "why", checkCodeText(code))
	body := fmt.Sprintf(`{"code":%d,"type":%q}`, code, h.typ)
	l.inOrder(func() {
		g.broker.PublishTo(c.ID(), &broker.Message{Topic: TopicTokenInvalidNotice, Payload: []byte(body)})
		c.Disconnect(broker.NotAuthorized, "token "+checkCodeText(code))
	})
}

// allows reports whether the login's tokens allow an action (R or W) on a
// topic (W) or a filter (R) at the time now; if not, the check code says
// why, and a token found expired or revoked on the way is returned, to be
// invalidated.
func (l *tokenLogin) allows(action, topicOrFilter string, now time.Time) (ok bool, code int, stale *heldToken) {
	l.mu.Lock()
	defer l.mu.Unlock()
	code = mqttrmq.TokenActionMismatch
	for _, h := range l.held {
		if !typeAllows(h.typ, action) {
			continue
		}
		switch {
		case h.claims.expired(now):
			code, stale = mqttrmq.TokenExpired, h
		case l.a.isRevoked(h.claims.ID):
			code, stale = mqttrmq.TokenRevoked, h
		case action == mqttrmq.TokenWrite && h.coversTopic(topicOrFilter),
			action == mqttrmq.TokenRead && h.coversFilter(topicOrFilter):
			return true, 0, nil
		default:
			if stale == nil {
				code = mqttrmq.TokenResourceMismatch
			}
		}
	}
	return false, code, stale
}

// replace puts an uploaded token in its type's place, instead of the one
// held there: registered and timed, the old one forgotten.
func (l *tokenLogin) replace(h *heldToken) bool {
	h.login = l
	l.mu.Lock()
	if l.gone {
		l.mu.Unlock()
		return false
	}
	var old *heldToken
	if i := slices.IndexFunc(l.held, func(o *heldToken) bool { return o.typ == h.typ }); i >= 0 {
		old = l.held[i]
		l.held[i] = h
	} else {
		l.held = append(l.held, h)
	}
	live := l.live
	l.mu.Unlock()
	if old != nil {
		l.disarm(old)
		l.a.unregister(old)
	}
	if live {
		l.a.register(h)
		l.arm(h)
	}
	return true
}

// uploadMessage is the payload of $SYS/uploadToken.
type uploadMessage struct {
	Token *string `json:"token"`
	Type  *string `json:"type"`
}

// uploadToken handles a publish to $SYS/uploadToken: a Token-mode client
// replaces one of its tokens without reconnecting. The message never goes
// to RocketMQ. A malformed upload is refused (MQTT 5: 0x99); a token that
// does not work is refused (0x87) and the client told why on
// $SYS/tokenInvalidNotice, keeping the tokens it had.
func (g *Gateway) uploadToken(c *broker.Client, m *broker.Message, ack func(broker.ReasonCode)) {
	ca := accessOf(c)
	refuse := func(code broker.ReasonCode, why string, notice int, typ string) {
		g.access.uploadsRefused.Add(1)
		g.log.Info("token upload refused", "client", c.ID(), "code", code, "reason", why)
		if notice != 0 { // only for a token login's upload
			body := fmt.Sprintf(`{"code":%d,"type":%q}`, notice, typ)
			// Not under the client's own lock, which holds this hook,
			// and after the notices of the uploads before.
			ca.login.inOrder(func() {
				g.broker.PublishTo(c.ID(), &broker.Message{Topic: TopicTokenInvalidNotice, Payload: []byte(body)})
			})
		}
		if ack != nil {
			ack(code)
		}
	}
	if ca == nil || ca.login == nil {
		refuse(broker.NotAuthorized, "the client did not log in with a token", 0, "")
		return
	}
	if c.IsClosed() {
		refuse(broker.NotAuthorized, "a will: no connection is left to hold the token", 0, "")
		return
	}
	var up uploadMessage
	if err := json.Unmarshal(m.Payload, &up); err != nil || up.Token == nil || up.Type == nil {
		refuse(broker.PayloadFormatInvalid, `payload is not {"token":"…","type":"R|W|RW"}`, 0, "")
		return
	}
	switch *up.Type {
	case "R", "W", "RW":
	default:
		refuse(broker.PayloadFormatInvalid, `type is not "R", "W" or "RW"`, 0, "")
		return
	}
	h, err := g.tokens.accept(ca.login.accessKey, ca.login.instanceID, *up.Type, *up.Token, time.Now())
	if err != nil {
		code := mqttrmq.TokenForged
		if te, ok := err.(*tokenError); ok {
			code = te.code
		}
		refuse(broker.NotAuthorized, err.Error(), code, *up.Type)
		return
	}
	if !ca.login.replace(h) {
		refuse(broker.NotAuthorized, "the connection is closing", 0, "")
		return
	}
	g.access.uploads.Add(1)
	g.log.Info("token replaced", "client", c.ID(), "type", *up.Type)
	if ack != nil {
		ack(broker.Success)
	}
}
