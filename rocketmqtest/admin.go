package rocketmqtest

import (
	"fmt"
	"strconv"
)

// adminCommands are the topic administration requests of
// rocketmq-client-go's admin package and of mqadmin.
var adminCommands = []registration{
	{UpdateAndCreateTopic, (*Server).handleCreateTopic},
	{DeleteTopicInBroker, (*Server).handleDeleteTopic},
}

// CreateTopic creates topic with the given number of queues, as
// "mqadmin updateTopic" does; consumers can subscribe to it before anything
// is sent. Creating an existing topic again with more queues adds queues;
// its messages stay. It rejects names that break RocketMQ's topic rules
// (1–127 characters of [%|a-zA-Z0-9_-]) and system topics such as TBW102
// (ErrInvalidTopic), a Light Message Queue ("%LMQ%…", which exists
// without being created, with one queue; ErrInvalidTopic), queue counts
// outside 1–1024 and fewer queues than the topic has (ErrInvalidQueues),
// and a closed server (ErrClosed).
func (s *Server) CreateTopic(topic string, queues int) error {
	if remark := validateTopic(topic); remark != "" {
		return &Error{Op: "CreateTopic", Input: topic, Err: fmt.Errorf("%w: %s", ErrInvalidTopic, remark)}
	}
	if isSystemTopic(topic) {
		return &Error{Op: "CreateTopic", Input: topic, Err: fmt.Errorf("%w: system topic", ErrInvalidTopic)}
	}
	if isLMQ(topic) {
		return &Error{Op: "CreateTopic", Input: topic, Err: fmt.Errorf("%w: a Light Message Queue exists without being created", ErrInvalidTopic)}
	}
	if queues < 1 || queues > maxQueues {
		return &Error{Op: "CreateTopic", Input: strconv.Itoa(queues), Err: fmt.Errorf("%w: want 1 to %d", ErrInvalidQueues, maxQueues)}
	}
	if s.isClosed() {
		return s.errClosed("CreateTopic", topic)
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	if t := s.store.topics[topic]; t != nil && len(t.queues) > queues {
		return &Error{Op: "CreateTopic", Input: strconv.Itoa(queues),
			Err: fmt.Errorf("%w: topic %s has %d queues and cannot shrink", ErrInvalidQueues, topic, len(t.queues))}
	}
	s.store.createLocked(topic, queues, permRead|permWrite)
	return nil
}

// DeleteTopic removes topic, its messages and the offsets committed on it.
// Held pulls on it are answered at once (TOPIC_NOT_EXIST). It rejects the
// same names as CreateTopic, and a topic that does not exist
// (ErrInvalidTopic).
func (s *Server) DeleteTopic(topic string) error {
	if remark := validateTopic(topic); remark != "" {
		return &Error{Op: "DeleteTopic", Input: topic, Err: fmt.Errorf("%w: %s", ErrInvalidTopic, remark)}
	}
	if isSystemTopic(topic) {
		return &Error{Op: "DeleteTopic", Input: topic, Err: fmt.Errorf("%w: system topic", ErrInvalidTopic)}
	}
	if isLMQ(topic) {
		return &Error{Op: "DeleteTopic", Input: topic, Err: fmt.Errorf("%w: a Light Message Queue", ErrInvalidTopic)}
	}
	if !s.deleteTopic(topic) {
		return &Error{Op: "DeleteTopic", Input: topic, Err: fmt.Errorf("%w: no such topic", ErrInvalidTopic)}
	}
	return nil
}

func (s *Server) deleteTopic(name string) bool {
	s.store.mu.Lock()
	t := s.store.topics[name]
	if t == nil {
		s.store.mu.Unlock()
		return false
	}
	delete(s.store.topics, name)
	var held []*pendingPull
	for _, q := range t.queues {
		for _, m := range q.msgs {
			if !t.lmq { // a Light Message Queue's messages are its topics'
				delete(s.store.byPhys, m.phys)
			}
		}
		for _, p := range q.waiters {
			p.detachLocked()
			held = append(held, p)
		}
		q.waiters = nil
	}
	s.store.mu.Unlock()
	s.groups.mu.Lock()
	for k := range s.groups.offsets {
		if k.topic == name {
			delete(s.groups.offsets, k)
		}
	}
	s.groups.mu.Unlock()
	for _, p := range held {
		s.answerHeld(p)
	}
	return true
}

func (s *Server) handleCreateTopic(c *conn, req *request) *reply {
	var h headerReader
	name := h.str(req, "topic")
	readQueues := h.int(req, "readQueueNums")
	writeQueues := h.int(req, "writeQueueNums")
	perm := h.optInt(req, "perm", permRead|permWrite)
	if h.err != nil {
		return h.errReply()
	}
	if remark := validateTopic(name); remark != "" {
		return response(CodeInvalidParameter, remark)
	}
	if isSystemTopic(name) {
		return responsef(CodeInvalidParameter, "The topic[%s] is conflict with system topic.", name)
	}
	if isLMQ(name) {
		// LmqTopicConfigManager.updateTopicConfig keeps nothing for it.
		return response(CodeSuccess, "")
	}
	n := max(readQueues, writeQueues)
	if n < 1 || n > maxQueues {
		return responsef(CodeInvalidParameter, "queue count %d out of range 1 to %d", n, maxQueues)
	}
	s.store.mu.Lock()
	t := s.store.createLocked(name, n, perm&(permRead|permWrite|permInherit))
	t.perm = perm & (permRead | permWrite | permInherit)
	s.store.mu.Unlock()
	return response(CodeSuccess, "")
}

func (s *Server) handleDeleteTopic(c *conn, req *request) *reply {
	name := req.ext.get("topic")
	if remark := validateTopic(name); remark != "" {
		return response(CodeInvalidParameter, remark)
	}
	if isSystemTopic(name) {
		return responsef(CodeInvalidParameter, "The topic[%s] is conflict with system topic.", name)
	}
	s.deleteTopic(name)
	return response(CodeSuccess, "")
}
