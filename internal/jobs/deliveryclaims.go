package jobs

import (
	"context"
	"sync"
)

// An apply_jira_deliveries job names the deliveries of one batch the
// receiver committed: under a burst, a few dozen. Applied batch by batch,
// 10,000 deliveries made some 500 jobs, each recording its changes in a
// transaction per link and queueing each link's sync_link, where the jobs
// waited on each other's unique insert (PostgreSQL). So a job also takes
// the deliveries stored after its own that no job of this process is
// applying (up to extraDeliveries), and the jobs that named those find
// them applied. Each delivery stays its own job's: a job whose deliveries
// another job of this process is applying waits for that job to end, then
// reads them again and applies what is still not applied, so a delivery
// is never left to a job that failed. Deliveries another replica's job
// takes too are applied twice, which recording and applying tolerate.
const extraDeliveries = 512

// deliveryClaims are the deliveries the apply jobs of this process are
// applying, each with the channel its job closes when it ends.
type deliveryClaims struct {
	mu sync.Mutex
	by map[int64]chan struct{}
}

func newDeliveryClaims() *deliveryClaims {
	return &deliveryClaims{by: map[int64]chan struct{}{}}
}

// claim is one job's hold on its deliveries.
type claim struct {
	c    *deliveryClaims
	done chan struct{}
	ids  []int64
}

// claimOwn claims ids for a job, first waiting for the jobs that hold
// any of them to end.
func (c *deliveryClaims) claimOwn(ctx context.Context, ids []int64) (*claim, error) {
	for {
		c.mu.Lock()
		var busy chan struct{}
		for _, id := range ids {
			if ch, ok := c.by[id]; ok {
				busy = ch
				break
			}
		}
		if busy == nil {
			cl := &claim{c: c, done: make(chan struct{})}
			cl.addLocked(ids)
			c.mu.Unlock()
			return cl, nil
		}
		c.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// addLocked claims ids not claimed yet and returns them; c.mu is held.
func (cl *claim) addLocked(ids []int64) []int64 {
	var got []int64
	for _, id := range ids {
		if _, ok := cl.c.by[id]; !ok {
			cl.c.by[id] = cl.done
			got = append(got, id)
		}
	}
	cl.ids = append(cl.ids, got...)
	return got
}

// add claims those of ids no job holds and returns them.
func (cl *claim) add(ids []int64) []int64 {
	cl.c.mu.Lock()
	defer cl.c.mu.Unlock()
	return cl.addLocked(ids)
}

// release ends the claim: the jobs waiting for its deliveries go on.
func (cl *claim) release() {
	cl.c.mu.Lock()
	for _, id := range cl.ids {
		if cl.c.by[id] == cl.done {
			delete(cl.c.by, id)
		}
	}
	cl.c.mu.Unlock()
	close(cl.done)
}
