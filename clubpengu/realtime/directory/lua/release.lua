-- Give a seat back; an instance left empty records since when.
-- ARGV: room, suffix, instance, player id, node, now.
local mkey = 'room:' .. ARGV[3]
if redis.call('HDEL', mkey, ARGV[4]) == 1 then
  redis.call('HDEL', 'pos:' .. ARGV[3], ARGV[4])
  if redis.call('HLEN', mkey) == 0 and redis.call('HEXISTS', 'rooms:' .. ARGV[1], ARGV[2]) == 1 then
    redis.call('HSET', 'rooms:' .. ARGV[1], ARGV[2], ARGV[6])
  end
end
redis.call('SREM', 'seats:' .. ARGV[5], ARGV[3] .. ' ' .. ARGV[4])
return 1
