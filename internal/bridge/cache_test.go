package bridge

import (
	"fmt"
	"testing"
	"time"
)

type tagged struct{ tag, v string }

func TestTTLCacheTags(t *testing.T) {
	t.Parallel()
	now := time.Now()
	c := newTTLCache[tagged](time.Minute, 100, func() time.Time { return now }).tagged(func(v tagged) string { return v.tag })
	c.put("alice|DEMO-1", tagged{"DEMO-1", "a1"})
	c.put("bob|DEMO-1", tagged{"DEMO-1", "b1"})
	c.put("alice|DEMO-2", tagged{"DEMO-2", "a2"})
	c.put("bob|DEMO-2", tagged{"DEMO-1", "moved"}) // a key's tag may change
	c.put("bob|DEMO-2", tagged{"DEMO-2", "b2"})
	c.deleteTag("DEMO-1")
	for k, want := range map[string]bool{"alice|DEMO-1": false, "bob|DEMO-1": false, "alice|DEMO-2": true, "bob|DEMO-2": true} {
		if _, ok := c.get(k); ok != want {
			t.Errorf("%s cached = %v after dropping DEMO-1, want %v", k, ok, want)
		}
	}
	if len(c.tags["DEMO-1"]) != 0 || len(c.tags["DEMO-2"]) != 2 {
		t.Errorf("tag index %v", c.tags)
	}
}

// A full cache makes room by dropping expired entries, then an eighth of
// the rest: it keeps most of what it holds instead of starting over.
func TestTTLCacheEvictsAnEighth(t *testing.T) {
	t.Parallel()
	now := time.Now()
	c := newTTLCache[tagged](time.Minute, 80, func() time.Time { return now }).tagged(func(v tagged) string { return v.tag })
	for i := range 80 {
		c.put(fmt.Sprint("k", i), tagged{fmt.Sprint("t", i%4), "v"})
	}
	c.put("one more", tagged{"t0", "v"})
	if n := len(c.data); n < 70 || n > 71 {
		t.Errorf("%d entries after one put into a full cache of 80, want 70 kept and the new one", n)
	}
	indexed := 0
	for _, keys := range c.tags {
		indexed += len(keys)
	}
	if indexed != len(c.data) {
		t.Errorf("%d keys indexed, %d cached", indexed, len(c.data))
	}
	now = now.Add(2 * time.Minute)
	for i := range 80 {
		c.put(fmt.Sprint("new", i), tagged{"t9", "v"})
	}
	if n := len(c.data); n != 80 {
		t.Errorf("%d entries, want the expired ones replaced by 80 new", n)
	}
}
