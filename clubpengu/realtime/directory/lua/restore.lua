-- Make the node's seats exactly these (seats released while Redis was unreachable go;
-- the others come back whatever the capacity: they are players already in the room).
-- ARGV: node, now, then quadruples of room, suffix, player id, value.
-- Returns 1 if the node had been reaped.
local node, now = ARGV[1], ARGV[2]
local keep = {}
for i = 3, #ARGV, 4 do
  local inst = ARGV[i]
  if ARGV[i + 1] ~= '1' then inst = inst .. '~' .. ARGV[i + 1] end
  keep[inst .. ' ' .. ARGV[i + 2]] = true
end
for _, seat in ipairs(redis.call('SMEMBERS', 'seats:' .. node)) do
  if not keep[seat] then
    local inst, pid = string.match(seat, '^(%S+) (%S+)$')
    redis.call('HDEL', 'room:' .. inst, pid)
    redis.call('HDEL', 'pos:' .. inst, pid)
    redis.call('SREM', 'seats:' .. node, seat)
  end
end
for i = 3, #ARGV, 4 do
  local room, sfx, pid, value = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local inst = room
  if sfx ~= '1' then inst = room .. '~' .. sfx end
  redis.call('HSET', 'room:' .. inst, pid, value)
  redis.call('HSET', 'rooms:' .. room, sfx, 0)
  redis.call('SADD', 'seats:' .. node, inst .. ' ' .. pid)
end
redis.call('SADD', 'nodes', node)
return redis.call('DEL', 'reaped:' .. node)
