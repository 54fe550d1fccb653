-- Take a seat (after open.lua): the instance asked for, else the preferred one, else the
-- fullest with a seat, else a new one with the smallest free suffix.
-- ARGV: room, now, grace, capacity, player id, node, value, wanted suffix (0: none),
-- preferred suffix (0: none), max suffix. Returns {1, instance} or {0, 'full'|'closed'}.
local cap, pid, node, value = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local want, prefer, maxs = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local chosen
if want > 0 then
  if open_[want] == nil then return {0, 'closed'} end
  if open_[want] >= cap and redis.call('HEXISTS', 'room:' .. iid(want), pid) == 0 then
    return {0, 'full'}
  end
  chosen = want
else
  if prefer > 0 and open_[prefer] ~= nil and open_[prefer] < cap then chosen = prefer end
  if not chosen then
    local best, most = nil, -1
    for s, pop in pairs(open_) do
      if pop < cap and (pop > most or (pop == most and s < best)) then best, most = s, pop end
    end
    chosen = best
  end
  if not chosen then
    for s = 2, maxs do if open_[s] == nil then chosen = s break end end
    if not chosen then return {0, 'full'} end
  end
end
local id = iid(chosen)
redis.call('HSET', 'room:' .. id, pid, value)
redis.call('HSET', rkey, tostring(chosen), 0)
redis.call('SADD', 'seats:' .. node, id .. ' ' .. pid)
redis.call('SADD', 'nodes', node)
return {1, id}
