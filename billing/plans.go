package billing

import (
	"context"
	"fmt"
	"sync"

	"github.com/airouter/credits/ent"
)

// planCache keeps the plans (a small reference table) in memory, so the
// usage path prices traces without joining them under its row locks. A
// plan id it does not know makes it reload once: plans are only added by
// `credits migrate`, never changed in place.
type planCache struct {
	mu    sync.RWMutex
	plans map[string]*ent.Plan
}

func (c *planCache) reload(ctx context.Context, client *ent.Client) error {
	all, err := client.Plan.Query().All(ctx)
	if err != nil {
		return fmt.Errorf("load plans: %w", err)
	}
	m := make(map[string]*ent.Plan, len(all))
	for _, p := range all {
		m[p.ID] = p
	}
	c.mu.Lock()
	c.plans = m
	c.mu.Unlock()
	return nil
}

func (c *planCache) get(ctx context.Context, client *ent.Client, id string) (*ent.Plan, error) {
	c.mu.RLock()
	p, ok := c.plans[id]
	c.mu.RUnlock()
	if ok {
		return p, nil
	}
	if err := c.reload(ctx, client); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if p, ok := c.plans[id]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("plan %q not found", id)
}
