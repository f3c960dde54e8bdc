package challenge

// Draw draws n of candidates as a set is drawn for accountID's period.
func Draw(accountID int64, period, pool string, version int, candidates []Challenge, n int) []Challenge {
	return pick(seed(accountID, period, pool, version, 0), candidates, n)
}
