-- Publish a message to the inbox of the node that owns the wallet, read in the same step.
-- KEYS[1]: session:<wallet>. ARGV[1]: the message; ARGV[2]: the inbox channel of a node
-- with the node id left off (`node:`). Returns the receivers (0 when nobody owns it).
local owner = redis.call('GET', KEYS[1])
if not owner then return 0 end
return redis.call('PUBLISH', ARGV[2] .. string.match(owner, '^(%S+)'), ARGV[1])
