-- A token bucket shared by every node: KEYS[1] a hash {tokens, at (ms)}; ARGV[1] the
-- burst (tokens), ARGV[2] the refill in tokens per millisecond. Takes one token if there
-- is one: 1 taken, 0 empty. The time is Redis's own, so the nodes' clocks do not matter.
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local burst = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or ms
tokens = math.min(burst, tokens + math.max(0, ms - at) * refill)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', ms)
-- Gone once it would be full again: an idle address costs nothing.
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / refill) + 1000)
return taken
