-- Open sockets under one key, shared by every node: KEYS[1] a sorted set of connection
-- ids scored by when their count lapses (ms); ARGV[1] the connection, ARGV[2] the limit,
-- ARGV[3] how long a count lasts unless refreshed (ms). 1 counted, 0 at the limit.
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local lapse = tonumber(ARGV[3])
-- Counts not refreshed in time belong to a node that died without closing them.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ms + lapse, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lapse)
return 1
