package rocketmqtest

import (
	"container/heap"
	"strconv"
	"sync"
	"time"
)

// The schedule service: a message with a delay level waits in
// SCHEDULE_TOPIC_XXXX (queue level-1) and is then stored again in its real
// topic, as Java's ScheduleMessageService does. Consumer retries travel
// this way.

type scheduler struct {
	mu   sync.Mutex
	h    schedHeap
	seq  uint64
	wake chan struct{}
}

type schedEntry struct {
	due time.Time
	seq uint64 // keeps equal due times in arrival order
	st  *stored
}

type schedHeap []schedEntry

func (h schedHeap) Len() int { return len(h) }
func (h schedHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h schedHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *schedHeap) Push(x any)   { *h = append(*h, x.(schedEntry)) }
func (h *schedHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = schedEntry{}
	*h = old[:len(old)-1]
	return e
}

func (sc *scheduler) init() { sc.wake = make(chan struct{}, 1) }

// add schedules st, stored in the schedule topic, for delivery at due.
func (sc *scheduler) add(due time.Time, st *stored) {
	sc.mu.Lock()
	sc.seq++
	heap.Push(&sc.h, schedEntry{due: due, seq: sc.seq, st: st})
	sc.mu.Unlock()
	select {
	case sc.wake <- struct{}{}:
	default:
	}
}

// pending returns the number of messages waiting for delivery.
func (sc *scheduler) pending() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.h)
}

// run delivers due messages until the server closes.
func (sc *scheduler) run(s *Server) {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		now := time.Now()
		var due []*stored
		wait := time.Duration(-1)
		sc.mu.Lock()
		for len(sc.h) > 0 && !sc.h[0].due.After(now) {
			due = append(due, heap.Pop(&sc.h).(schedEntry).st)
		}
		if len(sc.h) > 0 {
			wait = sc.h[0].due.Sub(now)
		}
		sc.mu.Unlock()
		for _, st := range due {
			s.deliverScheduled(st)
		}
		if len(due) > 0 {
			continue
		}
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-timer.C:
		case <-sc.wake:
		case <-s.done:
			return
		}
		timer.Stop()
	}
}

// deliverScheduled stores a scheduled message in its real topic, as a
// 5.3 broker's schedule service delivers it
// (ScheduleMessageService.messageTimeUp): with the scheduled message's
// property string, so every property stays, DELAY, REAL_TOPIC and
// REAL_QID among them. The service also clears DELAY and sets WAIT=false
// in the message's property map, which shows only where the broker writes
// the properties afresh from that map: in a message it dispatches to
// Light Message Queues (store.wrapLocked).
func (s *Server) deliverScheduled(st *stored) {
	props := st.properties()
	realTopic, _ := props.get(propRealTopic)
	qid, err := strconv.Atoi(func() string { v, _ := props.get(propRealQueueID); return v }())
	if realTopic == "" || err != nil {
		s.log.Warn("rocketmqtest: scheduled message without a real topic", "phys", st.phys)
		return
	}
	m := &message{
		topic:          realTopic,
		queueID:        qid,
		flag:           st.flag,
		sysFlag:        st.sysFlag,
		bornTime:       st.bornTime,
		bornHost:       st.bornHost,
		reconsumeTimes: st.reconsumeTimes,
		body:           st.body,
		props:          props.String(),
		delivered:      true,
	}
	if _, rep := s.put(m); rep != nil {
		s.log.Warn("rocketmqtest: scheduled delivery failed", "topic", realTopic, "remark", rep.remark)
	}
}
