package rocketmqtest

import "sort"

// queueCommands read a queue's offsets and messages without consuming.
var queueCommands = []registration{
	{SearchOffsetByTimestamp, (*Server).handleSearchOffset},
	{GetMaxOffset, (*Server).handleMaxOffset},
	{GetMinOffset, (*Server).handleMinOffset},
	{GetEarliestMsgStoreTime, (*Server).handleEarliestTime},
	{ViewMessageByID, (*Server).handleViewMessage},
}

// queueForLocked decodes the topic and queueId fields and finds the queue;
// q is nil when the topic or queue does not exist (a Light Message Queue
// always has queue 0). The caller holds s.store.mu.
func (s *Server) queueForLocked(req *request) (*queue, *reply) {
	var h headerReader
	name := h.str(req, "topic")
	id := h.int(req, "queueId")
	if h.err != nil {
		return nil, h.errReply()
	}
	t := s.store.topicLocked(name)
	if t == nil || id < 0 || id >= len(t.queues) {
		return nil, nil
	}
	return t.queues[id], nil
}

// answerQueue answers a request about one queue with the number f reads
// from it, under s.store.mu, as the response field key; f gets nil for a
// queue that does not exist.
func (s *Server) answerQueue(req *request, key string, f func(q *queue) int64) *reply {
	s.store.mu.Lock()
	q, rep := s.queueForLocked(req)
	v := f(q)
	s.store.mu.Unlock()
	if rep != nil {
		return rep
	}
	rep = response(CodeSuccess, "")
	rep.addInt(key, v)
	return rep
}

// handleMaxOffset answers the offset the queue's next message will get;
// 0 for a queue that does not exist, as the broker answers.
func (s *Server) handleMaxOffset(c *conn, req *request) *reply {
	return s.answerQueue(req, "offset", func(q *queue) int64 {
		if q == nil {
			return 0
		}
		return int64(len(q.msgs))
	})
}

// handleMinOffset answers 0: the server never deletes messages.
func (s *Server) handleMinOffset(c *conn, req *request) *reply {
	return s.answerQueue(req, "offset", func(*queue) int64 { return 0 })
}

// handleSearchOffset answers the offset of the queue's first message stored
// at or after the timestamp, or the queue's max offset if there is none.
func (s *Server) handleSearchOffset(c *conn, req *request) *reply {
	var h headerReader
	ts := h.int64(req, "timestamp")
	if h.err != nil {
		return h.errReply()
	}
	return s.answerQueue(req, "offset", func(q *queue) int64 {
		if q == nil {
			return 0
		}
		return int64(sort.Search(len(q.msgs), func(i int) bool { return q.msgs[i].storeTime >= ts }))
	})
}

// handleEarliestTime answers the store time of the queue's first message,
// or -1 if it has none.
func (s *Server) handleEarliestTime(c *conn, req *request) *reply {
	return s.answerQueue(req, "timestamp", func(q *queue) int64 {
		if q == nil || len(q.msgs) == 0 {
			return -1
		}
		return q.msgs[0].storeTime
	})
}

// handleViewMessage answers the stored message at a commit-log offset, the
// one an offset message ID names.
func (s *Server) handleViewMessage(c *conn, req *request) *reply {
	var h headerReader
	off := h.int64(req, "offset")
	if h.err != nil {
		return h.errReply()
	}
	s.store.mu.Lock()
	st := s.store.byPhys[off]
	s.store.mu.Unlock()
	if st == nil {
		return responsef(CodeSystemError, "can not find message by the offset, %d", off)
	}
	rep := response(CodeSuccess, "")
	rep.body = [][]byte{st.data}
	return rep
}
