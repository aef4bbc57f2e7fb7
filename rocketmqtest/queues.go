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

// queueFor decodes the topic and queueId fields and finds the queue; q is
// nil when the topic or queue does not exist. The caller holds s.store.mu.
func (s *Server) queueForLocked(req *request) (*queue, *reply) {
	var h headerReader
	name := h.str(req, "topic")
	id := h.int(req, "queueId")
	if h.err != nil {
		return nil, h.errReply()
	}
	t := s.store.topics[name]
	if t == nil || id < 0 || id >= len(t.queues) {
		return nil, nil
	}
	return t.queues[id], nil
}

// handleMaxOffset answers the offset the queue's next message will get;
// 0 for a queue that does not exist, as the broker answers.
func (s *Server) handleMaxOffset(c *conn, req *request) *reply {
	s.store.mu.Lock()
	q, rep := s.queueForLocked(req)
	var n int64
	if q != nil {
		n = int64(len(q.msgs))
	}
	s.store.mu.Unlock()
	if rep != nil {
		return rep
	}
	rep = response(CodeSuccess, "")
	rep.addInt("offset", n)
	return rep
}

// handleMinOffset answers 0: the server never deletes messages.
func (s *Server) handleMinOffset(c *conn, req *request) *reply {
	s.store.mu.Lock()
	_, rep := s.queueForLocked(req)
	s.store.mu.Unlock()
	if rep != nil {
		return rep
	}
	rep = response(CodeSuccess, "")
	rep.addInt("offset", 0)
	return rep
}

// handleSearchOffset answers the offset of the queue's first message stored
// at or after the timestamp, or the queue's max offset if there is none.
func (s *Server) handleSearchOffset(c *conn, req *request) *reply {
	var h headerReader
	ts := h.int64(req, "timestamp")
	if h.err != nil {
		return h.errReply()
	}
	s.store.mu.Lock()
	q, rep := s.queueForLocked(req)
	var off int64
	if q != nil {
		off = int64(sort.Search(len(q.msgs), func(i int) bool { return q.msgs[i].storeTime >= ts }))
	}
	s.store.mu.Unlock()
	if rep != nil {
		return rep
	}
	rep = response(CodeSuccess, "")
	rep.addInt("offset", off)
	return rep
}

// handleEarliestTime answers the store time of the queue's first message,
// or -1 if it has none.
func (s *Server) handleEarliestTime(c *conn, req *request) *reply {
	s.store.mu.Lock()
	q, rep := s.queueForLocked(req)
	ts := int64(-1)
	if q != nil && len(q.msgs) > 0 {
		ts = q.msgs[0].storeTime
	}
	s.store.mu.Unlock()
	if rep != nil {
		return rep
	}
	rep = response(CodeSuccess, "")
	rep.addInt("timestamp", ts)
	return rep
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
