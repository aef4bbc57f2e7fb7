package rocketmqtest

import "strconv"

// headerReader reads custom header fields and remembers the first one that
// is missing or malformed, as Java's decodeCommandCustomHeader rejects it.
type headerReader struct {
	err error
}

type headerError struct{ name string }

func (e *headerError) Error() string { return "the custom field <" + e.name + "> is null or invalid" }

func (h *headerReader) fail(name string) {
	if h.err == nil {
		h.err = &headerError{name}
	}
}

func (h *headerReader) str(req *request, name string) string {
	v, ok := req.ext.lookup(name)
	if !ok {
		h.fail(name)
	}
	return v
}

func (h *headerReader) int64(req *request, name string) int64 {
	v, err := strconv.ParseInt(req.ext.get(name), 10, 64)
	if err != nil {
		h.fail(name)
	}
	return v
}

func (h *headerReader) int(req *request, name string) int {
	v, err := strconv.ParseInt(req.ext.get(name), 10, 32)
	if err != nil {
		h.fail(name)
	}
	return int(v)
}

func (h *headerReader) optInt64(req *request, name string, def int64) int64 {
	s, ok := req.ext.lookup(name)
	if !ok || s == "" {
		return def
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		h.fail(name)
	}
	return v
}

func (h *headerReader) optInt(req *request, name string, def int) int {
	return int(h.optInt64(req, name, int64(def)))
}

func (h *headerReader) optBool(req *request, name string) bool {
	v, _ := strconv.ParseBool(req.ext.get(name))
	return v
}

// errReply is the response to a request whose header failed to decode.
func (h *headerReader) errReply() *reply {
	return response(CodeSystemError, h.err.Error())
}
