package challenge

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// seed is the random source of one draw, the same for the same account,
// period, pool version and draw number on every node and every run.
func seed(accountID int64, period, pool string, version, draw int) *rand.Rand {
	sum := sha256.Sum256(fmt.Appendf(nil, "challenge/%d/%s/%s/%d/%d", accountID, period, pool, version, draw))
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
}

// pick draws up to n of candidates, each with a chance proportional to its
// weight among those not drawn yet, without duplicates, in the order drawn.
func pick(rng *rand.Rand, candidates []Challenge, n int) []Challenge {
	left := append([]Challenge(nil), candidates...)
	out := make([]Challenge, 0, min(n, len(left)))
	for len(out) < n && len(left) > 0 {
		var total int64
		for _, c := range left {
			total += int64(c.Weight)
		}
		r := rng.Int64N(total)
		i := 0
		for ; i < len(left)-1; i++ {
			r -= int64(left[i].Weight)
			if r < 0 {
				break
			}
		}
		out = append(out, left[i])
		left = append(left[:i], left[i+1:]...)
	}
	return out
}
