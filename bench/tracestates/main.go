// Command tracestates reads a Go execution trace (the server's
// /debug/pprof/trace, DEBUG_ADDR) and prints where the goroutines whose
// stack holds a function spent the trace: running, runnable, in a system
// call, or waiting, each wait by the frames it waited in. It showed where
// the usage committer's time goes (docs/performance.md, 29 Nov, late night):
//
//	go run ./bench -scenarios ingest10k -server-env DEBUG_ADDR=127.0.0.1:6061 &
//	curl -o /tmp/trace.out 'http://127.0.0.1:6061/debug/pprof/trace?seconds=3'  # during the pass
//	cd bench/tracestates && go run . /tmp/trace.out runCommitter
//
// Its own module, so that the service does not depend on x/exp.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/exp/trace"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tracestates TRACE FUNCTION")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	want := os.Args[2]
	type since struct {
		state trace.GoState
		at    trace.Time
		where string // the frames a waiting goroutine waits in
	}
	cur := map[trace.GoID]since{}
	target := map[trace.GoID]bool{}
	spent := map[string]float64{} // ms by state (and wait)
	var first, last trace.Time
	for {
		ev, err := r.ReadEvent()
		if err != nil {
			break
		}
		if first == 0 {
			first = ev.Time()
		}
		last = ev.Time()
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		t := ev.StateTransition()
		if t.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		id := t.Resource.Goroutine()
		_, to := t.Goroutine()
		if !target[id] {
			// The transitioning goroutine's own stack, not the one of the
			// goroutine that caused it (which may be the target waking it).
			for fr := range t.Stack.Frames() {
				if strings.Contains(fr.Func, want) {
					target[id] = true
				}
			}
		}
		if prev, ok := cur[id]; ok && target[id] {
			key := prev.state.String()
			if prev.state == trace.GoWaiting {
				key += " " + prev.where
			}
			spent[key] += float64(ev.Time()-prev.at) / 1e6
		}
		next := since{state: to, at: ev.Time()}
		if to == trace.GoWaiting {
			next.where = waitFrames(t.Stack)
		}
		cur[id] = next
	}
	fmt.Printf("trace %.0f ms, %d goroutines with %s on their stack\n", float64(last-first)/1e6, len(target), want)
	keys := make([]string, 0, len(spent))
	for k := range spent {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return spent[keys[i]] > spent[keys[j]] })
	for _, k := range keys {
		fmt.Printf("%10.1f ms  %s\n", spent[k], k)
	}
}

// waitFrames is the first few frames of a waiting goroutine's stack outside
// the runtime and the I/O plumbing: what it waits for.
func waitFrames(s trace.Stack) string {
	var fs []string
	for fr := range s.Frames() {
		if len(fs) == 6 {
			break
		}
		skip := false
		for _, p := range []string{"runtime.", "internal/poll.", "net.", "bufio.", "io."} {
			skip = skip || strings.HasPrefix(fr.Func, p)
		}
		if !skip {
			fs = append(fs, fr.Func[strings.LastIndex(fr.Func, "/")+1:])
		}
	}
	return strings.Join(fs, " < ")
}
