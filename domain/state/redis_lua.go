package state

import "github.com/redis/go-redis/v9"

// The scripts below read the clock with redis.call('TIME') so every node
// sees the same time whatever its own clock says. Times are whole
// microseconds since the Unix epoch, which doubles (Lua's only number type)
// hold exactly. Numbers passed to redis.call are formatted by Redis with
// full precision; string.format('%.0f') is used where a number is spliced
// into a string, because Lua's tostring would round it.

// limiterLua runs one GCRA step.
//
// KEYS[1]: the bucket, holding its theoretical arrival time (TAT).
// ARGV[1]: emission interval in microseconds.
// ARGV[2]: burst tolerance in microseconds (interval * limit).
// Returns {allowed (0|1), remaining, retry after in microseconds}.
// The bucket expires when its TAT passes, i.e. when it is full again.
const limiterLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - burst
if now < allow_at then
  return {0, 0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
  'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
return {1, math.floor((now - allow_at) / interval), 0}
`

// presenceTouchLua marks a member present.
//
// KEYS[1]: the set, a sorted set scored by each member's expiry time.
// ARGV[1]: member. ARGV[2]: ttl in microseconds.
// Expired members are pruned and the key is set to expire with its
// longest-lived member, so an idle set disappears on its own.
const presenceTouchLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.ceil(tonumber(last[2]) / 1000))
return 1
`

// presenceMembersLua returns the live members of KEYS[1], unordered.
const presenceMembersLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return redis.call('ZRANGEBYSCORE', KEYS[1], string.format('(%.0f', now), '+inf')
`

// presenceIsPresentLua returns 1 if ARGV[1] is live in KEYS[1], else 0.
const presenceIsPresentLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) > now then
  return 1
end
return 0
`

// swapLua is a compare-and-swap of one value.
//
// KEYS[1]: the key. ARGV[1]: "1" if the key must be absent, else ARGV[2]
// is the value it must hold. ARGV[3]: "1" to delete, else ARGV[4] is the
// new value and ARGV[5] its ttl in milliseconds (0: none). Returns 1 if
// swapped, else 0.
const swapLua = `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
elseif tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[4])
end
return 1
`

// scripts holds the prepared Lua scripts of one Redis value.
type scripts struct {
	limiter, touch, members, isPresent, swap *redis.Script
}

func newScripts() scripts {
	return scripts{
		limiter:   redis.NewScript(limiterLua),
		touch:     redis.NewScript(presenceTouchLua),
		members:   redis.NewScript(presenceMembersLua),
		isPresent: redis.NewScript(presenceIsPresentLua),
		swap:      redis.NewScript(swapLua),
	}
}
