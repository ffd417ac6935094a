package ledger

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/money"
)

// notification is the NOTIFY payload: "workspace,amount,version,unixnano,held".
func (b Balance) notification() string {
	return fmt.Sprintf("%s,%d,%d,%d,%d", b.WorkspaceID, int64(b.Amount), b.Version, b.UpdatedAt.UnixNano(), int64(b.Held))
}

// ParseNotification decodes a Channel payload.
func ParseNotification(payload string) (Balance, error) {
	parts := strings.Split(payload, ",")
	if len(parts) != 5 {
		return Balance{}, fmt.Errorf("balance notification %q: want 5 fields", payload)
	}
	id, err := uuid.Parse(parts[0])
	if err != nil {
		return Balance{}, fmt.Errorf("balance notification: %w", err)
	}
	var nums [4]int64
	for i, p := range parts[1:] {
		if nums[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return Balance{}, fmt.Errorf("balance notification: %w", err)
		}
	}
	return Balance{WorkspaceID: id, Amount: money.Amount(nums[0]), Version: nums[1], UpdatedAt: time.Unix(0, nums[2]).UTC(), Held: money.Amount(nums[3])}, nil
}
