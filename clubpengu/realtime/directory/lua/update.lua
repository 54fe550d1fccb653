-- A member's <player> changed: only a seat still held is updated.
-- KEYS[1]: room:<instance>. ARGV: player id, value.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1
