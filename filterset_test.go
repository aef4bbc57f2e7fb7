package mqttrmq_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mqttrmq/mqttrmq"
)

// bruteMatches is what a FilterSet must answer, found the slow way: the
// queue of every registered filter for which MatchTopic says yes.
func bruteMatches(filters map[string]int, topic string) []string {
	var out []string
	for f := range filters {
		if mqttrmq.MatchTopic(f, topic) {
			q, err := mqttrmq.LMQQueue(f)
			if err != nil {
				panic(err) // the set refused it, so it is not here
			}
			out = append(out, q)
		}
	}
	slices.Sort(out)
	return out
}

// innerFilter strips $share/{name}/.
func innerFilter(f string) string {
	if rest, ok := strings.CutPrefix(f, "$share/"); ok {
		_, inner, _ := strings.Cut(rest, "/")
		return inner
	}
	return f
}

// checkAgainstMatchTopic compares the set's answer for topic with the brute
// force over registered (inner filter → registrations).
// It returns how many filters matched.
func checkAgainstMatchTopic(t *testing.T, fs *mqttrmq.FilterSet, registered map[string]int, topic string) int {
	t.Helper()
	got, err := fs.AppendMatches(nil, topic)
	if err != nil {
		if mqttrmq.ValidateTopicName(topic) == nil {
			t.Fatalf("AppendMatches(%q) = %v for a valid topic", topic, err)
		}
		if got, err := fs.AppendFilters([]string{"kept"}, topic); !errors.Is(err, mqttrmq.ErrInvalidTopic) || len(got) != 1 {
			t.Fatalf("AppendFilters(%q) = %q, %v for an invalid topic; want ErrInvalidTopic, dst unchanged", topic, got, err)
		}
		return 0
	}
	if mqttrmq.ValidateTopicName(topic) != nil {
		t.Fatalf("AppendMatches(%q) accepted an invalid topic", topic)
	}
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if want := bruteMatches(registered, topic); !slices.Equal(sorted, want) {
		t.Fatalf("AppendMatches(%q) = %q\nMatchTopic over the %d filters says %q", topic, sorted, len(registered), want)
	}
	if len(slices.Compact(sorted)) != len(got) {
		t.Fatalf("AppendMatches(%q) = %q lists a queue twice", topic, got)
	}
	// AppendFilters lists the same filters, as registered, after what dst holds.
	filters, err := fs.AppendFilters([]string{"kept"}, topic)
	if err != nil || len(filters) == 0 || filters[0] != "kept" {
		t.Fatalf("AppendFilters(%q) = %q, %v; want dst kept", topic, filters, err)
	}
	filters = filters[1:]
	var want []string
	for f := range registered {
		if mqttrmq.MatchTopic(f, topic) {
			want = append(want, f)
		}
	}
	slices.Sort(want)
	if sortedFilters := slices.Sorted(slices.Values(filters)); !slices.Equal(sortedFilters, want) {
		t.Fatalf("AppendFilters(%q) = %q\nMatchTopic over the %d filters says %q", topic, sortedFilters, len(registered), want)
	}
	// Queues is the topic's own queue plus the wildcard matches.
	qs, err := fs.Queues(topic)
	if err != nil {
		return len(got) // a topic RocketMQ cannot carry, or a lossy queue name
	}
	if _, second, _ := mqttrmq.SplitTopic(topic); mqttrmq.IsP2PSubtopic(second) {
		if len(qs) != 1 || !strings.HasPrefix(qs[0], "%LMQ%%p2p%") {
			t.Fatalf("Queues(%q) = %q; want the P2P queue alone", topic, qs)
		}
		return len(got)
	}
	if self, _ := mqttrmq.LMQQueue(topic); len(qs) == 0 || qs[0] != self {
		t.Fatalf("Queues(%q) = %q; want its own queue %q first", topic, qs, self)
	}
	for _, q := range qs[1:] {
		if !slices.Contains(got, q) || !strings.ContainsAny(q, "+#") {
			t.Fatalf("Queues(%q) = %q lists %q, which is not a matching wildcard filter's", topic, qs, q)
		}
	}
	return len(got)
}

// TestFilterSetAgreesWithMatchTopic builds random filter sets, adding and
// removing, and asks each for random topics; every answer must be
// MatchTopic's over the filters registered at that moment.
func TestFilterSetAgreesWithMatchTopic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	rounds := 300
	if testing.Short() {
		rounds = 30
	}
	matched := 0
	for range rounds {
		var fs mqttrmq.FilterSet
		registered := map[string]int{} // inner filter → registrations
		var added []string
		for range 1 + r.IntN(60) {
			if len(added) > 0 && r.IntN(4) == 0 {
				i := r.IntN(len(added))
				f := added[i]
				added = slices.Delete(added, i, i+1)
				if !fs.Remove(f) {
					t.Fatalf("Remove(%q) = false for a registered filter", f)
				}
				if registered[innerFilter(f)]--; registered[innerFilter(f)] == 0 {
					delete(registered, innerFilter(f))
				}
				continue
			}
			f := genFilter(r)
			if err := fs.Add(f); err != nil {
				if !errors.Is(err, mqttrmq.ErrInvalidFilter) {
					t.Fatalf("Add(%q) = %v; want ErrInvalidFilter", f, err)
				}
				if _, lerr := mqttrmq.LMQQueue(innerFilter(f)); lerr == nil && mqttrmq.ValidateTopicFilter(f) == nil {
					t.Fatalf("Add(%q) = %v, yet the filter is valid and has a queue", f, err)
				}
				continue
			}
			added = append(added, f)
			registered[innerFilter(f)]++
		}
		if fs.Len() != len(registered) {
			t.Fatalf("Len() = %d; %d filters are registered", fs.Len(), len(registered))
		}
		for range 40 {
			matched += checkAgainstMatchTopic(t, &fs, registered, genTopic(r))
		}
	}
	// The generators must make sets that match often, or this proves little.
	if matched < rounds*10 {
		t.Errorf("only %d matches in %d rounds of 40 topics; the generators have drifted", matched, rounds)
	}
	t.Logf("%d matches compared", matched)
}

// FuzzFilterSet registers any filters (one per line) and asks for any topic.
func FuzzFilterSet(f *testing.F) {
	f.Add("k/r/b\nk/r/#\nk/r/+\nk/r/+/#\nk/a/b/c/r", "k/r/b")
	f.Add("#\n+/+\n$SYS/#\n+", "$SYS/a")
	f.Add("a/#\na/+/+\n$share/g/a/+", "a")
	f.Add("/+\na/\na//#", "a//")
	f.Fuzz(func(t *testing.T, filters, topic string) {
		var fs mqttrmq.FilterSet
		registered := map[string]int{}
		var added []string
		for i, line := range strings.Split(filters, "\n") {
			if i == 64 {
				break
			}
			if err := fs.Add(line); err != nil {
				if !errors.Is(err, mqttrmq.ErrInvalidFilter) {
					t.Fatalf("Add(%q) = %v; want ErrInvalidFilter", line, err)
				}
				_ = err.Error()
				continue
			}
			if mqttrmq.ValidateTopicFilter(line) != nil {
				t.Fatalf("Add(%q) accepted what ValidateTopicFilter refuses", line)
			}
			registered[innerFilter(line)]++
			added = append(added, line)
		}
		checkAgainstMatchTopic(t, &fs, registered, topic)
		// A nil set takes no filter and matches nothing.
		var none *mqttrmq.FilterSet
		if err := none.Add(topic); !errors.Is(err, mqttrmq.ErrInvalidFilter) {
			t.Fatalf("(*FilterSet)(nil).Add(%q) = %v; want ErrInvalidFilter", topic, err)
		}
		if err := none.Replace(topic, added); err == nil {
			t.Fatalf("(*FilterSet)(nil).Replace(%q) took filters", topic)
		}
		if got, _ := none.AppendMatches(nil, topic); len(got) != 0 || none.Remove(topic) || none.Len() != 0 {
			t.Fatalf("a nil *FilterSet matched or held %q", topic)
		}
		// Taking every registration back leaves the set empty. (A filter
		// registered as $share/g/$share/x is removed by that name: its
		// inner filter alone reads as a shared subscription.)
		for _, f := range added {
			if !fs.Remove(f) {
				t.Fatalf("Remove(%q) = false", f)
			}
		}
		if fs.Len() != 0 {
			t.Fatalf("Len() = %d after removing everything", fs.Len())
		}
	})
}

// FuzzLMQQueue holds the round trip: for every accepted input x,
// ParseLMQQueue(LMQQueue(x)) == x, and the other way round.
func FuzzLMQQueue(f *testing.F) {
	for _, s := range []string{"a", "a/b/c", "a/+/#", "a/b/", "/p2p/x", "a%b", "a/LMQ/b", "%LMQ%a%b%", "%LMQ%a%", "%LMQ%%p2p%x%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := mqttrmq.LMQQueue(s)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidTopic) && !errors.Is(err, mqttrmq.ErrInvalidFilter) {
				t.Fatalf("LMQQueue(%q) = %v; want a sentinel", s, err)
			}
			_ = err.Error()
		} else {
			if !strings.HasPrefix(q, mqttrmq.LMQPrefix) || strings.ContainsAny(q, "/,") || len(q) > 255 {
				t.Fatalf("LMQQueue(%q) = %q", s, q)
			}
			back, err := mqttrmq.ParseLMQQueue(q)
			if err != nil || back != s {
				t.Fatalf("ParseLMQQueue(LMQQueue(%q) = %q) = %q, %v", s, q, back, err)
			}
		}
		// Read as a queue name: whatever is accepted names it exactly.
		topic, err := mqttrmq.ParseLMQQueue(s)
		if err != nil {
			if !errors.Is(err, mqttrmq.ErrInvalidTopic) {
				t.Fatalf("ParseLMQQueue(%q) = %v; want ErrInvalidTopic", s, err)
			}
			_ = err.Error()
			return
		}
		if q, err := mqttrmq.LMQQueue(topic); err != nil || q != s {
			t.Fatalf("LMQQueue(ParseLMQQueue(%q) = %q) = %q, %v", s, topic, q, err)
		}
	})
}

// TestFilterSetConcurrent matches while other goroutines add and remove
// filters; run it with -race. Filters that are never removed must always be
// found, and every answer must be a true match.
func TestFilterSetConcurrent(t *testing.T) {
	var fs mqttrmq.FilterSet
	anchors := []string{"vehicles/+/cmd", "vehicles/#"}
	for _, a := range anchors {
		if err := fs.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	const topic = "vehicles/v7/cmd"
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				f := []string{"vehicles/v7/+", "vehicles/+/+", "+/v7/cmd", "vehicles/v7/cmd", "vehicles/v8/#"}[r.IntN(5)]
				if err := fs.Add(f); err != nil {
					t.Error(err)
					return
				}
				if r.IntN(8) == 0 {
					_ = fs.Replace("other", []string{"other/" + string(rune('a'+i%26)) + "/#"})
				}
				fs.Remove(f)
			}
		}()
	}
	var buf [16]string
	for range 20000 {
		got, err := fs.AppendMatches(buf[:0], topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range anchors {
			q, _ := mqttrmq.LMQQueue(a)
			if !slices.Contains(got, q) {
				t.Fatalf("AppendMatches(%q) = %q misses %q, which was never removed", topic, got, a)
			}
		}
		for _, q := range got {
			f, err := mqttrmq.ParseLMQQueue(q)
			if err != nil || !mqttrmq.MatchTopic(f, topic) {
				t.Fatalf("AppendMatches(%q) returned %q, which does not match", topic, q)
			}
		}
	}
	close(stop)
	wg.Wait()
	if got := fs.Filters(); !slices.Contains(got, anchors[0]) || !slices.Contains(got, anchors[1]) {
		t.Errorf("Filters() = %q lost an anchor", got)
	}
}

// TestAppendFilters: the filters a topic reaches, as registered: a shared
// subscription's inner filter, each once however often it is registered.
func TestAppendFilters(t *testing.T) {
	var fs mqttrmq.FilterSet
	for _, f := range []string{"a/+", "$share/g/a/+", "$share/h/a/#", "a/b", "a/b", "b/#", "+/+/c"} {
		if err := fs.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]string, 0, 8)
	got, err := fs.AppendFilters(buf, "a/b")
	slices.Sort(got)
	if want := []string{"a/#", "a/+", "a/b"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("AppendFilters(a/b) = %q, %v; want %q", got, err, want)
	}
	if &got[0] != &buf[:1][0] {
		t.Errorf("AppendFilters did not append to the room dst had")
	}
	fs.Remove("a/b")
	fs.Remove("a/b")
	if got, _ := fs.AppendFilters(nil, "a/b"); len(got) != 2 {
		t.Errorf("AppendFilters(a/b) after removing a/b = %q; want a/# and a/+", got)
	}
}
