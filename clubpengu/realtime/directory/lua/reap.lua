-- A node whose heartbeat is gone: take its seats away (once: whoever runs this first
-- gets them), mark the instances it emptied, remember it was reaped.
-- ARGV: node, now, the reaped mark's TTL (ms). Returns the seats taken.
local node, now = ARGV[1], ARGV[2]
if redis.call('EXISTS', 'node:' .. node) == 1 then return {} end
local seats = redis.call('SMEMBERS', 'seats:' .. node)
for _, seat in ipairs(seats) do
  local inst, pid = string.match(seat, '^(%S+) (%S+)$')
  local mkey = 'room:' .. inst
  redis.call('HDEL', mkey, pid)
  redis.call('HDEL', 'pos:' .. inst, pid)
  if redis.call('HLEN', mkey) == 0 then
    local room, sfx = string.match(inst, '^([^~]+)~(%d+)$')
    if not room then room, sfx = inst, '1' end
    if redis.call('HEXISTS', 'rooms:' .. room, sfx) == 1 then
      redis.call('HSET', 'rooms:' .. room, sfx, now)
    end
  end
end
redis.call('DEL', 'seats:' .. node)
redis.call('SREM', 'nodes', node)
redis.call('SET', 'reaped:' .. node, 1, 'PX', ARGV[3])
return seats
