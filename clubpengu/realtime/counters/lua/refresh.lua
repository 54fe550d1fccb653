-- Keep a counted connection counted: KEYS[1] its sorted set, ARGV[1] the connection,
-- ARGV[2] how long the count lasts now (ms). Only a member still there is refreshed.
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local lapse = tonumber(ARGV[2])
if redis.call('ZADD', KEYS[1], 'XX', 'CH', ms + lapse, ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], lapse)
end
return 1
