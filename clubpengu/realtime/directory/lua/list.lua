-- The open instances of a room (after open.lua).
-- ARGV: room, now, grace. Returns {suffix, population, ...}.
local out = {}
for s, pop in pairs(open_) do out[#out + 1] = s; out[#out + 1] = pop end
return out
