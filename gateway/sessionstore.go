package gateway

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mqttrmq/mqttrmq/internal/broker"
)

// sessionStore keeps persistent sessions across a restart in a bbolt file
// (go.etcd.io/bbolt: one file, transactions, no server), one JSON record
// per client ID. The gateway reads it at Start and writes it whole at
// Close, once the consumer has stopped and every client is disconnected,
// so that it holds every message taken from RocketMQ that a persistent
// session had not had acknowledged. A gateway that crashes loses what it
// held since it started; the RocketMQ offsets it committed meanwhile do not
// come back.
type sessionStore struct {
	db *bbolt.DB
}

var sessionsBucket = []byte("sessions")

func openSessionStore(path string, timeout time.Duration) (*sessionStore, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("gateway: session store %s: %w", path, err)
	}
	return &sessionStore{db: db}, nil
}

// load reads every saved session.
func (s *sessionStore) load() ([]broker.SessionState, error) {
	var out []broker.SessionState
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(sessionsBucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var st broker.SessionState
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("session %q: %w", k, err)
			}
			out = append(out, st)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: session store: %w", err)
	}
	return out, nil
}

// save replaces what the store holds with sessions.
func (s *sessionStore) save(sessions []broker.SessionState) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(sessionsBucket) != nil {
			if err := tx.DeleteBucket(sessionsBucket); err != nil {
				return err
			}
		}
		b, err := tx.CreateBucket(sessionsBucket)
		if err != nil {
			return err
		}
		for _, st := range sessions {
			v, err := json.Marshal(st)
			if err != nil {
				return fmt.Errorf("session %q: %w", st.ClientID, err)
			}
			if err := b.Put([]byte(st.ClientID), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("gateway: session store: %w", err)
	}
	return nil
}

func (s *sessionStore) close() error { return s.db.Close() }
