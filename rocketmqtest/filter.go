package rocketmqtest

import (
	"errors"
	"strings"
)

// Subscription expression types (Java's ExpressionType).
const (
	expressionTag   = "TAG"
	expressionSQL92 = "SQL92"
	subscribeAll    = "*"
)

var errSubscriptionParse = errors.New("parse the consumer's subscription failed")

// tagFilter is a parsed TAG subscription: "*" (or empty) matches every
// message; "a || b" matches messages whose TAGS property is a or b. The
// broker filters by tag before sending, so a consumer never receives a
// message its subscription excludes.
type tagFilter struct {
	all  bool
	tags []string // few: a linear scan beats a map
}

// parseTagFilter parses a subscription the way Java's FilterAPI does.
func parseTagFilter(expr string) (tagFilter, error) {
	if expr == "" || expr == subscribeAll {
		return tagFilter{all: true}, nil
	}
	var f tagFilter
	for part := range strings.SplitSeq(expr, "||") {
		t := strings.TrimSpace(part)
		if t == "" {
			continue
		}
		dup := false
		for _, have := range f.tags {
			dup = dup || have == t
		}
		if !dup {
			f.tags = append(f.tags, t)
		}
	}
	if len(f.tags) == 0 {
		return tagFilter{}, errSubscriptionParse
	}
	return f, nil
}

func (f tagFilter) matches(tag string) bool {
	if f.all {
		return true
	}
	for _, t := range f.tags {
		if t == tag {
			return true
		}
	}
	return false
}

func (f tagFilter) equal(g tagFilter) bool {
	if f.all != g.all || len(f.tags) != len(g.tags) {
		return false
	}
	for i := range f.tags {
		if f.tags[i] != g.tags[i] {
			return false
		}
	}
	return true
}
