-- Shared by the scripts that look at a room's instances (prepended to reserve.lua and
-- list.lua when they are loaded): the open instances of room ARGV[1], closing those empty
-- past the grace. ARGV: room, now (ms), grace (ms). Leaves `open_` (suffix -> population)
-- and `rkey`.
local room, now, grace = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local rkey = 'rooms:' .. room
local function iid(s) if s == 1 then return room end return room .. '~' .. s end
redis.call('HSETNX', rkey, '1', now)
local open_ = {}
local flat = redis.call('HGETALL', rkey)
for i = 1, #flat, 2 do
  local s, since = tonumber(flat[i]), tonumber(flat[i + 1])
  local pop = redis.call('HLEN', 'room:' .. iid(s))
  if s ~= 1 and pop == 0 and since > 0 and now - since >= grace then
    redis.call('HDEL', rkey, flat[i])
    redis.call('DEL', 'pos:' .. iid(s))
  else
    open_[s] = pop
  end
end
