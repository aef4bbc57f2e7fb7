package gateway

import (
	"sync/atomic"
	"time"

	"github.com/mqttrmq/mqttrmq"
	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// Who may do what: the broker's hooks ask here, after the gateway's own
// rules (parent topics, P2P privacy), whether Config.Permissions and a
// Token-mode client's tokens allow a publish or a subscription. A refused
// PUBLISH is not forwarded to RocketMQ and is answered 0x87 (an MQTT 3.1.1
// client, which cannot be refused, gets its acknowledgement anyway); a
// refused SUBSCRIBE filter gets 0x87 in the SUBACK (MQTT 3.1.1: 0x80).
// Every refusal is counted here (AccessStats) and by the broker
// (Stats.Refusals, by packet and reason code).

// clientAccess is what a connection's hooks keep for these checks (with
// broker.Client.SetValue).
type clientAccess struct {
	accessKey string      // the username's AccessKey ID, "" when it names none
	group     string      // the client ID's Group ID, "" when it is not GroupID@@@DeviceID
	login     *tokenLogin // a Token-mode client's tokens; nil otherwise
}

func accessOf(c *broker.Client) *clientAccess {
	ca, _ := c.Value().(*clientAccess)
	return ca
}

// groupOf returns the Group ID of a client ID of the hosted form, or "".
func groupOf(clientID string) string {
	id, err := mqttrmq.ParseClientID(clientID)
	if err != nil {
		return ""
	}
	return id.GroupID
}

// AccessStats counts the decisions of Config.Permissions and Config.Tokens.
type AccessStats struct {
	PublishesRefused    int64 // publishes and wills a permission or the client's tokens refused: never sent to RocketMQ
	SubscribesRefused   int64 // filters a permission or the client's tokens refused
	TokenLoginsRefused  int64 // Token-mode CONNECTs refused: forged, expired, revoked or mismatched tokens, unknown AccessKey, other instance
	TokenUploads        int64 // tokens replaced through $SYS/uploadToken
	TokenUploadsRefused int64 // uploads refused: malformed, from a client not logged in with tokens, or a token that does not work
	ExpiryNotices       int64 // $SYS/tokenExpireNotice messages sent
	TokensInvalidated   int64 // clients told on $SYS/tokenInvalidNotice that a token expired or was revoked, and disconnected
	TokensIssued        int64 // tokens the token service issued
	TokenAPIRefused     int64 // token service requests refused (bad parameter, bad signature, not revoked)
	RevocationsSent     int64 // revocations sent to the revocation topic, announced again included
	RevocationsRefused  int64 // messages of the revocation topic that were not revocations
	Revocations         int64 // revoked tokens not yet expired, now
}

// accessCounters are the live counters behind AccessStats.
type accessCounters struct {
	publishesRefused, subscribesRefused, tokenLoginsRefused   atomic.Int64
	uploads, uploadsRefused, expiryNotices, tokensInvalidated atomic.Int64
	tokensIssued, tokenAPIRefused, revocationsSent            atomic.Int64
	revocationsRefused                                        atomic.Int64
}

// AccessStats returns a snapshot of the counters of Config.Permissions and
// Config.Tokens.
func (g *Gateway) AccessStats() AccessStats {
	c := &g.access
	st := AccessStats{
		PublishesRefused: c.publishesRefused.Load(), SubscribesRefused: c.subscribesRefused.Load(),
		TokenLoginsRefused: c.tokenLoginsRefused.Load(), TokenUploads: c.uploads.Load(),
		TokenUploadsRefused: c.uploadsRefused.Load(), ExpiryNotices: c.expiryNotices.Load(),
		TokensInvalidated: c.tokensInvalidated.Load(), TokensIssued: c.tokensIssued.Load(),
		TokenAPIRefused: c.tokenAPIRefused.Load(), RevocationsSent: c.revocationsSent.Load(),
		RevocationsRefused: c.revocationsRefused.Load(),
	}
	if g.tokens != nil {
		st.Revocations = g.tokens.revocations()
	}
	return st
}

// authenticate checks a CONNECT's credentials: Token-mode usernames with
// the token authority when there is one, the rest with Config.Auth. It
// keeps what the later checks need on the client.
func (g *Gateway) authenticate(c *broker.Client, username string, password []byte) (broker.ReasonCode, error) {
	u, uerr := mqttrmq.ParseUsername(username)
	hosted := uerr == nil
	if g.tokens != nil && hosted && u.Mode == mqttrmq.ModeToken {
		login, code, err := g.tokens.login(u, password)
		if err != nil {
			g.access.tokenLoginsRefused.Add(1)
			return code, err
		}
		c.SetValue(&clientAccess{accessKey: u.AccessKeyID, group: groupOf(c.ID()), login: login})
		return broker.Success, nil
	}
	if err := g.cfg.Auth.Authenticate(c.ID(), username, password); err != nil {
		return broker.BadUsernameOrPassword, err
	}
	if g.cfg.Permissions != nil {
		ca := &clientAccess{group: groupOf(c.ID())}
		if hosted {
			ca.accessKey = u.AccessKeyID
		}
		c.SetValue(ca)
	}
	return broker.Success, nil
}

// subjectOf returns the AccessKey ID and Group ID permissions are looked
// up by. A will published after its connection is long gone carries no
// state: its Group ID is all there is.
func subjectOf(c *broker.Client, ca *clientAccess) (accessKey, group string) {
	if ca == nil {
		return "", groupOf(c.ID())
	}
	return ca.accessKey, ca.group
}

// interceptPublish handles what the Publish hook must not send to
// RocketMQ: uploads on $SYS/uploadToken, and publishes a permission or the
// client's tokens refuse. It reports whether it answered the publish.
func (g *Gateway) interceptPublish(c *broker.Client, m *broker.Message, ack func(broker.ReasonCode)) bool {
	if g.tokens != nil && m.Topic == TopicUploadToken {
		g.uploadToken(c, m, ack)
		return true
	}
	ca := accessOf(c)
	refuse := func(why string, err error) bool {
		g.access.publishesRefused.Add(1)
		g.log.Info("publish refused", "client", c.ID(), "topic", m.Topic, "code", broker.NotAuthorized, "reason", why, "error", err)
		if ack != nil {
			ack(broker.NotAuthorized)
		}
		return true
	}
	if p := g.cfg.Permissions; p != nil {
		ak, group := subjectOf(c, ca)
		if !p.Publish(ak, group, m.Topic) {
			return refuse("permissions", nil)
		}
	}
	if ca != nil && ca.login != nil {
		ok, code, stale := ca.login.allows(mqttrmq.TokenWrite, m.Topic, time.Now())
		if !ok {
			if stale != nil {
				ca.login.invalidate(stale, code)
			}
			return refuse("token", &tokenError{code, mqttrmq.TokenWrite})
		}
	}
	return false
}

// authorizeSubscribe asks the permissions and the client's tokens about a
// filter the gateway's own rules let through.
func (g *Gateway) authorizeSubscribe(c *broker.Client, filter string) broker.ReasonCode {
	ca := accessOf(c)
	inner := innerFilter(filter)
	refuse := func(why string, err error) broker.ReasonCode {
		g.access.subscribesRefused.Add(1)
		g.log.Info("subscription refused", "client", c.ID(), "filter", filter, "code", broker.NotAuthorized, "reason", why, "error", err)
		return broker.NotAuthorized
	}
	if p := g.cfg.Permissions; p != nil {
		ak, group := subjectOf(c, ca)
		if !p.Subscribe(ak, group, inner) {
			return refuse("permissions", nil)
		}
	}
	if ca != nil && ca.login != nil {
		ok, code, stale := ca.login.allows(mqttrmq.TokenRead, inner, time.Now())
		if !ok {
			if stale != nil {
				ca.login.invalidate(stale, code)
			}
			return refuse("token", &tokenError{code, mqttrmq.TokenRead})
		}
	}
	return broker.Success
}

// connected and disconnected are the broker's Connected and Disconnected
// hooks: presence events, and a Token-mode client's tokens taken into and
// out of account.
func (g *Gateway) connected(c *broker.Client) {
	g.presenceConnected(c)
	if ca := accessOf(c); ca != nil && ca.login != nil {
		ca.login.connected(g, c)
	}
}

func (g *Gateway) disconnected(c *broker.Client, err error) {
	if ca := accessOf(c); ca != nil && ca.login != nil {
		ca.login.disconnected()
	}
	g.presenceDisconnected(c, err)
}
